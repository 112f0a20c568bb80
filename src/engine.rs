//! The simulation driver: builds a cluster from a scenario and runs it as a
//! discrete-event simulation. Drivers (the CLI, the browser app, tests) use
//! only this API: create, step, run until a time, inject an action, snapshot,
//! metrics, the notable-event log, and checkpoints (a `Simulation` is `Clone`).
//!
//! The state lives here; the handlers live with the domain in `kafka::broker`,
//! `kafka::controller` and `kafka::producer`, as `impl Simulation` blocks that
//! act only by sending messages and setting timers through `send` and `timer`.

use crate::audit::{Audit, AuditReport};
use crate::eventlog::{EventLog, Notable};
use crate::invariants::Invariants;
use crate::kafka::broker::{Broker, BrokerMsg};
use crate::kafka::consumer::{Consumer, ConsumerMsg};
use crate::kafka::controller::{ControllerMsg, Quorum};
use crate::kafka::group::{Group, OFFSETS_PARTITIONS, OFFSETS_TOPIC};
use crate::kafka::layout;
use crate::kafka::log::Log;
use crate::kafka::producer::{Producer, ProducerMsg};
use crate::metrics::Metrics;
use crate::scenario::{Action, NodeName, Scenario, TimedAction};
use crate::sim::SortSmall;
use crate::sim::{EventQueue, Fnv64, Micros, Network, Node, SimRng, MS, SEC};
use serde::Serialize;
use std::collections::BTreeMap;

/// What the controller has committed for a partition (and what brokers learn of it).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PartMeta {
    pub leader: Option<u32>,
    pub leader_epoch: i32,
    pub isr: Vec<u32>,
    pub partition_epoch: i32,
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    None,
    Leader,
    Follower,
}

/// One replica: its log on the broker's disk, and what its broker believes.
#[derive(Debug, Clone)]
pub struct Replica {
    pub broker: u32,
    pub log: Log,
    pub role: Role,
    /// The broker's view of the partition's metadata (learned from the controller).
    pub known: PartMeta,
    /// Leader only: per replica in assignment order.
    pub followers: Vec<FollowerState>,
    /// Leader only: the ISR change proposed and not yet answered.
    pub pending_isr: Option<Vec<u32>>,
    pub pending_since: Micros,
    pub alter_backoff_until: Micros,
    /// Leader only: acks=all requests waiting for the HW, (end offset, wait slot, slot generation).
    pub purgatory: std::collections::VecDeque<(u64, u32, u32)>,
}

#[derive(Debug, Clone)]
pub struct Partition {
    pub topic: u32,
    pub index: u32,
    pub min_isr: u32,
    pub replicas: Vec<Replica>,
    /// The controller's committed state and the metadata offset of its last change.
    pub ctrl: PartMeta,
    pub ctrl_offset: u64,
    pub unavailable_since: Option<Micros>,
    pub offline_since: Option<Micros>,
}

impl Partition {
    pub fn assignment(&self) -> impl Iterator<Item = u32> + '_ {
        self.replicas.iter().map(|r| r.broker)
    }

    pub fn slot_of(&self, broker: u32) -> Option<usize> {
        self.replicas.iter().position(|r| r.broker == broker)
    }
}

#[derive(Debug, Clone)]
pub struct TopicInfo {
    pub name: String,
    /// Global index of partition 0; partitions are contiguous.
    pub first: u32,
    pub partitions: u32,
    pub replication_factor: u32,
}

/// Every network message, by the kind of node that receives it.
#[derive(Debug, Clone)]
pub enum Msg {
    Broker(BrokerMsg),
    Controller(ControllerMsg),
    Producer(ProducerMsg),
    Consumer(ConsumerMsg),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timer {
    ProducerTick,
    BrokerTick,
    ParkedFetchTimeout,
    ControlledShutdownTimeout,
    PauseEnd,
    ControllerTick,
    GroupTick,
    ConsumerPoll,
    ConsumerHeartbeat,
}

#[derive(Debug, Clone)]
pub enum Event {
    Deliver { from: Node, to: Node, msg: Msg },
    Timer { node: Node, incarnation: u32, timer: Timer },
    Action { index: usize },
}

/// Error names as Kafka spells them, counted per partition response.
pub const ERROR_NAMES: &[&str] = &[
    "NOT_LEADER_OR_FOLLOWER",
    "NOT_ENOUGH_REPLICAS",
    "NOT_ENOUGH_REPLICAS_AFTER_APPEND",
    "REQUEST_TIMED_OUT",
    "NETWORK_EXCEPTION",
    "OUT_OF_ORDER_SEQUENCE_NUMBER",
    "DUPLICATE_SEQUENCE_NUMBER",
    "FENCED_LEADER_EPOCH",
    "UNKNOWN_LEADER_EPOCH",
    "OFFSET_OUT_OF_RANGE",
    "INVALID_UPDATE_VERSION",
    "INELIGIBLE_REPLICA",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ErrorCode {
    NotLeaderOrFollower,
    NotEnoughReplicas,
    NotEnoughReplicasAfterAppend,
    RequestTimedOut,
    NetworkException,
    OutOfOrderSequenceNumber,
    DuplicateSequenceNumber,
    FencedLeaderEpoch,
    UnknownLeaderEpoch,
    OffsetOutOfRange,
    InvalidUpdateVersion,
    IneligibleReplica,
}

impl ErrorCode {
    pub fn name(self) -> &'static str {
        ERROR_NAMES[self as usize]
    }
}

/// Run-level counters that are not time series.
#[derive(Debug, Clone, Default)]
pub struct Counters {
    pub leader_elections: u64,
    pub unclean_elections: u64,
    pub offline_partition_us: u64,
    pub unavailable_partition_us: u64,
    pub errors: BTreeMap<&'static str, u64>,
    pub failed_records: u64,
    pub messages_dropped: u64,
    pub truncated_records: u64,
}

#[derive(Clone)]
pub struct Simulation {
    pub(crate) scenario: Scenario,
    pub(crate) now: Micros,
    pub(crate) queue: EventQueue<Event>,
    pub(crate) net: Network,
    pub(crate) rng: SimRng,
    pub(crate) topics: Vec<TopicInfo>,
    pub(crate) partitions: Vec<Partition>,
    pub(crate) brokers: Vec<Broker>,
    pub(crate) quorum: Quorum,
    pub(crate) producers: Vec<Producer>,
    pub(crate) groups: Vec<Group>,
    pub(crate) consumers: Vec<Consumer>,
    pub(crate) actions: Vec<TimedAction>,
    pub(crate) metrics: Metrics,
    pub(crate) counters: Counters,
    pub(crate) audit: Audit,
    pub(crate) invariants: Invariants,
    pub(crate) log: EventLog,
    pub(crate) unclean_enabled: bool,
    /// Streaming ML workloads and models (issue 8); inert unless the scenario uses them.
    pub(crate) ml: crate::ml::MlState,
    trace: Fnv64,
    events: u64,
}

impl Simulation {
    pub fn new(scenario: &Scenario) -> Simulation {
        // Workloads add their topics and producers (labels, alerts); others are unchanged.
        let prepared = crate::ml::prepare(scenario);
        let scenario: &Scenario = &prepared;
        let mut layout_rng = SimRng::stream(scenario.seed, "layout");
        let mut topics = Vec::new();
        let mut partitions = Vec::new();
        // Groups need Kafka's internal offsets topic; it is placed after the user's
        // topics so adding a group does not move their replicas.
        let mut topic_specs: Vec<crate::scenario::TopicConfig> = scenario.topics.clone();
        if !scenario.groups.is_empty() {
            topic_specs.push(crate::scenario::TopicConfig {
                name: OFFSETS_TOPIC.to_string(),
                partitions: OFFSETS_PARTITIONS,
                replication_factor: scenario.cluster.brokers.min(3),
                min_insync_replicas: Some(1),
            });
        }
        for (ti, t) in topic_specs.iter().enumerate() {
            topics.push(TopicInfo {
                name: t.name.clone(),
                first: partitions.len() as u32,
                partitions: t.partitions,
                replication_factor: t.replication_factor,
            });
            let min_isr = scenario.min_isr(t);
            for (i, assignment) in layout::assign_replicas(scenario.cluster.brokers, t.partitions, t.replication_factor, &mut layout_rng)
                .into_iter()
                .enumerate()
            {
                let ctrl = PartMeta {
                    leader: assignment.first().copied(),
                    leader_epoch: 0,
                    isr: assignment.clone(),
                    partition_epoch: 0,
                };
                let replicas = assignment
                    .iter()
                    .map(|&b| Replica {
                        broker: b,
                        log: Log::default(),
                        role: Role::None,
                        known: PartMeta::default(),
                        followers: vec![FollowerState::default(); assignment.len()],
                        pending_isr: None,
                        pending_since: 0,
                        alter_backoff_until: 0,
                        purgatory: Default::default(),
                    })
                    .collect();
                partitions.push(Partition {
                    topic: ti as u32,
                    index: i as u32,
                    min_isr,
                    replicas,
                    ctrl,
                    ctrl_offset: 1,
                    unavailable_since: None,
                    offline_since: None,
                });
            }
        }
        let c = &scenario.cluster;
        let brokers = (0..c.brokers).map(|_| Broker::new()).collect();
        let n_parts = partitions.len();
        let mut sim = Simulation {
            scenario: scenario.clone(),
            now: 0,
            queue: EventQueue::default(),
            net: Network::new(c.network_rtt_us, c.brokers, SimRng::stream(scenario.seed, "network")),
            rng: SimRng::stream(scenario.seed, "cluster"),
            topics,
            partitions,
            brokers,
            quorum: Quorum::new(c.brokers, c.controllers),
            producers: Vec::new(),
            groups: Vec::new(),
            consumers: Vec::new(),
            actions: scenario.actions.clone(),
            metrics: Metrics::new(SEC, 3_600),
            counters: Counters::default(),
            audit: Audit::new(n_parts),
            invariants: Invariants::new(n_parts),
            log: EventLog::new(2_000),
            unclean_enabled: c.unclean_leader_election_enable,
            ml: crate::ml::MlState::default(),
            trace: Fnv64::default(),
            events: 0,
        };
        // Actions at the same time apply in file order, before other events of that time:
        // they are queued first, and the queue breaks ties by insertion order.
        let mut order: Vec<usize> = (0..sim.actions.len()).collect();
        order.sort_small_by_key(|&i| sim.actions[i].at_us);
        for index in order {
            sim.queue.push_first(sim.actions[index].at_us, Event::Action { index });
        }
        sim.bootstrap();
        for (i, p) in scenario.producers.iter().enumerate() {
            let producer = Producer::new(&sim, i as u32, p.clone());
            for (instance, acks) in producer.instances() {
                sim.audit.register_instance(instance, acks);
            }
            sim.producers.push(producer);
            sim.timer(Node::Client(i as u32), 0, Timer::ProducerTick);
        }
        if let Some(offsets) = sim.topics.iter().find(|t| t.name == OFFSETS_TOPIC).map(|t| t.first) {
            for g in &scenario.groups {
                let pidx = offsets + crate::kafka::partitioner::offsets_partition_for_group(&g.id, OFFSETS_PARTITIONS);
                let mut topics: Vec<u32> = g
                    .topics
                    .iter()
                    .filter_map(|n| sim.topics.iter().position(|t| &t.name == n).map(|i| i as u32))
                    .collect();
                topics.sort_small_by(|a, b| sim.topics[*a as usize].name.cmp(&sim.topics[*b as usize].name));
                topics.dedup();
                sim.groups.push(Group::new(g.clone(), pidx, topics));
            }
            for g in 0..sim.groups.len() as u32 {
                for _ in 0..sim.groups[g as usize].cfg.members {
                    sim.add_consumer(g);
                }
            }
            sim.timer(Node::Controller(0), 0, Timer::GroupTick);
        }
        crate::ml::attach(&mut sim);
        sim
    }

    /// The cluster at time 0: every broker registered and unfenced, controller c0
    /// active, leaders on the preferred replicas, as after a clean start.
    fn bootstrap(&mut self) {
        self.quorum.active = Some(0);
        self.quorum.epoch = 1;
        self.quorum.offset = 1;
        for p in 0..self.partitions.len() {
            let meta = self.partitions[p].ctrl.clone();
            for slot in 0..self.partitions[p].replicas.len() {
                self.apply_known(p as u32, slot, meta.clone());
            }
        }
        let image: Vec<(Option<u32>, i32)> = self.partitions.iter().map(|p| (p.ctrl.leader, p.ctrl.leader_epoch)).collect();
        for b in 0..self.brokers.len() as u32 {
            self.brokers[b as usize].meta_offset = 1;
            self.brokers[b as usize].image = image.clone();
            let jitter = self.rng.range(0, 250 * MS);
            self.timer(Node::Broker(b), jitter, Timer::BrokerTick);
        }
        self.timer(Node::Controller(0), 0, Timer::ControllerTick);
        self.refresh_availability();
    }

    pub fn scenario(&self) -> &Scenario {
        &self.scenario
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
        &self.invariants
    }

    /// `unclean.leader.election.enable` as it is now (scenario, then actions).
    pub fn unclean_leader_election_enabled(&self) -> bool {
        self.unclean_enabled
    }

    pub fn groups(&self) -> &[Group] {
        &self.groups
    }

    /// Lag per group: the leader's HW minus the committed offset (or where the
    /// group started reading, before its first commit), summed over partitions.
    pub fn group_lag(&self, g: usize) -> u64 {
        self.partition_lag(g).map(|(_, lag)| lag).sum()
    }

    /// Per partition of the group's topics: (partition index, lag).
    pub fn partition_lag(&self, g: usize) -> impl Iterator<Item = (u32, u64)> + '_ {
        let grp = &self.groups[g];
        grp.topics.iter().flat_map(move |&t| {
            let t = &self.topics[t as usize];
            (t.first..t.first + t.partitions).map(move |pidx| {
                let p = &self.partitions[pidx as usize];
                let hw = p
                    .ctrl
                    .leader
                    .or_else(|| p.ctrl.isr.first().copied())
                    .and_then(|l| p.slot_of(l))
                    .map_or(0, |s| p.replicas[s].log.hw);
                let base = grp.offsets.get(&pidx).or_else(|| grp.start_offsets.get(&pidx)).copied().unwrap_or(hw);
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

    pub fn next_event_time(&self) -> Option<Micros> {
        self.queue.peek_time()
    }

    /// Processes one event. Returns false when the queue is empty.
    pub fn step(&mut self) -> bool {
        let Some((time, seq, event)) = self.queue.pop() else {
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
        let _ = seq;
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

    /// Validates and queues an action for the next microsecond (everything at the
    /// current one has run), before any other event of that time, exactly as a
    /// scenario line at that time would be: replays then reproduce the run.
    pub fn inject(&mut self, action: Action) -> Result<(), crate::ScenarioError> {
        self.schedule(self.now + 1, action)
    }

    /// Validates an action and queues it for `at_us` (not before now): replays of a
    /// recorded session (rewinding, shared links) put every action back at its time.
    pub fn schedule(&mut self, at_us: Micros, action: Action) -> Result<(), crate::ScenarioError> {
        action.validate(&self.scenario)?;
        let at_us = at_us.max(self.now);
        let index = self.actions.len();
        self.actions.push(TimedAction { at_us, action });
        self.queue.push_first(at_us, Event::Action { index });
        Ok(())
    }

    /// Actions injected after the start (not from the scenario file), with their times.
    pub fn injected_actions(&self) -> &[TimedAction] {
        &self.actions[self.scenario.actions.len().min(self.actions.len())..]
    }

    pub(crate) fn timer(&mut self, node: Node, after: Micros, timer: Timer) {
        let incarnation = match node {
            Node::Broker(b) => self.brokers[b as usize].incarnation,
            Node::Controller(c) => self.quorum.nodes[c as usize].incarnation,
            Node::Client(_) => 0,
            Node::Consumer(c) => self.consumers[c as usize].incarnation,
        };
        self.queue.push(self.now + after, Event::Timer { node, incarnation, timer });
    }

    /// Sends a message that leaves `from` at `depart` (>= now). Dropped by a cut.
    pub(crate) fn send_at(&mut self, depart: Micros, from: Node, to: Node, msg: Msg) {
        if self.net.is_cut(from, to) {
            self.counters.messages_dropped += 1;
            return;
        }
        let at = depart.max(self.now) + self.net.delay(from, to);
        self.queue.push(at, Event::Deliver { from, to, msg });
    }

    pub(crate) fn send(&mut self, from: Node, to: Node, msg: Msg) {
        self.send_at(self.now, from, to, msg);
    }

    pub(crate) fn note(&mut self, what: Notable) {
        self.log.push(self.now, what);
    }

    pub(crate) fn count_error(&mut self, e: ErrorCode, n: u64) {
        *self.counters.errors.entry(e.name()).or_default() += n;
    }

    pub(crate) fn broker_up(&self, b: u32) -> bool {
        self.brokers.get(b as usize).is_some_and(|b| b.is_running())
    }

    pub(crate) fn topic_name(&self, pidx: u32) -> &str {
        &self.topics[self.partitions[pidx as usize].topic as usize].name
    }

    fn dispatch(&mut self, event: Event) {
        match event {
            Event::Deliver { from, to, msg } => {
                self.trace.u32(1);
                self.trace.u64(from.code());
                self.trace.u64(to.code());
                match (to, msg) {
                    (Node::Broker(b), Msg::Broker(m)) => {
                        if self.broker_up(b) {
                            self.broker_receive(b, from, m);
                        } else {
                            // A dead process's port refuses connections: the sender learns at once.
                            self.refuse(b, from, &m);
                        }
                    }
                    (Node::Controller(c), Msg::Controller(m)) if self.quorum.nodes[c as usize].alive => {
                        self.controller_receive(c, m);
                    }
                    (Node::Client(p), Msg::Producer(m)) => self.producer_receive(p, from, m),
                    (Node::Consumer(c), Msg::Consumer(m)) => self.consumer_receive(c, from, m),
                    _ => {}
                }
            }
            Event::Timer { node, incarnation, timer } => {
                self.trace.u32(2);
                self.trace.u64(node.code());
                match node {
                    Node::Broker(b) => {
                        if self.brokers[b as usize].incarnation == incarnation && self.broker_up(b) {
                            self.broker_timer(b, timer);
                        }
                    }
                    Node::Controller(c) => {
                        // The quorum's clock runs whoever is alive; node timers die with their node.
                        if timer == Timer::GroupTick {
                            self.group_tick();
                            self.timer(Node::Controller(0), 100 * MS, Timer::GroupTick);
                        } else if timer == Timer::ControllerTick || self.quorum.nodes[c as usize].incarnation == incarnation {
                            self.controller_timer(c, timer);
                        }
                    }
                    Node::Client(p) => self.producer_timer(p, timer),
                    Node::Consumer(c) => {
                        if self.consumers[c as usize].incarnation == incarnation {
                            self.consumer_timer(c, timer);
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

    fn apply(&mut self, action: Action) {
        let detail = match &action {
            Action::KillBroker { broker } | Action::RestartBroker { broker } | Action::StopBroker { broker } => format!("broker {broker}"),
            Action::PauseBroker { broker, for_ms } => format!("broker {broker} for {for_ms} ms"),
            Action::SlowBroker { broker, extra_latency_ms } => format!("broker {broker} +{extra_latency_ms} ms network"),
            Action::SlowDisk { broker, extra_ms } => format!("broker {broker} +{extra_ms} ms disk"),
            Action::KillController { controller } | Action::RestartController { controller } => controller.clone(),
            Action::PartitionNetwork { from, to, one_way } => {
                let names = |ns: &[NodeName]| {
                    ns.iter()
                        .map(|n| match n {
                            NodeName::Broker(b) => b.to_string(),
                            NodeName::Controller(c) => c.clone(),
                        })
                        .collect::<Vec<_>>()
                        .join(", ")
                };
                format!("{} {} {}", names(from), if *one_way { "->" } else { "<->" }, names(to))
            }
            Action::SetProducer {
                producer,
                records_per_sec,
                acks,
            } => format!(
                "{producer}{}{}",
                records_per_sec.map_or(String::new(), |r| format!(" records_per_sec={r}")),
                acks.map_or(String::new(), |a| format!(" acks={}", a.as_str()))
            ),
            Action::SetTopicConfig { topic, min_insync_replicas } => format!("{topic} min.insync.replicas={min_insync_replicas}"),
            Action::SetClusterConfig {
                unclean_leader_election_enable,
            } => {
                format!("unclean.leader.election.enable={unclean_leader_election_enable}")
            }
            Action::HealNetwork {} | Action::ElectPreferredLeaders {} => String::new(),
            Action::AddConsumer { group } => format!("group {group}"),
            Action::StopConsumer { group, member } | Action::KillConsumer { group, member } | Action::RestartConsumer { group, member } => {
                format!("group {group} member {member}")
            }
            Action::PauseConsumer { group, member, for_ms } => format!("group {group} member {member} for {for_ms} ms"),
            Action::SetConsumerRate {
                group,
                member,
                records_per_sec,
            } => format!("group {group} member {member} {records_per_sec} records/s"),
        };
        self.note(Notable::Action { name: action.name(), detail });
        match action {
            Action::KillBroker { broker } => self.kill_broker(broker, false),
            Action::RestartBroker { broker } => self.restart_broker(broker),
            Action::StopBroker { broker } => self.stop_broker(broker),
            Action::PauseBroker { broker, for_ms } => self.pause_broker(broker, for_ms * MS),
            Action::SlowBroker { broker, extra_latency_ms } => self.net.extra_us[broker as usize] = extra_latency_ms * MS,
            Action::SlowDisk { broker, extra_ms } => self.brokers[broker as usize].disk_extra_us = extra_ms * MS,
            Action::KillController { controller } => self.kill_controller(controller_index(&controller)),
            Action::RestartController { controller } => self.restart_controller(controller_index(&controller)),
            Action::PartitionNetwork { from, to, one_way } => {
                for a in &from {
                    for b in &to {
                        let (a, b) = (node_of(a), node_of(b));
                        if a != b {
                            self.net.cuts.insert((a, b));
                            if !one_way {
                                self.net.cuts.insert((b, a));
                            }
                        }
                    }
                }
                self.refresh_availability();
            }
            Action::HealNetwork {} => {
                self.net.cuts.clear();
                self.refresh_availability();
            }
            Action::ElectPreferredLeaders {} => self.elect_preferred_leaders(),
            Action::SetProducer {
                producer,
                records_per_sec,
                acks,
            } => {
                if let Some(i) = self.scenario.producers.iter().position(|p| p.id == producer) {
                    self.set_producer(i as u32, records_per_sec, acks);
                }
            }
            Action::SetTopicConfig { topic, min_insync_replicas } => {
                if let Some(t) = self.topics.iter().find(|t| t.name == topic) {
                    let range = t.first as usize..(t.first + t.partitions) as usize;
                    for p in &mut self.partitions[range] {
                        p.min_isr = min_insync_replicas;
                    }
                }
            }
            Action::SetClusterConfig {
                unclean_leader_election_enable,
            } => {
                self.unclean_enabled = unclean_leader_election_enable;
                if unclean_leader_election_enable {
                    self.elect_offline_partitions();
                }
            }
            Action::AddConsumer { group } => {
                if let Some(g) = self.groups.iter().position(|x| x.cfg.id == group) {
                    self.add_consumer(g as u32);
                }
            }
            Action::StopConsumer { ref group, member }
            | Action::KillConsumer { ref group, member }
            | Action::RestartConsumer { ref group, member }
            | Action::PauseConsumer { ref group, member, .. }
            | Action::SetConsumerRate { ref group, member, .. } => {
                let Some(c) = self.consumer_index(group, member) else {
                    self.note(Notable::Text(format!("group {group} has no member {member} yet: action ignored")));
                    return;
                };
                match action {
                    Action::StopConsumer { .. } => self.stop_consumer(c),
                    Action::KillConsumer { .. } => self.kill_consumer(c),
                    Action::RestartConsumer { .. } => self.restart_consumer(c),
                    Action::PauseConsumer { for_ms, .. } => {
                        let until = self.now + for_ms * MS;
                        let con = &mut self.consumers[c as usize];
                        con.paused_until = con.paused_until.max(until);
                    }
                    Action::SetConsumerRate { records_per_sec, .. } => self.consumers[c as usize].rate = records_per_sec,
                    _ => {}
                }
            }
        }
    }

    fn pause_broker(&mut self, broker: u32, for_us: Micros) {
        let b = &mut self.brokers[broker as usize];
        if !b.is_running() {
            return;
        }
        let until = self.now + for_us;
        b.paused_until = b.paused_until.max(until);
        let inc = b.incarnation;
        self.queue.push(
            until,
            Event::Timer {
                node: Node::Broker(broker),
                incarnation: inc,
                timer: Timer::PauseEnd,
            },
        );
        self.refresh_availability();
    }

    /// Recomputes which partitions are offline or unavailable and accrues their time.
    pub(crate) fn refresh_availability(&mut self) {
        let now = self.now;
        for p in 0..self.partitions.len() {
            let leader = self.partitions[p].ctrl.leader;
            let offline = leader.is_none();
            let unavailable = match leader {
                None => true,
                Some(l) => {
                    let b = &self.brokers[l as usize];
                    !b.is_running() || b.paused_until > now || self.quorum.brokers[l as usize].fenced
                }
            };
            let part = &mut self.partitions[p];
            match (offline, part.offline_since) {
                (true, None) => part.offline_since = Some(now),
                (false, Some(since)) => {
                    self.counters.offline_partition_us += now - since;
                    part.offline_since = None;
                }
                _ => {}
            }
            match (unavailable, part.unavailable_since) {
                (true, None) => part.unavailable_since = Some(now),
                (false, Some(since)) => {
                    self.counters.unavailable_partition_us += now - since;
                    part.unavailable_since = None;
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
            for p in self.partitions.iter().filter(|p| !self.topics[p.topic as usize].name.starts_with("__")) {
                if p.ctrl.leader.is_none() {
                    offline += 1;
                }
                if p.ctrl.isr.len() < p.replicas.len() {
                    urp += 1;
                }
                if p.unavailable_since.is_some() {
                    unavailable += 1;
                }
            }
            let in_flight = self.producers.iter().map(|p| p.in_flight_requests()).sum();
            let lag = (0..self.groups.len()).map(|g| self.group_lag(g)).sum();
            self.metrics.close_interval(urp, offline, unavailable, in_flight, lag);
            if self.ml.active {
                let models = self.ml.sample();
                if let Some(p) = self.metrics.points.back_mut() {
                    p.models = models;
                }
            }
        }
    }

    /// Time-integrated offline and unavailable partition time up to now.
    pub fn partition_time_us(&self) -> (u64, u64) {
        let mut offline = self.counters.offline_partition_us;
        let mut unavailable = self.counters.unavailable_partition_us;
        for p in &self.partitions {
            offline += p.offline_since.map_or(0, |s| self.now - s);
            unavailable += p.unavailable_since.map_or(0, |s| self.now - s);
        }
        (offline, unavailable)
    }

    /// Compares every acknowledged record with the log of the partition's current
    /// leader (or of the last ISR member when offline). Records above a HW that is
    /// lagging or frozen (ISR below min.insync.replicas) are not lost: the leader
    /// commits them once its ISR allows, and no replica will truncate them.
    pub fn audit_report(&self) -> AuditReport {
        let mut report = AuditReport {
            duplicates: self.audit.retired_duplicates(),
            ..AuditReport::default()
        };
        for (i, p) in self.partitions.iter().enumerate() {
            let holder = p.ctrl.leader.or_else(|| p.ctrl.isr.first().copied());
            if let Some(slot) = holder.and_then(|b| p.slot_of(b)) {
                let log = &p.replicas[slot].log;
                self.audit.check_partition(i as u32, log, log.leo, &mut report);
            }
        }
        report
    }

    /// (base offset, records, producer instance, audit sequence) of the leader's batches
    /// between two offsets: for tests and debugging.
    pub fn debug_batches(&self, pidx: usize, from: u64, to: u64) -> Vec<(u64, u32, u32, u64)> {
        let p = &self.partitions[pidx];
        let Some(slot) = p.ctrl.leader.and_then(|l| p.slot_of(l)) else {
            return Vec::new();
        };
        p.replicas[slot]
            .log
            .batches
            .iter()
            .filter(|b| b.base_offset >= from && b.base_offset < to)
            .map(|b| (b.base_offset, b.records, b.producer, b.audit_seq))
            .collect()
    }

    pub fn snapshot(&self) -> Snapshot {
        let mut brokers: Vec<BrokerView> = self
            .brokers
            .iter()
            .enumerate()
            .map(|(i, b)| BrokerView {
                id: i as u32,
                state: b.state_name(self.now),
                fenced: self.quorum.brokers[i].fenced,
                slow_network_ms: self.net.extra_us[i] / MS,
                slow_disk_ms: b.disk_extra_us / MS,
                leaders: 0,
                replicas: 0,
            })
            .collect();
        let mut partitions = Vec::with_capacity(self.partitions.len());
        for p in &self.partitions {
            for r in &p.replicas {
                brokers[r.broker as usize].replicas += 1;
            }
            if let Some(l) = p.ctrl.leader {
                brokers[l as usize].leaders += 1;
            }
            partitions.push(PartitionView {
                topic: self.topics[p.topic as usize].name.clone(),
                partition: p.index,
                leader: p.ctrl.leader,
                leader_epoch: p.ctrl.leader_epoch,
                isr: p.ctrl.isr.clone(),
                min_isr: p.min_isr,
                replicas: p
                    .replicas
                    .iter()
                    .map(|r| ReplicaView {
                        broker: r.broker,
                        leo: r.log.leo,
                        hw: r.log.hw,
                        log_start: r.log.log_start,
                        role: r.role,
                        in_isr: p.ctrl.isr.contains(&r.broker),
                    })
                    .collect(),
            });
        }
        Snapshot {
            now_us: self.now,
            brokers,
            controllers: self
                .quorum
                .nodes
                .iter()
                .enumerate()
                .map(|(i, c)| ControllerView {
                    id: i as u32,
                    alive: c.alive,
                    active: self.quorum.active == Some(i as u32),
                })
                .collect(),
            quorum_epoch: self.quorum.epoch,
            partitions,
            cuts: self.net.cuts.iter().map(|&(a, b)| (node_label(a), node_label(b))).collect(),
            producers: self
                .producers
                .iter()
                .map(|p| ProducerView {
                    id: p.cfg.id.clone(),
                    acks: p.cfg.acks.as_str(),
                    records_per_sec: p.cfg.records_per_sec,
                    in_flight: p.in_flight_requests(),
                    queued_batches: p.queued_batches(),
                })
                .collect(),
            groups: self.groups.iter().enumerate().map(|(i, g)| self.group_view(i, g)).collect(),
        }
    }

    fn group_view(&self, i: usize, g: &Group) -> GroupView {
        let members = self
            .consumers
            .iter()
            .filter(|c| c.group == i as u32)
            .map(|c| MemberView {
                number: c.number,
                member_id: c.member_id.clone(),
                instance_id: c.instance_id.clone(),
                state: match c.state {
                    crate::kafka::consumer::ConsumerState::Running if c.paused_until > self.now => "paused",
                    crate::kafka::consumer::ConsumerState::Running => "running",
                    crate::kafka::consumer::ConsumerState::Stopped => "stopped",
                    crate::kafka::consumer::ConsumerState::Dead => "dead",
                },
                in_group: g.members.contains_key(&c.member_id),
                assigned: c
                    .assigned
                    .iter()
                    .map(|&p| {
                        (
                            self.topics[self.partitions[p as usize].topic as usize].name.clone(),
                            self.partitions[p as usize].index,
                        )
                    })
                    .collect(),
                records_per_sec: c.rate,
            })
            .collect();
        GroupView {
            id: g.cfg.id.clone(),
            state: g.state,
            generation: g.generation,
            protocol: match g.cfg.protocol {
                crate::scenario::GroupProtocol::Classic => "classic",
                crate::scenario::GroupProtocol::Consumer => "consumer",
            },
            assignor: g.cfg.assignor_name().to_string(),
            coordinator: g.host,
            leader: g.leader.clone(),
            lag: self.group_lag(i),
            partition_lag: self
                .partition_lag(i)
                .map(|(p, lag)| {
                    (
                        self.topics[self.partitions[p as usize].topic as usize].name.clone(),
                        self.partitions[p as usize].index,
                        lag,
                    )
                })
                .collect(),
            members,
            rebalances: g.history_base + g.history.len(),
            recent_rebalances: g.history.iter().rev().take(3).rev().cloned().collect(),
            member_numbers: g
                .members
                .iter()
                .map(|(id, m)| (id.clone(), self.consumers[m.consumer as usize].number))
                .collect(),
            model: self.model_view(i),
        }
    }
}

fn controller_index(name: &str) -> u32 {
    name.strip_prefix('c').and_then(|n| n.parse().ok()).unwrap_or(0)
}

fn node_of(n: &NodeName) -> Node {
    match n {
        NodeName::Broker(b) => Node::Broker(*b),
        NodeName::Controller(c) => Node::Controller(controller_index(c)),
    }
}

fn node_label(n: Node) -> String {
    match n {
        Node::Broker(b) => b.to_string(),
        Node::Controller(c) => format!("c{c}"),
        Node::Client(c) => format!("client{c}"),
        Node::Consumer(c) => format!("consumer{c}"),
    }
}

fn event_broker(e: &Event) -> Option<u32> {
    match e {
        Event::Deliver { to: Node::Broker(b), .. } | Event::Timer { node: Node::Broker(b), .. } => Some(*b),
        _ => None,
    }
}

/// The state a driver draws: cheap to build, no references into the engine.
#[derive(Debug, Clone, Serialize)]
pub struct Snapshot {
    pub now_us: Micros,
    pub brokers: Vec<BrokerView>,
    pub controllers: Vec<ControllerView>,
    pub quorum_epoch: u32,
    pub partitions: Vec<PartitionView>,
    /// Directed cuts (from, to) as "0", "c1".
    pub cuts: Vec<(String, String)>,
    pub producers: Vec<ProducerView>,
    pub groups: Vec<GroupView>,
}

#[derive(Debug, Clone, Serialize)]
pub struct GroupView {
    pub id: String,
    pub state: crate::kafka::group::GroupState,
    pub generation: i32,
    pub protocol: &'static str,
    pub assignor: String,
    /// The broker hosting the group's coordinator, if one has loaded it.
    pub coordinator: Option<u32>,
    pub leader: Option<String>,
    pub lag: u64,
    /// (topic, partition, lag): the leader's HW minus the committed offset.
    pub partition_lag: Vec<(String, u32, u64)>,
    pub members: Vec<MemberView>,
    pub rebalances: usize,
    /// The latest rebalances (at most 3), oldest first, for the timeline.
    pub recent_rebalances: Vec<crate::kafka::group::Rebalance>,
    /// The coordinator's member ids with their consumer's number: a member is
    /// known here before the consumer itself has learnt its id (first JoinGroup).
    pub member_numbers: Vec<(String, u32)>,
    /// The group's processor (fraud_lr, item_cf) and its metrics, if it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<crate::ml::ModelView>,
}

#[derive(Debug, Clone, Serialize)]
pub struct MemberView {
    pub number: u32,
    pub member_id: String,
    pub instance_id: Option<String>,
    /// running, stopped, dead, paused
    pub state: &'static str,
    /// In the coordinator's current generation.
    pub in_group: bool,
    /// (topic, partition)
    pub assigned: Vec<(String, u32)>,
    pub records_per_sec: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct BrokerView {
    pub id: u32,
    /// up, down, stopped, paused
    pub state: &'static str,
    pub fenced: bool,
    pub slow_network_ms: u64,
    pub slow_disk_ms: u64,
    pub leaders: u32,
    pub replicas: u32,
}

#[derive(Debug, Clone, Serialize)]
pub struct ControllerView {
    pub id: u32,
    pub alive: bool,
    pub active: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct PartitionView {
    pub topic: String,
    pub partition: u32,
    pub leader: Option<u32>,
    pub leader_epoch: i32,
    pub isr: Vec<u32>,
    pub min_isr: u32,
    pub replicas: Vec<ReplicaView>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ReplicaView {
    pub broker: u32,
    pub leo: u64,
    pub hw: u64,
    pub log_start: u64,
    pub role: Role,
    pub in_isr: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct ProducerView {
    pub id: String,
    pub acks: &'static str,
    pub records_per_sec: u64,
    pub in_flight: u32,
    pub queued_batches: u32,
}
