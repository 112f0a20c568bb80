//! The consumer client: a poll loop that hands at most `max.poll.records` to
//! the application, which processes them at its own rate (so lag can build);
//! one fetch per leader broker for the assigned partitions, reading up to the
//! HW; auto commit every `auto.commit.interval.ms`; `auto.offset.reset`; and the
//! member side of the classic group protocol: join, sync, heartbeat from a
//! background thread, `max.poll.interval.ms`, eager or cooperative revocation,
//! static membership (no LeaveGroup).

use crate::assignors::{self, Strategy};
use crate::engine::{Msg, Simulation, Timer};
use crate::eventlog::Notable;
use crate::kafka::broker::BrokerMsg;
use crate::kafka::group::{GroupError, GroupRequest, MemberInfo};
use crate::kafka::log::Batch;
use crate::scenario::OffsetReset;
use crate::sim::SortSmall;
use crate::sim::{Micros, Node, MS, SEC};
use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// How long poll() waits for data when the buffer is empty.
const POLL_TIMEOUT: Micros = 100 * MS;
const COORDINATOR_RETRY: Micros = 500 * MS;
/// retry.backoff.ms
const RETRY_BACKOFF: Micros = 100 * MS;
const REQUEST_TIMEOUT: Micros = 30_000 * MS;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsumerState {
    Running,
    Stopped,
    Dead,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Not in the group (yet, or after losing membership).
    Unjoined,
    Joining,
    Syncing,
    Stable,
}

#[derive(Debug, Clone, Copy)]
struct Chunk {
    pidx: u32,
    offset: u64,
    records: u64,
    /// Creation time of the first and the last record (a merged batch spans time).
    created_us: Micros,
    created_end_us: Micros,
    /// The batch's producer instance and the audit sequence of the record at `offset`:
    /// a record's identity, from which `crate::ml` derives its content.
    producer: u32,
    audit_seq: u64,
}

/// An offset commit awaiting its answer: (request id, sent at, offsets sent).
type CommitInFlight = (u64, Micros, Vec<(u32, u64)>);

#[derive(Debug, Clone)]
pub struct Consumer {
    pub group: u32,
    pub number: u32,
    pub state: ConsumerState,
    pub incarnation: u32,
    pub instance_id: Option<String>,
    pub member_id: String,
    pub generation: i32,
    pub rate: u64,
    pub phase: Phase,
    pub rejoin: bool,
    pub coordinator: Option<u32>,
    find_in_flight: Option<(u64, Micros)>,
    pub assigned: Vec<u32>,
    /// Next offset to fetch, per assigned partition (absent until known).
    positions: BTreeMap<u32, u64>,
    /// Next offset to hand to the application: what a commit records.
    consumed: BTreeMap<u32, u64>,
    committed: BTreeMap<u32, u64>,
    offsets_req: Option<u64>,
    buffer: VecDeque<Chunk>,
    buffered: u64,
    fetches: BTreeMap<u32, (u64, Micros)>,
    leaders: BTreeMap<u32, Option<u32>>,
    /// (request id, sent at, broker asked)
    meta_in_flight: Option<(u64, Micros, u32)>,
    want_metadata: bool,
    pub last_poll: Micros,
    pub paused_until: Micros,
    poll_at: Micros,
    waiting_data: bool,
    last_commit_at: Micros,
    commit_in_flight: Option<CommitInFlight>,
    /// Join once the commit in flight finishes (revocation commits first).
    join_after_commit: bool,
    /// KIP-848: partitions to give back once the commit in flight finishes.
    revoke_after_commit: Vec<u32>,
    /// A static member past max.poll.interval.ms stops heartbeating until it polls.
    heartbeats_stopped: bool,
    /// Partitions assigned but not fetched yet (to close their pause in the history).
    first_fetch: BTreeSet<u32>,
    next_req: u64,
    meta_target: u32,
    /// Assigned partitions grouped by leader broker, rebuilt only when the
    /// assignment, the leaders or the known positions change.
    fetch_plan: Vec<(u32, Vec<u32>)>,
    plan_dirty: bool,
}

#[derive(Debug, Clone)]
pub enum ConsumerMsg {
    Coordinator {
        req_id: u64,
        broker: Option<u32>,
    },
    Joined {
        member_id: String,
        generation: i32,
        leader: String,
        members: Option<Vec<MemberInfo>>,
    },
    Synced {
        generation: i32,
        assignment: Result<Vec<u32>, GroupError>,
    },
    /// The generation the heartbeat was sent in, so an answer about an older
    /// generation is ignored (Kafka's HeartbeatResponseHandler does the same).
    HeartbeatDone {
        generation: i32,
        error: Option<GroupError>,
    },
    GroupError {
        error: GroupError,
    },
    CommitDone {
        req_id: u64,
        error: Option<GroupError>,
    },
    Offsets {
        req_id: u64,
        offsets: Result<Vec<(u32, Option<u64>)>, GroupError>,
    },
    Fetched {
        req_id: u64,
        parts: Vec<(u32, ConsumerFetchResult)>,
    },
    Metadata {
        req_id: u64,
        leaders: Vec<(u32, Option<u32>, i32)>,
    },
    ConsumerHeartbeatDone {
        member_id: String,
        member_epoch: i32,
        assignment: Option<Vec<u32>>,
        error: Option<GroupError>,
    },
    Disconnected,
}

#[derive(Debug, Clone)]
pub enum ConsumerFetchResult {
    Data { hw: u64, batches: Vec<Batch> },
    NotLeader,
    OutOfRange { log_start: u64, hw: u64 },
}

impl Consumer {
    pub fn new(group: u32, number: u32, rate: u64, static_id: Option<String>) -> Consumer {
        Consumer {
            group,
            number,
            state: ConsumerState::Running,
            incarnation: 1,
            instance_id: static_id,
            member_id: String::new(),
            generation: -1,
            rate,
            phase: Phase::Unjoined,
            rejoin: false,
            coordinator: None,
            find_in_flight: None,
            assigned: Vec::new(),
            positions: BTreeMap::new(),
            consumed: BTreeMap::new(),
            committed: BTreeMap::new(),
            offsets_req: None,
            buffer: VecDeque::new(),
            buffered: 0,
            fetches: BTreeMap::new(),
            leaders: BTreeMap::new(),
            meta_in_flight: None,
            want_metadata: true,
            last_poll: 0,
            paused_until: 0,
            poll_at: 0,
            waiting_data: false,
            last_commit_at: 0,
            commit_in_flight: None,
            join_after_commit: false,
            revoke_after_commit: Vec::new(),
            heartbeats_stopped: false,
            first_fetch: BTreeSet::new(),
            next_req: 1,
            meta_target: number,
            fetch_plan: Vec::new(),
            plan_dirty: true,
        }
    }

    fn req(&mut self) -> u64 {
        self.next_req += 1;
        self.next_req
    }

    pub fn has_request_to(&self, broker: u32) -> bool {
        self.fetches.contains_key(&broker) || self.coordinator == Some(broker)
    }

    pub fn label(&self) -> String {
        if self.member_id.is_empty() {
            format!("member {}", self.number)
        } else {
            self.member_id.clone()
        }
    }

    pub(crate) fn forget_partitions(&mut self, parts: &[u32]) {
        self.drop_partitions(parts);
    }

    pub(crate) fn adopt_partition(&mut self, p: u32) {
        self.plan_dirty = true;
        if !self.assigned.contains(&p) {
            self.assigned.push(p);
            self.assigned.sort_small();
            self.first_fetch.insert(p);
        }
    }

    /// Drops partitions from the assignment with everything buffered for them.
    fn drop_partitions(&mut self, parts: &[u32]) {
        self.assigned.retain(|p| !parts.contains(p));
        for p in parts {
            self.consumed.remove(p);
            self.first_fetch.remove(p);
        }
        self.stop_fetching(parts);
    }

    /// Partitions pending revocation stop being fetched and delivered at once
    /// (Kafka marks them not fetchable and drops what is buffered), so the
    /// commit that precedes giving them back covers everything processed.
    fn stop_fetching(&mut self, parts: &[u32]) {
        self.plan_dirty = true;
        for p in parts {
            self.positions.remove(p);
        }
        self.buffer.retain(|c| !parts.contains(&c.pidx));
        self.buffered = self.buffer.iter().map(|c| c.records).sum();
    }

    fn uncommitted(&self) -> Vec<(u32, u64)> {
        self.consumed
            .iter()
            .filter(|(p, o)| self.committed.get(p) != Some(o))
            .map(|(p, o)| (*p, *o))
            .collect()
    }
}

impl Simulation {
    pub(crate) fn request_offsets_for(&mut self, c: u32) {
        self.request_offsets(c);
    }

    /// KIP-848 revocation: commit what was consumed from these partitions, and give
    /// them back (heartbeat) only when the commit is done.
    pub(crate) fn commit_before_revoke(&mut self, c: u32, revoked: &[u32]) -> bool {
        let g = self.consumers[c as usize].group;
        let auto = self.groups[g as usize].cfg.enable_auto_commit;
        let now = self.now;
        let con = &mut self.consumers[c as usize];
        let commit: Vec<(u32, u64)> = con.uncommitted().into_iter().filter(|(p, _)| revoked.contains(p)).collect();
        if !auto || commit.is_empty() {
            return false;
        }
        con.stop_fetching(revoked);
        if con.commit_in_flight.is_some() {
            // Wait for it; the revoked partitions are committed again after it if needed.
            con.revoke_after_commit = revoked.to_vec();
            return true;
        }
        let req_id = con.req();
        con.commit_in_flight = Some((req_id, now, commit.clone()));
        con.revoke_after_commit = revoked.to_vec();
        let (member_id, generation) = (con.member_id.clone(), con.generation);
        self.send_group_request(
            c,
            GroupRequest::OffsetCommit {
                req_id,
                member_id,
                generation,
                offsets: commit,
            },
        );
        true
    }

    pub(crate) fn send_group_request(&mut self, c: u32, req: GroupRequest) {
        self.send_group_request_at(c, self.now, req);
    }

    /// To the group's coordinator, leaving at `depart` (a backoff, or after a commit).
    fn send_group_request_at(&mut self, c: u32, depart: Micros, req: GroupRequest) {
        let con = &self.consumers[c as usize];
        let (g, Some(b)) = (con.group, con.coordinator) else { return };
        self.send_at(depart, Node::Consumer(c), Node::Broker(b), Self::group_broker_msg(g, req));
    }

    pub(crate) fn consumer_timer(&mut self, c: u32, timer: Timer) {
        if self.consumers[c as usize].state != ConsumerState::Running {
            return;
        }
        match timer {
            Timer::ConsumerPoll if self.consumers[c as usize].poll_at == self.now => {
                self.poll(c);
            }
            Timer::ConsumerHeartbeat => self.consumer_heartbeat(c),
            _ => {}
        }
    }

    fn schedule_poll(&mut self, c: u32, after: Micros) {
        let at = self.now + after;
        let con = &mut self.consumers[c as usize];
        if con.poll_at > self.now && con.poll_at <= at {
            return;
        }
        con.poll_at = at;
        self.timer(Node::Consumer(c), after, Timer::ConsumerPoll);
    }

    /// One turn of the application's poll loop.
    fn poll(&mut self, c: u32) {
        let now = self.now;
        let g = self.consumers[c as usize].group;
        let cfg = self.groups[g as usize].cfg.clone();
        let con = &mut self.consumers[c as usize];
        if con.paused_until > now {
            let after = con.paused_until - now;
            self.schedule_poll(c, after);
            return;
        }
        con.last_poll = now;
        con.heartbeats_stopped = false;
        con.waiting_data = false;
        if con.coordinator.is_none() {
            self.find_coordinator(c);
            self.schedule_poll(c, POLL_TIMEOUT);
            return;
        }
        let con = &mut self.consumers[c as usize];
        if cfg.protocol == crate::scenario::GroupProtocol::Consumer {
            // KIP-848: joining is a heartbeat with member epoch 0; no barrier.
            if con.phase == Phase::Unjoined {
                con.phase = Phase::Joining;
                self.send_consumer_heartbeat(c);
            }
        } else {
            let must_join = con.phase == Phase::Unjoined || (con.rejoin && con.phase == Phase::Stable);
            if must_join && con.commit_in_flight.is_none() {
                self.start_join(c);
            }
        }
        let con = &self.consumers[c as usize];
        // Eager members stop consuming until the new assignment arrives.
        if con.phase != Phase::Stable && !cfg.cooperative() {
            self.schedule_poll(c, POLL_TIMEOUT);
            return;
        }
        // Auto commit every auto.commit.interval.ms; without it the application
        // commits what the previous poll returned, before taking more (at least once).
        let due = if cfg.enable_auto_commit {
            now.saturating_sub(con.last_commit_at) >= cfg.auto_commit_interval_ms * MS
        } else {
            true
        };
        if due {
            self.commit_offsets(c);
        }
        let delivered = self.deliver(c, u64::from(cfg.max_poll_records));
        self.ensure_fetches(c);
        let con = &mut self.consumers[c as usize];
        if delivered == 0 {
            con.waiting_data = true;
            self.schedule_poll(c, POLL_TIMEOUT);
        } else {
            // A model's per-record cost (crate::ml) adds to the application's own.
            let busy = (delivered * SEC / con.rate.max(1)).max(1) + delivered * self.ml.cost_us(g);
            self.schedule_poll(c, busy);
        }
    }

    /// Hands up to `max` records to the application: counts deliveries,
    /// redeliveries and end-to-end latency.
    fn deliver(&mut self, c: u32, max: u64) -> u64 {
        let now = self.now;
        let mut left = max;
        let mut done = 0;
        while left > 0 {
            let con = &mut self.consumers[c as usize];
            let Some(front) = con.buffer.front_mut() else { break };
            let take = front.records.min(left);
            let mid = |c: &Chunk, k: u64| c.created_us + c.created_end_us.saturating_sub(c.created_us) * k / c.records.max(1);
            let created = mid(front, take / 2);
            let next_created = mid(front, take);
            let chunk = Chunk {
                records: take,
                created_us: created,
                ..*front
            };
            let created_from = front.created_us;
            front.offset += take;
            front.audit_seq += take;
            front.records -= take;
            front.created_us = next_created;
            if front.records == 0 {
                con.buffer.pop_front();
            }
            con.buffered -= take;
            con.consumed.insert(chunk.pidx, chunk.offset + take);
            left -= take;
            done += take;
            let grp = &mut self.groups[con.group as usize];
            let upto = grp.delivered_upto.entry(chunk.pidx).or_insert(0);
            let again = upto.saturating_sub(chunk.offset).min(take);
            *upto = (*upto).max(chunk.offset + take);
            grp.consumed += take;
            grp.redelivered += again;
            self.metrics.record_consumed(take, now.saturating_sub(chunk.created_us));
            if self.ml.active {
                let d = crate::ml::Delivered {
                    pidx: chunk.pidx,
                    offset: chunk.offset,
                    records: take,
                    producer_instance: chunk.producer,
                    audit_seq: chunk.audit_seq,
                    created_from,
                    created_to: next_created,
                    index_in_poll: done - take,
                };
                self.ml_process(c, d);
            }
        }
        done
    }

    fn find_coordinator(&mut self, c: u32) {
        let now = self.now;
        let brokers = self.brokers.len() as u32;
        let con = &mut self.consumers[c as usize];
        if con.find_in_flight.is_some_and(|(_, t)| now.saturating_sub(t) < COORDINATOR_RETRY) {
            return;
        }
        let req_id = con.req();
        con.find_in_flight = Some((req_id, now));
        con.meta_target += 1;
        let target = con.meta_target % brokers;
        let g = con.group;
        self.send(
            Node::Consumer(c),
            Node::Broker(target),
            Self::group_broker_msg(g, GroupRequest::FindCoordinator { req_id }),
        );
    }

    fn start_join(&mut self, c: u32) {
        let g = self.consumers[c as usize].group;
        let cooperative = self.groups[g as usize].cfg.cooperative();
        let auto_commit = self.groups[g as usize].cfg.enable_auto_commit;
        let con = &mut self.consumers[c as usize];
        if !cooperative && !con.assigned.is_empty() {
            // Eager: commit what was consumed, then give everything up before joining.
            if auto_commit && !con.uncommitted().is_empty() && con.phase == Phase::Stable {
                con.join_after_commit = true;
                self.commit_offsets(c);
                return;
            }
            let all = con.assigned.clone();
            con.drop_partitions(&all);
        }
        let con = &mut self.consumers[c as usize];
        con.rejoin = false;
        con.phase = Phase::Joining;
        let owned = con.assigned.clone();
        let (member_id, instance_id) = (con.member_id.clone(), con.instance_id.clone());
        self.send_group_request(c, GroupRequest::Join { member_id, instance_id, owned });
    }

    fn commit_offsets(&mut self, c: u32) {
        let now = self.now;
        let con = &mut self.consumers[c as usize];
        con.last_commit_at = now;
        let offsets = con.uncommitted();
        if offsets.is_empty() || con.commit_in_flight.is_some() || con.member_id.is_empty() {
            if con.join_after_commit && con.commit_in_flight.is_none() {
                con.join_after_commit = false;
                let all = con.assigned.clone();
                con.drop_partitions(&all);
                self.start_join(c);
            }
            return;
        }
        let req_id = con.req();
        con.commit_in_flight = Some((req_id, now, offsets.clone()));
        let (member_id, generation) = (con.member_id.clone(), con.generation);
        self.send_group_request(
            c,
            GroupRequest::OffsetCommit {
                req_id,
                member_id,
                generation,
                offsets,
            },
        );
    }

    /// The background heartbeat thread, and the max.poll.interval.ms check.
    fn consumer_heartbeat(&mut self, c: u32) {
        let now = self.now;
        let g = self.consumers[c as usize].group;
        let cfg = &self.groups[g as usize].cfg;
        let kip848 = cfg.protocol == crate::scenario::GroupProtocol::Consumer;
        let interval = if kip848 {
            cfg.group_consumer_heartbeat_interval_ms
        } else {
            cfg.heartbeat_interval_ms
        } * MS;
        let max_poll = cfg.max_poll_interval_ms * MS;
        self.timer(Node::Consumer(c), interval, Timer::ConsumerHeartbeat);
        let con = &mut self.consumers[c as usize];
        if con.member_id.is_empty() || con.phase == Phase::Unjoined || con.heartbeats_stopped {
            return;
        }
        // Commit and request timeouts are checked here too.
        if con.commit_in_flight.as_ref().is_some_and(|(_, t, _)| now.saturating_sub(*t) > REQUEST_TIMEOUT) {
            con.commit_in_flight = None;
            con.coordinator = None;
        }
        if con.meta_in_flight.is_some_and(|(_, t, _)| now.saturating_sub(t) > REQUEST_TIMEOUT) {
            con.meta_in_flight = None;
        }
        if con.fetches.values().any(|(_, t)| now.saturating_sub(*t) > REQUEST_TIMEOUT) {
            con.fetches.retain(|_, (_, t)| now.saturating_sub(*t) <= REQUEST_TIMEOUT);
            con.want_metadata = true;
        }
        if now.saturating_sub(con.last_poll) > max_poll {
            let label = con.label();
            if con.instance_id.is_some() {
                // Static members never send LeaveGroup: only the session timeout removes them.
                con.heartbeats_stopped = true;
                self.note(Notable::Text(format!(
                    "consumer {label}: poll loop stalled past max.poll.interval.ms, heartbeats stop (static)"
                )));
            } else {
                let member_id = std::mem::take(&mut con.member_id);
                let all = con.assigned.clone();
                con.drop_partitions(&all);
                con.phase = Phase::Unjoined;
                self.note(Notable::Text(format!(
                    "consumer {label}: poll loop stalled past max.poll.interval.ms, leaving the group"
                )));
                let req = if kip848 {
                    GroupRequest::ConsumerHeartbeat {
                        member_id,
                        member_epoch: crate::kafka::kip848::LEAVE_EPOCH,
                        instance_id: None,
                        owned: Vec::new(),
                    }
                } else {
                    GroupRequest::Leave {
                        member_id,
                        reason: "poll_timeout",
                    }
                };
                self.send_group_request(c, req);
            }
            return;
        }
        if kip848 {
            if con.coordinator.is_none() {
                self.find_coordinator(c);
            } else {
                self.send_consumer_heartbeat(c);
            }
            return;
        }
        let (member_id, generation) = (con.member_id.clone(), con.generation);
        if con.coordinator.is_none() {
            self.find_coordinator(c);
            return;
        }
        self.send_group_request(c, GroupRequest::Heartbeat { member_id, generation });
    }

    /// Loses the membership without a chance to commit (Kafka's onPartitionsLost).
    fn lose_membership(&mut self, c: u32, forget_id: bool) {
        let con = &mut self.consumers[c as usize];
        let all = con.assigned.clone();
        con.drop_partitions(&all);
        con.phase = Phase::Unjoined;
        con.generation = -1;
        if forget_id {
            con.member_id.clear();
        }
    }

    pub(crate) fn consumer_receive(&mut self, c: u32, from: Node, msg: ConsumerMsg) {
        if self.consumers[c as usize].state != ConsumerState::Running {
            return;
        }
        let now = self.now;
        match msg {
            ConsumerMsg::Coordinator { req_id, broker } => {
                let con = &mut self.consumers[c as usize];
                if con.find_in_flight.map(|f| f.0) == Some(req_id) {
                    con.find_in_flight = None;
                    con.coordinator = broker;
                }
            }
            ConsumerMsg::GroupError { error } => {
                self.count_group_error(error);
                let con = &mut self.consumers[c as usize];
                if error == GroupError::NotCoordinator {
                    con.coordinator = None;
                    if matches!(con.phase, Phase::Joining | Phase::Syncing) {
                        con.phase = if con.member_id.is_empty() { Phase::Unjoined } else { Phase::Stable };
                        con.rejoin = true;
                    }
                }
            }
            ConsumerMsg::Joined {
                member_id,
                generation,
                leader,
                members,
            } => {
                let con = &mut self.consumers[c as usize];
                if con.phase != Phase::Joining && members.is_none() && con.phase != Phase::Unjoined {
                    return;
                }
                con.member_id = member_id.clone();
                con.generation = generation;
                con.phase = Phase::Syncing;
                let assignments = match members {
                    Some(infos) if leader == member_id => Some(self.run_assignor(c, &infos)),
                    _ => None,
                };
                self.send_group_request(
                    c,
                    GroupRequest::Sync {
                        member_id,
                        generation,
                        assignments,
                    },
                );
            }
            ConsumerMsg::Synced { generation, assignment } => {
                let con = &mut self.consumers[c as usize];
                if con.phase != Phase::Syncing || generation != con.generation {
                    return;
                }
                match assignment {
                    Ok(parts) => self.on_assignment(c, parts),
                    Err(e) => {
                        self.count_group_error(e);
                        let con = &mut self.consumers[c as usize];
                        con.phase = Phase::Stable;
                        con.rejoin = true;
                        if e == GroupError::UnknownMemberId {
                            self.lose_membership(c, true);
                        }
                    }
                }
            }
            ConsumerMsg::HeartbeatDone { generation, error } => match error {
                None => {}
                // Rejoin only if still stable in the generation the heartbeat was
                // about: a member already joining, or already in the next
                // generation, would otherwise start one more rebalance, forever.
                Some(GroupError::RebalanceInProgress) => {
                    let con = &mut self.consumers[c as usize];
                    if con.phase == Phase::Stable && con.generation == generation {
                        con.rejoin = true;
                    }
                }
                Some(GroupError::NotCoordinator) => self.consumers[c as usize].coordinator = None,
                Some(e) => {
                    self.count_group_error(e);
                    self.lose_membership(c, e == GroupError::UnknownMemberId);
                }
            },
            ConsumerMsg::CommitDone { req_id, error } => {
                let con = &mut self.consumers[c as usize];
                if con.commit_in_flight.as_ref().map(|f| f.0) != Some(req_id) {
                    return;
                }
                let (_, _, sent) = con.commit_in_flight.take().expect("checked");
                if let Some(e) = error {
                    self.count_group_error(e);
                    if e == GroupError::NotCoordinator {
                        self.consumers[c as usize].coordinator = None;
                    }
                }
                let con = &mut self.consumers[c as usize];
                if error.is_none() {
                    for (p, o) in sent {
                        con.committed.insert(p, o);
                    }
                }
                if !con.revoke_after_commit.is_empty() {
                    let revoked = std::mem::take(&mut con.revoke_after_commit);
                    if error.is_none() && self.commit_before_revoke(c, &revoked) {
                        return;
                    }
                    self.consumers[c as usize].drop_partitions(&revoked);
                    self.send_consumer_heartbeat(c);
                    return;
                }
                let con = &mut self.consumers[c as usize];
                if con.join_after_commit {
                    // Revocation commits what was consumed up to now, then joins.
                    if error.is_none() && !con.uncommitted().is_empty() && !con.member_id.is_empty() {
                        self.commit_offsets(c);
                    } else {
                        con.join_after_commit = false;
                        let all = con.assigned.clone();
                        con.drop_partitions(&all);
                        self.start_join(c);
                    }
                }
            }
            ConsumerMsg::Offsets { req_id, offsets } => {
                let con = &mut self.consumers[c as usize];
                if con.offsets_req != Some(req_id) {
                    return;
                }
                con.offsets_req = None;
                con.plan_dirty = true;
                match offsets {
                    Ok(list) => {
                        let mut unknown = Vec::new();
                        for (p, o) in list {
                            if !con.assigned.contains(&p) || con.revoke_after_commit.contains(&p) {
                                continue;
                            }
                            match o {
                                Some(o) => {
                                    con.positions.insert(p, o);
                                    con.consumed.insert(p, o);
                                    con.committed.insert(p, o);
                                }
                                None => unknown.push(p),
                            }
                        }
                        self.reset_positions(c, &unknown);
                    }
                    Err(GroupError::UnstableOffsetCommit) => {
                        // A commit for one of them is still being written: ask again
                        // after retry.backoff.ms.
                        self.count_group_error(GroupError::UnstableOffsetCommit);
                        self.request_offsets_at(c, self.now + RETRY_BACKOFF);
                    }
                    Err(_) => {
                        con.coordinator = None;
                        self.request_offsets(c);
                    }
                }
                self.ensure_fetches(c);
            }
            ConsumerMsg::Fetched { req_id, parts } => {
                let Node::Broker(b) = from else { return };
                self.on_fetched(c, b, req_id, parts);
            }
            ConsumerMsg::Metadata { req_id, leaders } => {
                let con = &mut self.consumers[c as usize];
                if con.meta_in_flight.map(|m| m.0) != Some(req_id) {
                    return;
                }
                con.meta_in_flight = None;
                con.plan_dirty = true;
                con.want_metadata = leaders.iter().any(|l| l.1.is_none());
                for (p, l, _) in leaders {
                    con.leaders.insert(p, l);
                }
                self.ensure_fetches(c);
            }
            ConsumerMsg::ConsumerHeartbeatDone {
                member_id,
                member_epoch,
                assignment,
                error,
            } => {
                self.on_consumer_heartbeat(c, member_id, member_epoch, assignment, error);
            }
            ConsumerMsg::Disconnected => {
                let Node::Broker(b) = from else { return };
                let con = &mut self.consumers[c as usize];
                con.fetches.remove(&b);
                con.want_metadata = true;
                if con.meta_in_flight.is_some_and(|m| m.2 == b) {
                    con.meta_in_flight = None;
                }
                if con.coordinator == Some(b) {
                    con.coordinator = None;
                    if con.commit_in_flight.is_some() {
                        con.commit_in_flight = None;
                    }
                }
                let _ = now;
            }
        }
    }

    /// The group leader runs the assignor (client-side, as in the classic protocol).
    fn run_assignor(&mut self, c: u32, infos: &[MemberInfo]) -> Vec<(String, Vec<u32>)> {
        let g = self.consumers[c as usize].group;
        let grp = &self.groups[g as usize];
        let strategy = match grp.cfg.assignor_name() {
            "roundrobin" => Strategy::RoundRobin,
            "sticky" => Strategy::Sticky,
            "cooperative-sticky" => Strategy::CooperativeSticky,
            _ => Strategy::Range,
        };
        let (topics, members) = self.assignor_input(g, infos.iter().map(|m| (&m.member_id, &m.instance_id, m.owned.as_slice(), m.generation)));
        let result = assignors::assign(strategy, &topics, &members).unwrap_or_default();
        self.global_assignment(result).into_iter().collect()
    }

    fn on_assignment(&mut self, c: u32, parts: Vec<u32>) {
        let now = self.now;
        let g = self.consumers[c as usize].group;
        let cooperative = self.groups[g as usize].cfg.cooperative();
        let con = &mut self.consumers[c as usize];
        con.phase = Phase::Stable;
        let revoked: Vec<u32> = con.assigned.iter().copied().filter(|p| !parts.contains(p)).collect();
        let added: Vec<u32> = parts.iter().copied().filter(|p| !con.assigned.contains(p)).collect();
        if cooperative && !revoked.is_empty() {
            // KIP-429: give up only what moves (after committing it), then rejoin so
            // the next round can hand it to its new owner.
            let label = con.label();
            let commit: Vec<(u32, u64)> = con.uncommitted().into_iter().filter(|(p, _)| revoked.contains(p)).collect();
            con.drop_partitions(&revoked);
            con.rejoin = true;
            let auto = self.groups[g as usize].cfg.enable_auto_commit;
            if auto && !commit.is_empty() {
                let con = &mut self.consumers[c as usize];
                let req_id = con.req();
                if con.commit_in_flight.is_none() {
                    con.commit_in_flight = Some((req_id, now, commit.clone()));
                    let (member_id, generation) = (con.member_id.clone(), con.generation);
                    self.send_group_request(
                        c,
                        GroupRequest::OffsetCommit {
                            req_id,
                            member_id,
                            generation,
                            offsets: commit,
                        },
                    );
                }
            }
            let grp = &mut self.groups[g as usize];
            if let Some(n) = grp.current_rebalance() {
                for &p in &revoked {
                    grp.paused_since.entry(p).or_insert((now, n));
                }
                if let Some(r) = grp.rebalance_mut(n) {
                    r.revoked_partitions += revoked.len() as u32;
                }
            }
            grp.step(now, "revoke", &label, revoked.clone());
        }
        let con = &mut self.consumers[c as usize];
        for &p in &added {
            con.adopt_partition(p);
        }
        con.assigned.sort_small();
        if !added.is_empty() {
            self.request_offsets(c);
        }
        self.schedule_poll(c, 0);
    }

    fn request_offsets(&mut self, c: u32) {
        self.request_offsets_at(c, self.now);
    }

    fn request_offsets_at(&mut self, c: u32, depart: Micros) {
        let con = &mut self.consumers[c as usize];
        let missing: Vec<u32> = con
            .assigned
            .iter()
            .copied()
            .filter(|p| !con.positions.contains_key(p) && !con.revoke_after_commit.contains(p))
            .collect();
        if missing.is_empty() || con.coordinator.is_none() {
            return;
        }
        let req_id = con.req();
        con.offsets_req = Some(req_id);
        self.send_group_request_at(c, depart, GroupRequest::OffsetFetch { req_id, partitions: missing });
    }

    /// `auto.offset.reset` for partitions with no committed offset.
    fn reset_positions(&mut self, c: u32, parts: &[u32]) {
        let g = self.consumers[c as usize].group;
        let reset = self.groups[g as usize].cfg.auto_offset_reset;
        for &p in parts {
            let part = &self.partitions[p as usize];
            let leader_log = part.ctrl.leader.and_then(|l| part.slot_of(l)).map(|s| &part.replicas[s].log);
            let (start, hw) = leader_log.map_or((0, 0), |l| (l.log_start, l.hw));
            let o = match reset {
                OffsetReset::Earliest => start,
                OffsetReset::Latest => hw,
            };
            let con = &mut self.consumers[c as usize];
            con.positions.insert(p, o);
            con.consumed.insert(p, o);
            con.plan_dirty = true;
            self.groups[g as usize].start_offsets.entry(p).or_insert(o);
        }
    }

    /// One fetch per leader broker for the assigned partitions we know where to read.
    fn ensure_fetches(&mut self, c: u32) {
        let now = self.now;
        let brokers = self.brokers.len() as u32;
        let g = self.consumers[c as usize].group;
        let max_records = u64::from(self.groups[g as usize].cfg.max_poll_records) * 4;
        let con = &mut self.consumers[c as usize];
        if con.phase == Phase::Unjoined || con.buffered >= max_records {
            return;
        }
        if con.plan_dirty {
            con.plan_dirty = false;
            let mut plan: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
            let mut missing_leader = false;
            for &p in &con.assigned {
                if !con.positions.contains_key(&p) {
                    continue;
                }
                match con.leaders.get(&p).copied().flatten() {
                    Some(l) => plan.entry(l).or_default().push(p),
                    None => missing_leader = true,
                }
            }
            if missing_leader {
                con.want_metadata = true;
            }
            con.fetch_plan = plan.into_iter().collect();
        }
        if con.want_metadata && con.meta_in_flight.is_none() {
            let req_id = con.req();
            con.meta_target += 1;
            let target = con.meta_target % brokers;
            con.meta_in_flight = Some((req_id, now, target));
            let topics = self.groups[g as usize].topics.clone();
            self.send(
                Node::Consumer(c),
                Node::Broker(target),
                Msg::Broker(BrokerMsg::ClientMetadata { req_id, topics }),
            );
        }
        let wait = self.groups[g as usize].cfg.fetch_max_wait_ms * MS;
        for i in 0..self.consumers[c as usize].fetch_plan.len() {
            let con = &mut self.consumers[c as usize];
            let b = con.fetch_plan[i].0;
            if con.fetches.contains_key(&b) {
                continue;
            }
            let parts: Vec<(u32, u64)> = con.fetch_plan[i].1.iter().filter_map(|p| con.positions.get(p).map(|&o| (*p, o))).collect();
            let req_id = con.req();
            con.fetches.insert(b, (req_id, now));
            self.send(
                Node::Consumer(c),
                Node::Broker(b),
                Msg::Broker(BrokerMsg::ConsumerFetch {
                    req_id,
                    parts,
                    max_wait_us: wait,
                }),
            );
        }
    }

    fn on_fetched(&mut self, c: u32, b: u32, req_id: u64, parts: Vec<(u32, ConsumerFetchResult)>) {
        let now = self.now;
        let g = self.consumers[c as usize].group;
        let con = &mut self.consumers[c as usize];
        if con.fetches.get(&b).map(|f| f.0) != Some(req_id) {
            return;
        }
        con.fetches.remove(&b);
        let mut got = false;
        let mut reset = Vec::new();
        let mut first_fetches = Vec::new();
        for (p, result) in parts {
            if !con.assigned.contains(&p) {
                continue;
            }
            if con.first_fetch.remove(&p) {
                first_fetches.push(p);
            }
            match result {
                ConsumerFetchResult::Data { batches, .. } => {
                    let Some(pos) = con.positions.get(&p).copied() else { continue };
                    let mut next = pos;
                    for batch in batches {
                        let end = batch.end_offset();
                        if end <= next {
                            continue;
                        }
                        let from = batch.base_offset.max(next);
                        con.buffer.push_back(Chunk {
                            pidx: p,
                            offset: from,
                            records: end - from,
                            created_us: batch.created_at(from),
                            created_end_us: batch.created_end_us,
                            producer: batch.producer,
                            audit_seq: batch.audit_seq + (from - batch.base_offset),
                        });
                        con.buffered += end - from;
                        next = end;
                        got = true;
                    }
                    con.positions.insert(p, next);
                }
                ConsumerFetchResult::NotLeader => {
                    con.want_metadata = true;
                    con.plan_dirty = true;
                }
                ConsumerFetchResult::OutOfRange { log_start, hw } => reset.push((p, log_start, hw)),
            }
        }
        let grp = &mut self.groups[g as usize];
        for p in first_fetches {
            if let Some((since, n)) = grp.paused_since.remove(&p) {
                if let Some(r) = grp.rebalance_mut(n) {
                    r.paused_partition_us += now.saturating_sub(since);
                }
            }
        }
        for (p, log_start, hw) in reset {
            let to = match self.groups[g as usize].cfg.auto_offset_reset {
                OffsetReset::Earliest => log_start,
                OffsetReset::Latest => hw,
            };
            let con = &mut self.consumers[c as usize];
            con.positions.insert(p, to);
            con.consumed.insert(p, to);
            // Records fetched before the reset are stale: Kafka drops them from the buffer.
            con.buffer.retain(|ch| ch.pidx != p);
            con.buffered = con.buffer.iter().map(|ch| ch.records).sum();
            // auto.offset.reset moves the position by rule, not by consuming: a commit
            // below the old one is then allowed (invariant 5's "unless reset").
            self.groups[g as usize].reset_partitions.insert(p);
            let label = self.consumers[c as usize].label();
            self.note(Notable::Text(format!(
                "consumer {label}: offset out of range on partition {p}, auto.offset.reset to {to}"
            )));
        }
        let con = &mut self.consumers[c as usize];
        if got && con.waiting_data {
            con.waiting_data = false;
            self.schedule_poll(c, 0);
        }
        self.ensure_fetches(c);
    }

    // ---- actions ---------------------------------------------------------------

    pub(crate) fn add_consumer(&mut self, g: u32) -> u32 {
        let grp = &self.groups[g as usize];
        let number = self.consumers.iter().filter(|c| c.group == g).count() as u32;
        let static_id = grp.cfg.static_membership.then(|| format!("{}-instance-{number}", grp.cfg.id));
        let c = self.consumers.len() as u32;
        self.consumers.push(Consumer::new(g, number, grp.cfg.records_per_sec_per_member, static_id));
        let jitter = self.rng.range(0, 20 * MS);
        self.timer(Node::Consumer(c), jitter, Timer::ConsumerHeartbeat);
        self.schedule_poll(c, jitter);
        c
    }

    pub(crate) fn consumer_index(&self, group: &str, member: u32) -> Option<u32> {
        let g = self.groups.iter().position(|x| x.cfg.id == group)? as u32;
        self.consumers.iter().position(|c| c.group == g && c.number == member).map(|i| i as u32)
    }

    /// Clean shutdown: commit, then LeaveGroup unless static.
    pub(crate) fn stop_consumer(&mut self, c: u32) {
        if self.consumers[c as usize].state != ConsumerState::Running {
            return;
        }
        let g = self.consumers[c as usize].group;
        // close() commits synchronously and only then leaves: the leave departs
        // after the commit's round trip, so it cannot overtake it.
        let mut leave_at = self.now;
        if self.groups[g as usize].cfg.enable_auto_commit {
            let con = &mut self.consumers[c as usize];
            let offsets = con.uncommitted();
            if !offsets.is_empty() && !con.member_id.is_empty() {
                let req_id = con.req();
                let (member_id, generation) = (con.member_id.clone(), con.generation);
                self.send_group_request(
                    c,
                    GroupRequest::OffsetCommit {
                        req_id,
                        member_id,
                        generation,
                        offsets,
                    },
                );
                leave_at += 2 * self.net.rtt_us;
            }
        }
        let con = &mut self.consumers[c as usize];
        let kip848 = self.groups[g as usize].cfg.protocol == crate::scenario::GroupProtocol::Consumer;
        if !con.member_id.is_empty() && (kip848 || con.instance_id.is_none()) {
            let member_id = con.member_id.clone();
            let req = if kip848 {
                let member_epoch = if con.instance_id.is_some() {
                    crate::kafka::kip848::STATIC_LEAVE_EPOCH
                } else {
                    crate::kafka::kip848::LEAVE_EPOCH
                };
                GroupRequest::ConsumerHeartbeat {
                    member_id,
                    member_epoch,
                    instance_id: con.instance_id.clone(),
                    owned: Vec::new(),
                }
            } else {
                GroupRequest::Leave {
                    member_id,
                    reason: "member_left",
                }
            };
            self.send_group_request_at(c, leave_at, req);
        }
        self.end_consumer(c, ConsumerState::Stopped);
    }

    /// The process dies: no commit, no LeaveGroup; the coordinator notices after session.timeout.ms.
    pub(crate) fn kill_consumer(&mut self, c: u32) {
        if self.consumers[c as usize].state == ConsumerState::Running {
            self.end_consumer(c, ConsumerState::Dead);
        }
    }

    fn end_consumer(&mut self, c: u32, state: ConsumerState) {
        let con = &mut self.consumers[c as usize];
        con.state = state;
        con.incarnation += 1;
        let all = con.assigned.clone();
        con.drop_partitions(&all);
        con.fetches.clear();
        con.phase = Phase::Unjoined;
        con.commit_in_flight = None;
        con.join_after_commit = false;
    }

    /// A new process: a static member keeps its group.instance.id, a dynamic one starts over.
    pub(crate) fn restart_consumer(&mut self, c: u32) {
        if self.consumers[c as usize].state == ConsumerState::Running {
            return;
        }
        let old = &self.consumers[c as usize];
        let mut fresh = Consumer::new(old.group, old.number, old.rate, old.instance_id.clone());
        fresh.incarnation = old.incarnation + 1;
        fresh.next_req = old.next_req + 1_000;
        self.consumers[c as usize] = fresh;
        self.timer(Node::Consumer(c), 0, Timer::ConsumerHeartbeat);
        self.schedule_poll(c, 0);
    }
}
