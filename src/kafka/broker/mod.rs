//! The broker node: it owns its replicas (their logs on its disk and what it
//! believes about each partition), its request queue, its follower fetchers, its
//! purgatory of acks=all requests and its group coordinator. It acts only
//! through its context: messages, timers and observations.
//!
//! - `produce.rs`: produce requests, purgatory, retention
//! - `replication.rs`: follower fetches on both sides, the HW, ISR changes, metadata and roles
//! - `clients.rs`: consumer fetches (long poll) and client metadata
//! - `connections.rs`: one request at a time per client connection, in order
//! - `share.rs`: share-partitions (KIP-932) on their partitions' leader

mod clients;
mod connections;
pub mod coordinator;
mod produce;
mod replication;
mod share;
pub mod transactions;

use crate::kafka::log::{Batch, Log};
use crate::kafka::notable::Notable;
use crate::kafka::obs::Obs;
use crate::kafka::protocol::{BrokerMsg, ControllerMsg, FetchPart, FetchResult, Msg, ProduceRequest, Timer};
use crate::kafka::types::{Cluster, ErrorCode, PartMeta, Role};
use crate::kafka::Ctx;
use crate::sim::{Micros, Node, MS};
use connections::Connections;
use coordinator::{CommitPayload, Coordinator};
use share::{ParkedShareFetch, ShareSlot};
use std::collections::VecDeque;
use std::rc::Rc;

/// `replica.fetch.max.bytes`: per partition in one fetch response.
const FETCH_MAX_BYTES: u64 = 1_048_576;
/// `replica.fetch.backoff.ms`
const FETCH_BACKOFF: Micros = 1_000 * MS;
/// `replica.socket.timeout.ms`: a fetch with no answer is sent again.
const FETCH_TIMEOUT: Micros = 30_000 * MS;
/// A broker waits this long for the controller's metadata before asking again.
const METADATA_TIMEOUT: Micros = 2_000 * MS;
/// An unanswered AlterPartition is proposed again after this.
const ALTER_PARTITION_RETRY: Micros = 5_000 * MS;
/// After a rejected AlterPartition the leader waits this long before proposing again.
const ALTER_PARTITION_BACKOFF: Micros = 1_000 * MS;
const TICK: Micros = 250 * MS;
/// The group coordinator's clock.
const GROUP_TICK: Micros = 100 * MS;
/// Controlled shutdown gives up waiting for the controller after this.
const CONTROLLED_SHUTDOWN_TIMEOUT: Micros = 30_000 * MS;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BrokerState {
    Up,
    Down,
    Stopped,
}

/// Per-follower state kept by a leader (Kafka's `Replica` fetch state).
#[derive(Debug, Clone, Copy, Default)]
pub struct FollowerState {
    /// The follower's LEO as known from its last fetch offset; None until it fetches.
    pub leo: Option<u64>,
    pub last_caught_up: Micros,
    pub last_fetch_leader_leo: u64,
    pub last_fetch_time: Micros,
}

/// One replica on this broker: its log, and what the broker believes of the partition.
#[derive(Debug, Clone)]
pub struct Replica {
    pub pidx: u32,
    pub log: Log,
    pub role: Role,
    /// min.insync.replicas of the partition's topic.
    pub min_isr: u32,
    /// The broker's view of the partition's metadata (learned from the controller).
    pub known: PartMeta,
    /// Leader only: per replica in assignment order.
    pub followers: Vec<FollowerState>,
    /// Leader only: the ISR change proposed and not yet answered.
    pub pending_isr: Option<Vec<u32>>,
    pub pending_since: Micros,
    pub alter_backoff_until: Micros,
    /// Leader only: acks=all requests waiting for the HW, (end offset, wait slot, slot generation).
    pub purgatory: VecDeque<(u64, u32, u32)>,
}

#[derive(Debug, Clone, Default)]
pub struct Fetcher {
    pub partitions: Vec<u32>,
    /// Its partitions changed: fetch again once the metadata change is applied.
    pub refetch: bool,
    pub in_flight: Option<(u64, Micros)>,
    pub backoff_until: Micros,
}

#[derive(Debug, Clone)]
pub struct Parked {
    pub follower: u32,
    pub fetch_id: u64,
    pub parts: Vec<FetchPart>,
    pub deadline: Micros,
}

/// What a request waiting for replication does when it is done.
#[derive(Debug, Clone)]
pub enum WaitThen {
    /// Answer the producer.
    Produce,
    /// Apply the offset commit and answer the consumer.
    OffsetCommit(CommitPayload),
    /// An offset commit whose consumer was already answered (it timed out while
    /// its record waited for replication): applied once replicated, as Kafka's
    /// coordinator does with what is in its log, and pending until then.
    LateOffsetCommit(CommitPayload),
    /// Apply the transaction coordinator's transition and answer.
    TxnWrite(Box<transactions::TxnWrite>),
    /// Answer the transaction coordinator's WriteTxnMarkers.
    Markers { pid: u32, epoch: u16 },
    /// Hold the transaction's offsets and answer the producer's TxnOffsetCommit.
    TxnOffsetCommit(Box<coordinator::TxnCommitPayload>),
}

/// A transactional batch held while its partition is added to the producer's
/// transaction (protocol 2): the request's wait slot and the batch.
#[derive(Debug, Clone)]
pub struct Verifying {
    pub slot: u32,
    pub gen: u32,
    pub pidx: u32,
    pub batch: Batch,
    /// When it arrived (the leader retries a busy coordinator for a while).
    pub since: Micros,
}

#[derive(Debug, Clone)]
pub struct ProduceWait {
    pub client: Node,
    pub req_id: u64,
    pub remaining: u32,
    pub deadline: Micros,
    pub results: Vec<(u32, Option<Result<u64, ErrorCode>>)>,
    /// What to do once every partition is done.
    pub then: WaitThen,
}

/// A consumer fetch waiting for the HW to move (long poll).
#[derive(Debug, Clone)]
pub struct ParkedConsumerFetch {
    pub consumer: u32,
    pub req_id: u64,
    pub parts: Vec<(u32, u64)>,
    pub deadline: Micros,
    pub read_committed: bool,
}

#[derive(Debug, Clone)]
pub struct Broker {
    pub id: u32,
    pub cluster: Rc<Cluster>,
    pub state: BrokerState,
    /// Which process this is: a restart is a new incarnation (Kafka's incarnation id).
    pub incarnation: u32,
    /// On disk: the process that last stopped cleanly (Kafka's clean-shutdown file
    /// with its broker epoch); read and removed when the next process starts.
    clean_shutdown_file: Option<u32>,
    /// What this process tells the controller when it registers: the previous
    /// process, if it stopped cleanly (Kafka's previousBrokerEpoch).
    clean_shutdown_of: Option<u32>,
    pub paused_until: Micros,
    pub disk_extra_us: Micros,
    pub busy_until: Micros,
    pub meta_offset: u64,
    pub meta_in_flight: Option<Micros>,
    /// Leader and epoch of every partition as this broker knows them (for clients).
    pub image: Vec<(Option<u32>, i32)>,
    pub next_heartbeat: Micros,
    pub next_isr_check: Micros,
    pub fetchers: crate::sim::VecMap<u32, Fetcher>,
    pub parked: Vec<Parked>,
    pub parked_consumers: Vec<ParkedConsumerFetch>,
    /// When the one pending long-poll timeout fires (0: none pending).
    pub parked_timer_at: Micros,
    pub waits: Vec<Option<ProduceWait>>,
    pub wait_gen: Vec<u32>,
    pub free_waits: Vec<u32>,
    pub next_fetch_id: u64,
    pub shutting_down: bool,
    /// This broker's replicas, in partition order.
    pub replicas: Vec<Replica>,
    /// Partition -> index in `replicas` (u32::MAX: no replica here).
    slot: Vec<u32>,
    /// The group coordinator's state for the groups this broker hosts.
    pub coordinator: Coordinator,
    /// The transaction coordinator's state for the transactional ids it hosts.
    pub transactions: transactions::TxnCoordinator,
    /// Transactional batches waiting for their partition to join the transaction.
    pub verifying: Vec<Verifying>,
    /// Kept between follower fetches (most park with nothing to answer).
    fetch_scratch: Vec<(u32, i32, FetchResult)>,
    /// The active controller as this broker knows it (from its answers, or a
    /// NOT_CONTROLLER naming it); None while it is looking.
    pub controller: Option<u32>,
    /// The next controller to try while looking (round robin over the voters).
    controller_guess: u32,
    /// Client connections: requests are read one at a time per connection.
    conns: Connections,
    /// Share-partitions this broker leads, by (group, partition); empty without share groups.
    shares: crate::sim::VecMap<(u32, u32), ShareSlot>,
    parked_share: Vec<ParkedShareFetch>,
    /// When the pending acquisition-lock timer fires (0: none pending).
    share_timer_at: Micros,
}

impl Broker {
    pub fn new(id: u32, cluster: Rc<Cluster>) -> Broker {
        let mut slot = vec![u32::MAX; cluster.partitions.len()];
        let mut replicas = Vec::new();
        for (pidx, p) in cluster.partitions.iter().enumerate() {
            if p.slot_of(id).is_some() {
                slot[pidx] = replicas.len() as u32;
                replicas.push(Replica {
                    pidx: pidx as u32,
                    log: Log::default(),
                    role: Role::None,
                    min_isr: cluster.topics[p.topic as usize].min_isr,
                    known: PartMeta::default(),
                    followers: vec![FollowerState::default(); p.assignment.len()],
                    pending_isr: None,
                    pending_since: 0,
                    alter_backoff_until: 0,
                    purgatory: VecDeque::new(),
                });
            }
        }
        Broker {
            id,
            cluster,
            state: BrokerState::Up,
            incarnation: 1,
            clean_shutdown_file: None,
            clean_shutdown_of: None,
            paused_until: 0,
            disk_extra_us: 0,
            busy_until: 0,
            meta_offset: 0,
            meta_in_flight: None,
            image: Vec::new(),
            next_heartbeat: 0,
            next_isr_check: 0,
            fetchers: Default::default(),
            parked: Vec::new(),
            parked_consumers: Vec::new(),
            parked_timer_at: 0,
            waits: Vec::new(),
            wait_gen: Vec::new(),
            free_waits: Vec::new(),
            next_fetch_id: 1,
            shutting_down: false,
            replicas,
            slot,
            coordinator: Coordinator::default(),
            transactions: transactions::TxnCoordinator::default(),
            verifying: Vec::new(),
            fetch_scratch: Vec::new(),
            controller: Some(0),
            controller_guess: 0,
            conns: Connections::default(),
            shares: crate::sim::VecMap::default(),
            parked_share: Vec::new(),
            share_timer_at: 0,
        }
    }

    pub fn is_running(&self) -> bool {
        self.state == BrokerState::Up
    }

    pub fn state_name(&self, now: Micros) -> &'static str {
        match self.state {
            BrokerState::Up if self.paused_until > now => "paused",
            BrokerState::Up => "up",
            BrokerState::Down => "down",
            BrokerState::Stopped => "stopped",
        }
    }

    /// This broker's replica of a partition, if it has one.
    pub fn replica(&self, pidx: u32) -> Option<&Replica> {
        match self.slot.get(pidx as usize) {
            Some(&s) if s != u32::MAX => Some(&self.replicas[s as usize]),
            _ => None,
        }
    }

    pub(crate) fn replica_mut(&mut self, pidx: u32) -> Option<&mut Replica> {
        match self.slot.get(pidx as usize) {
            Some(&s) if s != u32::MAX => Some(&mut self.replicas[s as usize]),
            _ => None,
        }
    }

    /// Is this broker the leader of `pidx`, in its own view?
    pub fn leads(&self, pidx: u32) -> bool {
        self.replica(pidx).is_some_and(|r| r.role == Role::Leader)
    }

    /// Does a client or a follower wait on an answer from this broker? (For
    /// connection resets when its process dies: the engine asks.)
    pub fn fetches_from(&self, leader: u32) -> bool {
        self.fetchers.contains_key(&leader)
    }

    // ---- handlers ------------------------------------------------------------------

    pub fn on_message(&mut self, ctx: &mut Ctx, from: Node, msg: BrokerMsg) {
        self.receive(ctx, from, msg);
    }

    /// Handles a message once it is read (requests in their connection's order).
    fn handle(&mut self, ctx: &mut Ctx, from: Node, msg: BrokerMsg) {
        match msg {
            BrokerMsg::Produce(req) => self.handle_produce(ctx, from, *req),
            BrokerMsg::Fetch { fetch_id, parts } => {
                if let Node::Broker(f) = from {
                    self.answer_fetch(ctx, f, fetch_id, parts, true);
                }
            }
            BrokerMsg::FetchResponse(resp) => {
                if let Node::Broker(l) = from {
                    self.handle_fetch_response(ctx, l, *resp);
                }
            }
            BrokerMsg::MetadataUpdate { offset, changes } => self.handle_metadata(ctx, from, offset, changes),
            BrokerMsg::AlterPartitionResponse { pidx, result } => self.handle_alter_response(ctx, pidx, *result),
            BrokerMsg::NotController { leader } => {
                let asked = if let Node::Controller(c) = from { Some(c) } else { None };
                self.lost_controller(leader.filter(|l| Some(*l) != asked));
                if self.shutting_down {
                    let (ctl, broker, incarnation) = (self.controller_target(), self.id, self.incarnation);
                    ctx.send(
                        Node::Controller(ctl),
                        Msg::Controller(ControllerMsg::ControlledShutdown { broker, incarnation }),
                    );
                }
            }
            BrokerMsg::ControlledShutdownResponse => {
                if self.shutting_down {
                    ctx.observe(Obs::note(Notable::ControlledShutdownDone { broker: self.id }));
                    ctx.observe(Obs::Exit { stopped: true });
                }
            }
            BrokerMsg::Disconnected => {
                if let Node::Broker(l) = from {
                    if let Some(f) = self.fetchers.get_mut(&l) {
                        f.in_flight = None;
                        f.backoff_until = ctx.now + FETCH_BACKOFF;
                    }
                }
            }
            BrokerMsg::ClientMetadata { req_id, topics } => self.answer_client_metadata(ctx, from, req_id, topics),
            BrokerMsg::ListOffsets {
                req_id,
                parts,
                earliest,
                read_committed,
            } => self.answer_list_offsets(ctx, from, req_id, parts, earliest, read_committed),
            BrokerMsg::ConsumerFetch {
                req_id,
                parts,
                max_wait_us,
                read_committed,
            } => {
                if let Node::Consumer(c) = from {
                    self.answer_consumer_fetch(ctx, c, req_id, parts, Some(max_wait_us), read_committed);
                }
            }
            BrokerMsg::Group { group, req } => {
                if let Node::Consumer(c) = from {
                    self.handle_group_request(ctx, c, group, *req);
                }
            }
            BrokerMsg::Txn(req) => self.handle_txn_request(ctx, from, *req),
            BrokerMsg::AddPartitionsToTxn { pid, epoch, pidx } => {
                if let Node::Broker(leader) = from {
                    self.add_partition(ctx, leader, pid, epoch, pidx);
                }
            }
            BrokerMsg::AddPartitionsToTxnResponse { pid, epoch, pidx, error } => self.on_partition_added(ctx, pid, epoch, pidx, error),
            BrokerMsg::WriteTxnMarkers { pid, epoch, commit, parts } => {
                if let Node::Broker(tc) = from {
                    self.handle_write_markers(ctx, tc, pid, epoch, commit, parts);
                }
            }
            BrokerMsg::WriteTxnMarkersResponse { pid, epoch, results } => self.on_markers_written(ctx, pid, epoch, results),
            BrokerMsg::ShareFetch(req) => {
                if let Node::Consumer(c) = from {
                    self.handle_share_fetch(ctx, c, *req);
                }
            }
            BrokerMsg::WriteShareState { group, pidx, snapshot } => self.write_share_state(ctx, group, pidx, *snapshot),
            BrokerMsg::ReadShareState { group, pidx, leader_epoch } => {
                if let Node::Broker(b) = from {
                    let state = self.read_share_state(group, pidx, leader_epoch);
                    let done = self.service(ctx.now, 20);
                    ctx.send_at(done, Node::Broker(b), Msg::Broker(BrokerMsg::ShareStateRead { group, pidx, state }));
                }
            }
            BrokerMsg::ShareStateRead { group, pidx, state } => self.share_state_read(ctx, group, pidx, state),
        }
    }

    pub fn on_timer(&mut self, ctx: &mut Ctx, timer: Timer) {
        match timer {
            Timer::BrokerTick => self.tick(ctx),
            Timer::ReadRequests => self.read_requests(ctx),
            Timer::ParkedFetchTimeout => {
                // One timer per broker, at the earliest deadline: answer what expired, re-arm.
                let now = ctx.now;
                self.parked_timer_at = 0;
                let (expired, kept): (Vec<Parked>, Vec<Parked>) = self.parked.drain(..).partition(|p| p.deadline <= now);
                self.parked = kept;
                let (expired_consumers, kept): (Vec<_>, Vec<_>) = self.parked_consumers.drain(..).partition(|p| p.deadline <= now);
                self.parked_consumers = kept;
                for parked in expired {
                    self.answer_fetch(ctx, parked.follower, parked.fetch_id, parked.parts, false);
                }
                for parked in expired_consumers {
                    self.answer_consumer_fetch(ctx, parked.consumer, parked.req_id, parked.parts, None, parked.read_committed);
                }
                self.expire_parked_share(ctx);
                self.arm_parked_timer(ctx);
            }
            Timer::ControlledShutdownTimeout if self.shutting_down => ctx.observe(Obs::Exit { stopped: true }),
            Timer::ShareLockTimeout => self.share_lock_timeout(ctx),
            Timer::GroupTick => {
                // The coordinator's clock: session expiry, join-phase timeouts.
                let groups: Vec<u32> = self.coordinator.groups.keys().copied().collect();
                for g in groups {
                    if self.is_coordinator(g) {
                        self.group_tick(ctx, g);
                    }
                }
                ctx.timer(GROUP_TICK, Timer::GroupTick);
            }
            _ => {}
        }
    }

    /// Request handling time: a single queue, so load adds latency.
    pub(crate) fn service(&mut self, now: Micros, cost_us: Micros) -> Micros {
        let start = self.busy_until.max(now);
        self.busy_until = start + cost_us;
        self.busy_until
    }

    /// Page-cache append cost: Kafka does not fsync per write. Now and then a
    /// write finds the page cache busy (0.5-4 ms), and one in 20 of those is a
    /// dirty-page writeback stall (5-25 ms): the latency tail
    /// (`disk_slow_write_ppm`, a simulator setting).
    fn disk_cost(&mut self, ctx: &mut Ctx, bytes: u64) -> Micros {
        let mut cost = 5 + bytes / 1_000 + self.disk_extra_us;
        let ppm = self.cluster.config.disk_slow_write_ppm;
        if ppm > 0 && ctx.rng.chance_ppm(ppm) {
            cost += if ctx.rng.chance_ppm(50_000) {
                ctx.rng.range(5 * MS, 25 * MS)
            } else {
                ctx.rng.range(MS / 2, 4 * MS)
            };
        }
        cost
    }

    fn tick(&mut self, ctx: &mut Ctx) {
        let now = ctx.now;
        let c = &self.cluster.config;
        let (hb_interval, lag_max) = (c.broker_heartbeat_interval_ms * MS, c.replica_lag_time_max_ms * MS);
        if self.meta_in_flight.is_some_and(|t| now.saturating_sub(t) > METADATA_TIMEOUT) {
            // No answer: that controller is gone or cut off; try another.
            self.lost_controller(None);
        }
        {
            let ctl = self.controller_target();
            let (broker, incarnation) = (self.id, self.incarnation);
            if now >= self.next_heartbeat {
                self.next_heartbeat = now + hb_interval;
                let (meta_offset, clean_shutdown_of) = (self.meta_offset, self.clean_shutdown_of);
                ctx.send(
                    Node::Controller(ctl),
                    Msg::Controller(ControllerMsg::Heartbeat {
                        broker,
                        incarnation,
                        clean_shutdown_of,
                        meta_offset,
                    }),
                );
            }
            if self.meta_in_flight.is_none_or(|t| now.saturating_sub(t) > METADATA_TIMEOUT) {
                self.meta_in_flight = Some(now);
                let (offset, clean_shutdown_of) = (self.meta_offset, self.clean_shutdown_of);
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
        }
        // Fetchers: resend lost fetches, restart idle ones.
        let leaders: Vec<u32> = self.fetchers.keys().copied().collect();
        for l in leaders {
            let f = &self.fetchers[&l];
            let stuck = f.in_flight.is_some_and(|(_, t)| now.saturating_sub(t) > FETCH_TIMEOUT);
            if stuck || (f.in_flight.is_none() && f.backoff_until <= now) {
                self.send_fetch(ctx, l, now);
            }
        }
        if now >= self.next_isr_check {
            self.next_isr_check = now + lag_max / 2;
            self.check_isr_shrink(ctx);
        }
        self.retry_stale_alter_partitions(now);
        self.expire_waits(ctx);
        self.expire_verifications(ctx);
        self.txn_tick(ctx);
        ctx.timer(TICK, Timer::BrokerTick);
    }

    // ---- the process ---------------------------------------------------------------

    /// The cluster at time 0: every broker registered, leaders on the preferred
    /// replicas, as after a clean start.
    pub fn bootstrap(&mut self, image: Vec<(Option<u32>, i32)>) {
        self.meta_offset = 1;
        self.image = image;
    }

    /// The process dies (or finishes a controlled shutdown): memory is lost, the
    /// log survives. The engine resets its connections.
    /// Returns the produce requests it had read from clients and not handled yet.
    pub fn crash(&mut self, stopped: bool) -> Vec<(Node, ProduceRequest)> {
        self.state = if stopped { BrokerState::Stopped } else { BrokerState::Down };
        // A clean stop leaves its mark on disk; a crash leaves none.
        self.clean_shutdown_file = stopped.then_some(self.incarnation);
        self.incarnation += 1;
        self.paused_until = 0;
        self.busy_until = 0;
        self.meta_in_flight = None;
        self.fetchers.clear();
        self.parked.clear();
        self.parked_consumers.clear();
        self.parked_timer_at = 0;
        let lost = self.conns.clear();
        self.waits.clear();
        self.wait_gen.clear();
        self.free_waits.clear();
        self.shutting_down = false;
        self.coordinator.groups.clear();
        self.transactions = transactions::TxnCoordinator::default();
        self.verifying.clear();
        self.shares.clear();
        self.parked_share.clear();
        self.share_timer_at = 0;
        for r in &mut self.replicas {
            r.role = Role::None;
            r.known = PartMeta::default();
            r.pending_isr = None;
            r.purgatory.clear();
        }
        lost.into_iter()
            .filter_map(|(peer, m)| match m {
                BrokerMsg::Produce(req) => Some((peer, *req)),
                _ => None,
            })
            .collect()
    }

    /// A new process on the same disk: it registers with the controller anew.
    pub fn restart(&mut self, ctx: &mut Ctx) {
        self.state = BrokerState::Up;
        self.incarnation += 1;
        self.clean_shutdown_of = self.clean_shutdown_file.take();
        self.meta_offset = 0;
        self.image.clear();
        self.next_heartbeat = 0;
        self.next_isr_check = ctx.now + self.cluster.config.replica_lag_time_max_ms * MS / 2;
        ctx.timer(0, Timer::BrokerTick);
        self.start_coordinator(ctx, 0);
    }

    /// The coordinator's clock starts with the process (when the cluster has groups).
    pub fn start_coordinator(&mut self, ctx: &mut Ctx, after: Micros) {
        if !self.cluster.groups.is_empty() {
            ctx.timer(after, Timer::GroupTick);
        }
    }

    /// Where controller requests go: the known active controller, else the next guess.
    pub(super) fn controller_target(&self) -> u32 {
        self.controller.unwrap_or(self.controller_guess % self.cluster.config.controllers)
    }

    /// The controller asked is not (or no longer) the active one.
    fn lost_controller(&mut self, hint: Option<u32>) {
        self.controller = hint;
        if hint.is_none() {
            self.controller_guess += 1;
        }
        self.meta_in_flight = None;
    }

    /// Controlled shutdown: ask the controller to move leaderships first.
    pub fn stop(&mut self, ctx: &mut Ctx) {
        if !self.is_running() || self.shutting_down {
            return;
        }
        self.shutting_down = true;
        let (ctl, broker, incarnation) = (self.controller_target(), self.id, self.incarnation);
        ctx.send(
            Node::Controller(ctl),
            Msg::Controller(ControllerMsg::ControlledShutdown { broker, incarnation }),
        );
        ctx.timer(CONTROLLED_SHUTDOWN_TIMEOUT, Timer::ControlledShutdownTimeout);
    }
}
