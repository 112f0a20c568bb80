//! The consumer client: a poll loop that hands at most `max.poll.records` to the
//! application, which processes them at its own rate (so lag can build), and the
//! member side of its group. It owns its state and acts through its context.
//!
//! - `member.rs`: the classic protocol (join, sync, heartbeats from a background
//!   thread, `max.poll.interval.ms`, eager or cooperative revocation, static
//!   membership) and offset commits;
//! - `kip848.rs`: the `consumer` protocol's heartbeats and reconciliation;
//! - `fetch.rs`: positions (committed offsets, `auto.offset.reset`), one fetch per
//!   leader broker, metadata;
//! - `share.rs`: share groups (KIP-932): ShareFetch with acknowledgements;
//! - `process.rs`: consume-transform-produce with its own producer
//!   (`processing_guarantee`, Kafka Streams' loop).

mod fetch;
mod kip848;
mod member;
mod process;
mod share;

pub use process::Processing;

use crate::kafka::group::{LEAVE_EPOCH, STATIC_LEAVE_EPOCH};
use crate::kafka::obs::{Delivery, ErrorKind, Obs};
use crate::kafka::protocol::{BrokerMsg, ConsumerMsg, GroupError, GroupRequest, Msg, Timer};
use crate::kafka::types::Cluster;
use crate::kafka::Ctx;
use crate::scenario::{GroupConfig, GroupProtocol};
use crate::sim::{Micros, Node, SortSmall, MS, SEC};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::rc::Rc;

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
    /// Share groups: the records' delivery count and the leader that handed them out.
    delivery_count: u16,
    leader: u32,
}

/// An offset commit awaiting its answer: (request id, sent at, offsets sent).
type CommitInFlight = (u64, Micros, Vec<(u32, u64)>);

/// What a consumer knows from its configuration.
#[derive(Debug, Clone)]
pub struct ConsumerSetup {
    pub cluster: Rc<Cluster>,
    pub cfg: Rc<GroupConfig>,
    /// Subscribed topics (global indices), sorted by name.
    pub topics: Rc<Vec<u32>>,
    /// The application's model cost per record (`crate::ml`), microseconds.
    pub cost_us: u64,
    /// `poison_per_mille` of each producer, by producer index (share groups fail on those records).
    pub poison: Rc<Vec<u32>>,
}

/// A fetch in flight: (request id, sent at, (partition, fetched from) pairs).
type InFlightFetch = (u64, Micros, Vec<(u32, u64)>);

#[derive(Debug, Clone)]
pub struct Consumer {
    pub setup: ConsumerSetup,
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
    /// Fetches in flight, per broker: (request id, sent at, the position each
    /// partition was fetched from; a partition's data is used only if its
    /// position is still that one, as Kafka discards stale fetch responses).
    fetches: crate::sim::VecMap<u32, InFlightFetch>,
    /// Partitions with no committed offset, waiting for `auto.offset.reset` (ListOffsets).
    to_reset: BTreeSet<u32>,
    /// ListOffsets in flight, per broker: (request id, sent at).
    listing: crate::sim::VecMap<u32, (u64, Micros)>,
    leaders: crate::sim::VecMap<u32, Option<u32>>,
    /// (request id, sent at, broker asked)
    meta_in_flight: Option<(u64, Micros, u32)>,
    want_metadata: bool,
    pub last_poll: Micros,
    /// When the process started (the heartbeat thread's clock).
    started_at: Micros,
    pub paused_until: Micros,
    poll_at: Micros,
    waiting_data: bool,
    last_commit_at: Micros,
    commit_in_flight: Option<CommitInFlight>,
    /// Join once the commit in flight finishes (revocation commits first).
    join_after_commit: bool,
    /// KIP-848: partitions to give back once the commit in flight finishes.
    revoke_after_commit: Vec<u32>,
    /// The member epoch that commit was sent with (a STALE_MEMBER_EPOCH answer is
    /// retried only once the member knows a newer one).
    revoke_commit_epoch: i32,
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
    /// Share groups: acknowledgements and share sessions.
    share: share::ShareClient,
    /// A processing group's member: its producer and its commits.
    pub processing: Option<Processing>,
}

impl Consumer {
    pub fn new(setup: ConsumerSetup, group: u32, number: u32, rate: u64, static_id: Option<String>) -> Consumer {
        Consumer {
            setup,
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
            fetches: Default::default(),
            to_reset: BTreeSet::new(),
            listing: Default::default(),
            leaders: Default::default(),
            meta_in_flight: None,
            want_metadata: true,
            last_poll: 0,
            started_at: 0,
            paused_until: 0,
            poll_at: 0,
            waiting_data: false,
            last_commit_at: 0,
            commit_in_flight: None,
            join_after_commit: false,
            revoke_after_commit: Vec::new(),
            revoke_commit_epoch: -1,
            heartbeats_stopped: false,
            first_fetch: BTreeSet::new(),
            next_req: 1,
            meta_target: number,
            fetch_plan: Vec::new(),
            plan_dirty: true,
            share: share::ShareClient::default(),
            processing: None,
        }
    }

    fn cfg(&self) -> &GroupConfig {
        &self.setup.cfg
    }

    fn req(&mut self) -> u64 {
        self.next_req += 1;
        self.next_req
    }

    /// Does this consumer wait on an answer from `broker`? (For connection resets.)
    pub fn has_request_to(&self, broker: u32) -> bool {
        self.fetches.contains_key(&broker) || self.listing.contains_key(&broker) || self.coordinator == Some(broker)
    }

    /// A KIP-848 or share heartbeat's member id and epoch: before it joined, the
    /// id the member chooses itself with epoch 0 (KIP-1082: the client makes one
    /// per process and keeps it through rejoins, so two coordinators can never
    /// hand out the same one; Kafka's is a UUID, here the group, the member's
    /// number and, after a restart, its process).
    pub(super) fn heartbeat_member(&self) -> (String, i32) {
        if !self.member_id.is_empty() {
            return (self.member_id.clone(), self.generation.max(0));
        }
        let kind = if self.cfg().is_share() { "share" } else { "consumer" };
        let id = &self.setup.cfg.id;
        let own = match self.incarnation {
            0 | 1 => format!("{id}-{kind}-{}", self.number),
            k => format!("{id}-{kind}-{}.{k}", self.number),
        };
        (own, 0)
    }

    pub fn label(&self) -> String {
        if self.member_id.is_empty() {
            format!("member {}", self.number)
        } else {
            self.member_id.clone()
        }
    }

    fn adopt_partition(&mut self, p: u32) {
        self.plan_dirty = true;
        if !self.assigned.contains(&p) {
            self.assigned.push(p);
            self.assigned.sort_small();
            self.first_fetch.insert(p);
        }
    }

    /// Drops partitions from the assignment with everything buffered for them.
    fn drop_partitions(&mut self, parts: &[u32]) {
        if parts.iter().any(|p| self.assigned.contains(p)) {
            self.app_partitions_lost(parts);
        }
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
            self.to_reset.remove(p);
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

    fn send_group_request(&mut self, ctx: &mut Ctx, req: GroupRequest) {
        self.send_group_request_at(ctx, ctx.now, req);
    }

    /// To the group's coordinator, leaving at `depart` (a backoff, or after a commit).
    fn send_group_request_at(&mut self, ctx: &mut Ctx, depart: Micros, req: GroupRequest) {
        let Some(b) = self.coordinator else { return };
        ctx.send_at(
            depart,
            Node::Broker(b),
            Msg::Broker(BrokerMsg::Group {
                group: self.group,
                req: Box::new(req),
            }),
        );
    }

    fn count_group_error(ctx: &mut Ctx, e: GroupError) {
        ctx.observe(Obs::Errors {
            kind: ErrorKind::Group,
            name: e.name(),
            count: 1,
        });
    }

    // ---- handlers ------------------------------------------------------------------

    pub fn on_message(&mut self, ctx: &mut Ctx, from: Node, msg: ConsumerMsg) {
        if self.state != ConsumerState::Running {
            return;
        }
        match msg {
            ConsumerMsg::AppDone { committed, coordinator_moved } => self.on_app_done(ctx, committed, coordinator_moved),
            ConsumerMsg::Coordinator { req_id, broker } => {
                if self.find_in_flight.map(|f| f.0) == Some(req_id) {
                    self.find_in_flight = None;
                    self.coordinator = broker;
                }
            }
            ConsumerMsg::GroupError { error } => {
                Self::count_group_error(ctx, error);
                if error == GroupError::UnknownMemberId && self.phase == Phase::Joining {
                    // The group forgot this member: its partitions are lost; join anew.
                    self.lose_membership(true);
                    self.rejoin = true;
                }
                if error == GroupError::NotCoordinator {
                    self.coordinator = None;
                    if matches!(self.phase, Phase::Joining | Phase::Syncing) {
                        self.phase = if self.member_id.is_empty() { Phase::Unjoined } else { Phase::Stable };
                        self.rejoin = true;
                    }
                }
            }
            ConsumerMsg::Joined(j) => self.on_joined(ctx, j.member_id, j.generation, j.leader, j.members),
            ConsumerMsg::MemberIdRequired { member_id } => self.on_member_id_required(ctx, member_id),
            ConsumerMsg::Synced { generation, assignment } => self.on_synced(ctx, generation, assignment),
            ConsumerMsg::HeartbeatDone { generation, error } => self.on_heartbeat_done(ctx, generation, error),
            ConsumerMsg::CommitDone { req_id, error } => self.on_commit_done(ctx, req_id, error),
            ConsumerMsg::Offsets { req_id, offsets } => self.on_offsets(ctx, req_id, offsets),
            ConsumerMsg::ListedOffsets { req_id, parts } => {
                let Node::Broker(b) = from else { return };
                self.on_listed_offsets(ctx, b, req_id, parts);
            }
            ConsumerMsg::Fetched { req_id, parts } => {
                let Node::Broker(b) = from else { return };
                self.on_fetched(ctx, b, req_id, parts);
            }
            ConsumerMsg::Metadata { req_id, leaders } => {
                if self.meta_in_flight.map(|m| m.0) != Some(req_id) {
                    return;
                }
                self.meta_in_flight = None;
                self.plan_dirty = true;
                self.want_metadata = leaders.iter().any(|l| l.1.is_none());
                for (p, l, _) in leaders {
                    self.leaders.insert(p, l);
                }
                self.ensure_fetches(ctx);
            }
            ConsumerMsg::ConsumerHeartbeatDone(h) if self.cfg().is_share() => self.on_share_heartbeat(ctx, h.member_id, h.member_epoch, h.assignment, h.error),
            ConsumerMsg::ConsumerHeartbeatDone(h) => self.on_consumer_heartbeat(ctx, h.member_id, h.member_epoch, h.assignment, h.error),
            ConsumerMsg::ShareFetched { req_id, parts } => {
                let Node::Broker(b) = from else { return };
                self.on_share_fetched(ctx, b, req_id, parts);
            }
            ConsumerMsg::Disconnected => {
                let Node::Broker(b) = from else { return };
                self.fetches.remove(&b);
                self.listing.remove(&b);
                // Acknowledgements for a dead leader are lost: its successor hands the records out again.
                self.share.pending.remove(&b);
                self.want_metadata = true;
                if self.meta_in_flight.is_some_and(|m| m.2 == b) {
                    self.meta_in_flight = None;
                }
                if self.coordinator == Some(b) {
                    self.coordinator = None;
                    if self.commit_in_flight.is_some() {
                        self.commit_in_flight = None;
                    }
                    if let Some(pr) = self.processing.as_mut() {
                        // Its OffsetFetch is lost too: asked again of the next coordinator.
                        pr.refetch |= self.offsets_req.take().is_some();
                    }
                }
            }
        }
    }

    pub fn on_timer(&mut self, ctx: &mut Ctx, timer: Timer) {
        if self.state != ConsumerState::Running {
            return;
        }
        match timer {
            Timer::ConsumerPoll if self.poll_at == ctx.now => self.poll(ctx),
            Timer::ConsumerHeartbeat => self.heartbeat(ctx),
            Timer::ConsumerPollCheck => {
                self.poll_interval_expired(ctx);
                self.schedule_poll_check(ctx);
            }
            _ => {}
        }
    }

    fn schedule_poll(&mut self, ctx: &mut Ctx, after: Micros) {
        let at = ctx.now + after;
        if self.poll_at > ctx.now && self.poll_at <= at {
            return;
        }
        self.poll_at = at;
        ctx.timer(after, Timer::ConsumerPoll);
    }

    /// One turn of the application's poll loop.
    fn poll(&mut self, ctx: &mut Ctx) {
        let now = ctx.now;
        let cfg = self.setup.cfg.clone();
        if self.paused_until > now {
            let after = self.paused_until - now;
            self.schedule_poll(ctx, after);
            return;
        }
        self.last_poll = now;
        self.heartbeats_stopped = false;
        self.waiting_data = false;
        if self.coordinator.is_none() {
            self.find_coordinator(ctx);
            self.schedule_poll(ctx, POLL_TIMEOUT);
            return;
        }
        if cfg.protocol == GroupProtocol::Share {
            if self.phase == Phase::Unjoined {
                self.phase = Phase::Joining;
                self.send_share_heartbeat(ctx);
            }
            // Implicit acknowledgement: what the last poll returned is done.
            self.acknowledge_delivered();
            let delivered = self.deliver(ctx, u64::from(cfg.max_poll_records));
            self.ensure_share_fetches(ctx);
            self.after_poll(ctx, delivered);
            return;
        }
        if cfg.protocol == GroupProtocol::Consumer {
            // KIP-848: joining is a heartbeat with member epoch 0; no barrier.
            if self.phase == Phase::Unjoined {
                self.phase = Phase::Joining;
                self.send_consumer_heartbeat(ctx);
            }
        } else {
            let must_join = self.phase == Phase::Unjoined || (self.rejoin && self.phase == Phase::Stable);
            if must_join && self.commit_in_flight.is_none() {
                self.start_join(ctx);
            }
        }
        // Eager members stop consuming until the new assignment arrives.
        if self.phase != Phase::Stable && !cfg.cooperative() {
            self.schedule_poll(ctx, POLL_TIMEOUT);
            return;
        }
        if self.processing.is_some() {
            // Kafka Streams' loop: commit every commit.interval.ms, blocked meanwhile.
            if self.app_turn(ctx) {
                self.ensure_fetches(ctx);
                self.schedule_poll(ctx, POLL_TIMEOUT);
                return;
            }
            let delivered = self.deliver(ctx, u64::from(cfg.max_poll_records));
            self.ensure_fetches(ctx);
            self.after_poll(ctx, delivered);
            return;
        }
        // Auto commit every auto.commit.interval.ms; without it the application
        // commits what the previous poll returned, before taking more (at least once).
        let due = if cfg.enable_auto_commit {
            now.saturating_sub(self.last_commit_at) >= cfg.auto_commit_interval_ms * MS
        } else {
            true
        };
        if due {
            self.commit_offsets(ctx);
        }
        let delivered = self.deliver(ctx, u64::from(cfg.max_poll_records));
        self.ensure_fetches(ctx);
        self.after_poll(ctx, delivered);
    }

    /// The next poll: soon when nothing came, else once the application is done.
    fn after_poll(&mut self, ctx: &mut Ctx, delivered: u64) {
        if delivered == 0 {
            self.waiting_data = true;
            self.schedule_poll(ctx, POLL_TIMEOUT);
        } else {
            // A model's per-record cost (crate::ml) adds to the application's own.
            let busy = (delivered * SEC / self.rate.max(1)).max(1) + delivered * self.setup.cost_us;
            self.schedule_poll(ctx, busy);
        }
    }

    /// Hands up to `max` records to the application.
    fn deliver(&mut self, ctx: &mut Ctx, max: u64) -> u64 {
        let now = ctx.now;
        let mut left = max;
        let mut done = 0;
        while left > 0 {
            let Some(front) = self.buffer.front_mut() else { break };
            if front.records == 0 {
                // Past a marker or an aborted transaction: the position moves, nothing is handed over.
                let (pidx, offset) = (front.pidx, front.offset);
                self.buffer.pop_front();
                self.consumed.insert(pidx, offset);
                continue;
            }
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
                self.buffer.pop_front();
            }
            self.buffered -= take;
            if chunk.delivery_count > 0 {
                self.share_processed(chunk.leader, chunk.pidx, chunk.offset, take, chunk.producer, chunk.audit_seq);
            } else {
                self.consumed.insert(chunk.pidx, chunk.offset + take);
            }
            left -= take;
            done += take;
            let _ = now;
            ctx.observe(Obs::Delivered(Box::new(Delivery {
                group: self.group,
                consumer: self.number,
                pidx: chunk.pidx,
                offset: chunk.offset,
                records: take,
                created: chunk.created_us,
                producer_instance: chunk.producer,
                audit_seq: chunk.audit_seq,
                created_from,
                created_to: next_created,
                index_in_poll: done - take,
                rate: self.rate,
                delivery_count: chunk.delivery_count,
            })));
            if chunk.delivery_count == 0 {
                self.app_processed(ctx, chunk.pidx, chunk.offset, take);
            }
        }
        done
    }

    // ---- actions (the engine applies them) ------------------------------------------

    pub fn pause(&mut self, until: Micros) {
        self.paused_until = self.paused_until.max(until);
    }

    /// Clean shutdown: commit, then LeaveGroup unless static.
    pub fn stop(&mut self, ctx: &mut Ctx) {
        if self.state != ConsumerState::Running {
            return;
        }
        if self.cfg().is_share() {
            self.stop_share(ctx);
            self.end(ConsumerState::Stopped);
            return;
        }
        // close() commits synchronously and only then leaves: the leave departs
        // after the commit's round trip, so it cannot overtake it.
        let mut leave_at = ctx.now;
        if self.cfg().enable_auto_commit {
            let offsets = self.uncommitted();
            if !offsets.is_empty() && !self.member_id.is_empty() {
                let req_id = self.req();
                let (member_id, generation) = (self.member_id.clone(), self.generation);
                self.send_group_request(
                    ctx,
                    GroupRequest::OffsetCommit {
                        req_id,
                        member_id,
                        generation,
                        offsets,
                    },
                );
                leave_at += 2 * self.setup.cluster.config.network_rtt_us;
            }
        }
        let kip848 = self.cfg().protocol == GroupProtocol::Consumer;
        if !self.member_id.is_empty() && (kip848 || self.instance_id.is_none()) {
            let member_id = self.member_id.clone();
            let req = if kip848 {
                let member_epoch = if self.instance_id.is_some() { STATIC_LEAVE_EPOCH } else { LEAVE_EPOCH };
                GroupRequest::ConsumerHeartbeat {
                    member_id,
                    member_epoch,
                    instance_id: self.instance_id.clone(),
                    owned: Vec::new(),
                }
            } else {
                GroupRequest::Leave {
                    member_id,
                    reason: "member_left",
                }
            };
            self.send_group_request_at(ctx, leave_at, req);
        }
        self.end(ConsumerState::Stopped);
    }

    /// The process dies: no commit, no LeaveGroup; the coordinator notices after session.timeout.ms.
    pub fn kill(&mut self) {
        if self.state == ConsumerState::Running {
            self.end(ConsumerState::Dead);
        }
    }

    fn end(&mut self, state: ConsumerState) {
        self.state = state;
        self.incarnation += 1;
        let all = self.assigned.clone();
        self.drop_partitions(&all);
        self.fetches.clear();
        self.listing.clear();
        self.phase = Phase::Unjoined;
        self.commit_in_flight = None;
        self.join_after_commit = false;
    }

    /// A new process: a static member keeps its group.instance.id, a dynamic one starts over.
    pub fn restarted(&self) -> Consumer {
        let mut fresh = Consumer::new(self.setup.clone(), self.group, self.number, self.rate, self.instance_id.clone());
        fresh.processing = self.processing.as_ref().map(|p| p.restarted());
        fresh.incarnation = self.incarnation + 1;
        fresh.next_req = self.next_req + 1_000;
        fresh
    }

    /// A process starting: its heartbeat thread and its poll loop, `after` from now.
    pub fn start(&mut self, ctx: &mut Ctx, after: Micros) {
        ctx.timer(after, Timer::ConsumerHeartbeat);
        self.started_at = ctx.now + after;
        self.schedule_poll_check(ctx);
        self.schedule_poll(ctx, after);
    }
}
