//! Replication on a broker. As leader: answer follower fetches (long poll,
//! divergence and out-of-range answers, KIP-320), track each follower's fetch
//! state, advance the high watermark, propose ISR changes (AlterPartition,
//! KIP-497). As follower: one fetcher per leader broker, append what comes back,
//! learn the HW one fetch late, truncate by leader epoch. And the metadata the
//! controller sends, which decides each replica's role.

use super::{Broker, FollowerState, Parked, ALTER_PARTITION_BACKOFF, ALTER_PARTITION_RETRY, FETCH_BACKOFF, FETCH_MAX_BYTES};
use crate::kafka::log::RETENTION_CHUNK;
use crate::kafka::notable::Notable;
use crate::kafka::obs::{Appended, BrokerSet, ErrorKind, Obs};
use crate::kafka::protocol::{BrokerMsg, ControllerMsg, FetchPart, FetchResponse, FetchResult, Msg, Timer};
use crate::kafka::types::{ErrorCode, PartMeta, Role};
use crate::kafka::Ctx;
use crate::sim::{Micros, Node, SortSmall, MS};

impl Broker {
    // ---- the high watermark -------------------------------------------------------

    /// Leader: HW = smallest LEO over the ISR (plus pending additions, Kafka's
    /// "maximal ISR"), not advanced while the committed ISR is below
    /// min(min.insync.replicas, RF).
    pub(crate) fn maybe_advance_hw(&mut self, ctx: &mut Ctx, pidx: u32) {
        let b = self.id;
        let part = self.cluster.part(pidx);
        let Some(r) = self.replica(pidx) else { return };
        if r.role != Role::Leader {
            return;
        }
        let floor = (r.min_isr as usize).min(part.assignment.len());
        // The committed ISR, not the maximal one: a pending addition counts once the
        // controller has it (Kafka's isUnderMinIsr). Eligible leader replicas rely
        // on this: below min ISR the HW stays where they have it.
        let isr_len = r.known.isr.len();
        let mut hw = r.log.leo;
        let mut consider = |broker: u32| -> bool {
            if broker == b {
                return true;
            }
            match part.slot_of(broker).and_then(|s| r.followers[s].leo) {
                Some(leo) => {
                    hw = hw.min(leo);
                    true
                }
                None => false,
            }
        };
        for &m in &r.known.isr {
            if !consider(m) {
                return;
            }
        }
        if let Some(pending) = &r.pending_isr {
            for &m in pending.iter().filter(|m| !r.known.isr.contains(m)) {
                if !consider(m) {
                    return;
                }
            }
        }
        if isr_len < floor || hw <= r.log.hw {
            return;
        }
        let old = r.log.hw;
        let isr = BrokerSet::of(&r.known.isr);
        self.replica_mut(pidx).expect("checked").log.hw = hw;
        ctx.observe(Obs::LeaderHw {
            pidx,
            broker: b,
            old,
            new: hw,
            isr,
        });
        self.complete_waits(ctx, pidx);
        self.wake_consumers(ctx, pidx);
        self.wake_share_fetches(ctx, pidx);
    }

    // ---- fetch: leader side ----------------------------------------------------

    /// Builds and sends the answer to a follower fetch, or parks it (long poll)
    /// when there is nothing to return. `first` is false when a parked fetch wakes.
    pub(super) fn answer_fetch(&mut self, ctx: &mut Ctx, follower: u32, fetch_id: u64, parts: Vec<FetchPart>, first: bool) {
        // Built in a kept buffer: a fetch with nothing to return parks, and most do.
        let mut out = std::mem::take(&mut self.fetch_scratch);
        if out.capacity() == 0 {
            out = Vec::with_capacity(parts.len());
        }
        let mut bytes = 0u64;
        let mut anything = false;
        for fp in &parts {
            let (result, n) = self.fetch_part(ctx, follower, fp, first);
            bytes += n;
            if !matches!(&result, FetchResult::Data { batches, .. } if batches.is_empty()) {
                anything = true;
            }
            out.push((fp.pidx, fp.leader_epoch, result));
        }
        // Handling this fetch can append (a coordinator's write once the HW passed
        // its last one): then there is something to return after all.
        if first
            && !anything
            && parts
                .iter()
                .any(|fp| self.replica(fp.pidx).is_some_and(|r| r.role == Role::Leader && r.log.leo > fp.offset))
        {
            out.clear();
            for fp in &parts {
                let (result, n) = self.fetch_part(ctx, follower, fp, false);
                bytes += n;
                out.push((fp.pidx, fp.leader_epoch, result));
            }
            anything = true;
        }
        if first && !anything {
            out.clear();
            self.fetch_scratch = out;
            let deadline = ctx.now + self.cluster.config.replica_fetch_wait_max_ms * MS;
            self.parked.push(Parked {
                follower,
                fetch_id,
                parts,
                deadline,
            });
            self.arm_parked_timer(ctx);
            return;
        }
        let cost = 20 + 3 * parts.len() as u64 + bytes / 2_000;
        let done = self.service(ctx.now, cost);
        self.respond(
            ctx,
            done,
            Node::Broker(follower),
            Msg::Broker(BrokerMsg::FetchResponse(Box::new(FetchResponse { fetch_id, parts: out }))),
        );
    }

    pub(super) fn arm_parked_timer(&mut self, ctx: &mut Ctx) {
        if self.parked_timer_at != 0 {
            return;
        }
        if let Some(first) = self
            .parked
            .iter()
            .map(|p| p.deadline)
            .chain(self.parked_consumers.iter().map(|p| p.deadline))
            .chain(self.parked_share.iter().map(|p| p.deadline))
            .min()
        {
            self.parked_timer_at = first;
            ctx.timer(first.saturating_sub(ctx.now), Timer::ParkedFetchTimeout);
        }
    }

    fn fetch_part(&mut self, ctx: &mut Ctx, follower: u32, fp: &FetchPart, update: bool) -> (FetchResult, u64) {
        let now = ctx.now;
        let Some(fslot) = self.cluster.part(fp.pidx).slot_of(follower) else {
            return (FetchResult::Error(ErrorCode::NotLeaderOrFollower), 0);
        };
        let Some(r) = self.replica_mut(fp.pidx) else {
            return (FetchResult::Error(ErrorCode::NotLeaderOrFollower), 0);
        };
        if r.role != Role::Leader {
            return (FetchResult::Error(ErrorCode::NotLeaderOrFollower), 0);
        }
        if fp.leader_epoch < r.known.leader_epoch {
            return (FetchResult::Error(ErrorCode::FencedLeaderEpoch), 0);
        }
        if fp.leader_epoch > r.known.leader_epoch {
            return (FetchResult::Error(ErrorCode::UnknownLeaderEpoch), 0);
        }
        // The common case on a big cluster: an in-sync follower asking again at the log
        // end it already reported. Nothing was validated differently since its last fetch
        // (same epoch, same offset, the leader never truncates), so only the caught-up
        // time moves: no divergence, ISR or HW work.
        if fp.offset == r.log.leo && r.followers[fslot].leo == Some(fp.offset) && r.known.isr.contains(&follower) {
            if update {
                let f = &mut r.followers[fslot];
                f.last_caught_up = now;
                f.last_fetch_leader_leo = fp.offset;
                f.last_fetch_time = now;
            }
            return (
                FetchResult::Data {
                    hw: r.log.hw,
                    log_start: r.log.log_start,
                    batches: Vec::new(),
                },
                0,
            );
        }
        if fp.offset < r.log.log_start || fp.offset > r.log.leo && fp.last_epoch.is_none() {
            return (
                FetchResult::OutOfRange {
                    log_start: r.log.log_start,
                    leo: r.log.leo,
                },
                0,
            );
        }
        if let Some(last) = fp.last_epoch {
            // Kafka's check: diverging if the leader ends that epoch before the fetch
            // offset, or does not know the epoch at all.
            match r.log.end_offset_for_epoch(last) {
                Some((epoch, end)) if epoch == last && end >= fp.offset => {}
                Some((epoch, end)) => {
                    return (
                        FetchResult::Diverging {
                            epoch,
                            end_offset: end.min(fp.offset),
                        },
                        0,
                    )
                }
                None => {
                    let first = r.log.epochs.first().map_or(r.log.log_start, |e| e.1);
                    return (
                        FetchResult::Diverging {
                            epoch: -1,
                            end_offset: first.min(fp.offset),
                        },
                        0,
                    );
                }
            }
        }
        if fp.offset > r.log.leo {
            return (
                FetchResult::OutOfRange {
                    log_start: r.log.log_start,
                    leo: r.log.leo,
                },
                0,
            );
        }
        if update {
            // Kafka's Replica.updateFetchState: caught up if it reached the LEO now,
            // or the LEO as of its previous fetch.
            let leo = r.log.leo;
            let f: &mut FollowerState = &mut r.followers[fslot];
            if fp.offset >= leo {
                f.last_caught_up = now;
            } else if fp.offset >= f.last_fetch_leader_leo {
                f.last_caught_up = f.last_caught_up.max(f.last_fetch_time);
            }
            f.last_fetch_leader_leo = leo;
            f.last_fetch_time = now;
            f.leo = Some(fp.offset);
        }
        let start = r.log.batch_index_from(fp.offset);
        let mut batches = Vec::new();
        let mut bytes = 0u64;
        for batch in r.log.batches.iter().skip(start) {
            if bytes > 0 && bytes + u64::from(batch.bytes) > FETCH_MAX_BYTES {
                break;
            }
            bytes += u64::from(batch.bytes);
            batches.push(batch.clone());
        }
        if update {
            self.maybe_expand_isr(ctx, fp.pidx, follower, fp.offset);
            self.maybe_advance_hw(ctx, fp.pidx);
        }
        let log = &self.replica(fp.pidx).expect("checked").log;
        (
            FetchResult::Data {
                hw: log.hw,
                log_start: log.log_start,
                batches,
            },
            bytes,
        )
    }

    // ---- the ISR ----------------------------------------------------------------------

    fn maybe_expand_isr(&mut self, ctx: &mut Ctx, pidx: u32, follower: u32, offset: u64) {
        let Some(r) = self.replica(pidx) else { return };
        if r.known.isr.contains(&follower) || r.pending_isr.is_some() || r.alter_backoff_until > ctx.now {
            return;
        }
        let epoch_start = r.log.epochs.last().map_or(0, |e| e.1);
        if offset >= r.log.hw && offset >= epoch_start {
            let mut isr = r.known.isr.clone();
            isr.push(follower);
            isr.sort_small();
            self.propose_isr(ctx, pidx, isr);
        }
    }

    pub(super) fn check_isr_shrink(&mut self, ctx: &mut Ctx) {
        let lag_max = self.cluster.config.replica_lag_time_max_ms * MS;
        let now = ctx.now;
        let b = self.id;
        for i in 0..self.replicas.len() {
            let r = &self.replicas[i];
            if r.role != Role::Leader || r.pending_isr.is_some() {
                continue;
            }
            let part = self.cluster.part(r.pidx);
            let out_of_sync: Vec<u32> = r
                .known
                .isr
                .iter()
                .copied()
                .filter(|&m| m != b)
                .filter(|&m| {
                    let f = part.slot_of(m).map(|s| r.followers[s]);
                    f.is_none_or(|f| now.saturating_sub(f.last_caught_up) > lag_max && f.leo.is_none_or(|leo| leo < r.log.leo))
                })
                .collect();
            if !out_of_sync.is_empty() {
                let isr = r.known.isr.iter().copied().filter(|m| !out_of_sync.contains(m)).collect();
                let pidx = r.pidx;
                self.propose_isr(ctx, pidx, isr);
            }
        }
    }

    fn propose_isr(&mut self, ctx: &mut Ctx, pidx: u32, isr: Vec<u32>) {
        let broker = self.id;
        let Some(r) = self.replica_mut(pidx) else { return };
        r.pending_isr = Some(isr.clone());
        r.pending_since = ctx.now;
        let (leader_epoch, partition_epoch) = (r.known.leader_epoch, r.known.partition_epoch);
        let ctl = self.controller_target();
        ctx.send(
            Node::Controller(ctl),
            Msg::Controller(ControllerMsg::AlterPartition {
                broker,
                pidx,
                leader_epoch,
                partition_epoch,
                isr,
            }),
        );
    }

    pub(super) fn retry_stale_alter_partitions(&mut self, now: Micros) {
        for r in &mut self.replicas {
            if r.pending_isr.is_some() && now.saturating_sub(r.pending_since) > ALTER_PARTITION_RETRY {
                // Forget it; the next fetch or ISR check proposes again from fresh state.
                r.pending_isr = None;
            }
        }
    }

    pub(super) fn handle_alter_response(&mut self, ctx: &mut Ctx, pidx: u32, result: Result<PartMeta, ErrorCode>) {
        let Some(r) = self.replica_mut(pidx) else { return };
        r.pending_isr = None;
        match result {
            Ok(meta) => {
                if meta.partition_epoch > r.known.partition_epoch {
                    self.apply_known(ctx, pidx, meta);
                    self.send_refetches(ctx);
                }
            }
            Err(e) => {
                // Propose again later, from fresh metadata, rather than on every fetch.
                r.alter_backoff_until = ctx.now + ALTER_PARTITION_BACKOFF;
                ctx.observe(Obs::Errors {
                    kind: ErrorKind::Replication,
                    name: e.name(),
                    count: 1,
                });
            }
        }
    }

    // ---- fetch: follower side -----------------------------------------------

    pub(super) fn send_fetch(&mut self, ctx: &mut Ctx, leader: u32, depart: Micros) {
        let Some(f) = self.fetchers.get_mut(&leader) else { return };
        if f.partitions.is_empty() {
            f.in_flight = None;
            return;
        }
        let fetch_id = self.next_fetch_id;
        self.next_fetch_id += 1;
        f.in_flight = Some((fetch_id, depart));
        let f = &self.fetchers[&leader];
        let parts = f
            .partitions
            .iter()
            .filter_map(|&pidx| {
                let r = self.replica(pidx)?;
                Some(FetchPart {
                    pidx,
                    offset: r.log.leo,
                    last_epoch: r.log.last_epoch(),
                    leader_epoch: r.known.leader_epoch,
                })
            })
            .collect();
        ctx.send_at(depart, Node::Broker(leader), Msg::Broker(BrokerMsg::Fetch { fetch_id, parts }));
    }

    pub(super) fn handle_fetch_response(&mut self, ctx: &mut Ctx, leader: u32, resp: FetchResponse) {
        let b = self.id;
        let Some(f) = self.fetchers.get_mut(&leader) else {
            return;
        };
        if f.in_flight.map(|x| x.0) != Some(resp.fetch_id) {
            return;
        }
        f.in_flight = None;
        let mut bytes = 0u64;
        let mut errors = 0;
        let n = resp.parts.len();
        let retention = self.cluster.config.retention_batches as usize + RETENTION_CHUNK;
        for (pidx, epoch, result) in resp.parts {
            let Some(r) = self.replica_mut(pidx) else { continue };
            if r.role != Role::Follower || r.known.leader != Some(leader) || r.known.leader_epoch != epoch {
                continue;
            }
            match result {
                FetchResult::Data { hw, log_start, batches } => {
                    for batch in batches {
                        // The leader may have merged old batches: take the part we lack.
                        let batch = if batch.base_offset < r.log.leo && batch.end_offset() > r.log.leo {
                            batch.suffix_from(r.log.leo)
                        } else {
                            batch
                        };
                        if batch.base_offset != r.log.leo {
                            continue;
                        }
                        bytes += u64::from(batch.bytes);
                        let appended = Appended::of(&batch, r.log.leo);
                        r.log.append(batch);
                        ctx.observe(Obs::Appended {
                            pidx,
                            broker: b,
                            batch: appended,
                        });
                    }
                    let new_hw = hw.min(r.log.leo);
                    if new_hw > r.log.hw {
                        r.log.hw = new_hw;
                    }
                    // The leader decides the log start offset; followers follow it (Kafka's
                    // fetch response carries logStartOffset).
                    if r.log.batches.len() > retention {
                        let start = r.log.log_start;
                        r.log.advance_start(log_start);
                        if r.log.log_start != start {
                            ctx.observe(Obs::LogStartMoved {
                                pidx,
                                broker: b,
                                offset: r.log.log_start,
                            });
                        }
                    }
                }
                FetchResult::Diverging { epoch, end_offset } => {
                    // Truncate to where our log and the leader's part, by our own view of that epoch too.
                    let ours = r.log.end_offset_for_epoch(epoch).filter(|e| e.0 == epoch).map_or(end_offset, |e| e.1);
                    self.truncate_replica(ctx, pidx, end_offset.min(ours));
                    self.replica_mut(pidx).expect("checked").log.forget_epochs_after(epoch);
                }
                FetchResult::OutOfRange { log_start, leo } => {
                    if r.log.leo < log_start {
                        r.log.reset_to(log_start);
                        ctx.observe(Obs::LogReset {
                            pidx,
                            broker: b,
                            offset: log_start,
                        });
                    } else if r.log.leo > leo {
                        self.truncate_replica(ctx, pidx, leo);
                    }
                }
                FetchResult::Error(e) => {
                    errors += 1;
                    ctx.observe(Obs::Errors {
                        kind: ErrorKind::Replication,
                        name: e.name(),
                        count: 1,
                    });
                }
            }
        }
        let now = ctx.now;
        if errors == n && n > 0 {
            if let Some(f) = self.fetchers.get_mut(&leader) {
                f.backoff_until = now + FETCH_BACKOFF;
            }
            return;
        }
        let disk = if bytes > 0 { self.disk_cost(ctx, bytes) } else { 0 };
        self.send_fetch(ctx, leader, now + disk);
    }

    fn truncate_replica(&mut self, ctx: &mut Ctx, pidx: u32, offset: u64) {
        let broker = self.id;
        let Some(r) = self.replica_mut(pidx) else { return };
        let from = r.log.leo;
        let removed = r.log.truncate_to(offset);
        if removed.is_empty() {
            return;
        }
        let to = r.log.leo;
        ctx.observe(Obs::Truncated { pidx, broker, from, to });
        let topic = self.cluster.topic_name(pidx).to_string();
        let partition = self.cluster.part(pidx).index;
        ctx.observe(Obs::note(Notable::Truncated {
            topic,
            partition,
            broker,
            from,
            to,
        }));
    }

    // ---- metadata and roles --------------------------------------------------

    pub(super) fn handle_metadata(&mut self, ctx: &mut Ctx, from: Node, offset: u64, changes: Vec<(u32, PartMeta)>) {
        if let Node::Controller(c) = from {
            self.controller = Some(c);
        }
        self.meta_in_flight = None;
        let n = self.cluster.partitions.len();
        if self.image.len() < n {
            self.image.resize(n, (None, -1));
        }
        for (pidx, meta) in &changes {
            self.image[*pidx as usize] = (meta.leader, meta.leader_epoch);
        }
        self.meta_offset = self.meta_offset.max(offset);
        for (pidx, meta) in changes {
            let Some(r) = self.replica(pidx) else { continue };
            let known = &r.known;
            if meta.leader_epoch > known.leader_epoch
                || (meta.leader_epoch == known.leader_epoch && meta.partition_epoch > known.partition_epoch)
                || r.role == Role::None
            {
                self.apply_known(ctx, pidx, meta);
            }
        }
        self.send_refetches(ctx);
        // Long poll: ask again at once.
        self.meta_in_flight = Some(ctx.now);
        let (ctl, broker, incarnation, offset) = (self.controller_target(), self.id, self.incarnation, self.meta_offset);
        let clean_shutdown_of = self.clean_shutdown_of;
        ctx.send(
            Node::Controller(ctl),
            Msg::Controller(ControllerMsg::MetadataFetch {
                broker,
                incarnation,
                clean_shutdown_of,
                offset,
            }),
        );
    }

    /// The broker learns new metadata for one of its replicas and changes role.
    /// Follower fetches held here that include the partition are answered when its
    /// leadership or epoch changes (Kafka completes the delayed fetch), and the
    /// fetchers it joined fetch again (see `send_refetches`).
    pub(crate) fn apply_known(&mut self, ctx: &mut Ctx, pidx: u32, meta: PartMeta) {
        let before = self.replica(pidx).map(|r| (r.role, r.known.leader_epoch));
        self.change_role(ctx, pidx, meta);
        if self.replica(pidx).map(|r| (r.role, r.known.leader_epoch)) != before {
            self.wake_parked_fetches(ctx, pidx);
        }
    }

    /// Fetchers whose partitions changed send a new fetch now.
    pub(crate) fn send_refetches(&mut self, ctx: &mut Ctx) {
        let leaders: Vec<u32> = self.fetchers.iter().filter(|(_, f)| f.refetch).map(|(&l, _)| l).collect();
        for l in leaders {
            if let Some(f) = self.fetchers.get_mut(&l) {
                f.refetch = false;
            }
            self.send_fetch(ctx, l, ctx.now);
        }
    }

    fn change_role(&mut self, ctx: &mut Ctx, pidx: u32, meta: PartMeta) {
        let now = ctx.now;
        let b = self.id;
        let n = self.cluster.part(pidx).assignment.len();
        let Some(r) = self.replica_mut(pidx) else { return };
        let old_role = r.role;
        let old_leader = r.known.leader;
        let epoch_changed = r.known.leader_epoch != meta.leader_epoch;
        r.known = meta.clone();
        if meta.leader == Some(b) {
            if old_role != Role::Leader || epoch_changed {
                r.role = Role::Leader;
                r.log.start_epoch(meta.leader_epoch);
                r.followers = vec![
                    FollowerState {
                        leo: None,
                        last_caught_up: now,
                        last_fetch_leader_leo: 0,
                        last_fetch_time: now
                    };
                    n
                ];
                r.pending_isr = None;
                if let Some(old) = old_leader.filter(|_| old_role == Role::Follower) {
                    self.leave_fetcher(old, pidx);
                }
                ctx.observe(Obs::BecameLeader {
                    pidx,
                    broker: b,
                    epoch: meta.leader_epoch,
                });
                self.load_groups(ctx, pidx);
                self.load_txns(ctx, pidx);
            } else if r.pending_isr.as_ref() == Some(&meta.isr) {
                r.pending_isr = None;
            }
            self.maybe_advance_hw(ctx, pidx);
            return;
        }
        if old_role == Role::Leader {
            self.fail_waits(ctx, pidx);
            self.unload_groups(pidx);
            self.unload_txns(ctx, pidx);
            self.drop_share_partitions(pidx);
        }
        let r = self.replica_mut(pidx).expect("checked");
        r.role = if meta.leader.is_some() { Role::Follower } else { Role::None };
        r.pending_isr = None;
        if old_role == Role::Follower && old_leader != meta.leader {
            if let Some(old) = old_leader {
                self.leave_fetcher(old, pidx);
            }
        }
        if let Some(l) = meta.leader {
            if old_role != Role::Follower || old_leader != meta.leader || epoch_changed {
                let f = self.fetchers.get_or_insert_with(l, super::Fetcher::default);
                if !f.partitions.contains(&pidx) {
                    f.partitions.push(pidx);
                    f.partitions.sort_small();
                }
                // A fetch in flight carries the old epoch: its answer is ignored, so fetch
                // again, once for the whole metadata change (Kafka adds a delta's
                // partitions to a fetcher at once).
                f.refetch = true;
            }
        }
    }

    fn leave_fetcher(&mut self, leader: u32, pidx: u32) {
        if let Some(f) = self.fetchers.get_mut(&leader) {
            f.partitions.retain(|&p| p != pidx);
            if f.partitions.is_empty() {
                self.fetchers.remove(&leader);
            }
        }
    }
}
