//! The member side of a share group (KIP-932, `KafkaShareConsumer`):
//! ShareGroupHeartbeat membership (the assignment is taken as it comes: no
//! revocation, partitions are shared), one ShareFetch per leader broker when the
//! buffer is empty, carrying the acknowledgements of what the previous poll
//! returned (implicit mode: ACCEPT; a poison record the processor fails on:
//! RELEASE), and on close the share sessions' end, which releases what the
//! member still holds. No offsets, no commits.

use super::{Consumer, ConsumerState, Phase};
use crate::kafka::group::LEAVE_EPOCH;
use crate::kafka::protocol::{BrokerMsg, GroupError, GroupRequest, Msg, ShareFetchRequest, ShareFetchResult};
use crate::kafka::share::{is_poison, AckType};
use crate::kafka::Ctx;
use crate::sim::{Node, MS};
use std::collections::BTreeSet;

/// One acknowledgement: (partition, first, end, how).
pub(super) type Ack = (u32, u64, u64, AckType);

/// A share consumer's acknowledgement state.
#[derive(Debug, Clone, Default)]
pub(super) struct ShareClient {
    /// Records the last poll returned, by the leader that handed them out: the
    /// next poll acknowledges them.
    pub delivered: Vec<(u32, Ack)>,
    /// Acknowledgements waiting for the next request to their leader.
    pub pending: crate::sim::VecMap<u32, Vec<Ack>>,
    /// Leaders this member fetched from (its share sessions), closed on stop.
    pub sessions: BTreeSet<u32>,
}

/// Appends an acknowledgement, merging it with the previous one when they continue.
fn push_ack(acks: &mut Vec<Ack>, ack: Ack) {
    if let Some(last) = acks.last_mut() {
        if last.0 == ack.0 && last.2 == ack.1 && last.3 == ack.3 {
            last.2 = ack.2;
            return;
        }
    }
    acks.push(ack);
}

impl Consumer {
    /// The member process, as share-partition leaders know its locks (a restart is a new one).
    pub fn share_owner(&self) -> u64 {
        (u64::from(self.group) << 48) | (u64::from(self.number) << 24) | u64::from(self.incarnation)
    }

    pub(super) fn send_share_heartbeat(&mut self, ctx: &mut Ctx) {
        if self.state != ConsumerState::Running || self.coordinator.is_none() {
            return;
        }
        let (member_id, member_epoch) = self.heartbeat_member();
        let req = GroupRequest::ShareHeartbeat { member_id, member_epoch };
        self.send_group_request(ctx, req);
    }

    pub(super) fn on_share_heartbeat(&mut self, ctx: &mut Ctx, member_id: String, member_epoch: i32, assignment: Option<Vec<u32>>, error: Option<GroupError>) {
        if let Some(e) = error {
            Self::count_group_error(ctx, e);
            match e {
                GroupError::NotCoordinator => self.coordinator = None,
                _ => {
                    self.assigned.clear();
                    self.plan_dirty = true;
                    self.member_id.clear();
                    self.generation = 0;
                    self.phase = Phase::Unjoined;
                }
            }
            return;
        }
        self.member_id = member_id;
        self.generation = member_epoch;
        self.phase = Phase::Stable;
        if let Some(target) = assignment {
            if target != self.assigned {
                self.assigned = target;
                self.plan_dirty = true;
            }
        }
        self.ensure_share_fetches(ctx);
    }

    /// The records the last poll returned are acknowledged now (implicit mode).
    pub(super) fn acknowledge_delivered(&mut self) {
        for (leader, ack) in std::mem::take(&mut self.share.delivered) {
            push_ack(self.share.pending.get_or_insert_with(leader, Vec::new), ack);
        }
    }

    /// What the application makes of records it is handed: ACCEPT, or RELEASE
    /// for the poison ones it fails on.
    pub(super) fn share_processed(&mut self, leader: u32, pidx: u32, offset: u64, records: u64, producer: u32, seq: u64) {
        let per_mille = self.setup.poison.get((producer >> 16) as usize).copied().unwrap_or(0);
        let seed = self.setup.cluster.seed;
        if per_mille == 0 {
            self.push_delivered(leader, (pidx, offset, offset + records, AckType::Accept));
            return;
        }
        for k in 0..records {
            let kind = if is_poison(seed, producer, pidx, seq + k, per_mille) {
                AckType::Release
            } else {
                AckType::Accept
            };
            self.push_delivered(leader, (pidx, offset + k, offset + k + 1, kind));
        }
    }

    fn push_delivered(&mut self, leader: u32, ack: Ack) {
        if let Some(last) = self.share.delivered.last_mut() {
            if last.0 == leader && last.1 .0 == ack.0 && last.1 .2 == ack.1 && last.1 .3 == ack.3 {
                last.1 .2 = ack.2;
                return;
            }
        }
        self.share.delivered.push((leader, ack));
    }

    /// One ShareFetch per leader: for records when the buffer is empty, or just
    /// to carry acknowledgements.
    pub(super) fn ensure_share_fetches(&mut self, ctx: &mut Ctx) {
        let now = ctx.now;
        let mut plan: crate::sim::VecMap<u32, Vec<u32>> = Default::default();
        if self.phase == Phase::Stable {
            for &p in &self.assigned {
                match self.leaders.get(&p).copied().flatten() {
                    Some(l) => plan.entry_or_default(l).push(p),
                    None => self.want_metadata = true,
                }
            }
        }
        self.plan_dirty = false;
        self.request_metadata(ctx);
        let brokers = crate::sim::set_from(plan.keys().chain(self.share.pending.keys()).copied());
        let max_records = self.cfg().max_poll_records;
        let wait = self.cfg().fetch_max_wait_ms * MS;
        for b in brokers {
            if self.fetches.contains_key(&b) {
                continue;
            }
            let parts = if self.buffered == 0 {
                plan.remove(&b).unwrap_or_default()
            } else {
                Vec::new()
            };
            let acks = self.share.pending.remove(&b).unwrap_or_default();
            if parts.is_empty() && acks.is_empty() {
                continue;
            }
            let req_id = self.req();
            self.fetches.insert(b, (req_id, now, Vec::new()));
            self.share.sessions.insert(b);
            let req = ShareFetchRequest {
                req_id,
                group: self.group,
                owner: self.share_owner(),
                max_records: if parts.is_empty() { 0 } else { max_records },
                parts,
                acks,
                max_wait_us: wait,
                close: false,
            };
            ctx.send(Node::Broker(b), Msg::Broker(BrokerMsg::ShareFetch(Box::new(req))));
        }
    }

    pub(super) fn on_share_fetched(&mut self, ctx: &mut Ctx, b: u32, req_id: u64, parts: Vec<(u32, ShareFetchResult)>) {
        if self.fetches.get(&b).map(|f| f.0) != Some(req_id) {
            return;
        }
        self.fetches.remove(&b);
        let mut got = false;
        for (p, result) in parts {
            match result {
                // Acquired records are this member's to process or give back,
                // whatever its assignment says now.
                ShareFetchResult::Records(records) => {
                    for r in records {
                        self.buffer.push_back(super::Chunk {
                            pidx: p,
                            offset: r.offset,
                            records: r.records,
                            created_us: r.created_us,
                            created_end_us: r.created_end_us,
                            producer: r.producer,
                            audit_seq: r.audit_seq,
                            delivery_count: r.delivery_count,
                            leader: b,
                        });
                        self.buffered += r.records;
                        got = true;
                    }
                }
                ShareFetchResult::NotLeader => self.want_metadata = true,
            }
        }
        if got && self.waiting_data {
            self.waiting_data = false;
            self.schedule_poll(ctx, 0);
        }
        self.ensure_share_fetches(ctx);
    }

    /// close(): acknowledge what the last poll returned, close every share
    /// session (the leaders release what this member still holds), leave.
    pub(super) fn stop_share(&mut self, ctx: &mut Ctx) {
        self.acknowledge_delivered();
        let brokers = crate::sim::set_from(self.share.sessions.iter().chain(self.share.pending.keys()).copied());
        for b in brokers {
            let req_id = self.req();
            let req = ShareFetchRequest {
                req_id,
                group: self.group,
                owner: self.share_owner(),
                parts: Vec::new(),
                acks: self.share.pending.remove(&b).unwrap_or_default(),
                max_records: 0,
                max_wait_us: 0,
                close: true,
            };
            ctx.send(Node::Broker(b), Msg::Broker(BrokerMsg::ShareFetch(Box::new(req))));
        }
        if !self.member_id.is_empty() {
            let req = GroupRequest::ShareHeartbeat {
                member_id: self.member_id.clone(),
                member_epoch: LEAVE_EPOCH,
            };
            self.send_group_request(ctx, req);
        }
    }
}
