//! The share-partition leader (KIP-932): a broker keeps one share-partition
//! (`crate::kafka::share`) per share group and partition it leads, answers
//! ShareFetch (acknowledgements first, then acquisition, long-polled when there
//! is nothing to hand out), expires acquisition locks, and persists each change
//! with the share coordinator (the group's coordinator here). A new leader reads
//! that state before serving the partition: records its predecessor had handed
//! out but not seen acknowledged are available again.

use super::Broker;
use crate::kafka::notable::Notable;
use crate::kafka::obs::{Obs, ShareObs};
use crate::kafka::protocol::{BrokerMsg, ConsumerMsg, GroupError, Msg, ShareFetchRequest, ShareFetchResult, SharedRecords, Timer};
use crate::kafka::share::{SharePartition, ShareSnapshot, Transitions, Unlock};
use crate::kafka::types::Role;
use crate::kafka::Ctx;
use crate::sim::{Micros, Node, MS};

/// `share.coordinator.write.timeout.ms`: an unanswered state read is sent again.
const READ_STATE_RETRY: Micros = 5_000 * MS;

/// A share-partition on its leader: waiting for its persisted state, or serving.
#[derive(Debug, Clone)]
pub enum ShareSlot {
    Loading { leader_epoch: i32, asked_at: Micros },
    Ready(SharePartition),
}

/// A ShareFetch with nothing to hand out yet (long poll).
#[derive(Debug, Clone)]
pub struct ParkedShareFetch {
    pub consumer: u32,
    pub req: ShareFetchRequest,
    pub deadline: Micros,
}

impl Broker {
    /// The state of group `g` on `pidx` if this broker leads it in that leader
    /// epoch and has it loaded; starts loading it otherwise.
    fn share_ready(&mut self, ctx: &mut Ctx, g: u32, pidx: u32) -> bool {
        let Some(epoch) = self.replica(pidx).filter(|r| r.role == Role::Leader).map(|r| r.known.leader_epoch) else {
            return false;
        };
        let now = ctx.now;
        let ask = match self.shares.get(&(g, pidx)) {
            Some(ShareSlot::Ready(sp)) if sp.leader_epoch == epoch => return true,
            Some(ShareSlot::Loading { leader_epoch, asked_at }) if *leader_epoch == epoch => now.saturating_sub(*asked_at) >= READ_STATE_RETRY,
            _ => true,
        };
        if ask {
            self.shares.insert(
                (g, pidx),
                ShareSlot::Loading {
                    leader_epoch: epoch,
                    asked_at: now,
                },
            );
            let offsets_pidx = self.cluster.groups[g as usize].offsets_pidx;
            if let Some(coordinator) = self.image.get(offsets_pidx as usize).and_then(|x| x.0) {
                let msg = Msg::Broker(BrokerMsg::ReadShareState {
                    group: g,
                    pidx,
                    leader_epoch: epoch,
                });
                if coordinator == self.id {
                    // The coordinator is this broker: no network, same answer.
                    let state = self.read_share_state(g, pidx, epoch);
                    self.share_state_read(ctx, g, pidx, state);
                    return matches!(self.shares.get(&(g, pidx)), Some(ShareSlot::Ready(_)));
                }
                ctx.send(Node::Broker(coordinator), msg);
            }
        }
        false
    }

    /// The share coordinator's answer to a state read.
    pub(super) fn share_state_read(&mut self, ctx: &mut Ctx, g: u32, pidx: u32, state: Result<Option<Box<ShareSnapshot>>, GroupError>) {
        let Some(ShareSlot::Loading { leader_epoch, .. }) = self.shares.get(&(g, pidx)) else {
            return;
        };
        let epoch = *leader_epoch;
        let Some(r) = self.replica(pidx).filter(|r| r.role == Role::Leader && r.known.leader_epoch == epoch) else {
            return;
        };
        let Ok(state) = state else {
            // Not the coordinator (any more): ask again at the next fetch.
            self.shares.insert(
                (g, pidx),
                ShareSlot::Loading {
                    leader_epoch: epoch,
                    asked_at: 0,
                },
            );
            return;
        };
        let cfg = &self.cluster.groups[g as usize].cfg;
        let (limit, locks) = (cfg.share_delivery_limit(), cfg.share_max_record_locks());
        let sp = match state {
            Some(s) => SharePartition::restore(epoch, &s, limit, locks),
            // A new share group: share.auto.offset.reset (latest: new records only).
            None => {
                let start = match cfg.auto_offset_reset {
                    crate::scenario::OffsetReset::Earliest => r.log.log_start,
                    crate::scenario::OffsetReset::Latest => r.log.hw,
                };
                SharePartition::new(epoch, start, limit, locks)
            }
        };
        let (start, end) = (sp.start, sp.end);
        self.shares.insert((g, pidx), ShareSlot::Ready(sp));
        ctx.observe(Obs::share(ShareObs::Init {
            group: g,
            pidx,
            broker: self.id,
            start,
            end,
        }));
        self.persist_share(ctx, g, pidx);
        self.wake_share_fetches(ctx, pidx);
    }

    /// Records share group `g`'s member process `owner` holds acquired in the
    /// share-partitions this broker leads (for the views).
    pub fn share_acquired(&self, g: u32, owner: u64) -> u64 {
        self.shares
            .iter()
            .filter(|((group, pidx), _)| *group == g && self.replica(*pidx).is_some_and(|r| r.role == Role::Leader))
            .map(|(_, slot)| match slot {
                ShareSlot::Ready(sp) => sp.acquired_by(owner),
                ShareSlot::Loading { .. } => 0,
            })
            .sum()
    }

    fn sp_mut(&mut self, g: u32, pidx: u32) -> Option<&mut SharePartition> {
        let epoch = self.replica(pidx).filter(|r| r.role == Role::Leader)?.known.leader_epoch;
        match self.shares.get_mut(&(g, pidx)) {
            Some(ShareSlot::Ready(sp)) if sp.leader_epoch == epoch => Some(sp),
            _ => None,
        }
    }

    /// Reports what a change did and persists the new state.
    fn share_changed(&mut self, ctx: &mut Ctx, g: u32, pidx: u32, t: Transitions, why: Unlock) {
        if t.is_empty() {
            return;
        }
        let start = self.sp_mut(g, pidx).map_or(0, |sp| sp.start);
        if t.invalid > 0 {
            ctx.observe(Obs::Errors {
                kind: crate::kafka::obs::ErrorKind::Group,
                name: "INVALID_RECORD_STATE",
                count: 1,
            });
        }
        let available = t.released > 0;
        ctx.observe(Obs::share(ShareObs::Unlocked {
            group: g,
            pidx,
            broker: self.id,
            why,
            ranges: t.unlocked,
            acknowledged: t.acknowledged,
            archived: t.archived,
            start,
        }));
        self.persist_share(ctx, g, pidx);
        if available {
            self.wake_share_fetches(ctx, pidx);
        }
    }

    /// Writes the share-partition's state to the share coordinator (Kafka's
    /// WriteShareGroupState; the change is applied here without waiting for it).
    fn persist_share(&mut self, ctx: &mut Ctx, g: u32, pidx: u32) {
        let Some(snapshot) = self.sp_mut(g, pidx).map(|sp| sp.snapshot()) else {
            return;
        };
        let offsets_pidx = self.cluster.groups[g as usize].offsets_pidx;
        let Some(coordinator) = self.image.get(offsets_pidx as usize).and_then(|x| x.0) else {
            return;
        };
        if coordinator == self.id {
            self.write_share_state(ctx, g, pidx, snapshot);
        } else {
            ctx.send(
                Node::Broker(coordinator),
                Msg::Broker(BrokerMsg::WriteShareState {
                    group: g,
                    pidx,
                    snapshot: Box::new(snapshot),
                }),
            );
        }
    }

    /// A ShareFetch: acknowledgements, the session's close, then acquisition.
    pub(super) fn handle_share_fetch(&mut self, ctx: &mut Ctx, c: u32, req: ShareFetchRequest) {
        let g = req.group;
        for &(pidx, first, end, kind) in &req.acks {
            let owner = req.owner;
            if let Some(t) = self.sp_mut(g, pidx).map(|sp| sp.acknowledge(owner, first, end, kind)) {
                self.share_changed(ctx, g, pidx, t, Unlock::Acknowledged);
            }
        }
        if req.close {
            let held: Vec<u32> = self.shares.keys().filter(|k| k.0 == g).map(|k| k.1).collect();
            for pidx in held {
                let owner = req.owner;
                if let Some(t) = self.sp_mut(g, pidx).map(|sp| sp.release_member(owner)) {
                    self.share_changed(ctx, g, pidx, t, Unlock::SessionClosed);
                }
            }
        }
        if req.max_records == 0 || req.close {
            let done = self.service(ctx.now, 20);
            let msg = Msg::Consumer(ConsumerMsg::ShareFetched {
                req_id: req.req_id,
                parts: Vec::new(),
            });
            self.respond(ctx, done, Node::Consumer(c), msg);
            return;
        }
        let deadline = ctx.now + req.max_wait_us;
        self.answer_share_fetch(ctx, c, req, Some(deadline));
    }

    /// Acquires records for the member on each partition asked, or parks the
    /// fetch until `park_until` (None: answer now, even with nothing).
    fn answer_share_fetch(&mut self, ctx: &mut Ctx, c: u32, req: ShareFetchRequest, park_until: Option<Micros>) {
        let now = ctx.now;
        let g = req.group;
        let lock = self.cluster.groups[g as usize].cfg.share_lock_duration_ms() * MS;
        let mut left = u64::from(req.max_records);
        let mut out = Vec::with_capacity(req.parts.len());
        let mut anything = false;
        let mut next_deadline = None;
        let n = req.parts.len();
        for k in 0..n {
            // Start at a different partition each time, so one busy partition does not starve the others.
            let pidx = req.parts[(k + req.req_id as usize) % n];
            if !self.leads(pidx) {
                out.push((pidx, ShareFetchResult::NotLeader));
                anything = true;
                continue;
            }
            if left == 0 || !self.share_ready(ctx, g, pidx) {
                out.push((pidx, ShareFetchResult::Records(Vec::new())));
                continue;
            }
            let log_start = self.replica(pidx).map_or(0, |r| r.log.log_start);
            if let Some(t) = self.sp_mut(g, pidx).map(|sp| sp.log_start_moved(log_start)) {
                self.share_changed(ctx, g, pidx, t, Unlock::LogStartMoved);
            }
            let slot = self.slot[pidx as usize] as usize;
            let log = &self.replicas[slot].log;
            let Some(ShareSlot::Ready(sp)) = self.shares.get_mut(&(g, pidx)) else {
                continue;
            };
            let batch_end = |o: u64| log.batches.get(log.batch_index_from(o)).map_or(o + 1, |b| b.end_offset());
            let got = sp.acquire(req.owner, left, log.hw, now + lock, batch_end);
            if got.is_empty() {
                out.push((pidx, ShareFetchResult::Records(Vec::new())));
                continue;
            }
            let mut records = Vec::new();
            for &(first, end, count) in &got {
                left = left.saturating_sub(end - first);
                let mut at = first;
                for b in log.batches.iter().skip(log.batch_index_from(first)) {
                    if at >= end || b.base_offset >= end {
                        break;
                    }
                    let to = b.end_offset().min(end);
                    if to <= at {
                        continue;
                    }
                    records.push(SharedRecords {
                        offset: at,
                        records: to - at,
                        created_us: b.created_at(at),
                        created_end_us: b.created_at(to),
                        producer: b.producer,
                        audit_seq: b.audit_seq + (at - b.base_offset),
                        delivery_count: count,
                    });
                    at = to;
                }
            }
            let start = sp.start;
            next_deadline = Some(now + lock);
            anything = true;
            ctx.observe(Obs::share(ShareObs::Acquired {
                group: g,
                pidx,
                broker: self.id,
                owner: req.owner,
                ranges: got,
                deadline: now + lock,
                start,
            }));
            out.push((pidx, ShareFetchResult::Records(records)));
        }
        if let Some(d) = next_deadline {
            self.arm_share_timer(ctx, d);
        }
        if let (false, Some(deadline)) = (anything, park_until.filter(|&d| d > now)) {
            self.parked_share.push(ParkedShareFetch { consumer: c, req, deadline });
            self.arm_parked_timer(ctx);
            return;
        }
        let done = self.service(now, 20 + 3 * n as u64);
        let msg = Msg::Consumer(ConsumerMsg::ShareFetched {
            req_id: req.req_id,
            parts: out,
        });
        self.respond(ctx, done, Node::Consumer(c), msg);
    }

    /// Records may be acquirable on `pidx` now (the HW moved, records came back,
    /// the state loaded): parked share fetches for it try again.
    pub(super) fn wake_share_fetches(&mut self, ctx: &mut Ctx, pidx: u32) {
        if self.parked_share.is_empty() {
            return;
        }
        let mut woken = Vec::new();
        let mut i = 0;
        while i < self.parked_share.len() {
            if self.parked_share[i].req.parts.contains(&pidx) {
                woken.push(self.parked_share.remove(i));
            } else {
                i += 1;
            }
        }
        for w in woken {
            // Still nothing: it waits on, until its own deadline.
            self.answer_share_fetch(ctx, w.consumer, w.req, Some(w.deadline));
        }
    }

    /// Parked share fetches past their deadline are answered (empty).
    pub(super) fn expire_parked_share(&mut self, ctx: &mut Ctx) {
        if self.parked_share.is_empty() {
            return;
        }
        let now = ctx.now;
        let (expired, kept): (Vec<_>, Vec<_>) = std::mem::take(&mut self.parked_share).into_iter().partition(|p| p.deadline <= now);
        self.parked_share = kept;
        for p in expired {
            self.answer_share_fetch(ctx, p.consumer, p.req, None);
        }
    }

    fn arm_share_timer(&mut self, ctx: &mut Ctx, at: Micros) {
        if self.share_timer_at == 0 || at < self.share_timer_at {
            self.share_timer_at = at;
            ctx.timer(at.saturating_sub(ctx.now), Timer::ShareLockTimeout);
        }
    }

    /// Acquisition locks expired: their records are available again (or archived
    /// at the delivery limit).
    pub(super) fn share_lock_timeout(&mut self, ctx: &mut Ctx) {
        let now = ctx.now;
        if now != self.share_timer_at {
            return;
        }
        self.share_timer_at = 0;
        let keys: Vec<(u32, u32)> = self.shares.keys().copied().collect();
        let mut next: Option<Micros> = None;
        for (g, pidx) in keys {
            if let Some(t) = self.sp_mut(g, pidx).map(|sp| sp.expire(now)) {
                if !t.is_empty() {
                    let id = &self.cluster.groups[g as usize].cfg.id;
                    let (topic, partition) = (self.cluster.topic_name(pidx), self.cluster.part(pidx).index);
                    let n = t.released + t.archived;
                    ctx.observe(Obs::note(Notable::Text(format!(
                        "share group {id}: acquisition locks of {n} records on {topic}-{partition} expired"
                    ))));
                }
                self.share_changed(ctx, g, pidx, t, Unlock::LockTimeout);
            }
            if let Some(d) = self.sp_mut(g, pidx).and_then(|sp| sp.next_deadline()) {
                next = Some(next.map_or(d, |n: Micros| n.min(d)));
            }
        }
        if let Some(d) = next {
            self.arm_share_timer(ctx, d);
        }
    }

    /// This broker stopped leading `pidx`: its share-partitions go (the next
    /// leader reads their persisted state).
    pub(super) fn drop_share_partitions(&mut self, pidx: u32) {
        if !self.shares.is_empty() {
            self.shares.retain(|k, _| k.1 != pidx);
        }
    }
}
