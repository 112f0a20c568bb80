//! The engine: it owns the nodes, the event queue and the network, and is the
//! only place that knows all nodes. Drivers (the CLI, the session behind the
//! browser app, tests) use its API: create, step, run until a time, inject an
//! action, snapshot, metrics, the notable-event log, and checkpoints (a
//! `Simulation` is `Clone`).
//!
//! How a message travels: a node's handler writes it into its outbox through
//! its context (`ctx.send`); when the handler returns, the engine routes the
//! outbox (`route`): the network drops what a cut blocks and gives the rest a
//! delay; the message becomes a `Deliver` event in the queue; when its time
//! comes, `dispatch` hands it to the receiving node's `on_message`. Timers take
//! the same road without the network. Observations go to the checker, the
//! metrics, the event log and the group reports (`observe.rs`).
//!
//! - `actions.rs`: faults and commands, applied as events
//! - `observe.rs`: what the engine does with observations
//! - `views.rs`: the snapshot a driver draws

mod actions;
mod observe;
#[cfg(test)]
mod tests;
mod views;

pub use views::{BrokerView, ControllerView, GroupView, MemberView, PartitionView, ProducerView, ReplicaView, ShareView, Snapshot};

use crate::checker::audit::AuditReport;
use crate::checker::invariants::Invariants;
use crate::checker::Checker;
use crate::eventlog::EventLog;
use crate::kafka::broker::coordinator::Group;
use crate::kafka::broker::Broker;
use crate::kafka::consumer::{Consumer, ConsumerSetup};
use crate::kafka::controller::Controller;
use crate::kafka::group::{OFFSETS_PARTITIONS, OFFSETS_TOPIC};
use crate::kafka::layout;
use crate::kafka::metadata::Image;
use crate::kafka::obs::{Acks0Loss, Obs};
use crate::kafka::producer::Producer;
use crate::kafka::protocol::{BrokerMsg, ConsumerMsg, Msg, ProduceRequest, ProducerMsg, Timer};
use crate::kafka::txn::{TXN_STATE_MIN_ISR, TXN_STATE_PARTITIONS, TXN_STATE_TOPIC};
use crate::kafka::types::TxnIdInfo;
use crate::kafka::types::{Cluster, GroupInfo, PartInfo, TopicInfo};
use crate::kafka::{Ctx, Outbox};
use crate::metrics::groups::GroupReport;
use crate::metrics::Metrics;
use crate::ml::MlState;
use crate::scenario::{Acks, Scenario, TimedAction};
use crate::sim::{Effect, EventQueue, Fnv64, Latency, Micros, Network, Node, SimRng, SortSmall, MS, SEC};

use std::collections::BTreeMap;
use std::rc::Rc;

#[derive(Debug, Clone)]
pub enum Event {
    Deliver { from: Node, to: Node, msg: Msg },
    Timer { node: Node, incarnation: u32, timer: Timer },
    Action { index: usize },
}

/// Run-level counters that are not time series.
#[derive(Debug, Clone, Default)]
pub struct Counters {
    pub leader_elections: u64,
    pub unclean_elections: u64,
    /// Offline and unavailable partition time of the user's topics.
    pub offline_partition_us: u64,
    pub unavailable_partition_us: u64,
    /// The same for internal topics (`__consumer_offsets`), counted apart.
    pub internal_offline_partition_us: u64,
    pub internal_unavailable_partition_us: u64,
    /// Produce-response errors (Kafka's names), as producers see them.
    pub errors: BTreeMap<&'static str, u64>,
    /// Errors answered to group requests, and to the brokers' fetches and AlterPartition.
    pub group_errors: BTreeMap<&'static str, u64>,
    pub replication_errors: BTreeMap<&'static str, u64>,
    pub failed_records: u64,
    pub messages_dropped: u64,
    pub truncated_records: u64,
}

/// Since when a partition has been offline (no leader) or unavailable (no
/// reachable leader), for the time integrals.
#[derive(Debug, Clone, Copy, Default)]
struct Availability {
    offline_since: Option<Micros>,
    unavailable_since: Option<Micros>,
}

#[derive(Clone)]
pub struct Simulation {
    scenario: Scenario,
    cluster: Rc<Cluster>,
    now: Micros,
    queue: EventQueue<Event>,
    net: Network,
    /// The engine's own random stream (start-up jitter of brokers and consumers).
    rng: SimRng,
    /// Each node's own stream: a node draws only from its own, so adding a
    /// producer or a consumer does not change what a broker draws.
    broker_rngs: Vec<SimRng>,
    controller_rngs: Vec<SimRng>,
    producer_rngs: Vec<SimRng>,
    /// Per configured producer, the node running it now (a restart of a paused
    /// producer runs the new instance on a new node; the old one lives on as a zombie).
    producer_slot: Vec<u32>,
    /// Processing members' producers that were fenced: replaced after the handler.
    app_restarts: Vec<u32>,
    consumer_rngs: Vec<SimRng>,
    brokers: Vec<Broker>,
    controllers: Vec<Controller>,
    producers: Vec<Producer>,
    consumers: Vec<Consumer>,
    /// What every member of a group knows from its configuration.
    group_setup: Vec<ConsumerSetup>,
    actions: Vec<TimedAction>,
    metrics: Metrics,
    counters: Counters,
    /// When each broker's process last died (a request written before then is lost with it).
    broker_down_at: Vec<Micros>,
    checker: Checker,
    log: EventLog,
    reports: Vec<GroupReport>,
    /// Streaming ML workloads and models (issue 8); inert unless the scenario uses them.
    ml: MlState,
    avail: Vec<Availability>,
    /// min.insync.replicas per partition as configured now (for the views).
    min_isr: Vec<u32>,
    /// The last metadata offset whose records were reported.
    reported_meta: u64,
    /// Reused between handlers.
    out: Outbox,
    trace: Fnv64,
    events: u64,
}

/// The topics and replica assignments of a scenario. Groups need Kafka's internal
/// offsets topic; it is placed after the user's topics so adding a group does not
/// move their replicas.
fn layout_cluster(scenario: &Scenario) -> Cluster {
    let mut layout_rng = SimRng::stream(scenario.seed, "layout");
    let mut topic_specs: Vec<crate::scenario::TopicConfig> = scenario.topics.clone();
    if !scenario.groups.is_empty() {
        topic_specs.push(crate::scenario::TopicConfig {
            name: OFFSETS_TOPIC.to_string(),
            partitions: OFFSETS_PARTITIONS,
            replication_factor: scenario.cluster.brokers.min(3),
            min_insync_replicas: Some(1),
        });
    }
    let transactional = scenario.producers.iter().any(|p| p.transactional()) || scenario.groups.iter().any(|g| g.exactly_once());
    if transactional {
        topic_specs.push(crate::scenario::TopicConfig {
            name: TXN_STATE_TOPIC.to_string(),
            partitions: TXN_STATE_PARTITIONS,
            replication_factor: scenario.cluster.brokers.min(3),
            min_insync_replicas: Some(TXN_STATE_MIN_ISR.min(scenario.cluster.brokers)),
        });
    }
    let mut topics = Vec::new();
    let mut partitions = Vec::new();
    for (ti, t) in topic_specs.iter().enumerate() {
        topics.push(TopicInfo {
            name: t.name.clone(),
            first: partitions.len() as u32,
            partitions: t.partitions,
            replication_factor: t.replication_factor,
            min_isr: scenario.min_isr(t),
        });
        let assignments = layout::assign_replicas(scenario.cluster.brokers, t.partitions, t.replication_factor, &mut layout_rng);
        for (i, assignment) in assignments.into_iter().enumerate() {
            partitions.push(PartInfo {
                topic: ti as u32,
                index: i as u32,
                assignment,
            });
        }
    }
    let mut groups = Vec::new();
    if let Some(offsets) = topics.iter().find(|t| t.name == OFFSETS_TOPIC).map(|t| t.first) {
        for g in &scenario.groups {
            let offsets_pidx = offsets + crate::kafka::partitioner::offsets_partition_for_group(&g.id, OFFSETS_PARTITIONS);
            let mut subscribed: Vec<u32> = g
                .topics
                .iter()
                .filter_map(|n| topics.iter().position(|t| &t.name == n).map(|i| i as u32))
                .collect();
            subscribed.sort_small_by(|a, b| topics[*a as usize].name.cmp(&topics[*b as usize].name));
            subscribed.dedup();
            groups.push(Rc::new(GroupInfo {
                cfg: g.as_run(),
                offsets_pidx,
                topics: subscribed,
            }));
        }
    }
    let mut txn_ids: Vec<TxnIdInfo> = Vec::new();
    if let Some(state) = topics.iter().find(|t| t.name == TXN_STATE_TOPIC).map(|t| t.first) {
        let members = scenario
            .groups
            .iter()
            .filter(|g| g.exactly_once())
            .flat_map(|g| (0..g.members + crate::scenario::SPARE_MEMBER_TXN_IDS).map(|n| crate::scenario::member_txn_id(&g.id, n)));
        let user = scenario.producers.iter().filter_map(|p| p.transactional_id.clone()).map(|id| (id, false));
        let ids: Vec<(String, bool)> = user.chain(members.map(|id| (id, true))).collect();
        for (id, quiet) in &ids {
            if !txn_ids.iter().any(|t| &t.id == id) {
                txn_ids.push(TxnIdInfo {
                    quiet: *quiet,
                    id: id.clone(),
                    state_pidx: state + crate::kafka::partitioner::offsets_partition_for_group(id, TXN_STATE_PARTITIONS),
                });
            }
        }
    }
    Cluster {
        config: scenario.cluster.clone(),
        topics,
        partitions,
        groups,
        txn_ids,
        seed: scenario.seed,
    }
}

impl Simulation {
    pub fn new(scenario: &Scenario) -> Simulation {
        // Workloads add their topics and producers (labels, alerts); others are unchanged.
        let prepared = crate::ml::prepare(scenario);
        let scenario: &Scenario = &prepared;
        let cluster = Rc::new(layout_cluster(scenario));
        let c = &scenario.cluster;

        let n_parts = cluster.partitions.len();
        let mut sim = Simulation {
            scenario: scenario.clone(),
            now: 0,
            queue: EventQueue::default(),
            net: Network::new(
                Latency {
                    rtt_us: c.network_rtt_us,
                    jitter_us: c.network_jitter_us,
                },
                c.brokers,
                SimRng::stream(scenario.seed, "network"),
            ),
            rng: SimRng::stream(scenario.seed, "cluster"),
            broker_rngs: (0..c.brokers).map(|b| SimRng::stream(scenario.seed, &format!("broker/{b}"))).collect(),
            controller_rngs: (0..c.controllers).map(|i| SimRng::stream(scenario.seed, &format!("controller/{i}"))).collect(),
            producer_rngs: Vec::new(),
            producer_slot: Vec::new(),
            app_restarts: Vec::new(),
            consumer_rngs: Vec::new(),
            brokers: (0..c.brokers).map(|b| Broker::new(b, cluster.clone())).collect(),
            controllers: (0..c.controllers).map(|i| Controller::new(i, cluster.clone())).collect(),
            producers: Vec::new(),
            consumers: Vec::new(),
            group_setup: Vec::new(),
            actions: scenario.actions.clone(),
            metrics: Metrics::new(SEC, 3_600),
            counters: Counters::default(),
            broker_down_at: vec![0; c.brokers as usize],
            checker: Checker::new(cluster.clone(), scenario.groups.iter().map(|g| g.id.clone()).collect()),
            log: EventLog::new(2_000),
            reports: scenario.groups.iter().map(|g| GroupReport::new(g.id.clone(), g.is_share())).collect(),
            ml: MlState::default(),
            avail: vec![Availability::default(); n_parts],
            min_isr: cluster.partitions.iter().map(|p| cluster.topics[p.topic as usize].min_isr).collect(),
            reported_meta: 1,
            out: Outbox::default(),
            trace: Fnv64::default(),
            events: 0,
            cluster,
        };
        // Actions at the same time apply in file order, before other events of that time:
        // they are queued first, and the queue breaks ties by insertion order.
        let mut order: Vec<usize> = (0..sim.actions.len()).collect();
        order.sort_small_by_key(|&i| sim.actions[i].at_us);
        for index in order {
            sim.queue.push_first(sim.actions[index].at_us, Event::Action { index });
        }
        sim.bootstrap();
        for (i, cfg) in scenario.producers.iter().enumerate() {
            sim.producers.push(Producer::new(sim.cluster.clone(), i as u32, cfg.clone()));
            sim.producer_rngs.push(SimRng::stream(scenario.seed, &format!("producer/{}", cfg.id)));
            sim.producer_slot.push(i as u32);
            sim.with_producer(i as u32, |p, ctx| p.start(ctx));
        }
        for (producer, sink, delay) in crate::ml::label_sinks(scenario) {
            sim.producers[producer].label_sink = Some((sink, delay));
        }
        let poison = Rc::new(scenario.producers.iter().map(|p| p.poison_per_mille).collect::<Vec<u32>>());
        for (g, info) in sim.cluster.groups.clone().iter().enumerate() {
            sim.group_setup.push(ConsumerSetup {
                poison: poison.clone(),
                cluster: sim.cluster.clone(),
                cfg: Rc::new(info.cfg.clone()),
                topics: Rc::new(info.topics.clone()),
                cost_us: crate::ml::model_cost_us(&info.cfg),
            });
            for _ in 0..info.cfg.members {
                sim.add_consumer(g as u32);
            }
        }
        sim.ml = MlState::new(scenario, &sim.cluster);
        sim
    }

    /// The cluster at time 0: every broker registered and unfenced, controller c0
    /// active, leaders on the preferred replicas, as after a clean start.
    fn bootstrap(&mut self) {
        let cluster = self.cluster.clone();
        for (pidx, p) in cluster.partitions.iter().enumerate() {
            let meta = self.metadata().meta[pidx].clone();
            for &b in &p.assignment {
                self.with_broker(b, |br, ctx| br.apply_known(ctx, pidx as u32, meta.clone()));
            }
        }
        let image: Vec<(Option<u32>, i32)> = self.metadata().meta.iter().map(|m| (m.leader, m.leader_epoch)).collect();
        for b in 0..self.brokers.len() as u32 {
            self.with_broker(b, |br, ctx| br.send_refetches(ctx));
            self.brokers[b as usize].bootstrap(image.clone());
            let jitter = self.rng.range(0, 250 * MS);
            self.timer(Node::Broker(b), jitter, Timer::BrokerTick);
            self.with_broker(b, |br, ctx| br.start_coordinator(ctx, jitter));
        }
        for c in 0..self.controllers.len() as u32 {
            self.with_controller(c, |ctl, ctx| ctl.start(ctx));
        }
        self.refresh_availability();
    }

    pub fn scenario(&self) -> &Scenario {
        &self.scenario
    }

    pub fn cluster(&self) -> &Cluster {
        &self.cluster
    }

    pub fn now_us(&self) -> Micros {
        self.now
    }

    pub fn end_us(&self) -> Micros {
        self.scenario.duration_ms * MS
    }

    pub fn events_processed(&self) -> u64 {
        self.events
    }

    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    pub fn event_log(&self) -> &EventLog {
        &self.log
    }

    pub fn invariants(&self) -> &Invariants {
        &self.checker.invariants
    }

    /// The exactly-once invariant, checked every metrics interval: every input
    /// below an exactly_once_v2 group's committed offsets has one committed
    /// output (Kafka promises it while no unclean election rewrites records).
    fn check_exactly_once(&mut self) {
        if self.counters.unclean_elections > 0 {
            return;
        }
        let mut bad = Vec::new();
        for (g, guarantee, counts) in self.eos_counts() {
            let Some(c) = counts.filter(|_| guarantee == crate::scenario::ProcessingGuarantee::ExactlyOnceV2) else {
                continue;
            };
            self.checker.invariants.checks += 1;
            if c.duplicate_outputs > 0 || c.missing_outputs > 0 {
                let id = &self.cluster.groups[g].cfg.id;
                bad.push(format!(
                    "group {id}: {} of {} inputs have no committed output, {} outputs are repeats",
                    c.missing_outputs, c.inputs, c.duplicate_outputs
                ));
            }
        }
        for detail in bad {
            self.checker.invariants.violation(self.now, "exactly_once_outputs", detail);
        }
    }

    /// Processing groups (by index): their guarantee, and the exactly-once audit's
    /// counts (None when retention deleted what the audit needs to tell).
    pub fn eos_counts(&self) -> Vec<(usize, crate::scenario::ProcessingGuarantee, Option<crate::checker::eos::EosCounts>)> {
        struct Holders<'a>(&'a Simulation);
        impl crate::checker::eos::Logs for Holders<'_> {
            fn log(&self, pidx: u32) -> Option<&crate::checker::shadow::Shadow> {
                self.0.holder(pidx).and_then(|b| self.0.checker.shadow(pidx, b))
            }
            fn hw(&self, pidx: u32) -> u64 {
                // The highest HW any leader reached: a new leader's may trail a while.
                self.0.checker.committed_hw(pidx)
            }
        }
        let logs = Holders(self);
        self.cluster
            .groups
            .iter()
            .enumerate()
            .filter_map(|(g, info)| {
                let guarantee = info.cfg.processing_guarantee?;
                let read_committed = info.cfg.isolation_level == crate::scenario::IsolationLevel::ReadCommitted;
                Some((g, guarantee, self.checker.eos_counts(g as u32, read_committed, &logs)))
            })
            .collect()
    }

    /// The checker's record of transactions (decisions, fenced instances, what groups read).
    pub fn transactions_audit(&self) -> &crate::checker::transactions::TxnAudit {
        &self.checker.txns
    }

    /// `unclean.leader.election.enable` as it is now (scenario, then actions).
    pub fn unclean_leader_election_enabled(&self) -> bool {
        self.metadata().unclean
    }

    /// What each group did (rebalances, records consumed), in scenario order.
    pub fn groups(&self) -> &[GroupReport] {
        &self.reports
    }

    /// The processor of each group that has one, by group index.
    pub fn models(&self) -> impl Iterator<Item = (usize, &crate::ml::GroupModel)> + '_ {
        self.ml.models()
    }

    pub fn model_view(&self, g: usize) -> Option<crate::ml::ModelView> {
        self.ml.model_view(g)
    }

    /// The cluster's committed metadata: the active controller's, or while there is
    /// none, the most advanced one a live controller has (what the next active one
    /// will start from).
    pub(crate) fn metadata(&self) -> &Image {
        let best = self.controllers.iter().filter(|c| c.is_leader()).max_by_key(|c| c.epoch).or_else(|| {
            self.controllers
                .iter()
                .filter(|c| c.alive)
                .max_by_key(|c| c.log.hw)
                .or_else(|| self.controllers.iter().max_by_key(|c| c.log.hw))
        });
        best.expect("at least one controller").image()
    }

    /// The active controller, if the quorum has one.
    pub(crate) fn active_controller(&self) -> Option<u32> {
        self.controllers.iter().filter(|c| c.is_leader()).max_by_key(|c| c.epoch).map(|c| c.id)
    }

    /// A group as its coordinator knows it now: the broker leading its offsets
    /// partition (as the controller has it), or else any broker that loaded it.
    pub(crate) fn coordinator_of(&self, g: u32) -> Option<(u32, &Group)> {
        let pidx = self.cluster.groups.get(g as usize)?.offsets_pidx;
        let leader = self.metadata().meta[pidx as usize].leader;
        let loaded = |b: u32| self.brokers[b as usize].coordinator.groups.get(&g).map(|grp| (b, grp));
        leader.and_then(loaded).or_else(|| (0..self.brokers.len() as u32).find_map(loaded))
    }

    /// The replica that holds a partition's committed data now: its leader; when
    /// it is offline, the last ISR member, or with an empty ISR (ELR on) the
    /// eligible leader replica the controller would elect first (every one holds
    /// what was committed: the HW cannot move while the ISR is below min ISR),
    /// or else the last known leader.
    fn holder(&self, pidx: u32) -> Option<u32> {
        let m = &self.metadata().meta[pidx as usize];
        let first_elr = || self.cluster.part(pidx).assignment.iter().copied().find(|r| m.elr.contains(r));
        m.leader
            .or_else(|| m.isr.first().copied())
            .or_else(first_elr)
            .or_else(|| m.last_known_elr.first().copied())
    }

    /// The high watermark of the partition's holder.
    fn holder_hw(&self, pidx: u32) -> u64 {
        self.holder(pidx).and_then(|b| self.brokers[b as usize].replica(pidx)).map_or(0, |r| r.log.hw)
    }

    /// When member `number` of group `g` last polled (0 if there is no such member).
    pub fn consumer_last_poll(&self, g: u32, number: u32) -> Micros {
        self.consumers.iter().find(|c| c.group == g && c.number == number).map_or(0, |c| c.last_poll)
    }

    /// Lag per group: the leader's HW minus the committed offset (or where the
    /// group started reading, before its first commit), summed over partitions.
    pub fn group_lag(&self, g: usize) -> u64 {
        self.partition_lag(g).map(|(_, lag)| lag).sum()
    }

    /// Per partition of the group's topics: (partition index, lag).
    pub fn partition_lag(&self, g: usize) -> impl Iterator<Item = (u32, u64)> + '_ {
        let report = &self.reports[g];
        let topics = self.group_setup.get(g).map_or(&[][..], |s| s.topics.as_slice());
        topics.iter().flat_map(move |&t| {
            let t = &self.cluster.topics[t as usize];
            (t.first..t.first + t.partitions).map(move |pidx| {
                let hw = self.holder_hw(pidx);
                let base = report.committed.get(&pidx).or_else(|| report.start_offsets.get(&pidx)).copied().unwrap_or(hw);
                (pidx, hw.saturating_sub(base))
            })
        })
    }

    /// Every action applied so far (scenario and injected), with its time.
    pub fn actions(&self) -> &[TimedAction] {
        &self.actions
    }

    /// Hex FNV-1a over every processed event: time, kind and nodes.
    pub fn fingerprint(&self) -> String {
        self.trace.hex()
    }

    /// Processes one event. Returns false when the queue is empty.
    pub fn step(&mut self) -> bool {
        let Some((time, _seq, event)) = self.queue.pop() else {
            return false;
        };
        if time >= self.metrics.next_close() {
            self.close_intervals(time);
        }
        self.now = time;
        // A paused broker handles nothing until its pause ends: defer, keeping order.
        if let Some(b) = event_broker(&event) {
            let until = self.brokers[b as usize].paused_until;
            if until > time && !matches!(event, Event::Timer { timer: Timer::PauseEnd, .. }) {
                self.queue.push(until, event);
                return true;
            }
        }
        self.events += 1;
        // Time, kind and nodes, not the push-order sequence number: a replay that
        // queues its actions up front runs the same events in the same order.
        self.trace.u64(time);
        self.dispatch(event);
        true
    }

    /// Runs every event scheduled at or before `t`, then sets the clock to `t`.
    pub fn run_until(&mut self, t: Micros) {
        while self.queue.peek_time().is_some_and(|next| next <= t) {
            self.step();
        }
        if t > self.now {
            if t >= self.metrics.next_close() {
                self.close_intervals(t);
            }
            self.now = t;
        }
    }

    /// Runs until at least `max_events` events ran or simulated time reaches `t`,
    /// whichever is first; returns whether `t` was reached. The UI slices work per frame with it.
    pub fn run_for(&mut self, t: Micros, max_events: u64) -> bool {
        let stop = self.events + max_events;
        while self.events < stop {
            match self.queue.peek_time() {
                Some(next) if next <= t => {
                    self.step();
                }
                _ => {
                    self.run_until(t);
                    return true;
                }
            }
        }
        false
    }

    // ---- routing -------------------------------------------------------------------

    fn incarnation(&self, node: Node) -> u32 {
        match node {
            Node::Broker(b) => self.brokers[b as usize].incarnation,
            Node::Controller(c) => self.controllers[c as usize].incarnation,
            Node::Client(p) => self.producers[p as usize].incarnation,
            Node::Consumer(c) => self.consumers[c as usize].incarnation,
        }
    }

    /// A timer the engine sets on a node's behalf (start-up, the coordinators' clock).
    fn timer(&mut self, node: Node, after: Micros, timer: Timer) {
        let incarnation = self.incarnation(node);
        self.queue.push(self.now + after, Event::Timer { node, incarnation, timer });
    }

    /// Sends a message that leaves `from` at `depart` (>= now). Dropped by a cut.
    fn send_at(&mut self, depart: Micros, from: Node, to: Node, msg: Msg) {
        if self.in_process(from, to) {
            // A processing member and its producer: one process, no network.
            self.queue.push(depart.max(self.now), Event::Deliver { from, to, msg });
            return;
        }
        if self.net.is_cut(from, to) {
            self.counters.messages_dropped += 1;
            if let Msg::Broker(BrokerMsg::Produce(req)) = &msg {
                self.acks0_unwritten(from, req, Acks0Loss::NetworkCut);
            }
            return;
        }
        let at = self.net.arrival(depart.max(self.now), from, to, msg.lane());
        self.queue.push(at, Event::Deliver { from, to, msg });
    }

    fn in_process(&self, from: Node, to: Node) -> bool {
        match (from, to) {
            (Node::Consumer(c), Node::Client(p)) | (Node::Client(p), Node::Consumer(c)) => self
                .consumers
                .get(c as usize)
                .and_then(|con| con.processing.as_ref())
                .is_some_and(|pr| pr.producer == Some(p)),
            _ => false,
        }
    }

    fn send(&mut self, from: Node, to: Node, msg: Msg) {
        self.send_at(self.now, from, to, msg);
    }

    /// Routes what a handler of `me` wrote: sends through the network, timers to
    /// the queue (tied to the node's current process), then the observations.
    fn route(&mut self, me: Node) {
        let mut out = std::mem::take(&mut self.out);
        for effect in out.effects.drain(..) {
            match effect {
                Effect::Send { depart, from, to, msg } => self.send_at(depart, from, to, msg),
                Effect::Timer { at, timer } => {
                    let incarnation = self.incarnation(me);
                    self.queue.push(at, Event::Timer { node: me, incarnation, timer });
                }
            }
        }
        let mut refresh = false;
        for obs in out.observations.drain(..) {
            refresh |= self.observe(me, obs);
        }
        self.out = out;
        if refresh {
            self.refresh_availability();
        }
        while let Some(p) = self.app_restarts.pop() {
            self.restart_app_producer(p);
        }
    }

    fn with_broker(&mut self, b: u32, f: impl FnOnce(&mut Broker, &mut Ctx)) {
        let me = Node::Broker(b);
        let broker = &mut self.brokers[b as usize];

        let mut ctx = Ctx::new(self.now, me, &mut self.broker_rngs[b as usize], &mut self.out);
        f(broker, &mut ctx);
        self.route(me);
    }

    fn with_controller(&mut self, c: u32, f: impl FnOnce(&mut Controller, &mut Ctx)) {
        let me = Node::Controller(c);
        let mut ctx = Ctx::new(self.now, me, &mut self.controller_rngs[c as usize], &mut self.out);
        f(&mut self.controllers[c as usize], &mut ctx);
        self.route(me);
    }

    fn with_producer(&mut self, p: u32, f: impl FnOnce(&mut Producer, &mut Ctx)) {
        let me = Node::Client(p);
        let mut ctx = Ctx::new(self.now, me, &mut self.producer_rngs[p as usize], &mut self.out);
        f(&mut self.producers[p as usize], &mut ctx);
        self.route(me);
    }

    fn with_consumer(&mut self, c: u32, f: impl FnOnce(&mut Consumer, &mut Ctx)) {
        let me = Node::Consumer(c);
        let mut ctx = Ctx::new(self.now, me, &mut self.consumer_rngs[c as usize], &mut self.out);
        f(&mut self.consumers[c as usize], &mut ctx);
        self.route(me);
    }

    fn dispatch(&mut self, event: Event) {
        match event {
            Event::Deliver { from, to, msg } => {
                self.trace.u32(1);
                self.trace.u64(from.code());
                self.trace.u64(to.code());
                match (to, msg) {
                    (Node::Broker(b), Msg::Broker(m)) => {
                        if self.brokers[b as usize].is_running() {
                            self.with_broker(b, |br, ctx| br.on_message(ctx, from, m));
                        } else {
                            // A dead process's port refuses connections: the sender learns at once.
                            self.refuse(b, from, &m);
                        }
                    }
                    (Node::Controller(c), Msg::Controller(m)) if self.controllers[c as usize].alive => {
                        self.with_controller(c, |ctl, ctx| ctl.on_message(ctx, from, m));
                    }
                    (Node::Client(p), Msg::Producer(m)) => {
                        let pr = &self.producers[p as usize];
                        if pr.paused_until > self.now {
                            // A paused process reads its socket once it runs again.
                            let at = pr.paused_until;
                            self.queue.push(
                                at,
                                Event::Deliver {
                                    from,
                                    to,
                                    msg: Msg::Producer(m),
                                },
                            );
                        } else if pr.alive {
                            self.with_producer(p, |pr, ctx| pr.on_message(ctx, from, m));
                        }
                    }
                    (Node::Consumer(c), Msg::Consumer(m)) => self.with_consumer(c, |con, ctx| con.on_message(ctx, from, m)),
                    _ => {}
                }
            }
            Event::Timer { node, incarnation, timer } => {
                self.trace.u32(2);
                self.trace.u64(node.code());
                match node {
                    Node::Broker(b) => {
                        let br = &self.brokers[b as usize];
                        if br.incarnation == incarnation && br.is_running() {
                            if timer == Timer::PauseEnd {
                                self.refresh_availability();
                            } else {
                                self.with_broker(b, |br, ctx| br.on_timer(ctx, timer));
                            }
                        }
                    }
                    Node::Controller(c) => {
                        let ctl = &self.controllers[c as usize];
                        if ctl.alive && ctl.incarnation == incarnation {
                            self.with_controller(c, |ctl, ctx| ctl.on_timer(ctx, timer));
                        }
                    }
                    Node::Client(p) => {
                        // A timer dies with its process; a paused one fires when the pause ends.
                        let pr = &self.producers[p as usize];
                        let live = pr.incarnation == incarnation && pr.alive;
                        if live && pr.paused_until > self.now {
                            let at = pr.paused_until;
                            self.queue.push(at, Event::Timer { node, incarnation, timer });
                        } else if live {
                            self.with_producer(p, |pr, ctx| pr.on_timer(ctx, timer));
                        }
                    }
                    Node::Consumer(c) => {
                        if self.consumers[c as usize].incarnation == incarnation {
                            self.with_consumer(c, |con, ctx| con.on_timer(ctx, timer));
                        }
                    }
                }
            }
            Event::Action { index } => {
                self.trace.u32(3);
                let action = self.actions[index].action.clone();
                self.apply(action);
            }
        }
    }

    /// An acks=0 produce request that will not be written: the checker counts it.
    pub(super) fn acks0_unwritten(&mut self, from: Node, req: &ProduceRequest, why: Acks0Loss) {
        if req.acks != Acks::Zero {
            return;
        }
        for (pidx, b) in &req.batches {
            let obs = Obs::Acks0Unwritten {
                instance: b.producer,
                pidx: *pidx,
                seq: b.audit_seq,
                records: b.records,
                why,
            };
            self.observe(from, obs);
        }
    }

    /// A message reached a dead broker: clients and fetchers see a refused connection.
    fn refuse(&mut self, b: u32, from: Node, msg: &BrokerMsg) {
        match (from, msg) {
            (Node::Client(_), BrokerMsg::Produce(req)) => {
                if req.sent_us < self.broker_down_at[b as usize] {
                    // Written to the connection before the process died: gone with it.
                    self.acks0_unwritten(from, req, Acks0Loss::DeadBroker);
                    self.send(Node::Broker(b), from, Msg::Producer(ProducerMsg::Disconnected));
                } else {
                    let req = req.clone();
                    self.send(Node::Broker(b), from, Msg::Producer(ProducerMsg::Refused(req)));
                }
            }
            (Node::Client(_), BrokerMsg::ClientMetadata { .. } | BrokerMsg::Txn(_)) => {
                self.send(Node::Broker(b), from, Msg::Producer(ProducerMsg::Disconnected));
            }
            (Node::Broker(_), BrokerMsg::AddPartitionsToTxn { pid, epoch, pidx }) => {
                let (pid, epoch, pidx) = (*pid, *epoch, *pidx);
                let error = Some(crate::kafka::types::ErrorCode::NotCoordinator);
                self.send(
                    Node::Broker(b),
                    from,
                    Msg::Broker(BrokerMsg::AddPartitionsToTxnResponse { pid, epoch, pidx, error }),
                );
            }
            (Node::Broker(_), BrokerMsg::WriteTxnMarkers { pid, epoch, parts, .. }) => {
                let error = Some(crate::kafka::types::ErrorCode::NotLeaderOrFollower);
                let results = parts.iter().map(|&p| (p, error)).collect();
                let (pid, epoch) = (*pid, *epoch);
                self.send(Node::Broker(b), from, Msg::Broker(BrokerMsg::WriteTxnMarkersResponse { pid, epoch, results }));
            }
            (Node::Broker(_), BrokerMsg::Fetch { .. }) => self.send(Node::Broker(b), from, Msg::Broker(BrokerMsg::Disconnected)),
            (Node::Consumer(_), _) => self.send(Node::Broker(b), from, Msg::Consumer(ConsumerMsg::Disconnected)),
            _ => {}
        }
    }

    /// Recomputes which partitions are offline or unavailable and accrues their time.
    fn refresh_availability(&mut self) {
        let now = self.now;
        for p in 0..self.avail.len() {
            let leader = self.metadata().meta[p].leader;
            let offline = leader.is_none();
            let unavailable = match leader {
                None => true,
                Some(l) => {
                    let b = &self.brokers[l as usize];
                    !b.is_running() || b.paused_until > now || self.metadata().brokers[l as usize].fenced
                }
            };
            let c = &mut self.counters;
            let (offline_us, unavailable_us) = if self.cluster.is_internal(p as u32) {
                (&mut c.internal_offline_partition_us, &mut c.internal_unavailable_partition_us)
            } else {
                (&mut c.offline_partition_us, &mut c.unavailable_partition_us)
            };
            let a = &mut self.avail[p];
            match (offline, a.offline_since) {
                (true, None) => a.offline_since = Some(now),
                (false, Some(since)) => {
                    *offline_us += now - since;
                    a.offline_since = None;
                }
                _ => {}
            }
            match (unavailable, a.unavailable_since) {
                (true, None) => a.unavailable_since = Some(now),
                (false, Some(since)) => {
                    *unavailable_us += now - since;
                    a.unavailable_since = None;
                }
                _ => {}
            }
        }
    }

    fn close_intervals(&mut self, t: Micros) {
        while t >= self.metrics.next_close() {
            let mut urp = 0;
            let mut offline = 0;
            let mut unavailable = 0;
            // Counted over the user's topics, as the cluster view shows them (Kafka's own
            // metric also counts __consumer_offsets).
            for (pidx, p) in self.cluster.partitions.iter().enumerate() {
                if self.cluster.is_internal(pidx as u32) {
                    continue;
                }
                let m = &self.metadata().meta[pidx];
                if m.leader.is_none() {
                    offline += 1;
                }
                if m.isr.len() < p.assignment.len() {
                    urp += 1;
                }
                if self.avail[pidx].unavailable_since.is_some() {
                    unavailable += 1;
                }
            }
            let in_flight = self.producers.iter().map(|p| p.in_flight_requests()).sum();
            let lag = (0..self.reports.len()).map(|g| self.group_lag(g)).sum();
            self.metrics.close_interval(urp, offline, unavailable, in_flight, lag);
            if !self.checker.eos.is_empty() {
                self.check_exactly_once();
            }
            if self.ml.active {
                let models = self.ml.sample();
                if let Some(p) = self.metrics.points.back_mut() {
                    p.models = models;
                }
            }
        }
    }

    /// Time-integrated offline and unavailable partition time of the user's
    /// topics up to now (what the charts show: internal topics are not the user's).
    pub fn partition_time_us(&self) -> (u64, u64) {
        let c = &self.counters;
        self.open_partition_time(false, c.offline_partition_us, c.unavailable_partition_us)
    }

    /// The same for internal topics (`__consumer_offsets`), reported apart.
    pub fn internal_partition_time_us(&self) -> (u64, u64) {
        let c = &self.counters;
        self.open_partition_time(true, c.internal_offline_partition_us, c.internal_unavailable_partition_us)
    }

    fn open_partition_time(&self, internal: bool, mut offline: u64, mut unavailable: u64) -> (u64, u64) {
        for (p, a) in self.avail.iter().enumerate() {
            if self.cluster.is_internal(p as u32) == internal {
                offline += a.offline_since.map_or(0, |s| self.now - s);
                unavailable += a.unavailable_since.map_or(0, |s| self.now - s);
            }
        }
        (offline, unavailable)
    }

    /// Compares every acknowledged record with the log of the partition's current
    /// leader (or of the last ISR member when offline), as the checker sees it.
    /// Did any producer send with acks=0 so far?
    pub fn tracks_acks0(&self) -> bool {
        self.checker.audit.tracks_acks0()
    }

    pub fn audit_report(&self) -> AuditReport {
        self.checker
            .audit_report((0..self.cluster.partitions.len() as u32).map(|p| (p, self.holder(p))))
    }
}

fn event_broker(e: &Event) -> Option<u32> {
    match e {
        Event::Deliver { to: Node::Broker(b), .. } | Event::Timer { node: Node::Broker(b), .. } => Some(*b),
        _ => None,
    }
}
