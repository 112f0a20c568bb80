//! Faults and commands: a button, a scenario line, a link and a test all become
//! an `Action` event, applied here at its time. The engine plays the world
//! around the nodes: processes die and restart, the network is cut, an operator
//! changes a setting.

use super::{Event, Simulation};
use crate::kafka::consumer::Consumer;
use crate::kafka::notable::Notable;
use crate::kafka::obs::Acks0Loss;
use crate::kafka::protocol::{BrokerMsg, ConsumerMsg, Msg, ProducerMsg, Timer};
use crate::scenario::{Action, NodeName, ScenarioError, TimedAction};
use crate::sim::{Micros, Node, SimRng, MS};

fn controller_index(name: &str) -> u32 {
    name.strip_prefix('c').and_then(|n| n.parse().ok()).unwrap_or(0)
}

fn node_of(n: &NodeName) -> Node {
    match n {
        NodeName::Broker(b) => Node::Broker(*b),
        NodeName::Controller(c) => Node::Controller(controller_index(c)),
    }
}

/// Nodes in words: "broker 2", "brokers 0, 1", "controllers c0, c1", or both kinds.
fn nodes_in_words(ns: &[NodeName]) -> String {
    let brokers: Vec<String> = ns
        .iter()
        .filter_map(|n| match n {
            NodeName::Broker(b) => Some(b.to_string()),
            NodeName::Controller(_) => None,
        })
        .collect();
    let controllers: Vec<String> = ns
        .iter()
        .filter_map(|n| match n {
            NodeName::Controller(c) => Some(c.clone()),
            NodeName::Broker(_) => None,
        })
        .collect();
    let group = |one: &str, many: &str, v: &[String]| match v.len() {
        0 => None,
        1 => Some(format!("{one} {}", v[0])),
        _ => Some(format!("{many} {}", v.join(", "))),
    };
    match (group("broker", "brokers", &brokers), group("controller", "controllers", &controllers)) {
        (Some(b), Some(c)) => format!("{b} and {c}"),
        (Some(x), None) | (None, Some(x)) => x,
        (None, None) => String::new(),
    }
}

/// Milliseconds as seconds in words: 10000 is "10", 2500 is "2.5".
fn secs(ms: u64) -> String {
    if ms % 1000 == 0 {
        (ms / 1000).to_string()
    } else {
        format!("{}", ms as f64 / 1000.0)
    }
}

/// The action in plain words for the event log, as a template and its values
/// (the page translates the template): "cut the network between broker 2 and brokers 0, 1".
fn words(action: &Action) -> (&'static str, Vec<String>) {
    let s = |v: &dyn ToString| v.to_string();
    match action {
        Action::KillBroker { broker } => ("kill broker {0}", vec![s(broker)]),
        Action::RestartBroker { broker } => ("restart broker {0}", vec![s(broker)]),
        Action::StopBroker { broker } => ("stop broker {0} (controlled shutdown)", vec![s(broker)]),
        Action::PauseBroker { broker, for_ms } => ("pause broker {0} for {1} s", vec![s(broker), secs(*for_ms)]),
        Action::SlowBroker { broker, extra_latency_ms: 0 } => ("restore the network speed of broker {0}", vec![s(broker)]),
        Action::SlowBroker { broker, extra_latency_ms } => ("slow the network of broker {0} by {1} ms", vec![s(broker), s(extra_latency_ms)]),
        Action::SlowDisk { broker, extra_ms: 0 } => ("restore the disk speed of broker {0}", vec![s(broker)]),
        Action::SlowDisk { broker, extra_ms } => ("slow the disk of broker {0} by {1} ms", vec![s(broker), s(extra_ms)]),
        Action::KillController { controller } => ("kill controller {0}", vec![controller.clone()]),
        Action::RestartController { controller } => ("restart controller {0}", vec![controller.clone()]),
        Action::PartitionNetwork { from, to, one_way: false } => ("cut the network between {0} and {1}", vec![nodes_in_words(from), nodes_in_words(to)]),
        Action::PartitionNetwork { from, to, one_way: true } => (
            "cut the network from {0} to {1} (one way: replies still flow back)",
            vec![nodes_in_words(from), nodes_in_words(to)],
        ),
        Action::HealNetwork {} => ("heal every network cut", vec![]),
        Action::ElectPreferredLeaders {} => ("elect the preferred leaders", vec![]),
        Action::SetProducer {
            producer,
            records_per_sec: Some(r),
            acks: Some(a),
        } => (
            "set producer {0} to {1} records/s and acks={2}",
            vec![producer.clone(), s(r), a.as_str().to_string()],
        ),
        Action::SetProducer {
            producer,
            records_per_sec: Some(r),
            acks: None,
        } => ("set producer {0} to {1} records/s", vec![producer.clone(), s(r)]),
        Action::SetProducer { producer, acks: Some(a), .. } => ("set acks={1} on producer {0}", vec![producer.clone(), a.as_str().to_string()]),
        Action::SetProducer { producer, .. } => ("change nothing on producer {0}", vec![producer.clone()]),
        Action::SetTopicConfig { topic, min_insync_replicas } => ("set min.insync.replicas={1} on topic {0}", vec![topic.clone(), s(min_insync_replicas)]),
        Action::SetClusterConfig {
            unclean_leader_election_enable,
        } => ("set unclean.leader.election.enable={0}", vec![s(unclean_leader_election_enable)]),
        Action::AddConsumer { group } => ("add a consumer to group {0}", vec![group.clone()]),
        Action::StopConsumer { group, member } => ("stop consumer {1} of group {0}", vec![group.clone(), s(member)]),
        Action::KillConsumer { group, member } => ("kill consumer {1} of group {0}", vec![group.clone(), s(member)]),
        Action::RestartConsumer { group, member } => ("restart consumer {1} of group {0}", vec![group.clone(), s(member)]),
        Action::PauseConsumer { group, member, for_ms } => ("pause consumer {1} of group {0} for {2} s", vec![group.clone(), s(member), secs(*for_ms)]),
        Action::SetConsumerRate {
            group,
            member,
            records_per_sec,
        } => (
            "set consumer {1} of group {0} to {2} records/s",
            vec![group.clone(), s(member), s(records_per_sec)],
        ),
        Action::AbortTransaction { producer } => ("producer {0} aborts its transaction", vec![producer.clone()]),
        Action::KillProducer { producer } => ("kill producer {0}", vec![producer.clone()]),
        Action::RestartProducer { producer } => ("start a new instance of producer {0}", vec![producer.clone()]),
        Action::PauseProducer { producer, for_ms } => ("pause producer {0} for {1} s", vec![producer.clone(), secs(*for_ms)]),
    }
}

impl Simulation {
    /// The node running the configured producer now.
    fn producer_node(&self, id: &str) -> Option<u32> {
        let i = self.scenario.producers.iter().position(|p| p.id == id)?;
        self.producer_slot.get(i).copied()
    }

    /// A new process of the producer. A dead one is replaced on its node; a live
    /// one (paused, say) keeps running on its node as a zombie, and the new
    /// instance runs on a node of its own.
    fn restart_producer(&mut self, id: &str) {
        let Some(i) = self.scenario.producers.iter().position(|p| p.id == id) else {
            return;
        };
        let p = self.producer_slot[i];
        let old = &self.producers[p as usize];
        let fresh = old.restarted();
        let slot = if old.alive {
            let n = self.producers.len() as u32;
            let name = format!("producer/{id}/{n}");
            self.producers.push(fresh);
            self.producer_rngs.push(SimRng::stream(self.scenario.seed, &name));
            self.producer_slot[i] = n;
            n
        } else {
            self.producers[p as usize] = fresh;
            p
        };
        self.with_producer(slot, |p, ctx| p.start(ctx));
    }

    /// Validates and queues an action for the next microsecond (everything at the
    /// current one has run), before any other event of that time, exactly as a
    /// scenario line at that time would be: replays then reproduce the run.
    pub fn inject(&mut self, action: Action) -> Result<(), ScenarioError> {
        self.schedule(self.now + 1, action)
    }

    /// Validates an action and queues it for `at_us` (not before now): replays of a
    /// recorded session (rewinding, shared links) put every action back at its time.
    pub fn schedule(&mut self, at_us: Micros, action: Action) -> Result<(), ScenarioError> {
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

    pub(super) fn apply(&mut self, action: Action) {
        self.log.push(self.now, {
            let (template, args) = words(&action);
            Notable::Action { template, args }
        });
        match action {
            Action::KillBroker { broker } => self.kill_broker(broker, false),
            Action::RestartBroker { broker } => self.restart_broker(broker),
            Action::StopBroker { broker } => {
                if self.brokers[broker as usize].is_running() {
                    self.with_broker(broker, |b, ctx| b.stop(ctx));
                }
            }
            Action::PauseBroker { broker, for_ms } => self.pause_broker(broker, for_ms * MS),
            Action::SlowBroker { broker, extra_latency_ms } => self.net.extra_us[broker as usize] = extra_latency_ms * MS,
            Action::SlowDisk { broker, extra_ms } => self.brokers[broker as usize].disk_extra_us = extra_ms * MS,
            Action::KillController { controller } => {
                let c = controller_index(&controller);
                if self.controllers[c as usize].alive {
                    self.controllers[c as usize].crash();
                    self.refresh_availability();
                }
            }
            Action::RestartController { controller } => {
                let c = controller_index(&controller);
                if !self.controllers[c as usize].alive {
                    self.with_controller(c, |ctl, ctx| ctl.restart(ctx));
                }
            }
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
            Action::ElectPreferredLeaders {} => {
                // An admin request to the active controller (none: nothing happens).
                match self.active_controller() {
                    Some(c) => self.with_controller(c, |ctl, ctx| ctl.elect_preferred_leaders(ctx)),
                    None => self
                        .log
                        .push(self.now, Notable::Text("no active controller: the election request is lost".to_string())),
                }
            }
            Action::SetProducer {
                producer,
                records_per_sec,
                acks,
            } => {
                if let Some(p) = self.producer_node(&producer) {
                    self.with_producer(p, |p, ctx| p.set(ctx, records_per_sec, acks));
                }
            }
            Action::AbortTransaction { producer } => {
                if let Some(p) = self.producer_node(&producer) {
                    self.with_producer(p, |p, ctx| p.abort_transaction(ctx));
                }
            }
            Action::KillProducer { producer } => {
                if let Some(p) = self.producer_node(&producer) {
                    self.producers[p as usize].alive = false;
                }
            }
            Action::PauseProducer { producer, for_ms } => {
                if let Some(p) = self.producer_node(&producer) {
                    let until = self.now + for_ms * crate::sim::MS;
                    let pr = &mut self.producers[p as usize];
                    pr.paused_until = pr.paused_until.max(until);
                }
            }
            Action::RestartProducer { producer } => self.restart_producer(&producer),
            Action::SetTopicConfig { topic, min_insync_replicas } => {
                // A config change goes to the active controller (IncrementalAlterConfigs);
                // brokers apply it once its record is committed (`set_min_isr`).
                let Some(c) = self.active_controller() else {
                    self.log
                        .push(self.now, Notable::Text("no active controller: the configuration change is lost".to_string()));
                    return;
                };
                if let Some(t) = self.cluster.topic_index(&topic) {
                    self.with_controller(c, |ctl, ctx| ctl.set_min_isr(ctx, t, min_insync_replicas));
                }
            }
            Action::SetClusterConfig {
                unclean_leader_election_enable,
            } => match self.active_controller() {
                Some(c) => self.with_controller(c, |ctl, ctx| ctl.set_unclean(ctx, unclean_leader_election_enable)),
                None => self
                    .log
                    .push(self.now, Notable::Text("no active controller: the configuration change is lost".to_string())),
            },
            Action::AddConsumer { group } => {
                if let Some(g) = self.scenario.groups.iter().position(|x| x.id == group) {
                    let cfg = &self.group_setup[g].cfg;
                    let number = self.consumers.iter().filter(|c| c.group == g as u32).count() as u32;
                    if cfg.exactly_once() && number >= cfg.members + crate::scenario::SPARE_MEMBER_TXN_IDS {
                        // Each exactly-once member needs a transactional id of its own.
                        let line = format!("group {group}: no transactional id left for another exactly-once member: not added");
                        self.log.push(self.now, Notable::Text(line));
                        return;
                    }
                    self.add_consumer(g as u32);
                }
            }
            Action::StopConsumer { ref group, member }
            | Action::KillConsumer { ref group, member }
            | Action::RestartConsumer { ref group, member }
            | Action::PauseConsumer { ref group, member, .. }
            | Action::SetConsumerRate { ref group, member, .. } => {
                let Some(c) = self.consumer_index(group, member) else {
                    self.log
                        .push(self.now, Notable::Text(format!("group {group} has no member {member} yet: action ignored")));
                    return;
                };
                // A processing member's producer lives and dies with it (one process).
                let app = self.app_producer_of(c);
                match action {
                    Action::StopConsumer { .. } => {
                        self.with_consumer(c, |con, ctx| con.stop(ctx));
                        if let Some(p) = app {
                            // close(): the open transaction is aborted.
                            self.with_producer(p, |pr, ctx| pr.abort_transaction(ctx));
                        }
                    }
                    Action::KillConsumer { .. } => {
                        self.consumers[c as usize].kill();
                        if let Some(p) = app {
                            self.producers[p as usize].alive = false;
                        }
                    }
                    Action::RestartConsumer { .. } => self.restart_consumer(c),
                    Action::PauseConsumer { for_ms, .. } => {
                        let until = self.now + for_ms * MS;
                        self.consumers[c as usize].pause(until);
                        if let Some(p) = app {
                            let pr = &mut self.producers[p as usize];
                            pr.paused_until = pr.paused_until.max(until);
                        }
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
        let incarnation = b.incarnation;
        self.queue.push(
            until,
            Event::Timer {
                node: Node::Broker(broker),
                incarnation,
                timer: Timer::PauseEnd,
            },
        );
        self.refresh_availability();
    }

    /// Connections reset when a process dies: every peer with a request in flight hears of it.
    fn reset_connections(&mut self, b: u32) {
        let clients: Vec<u32> = (0..self.producers.len() as u32)
            .filter(|&p| self.producers[p as usize].has_in_flight_to(b))
            .collect();
        for p in clients {
            self.send(Node::Broker(b), Node::Client(p), Msg::Producer(ProducerMsg::Disconnected));
        }
        let consumers: Vec<u32> = (0..self.consumers.len() as u32)
            .filter(|&c| self.consumers[c as usize].has_request_to(b))
            .collect();
        for c in consumers {
            self.send(Node::Broker(b), Node::Consumer(c), Msg::Consumer(ConsumerMsg::Disconnected));
        }
        let followers: Vec<u32> = (0..self.brokers.len() as u32)
            .filter(|&f| f != b && self.brokers[f as usize].fetches_from(b))
            .collect();
        for f in followers {
            self.send(Node::Broker(b), Node::Broker(f), Msg::Broker(BrokerMsg::Disconnected));
        }
    }

    /// The process dies (or finishes a controlled shutdown): memory is lost, the log survives.
    pub(super) fn kill_broker(&mut self, b: u32, stopped: bool) {
        if !self.brokers[b as usize].is_running() {
            return;
        }
        self.reset_connections(b);
        self.broker_down_at[b as usize] = self.now;
        for req in self.brokers[b as usize].crash(stopped) {
            if let Node::Client(_) = req.0 {
                self.acks0_unwritten(req.0, &req.1, Acks0Loss::DeadBroker);
            }
        }
        self.refresh_availability();
    }

    fn restart_broker(&mut self, b: u32) {
        if self.brokers[b as usize].is_running() {
            return;
        }
        self.with_broker(b, |br, ctx| br.restart(ctx));
        self.refresh_availability();
    }

    pub(super) fn add_consumer(&mut self, g: u32) -> u32 {
        let setup = self.group_setup[g as usize].clone();
        let number = self.consumers.iter().filter(|c| c.group == g).count() as u32;
        let static_id = setup.cfg.static_membership.then(|| format!("{}-instance-{number}", setup.cfg.id));
        let c = self.consumers.len() as u32;
        let rate = setup.cfg.records_per_sec_per_member;
        let stream = format!("consumer/{}/{number}", setup.cfg.id);
        let mut consumer = Consumer::new(setup.clone(), g, number, rate, static_id);
        consumer.processing = self.app_producer(&setup.cfg, g, c, number);
        self.consumers.push(consumer);
        self.consumer_rngs.push(SimRng::stream(self.scenario.seed, &stream));
        let jitter = self.rng.range(0, 20 * MS);
        self.with_consumer(c, |con, ctx| con.start(ctx, jitter));
        c
    }

    /// A processing member's producer (Kafka Streams' thread producer): a node
    /// of its own, in the member's process. Returns the member's processing state.
    fn app_producer(&mut self, cfg: &crate::scenario::GroupConfig, g: u32, c: u32, number: u32) -> Option<crate::kafka::consumer::Processing> {
        let out = cfg.output()?;
        let topic = self.cluster.topic_index(out)?;
        let out_parts = self.cluster.topics[topic as usize].partitions;
        let eos = cfg.exactly_once();
        let txn_id = crate::scenario::member_txn_id(&cfg.id, number);
        let transactional = eos && self.cluster.txn_ids.iter().any(|t| t.id == txn_id);
        let pcfg = crate::scenario::ProducerConfig {
            id: format!("{}-{number}-producer", cfg.id),
            topic: out.to_string(),
            records_per_sec: 0,
            keys: 0,
            acks: crate::scenario::Acks::All,
            enable_idempotence: Some(true),
            transactional_id: transactional.then_some(txn_id),
            // Kafka Streams' override for exactly_once_v2.
            transaction_timeout_ms: 10_000,
            ..crate::scenario::ProducerConfig::default()
        };
        let p = self.producers.len() as u32;
        let mut producer = crate::kafka::producer::Producer::new(self.cluster.clone(), p, pcfg);
        producer.app = Some(crate::kafka::producer::AppLink::new(c, g));
        self.producers.push(producer);
        self.producer_rngs
            .push(SimRng::stream(self.scenario.seed, &format!("output/{}/{number}", cfg.id)));
        self.with_producer(p, |pr, ctx| pr.start(ctx));
        let mut processing = crate::kafka::consumer::Processing::new(transactional, out_parts, cfg.commit_interval());
        processing.producer = Some(p);
        Some(processing)
    }

    /// A processing member's producer starts over (its process restarted, or it was fenced).
    pub(super) fn restart_app_producer(&mut self, p: u32) {
        self.producers[p as usize] = self.producers[p as usize].restarted();
        self.with_producer(p, |pr, ctx| pr.start(ctx));
    }

    fn app_producer_of(&self, c: u32) -> Option<u32> {
        self.consumers[c as usize].processing.as_ref().and_then(|pr| pr.producer)
    }

    fn consumer_index(&self, group: &str, member: u32) -> Option<u32> {
        let g = self.scenario.groups.iter().position(|x| x.id == group)? as u32;
        self.consumers.iter().position(|c| c.group == g && c.number == member).map(|i| i as u32)
    }

    /// A new process: a static member keeps its group.instance.id, a dynamic one starts over.
    fn restart_consumer(&mut self, c: u32) {
        if self.consumers[c as usize].state == crate::kafka::consumer::ConsumerState::Running {
            return;
        }
        self.consumers[c as usize] = self.consumers[c as usize].restarted();
        if let Some(p) = self.app_producer_of(c) {
            self.restart_app_producer(p);
            if let Some(a) = self.producers[p as usize].app.as_mut() {
                a.reset();
            }
        }
        self.with_consumer(c, |con, ctx| con.start(ctx, 0));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn said(action: Action) -> String {
        let (template, args) = words(&action);
        Notable::Action { template, args }.describe()
    }

    #[test]
    fn the_event_log_says_actions_in_plain_words() {
        let b = NodeName::Broker;
        assert_eq!(
            said(Action::PartitionNetwork {
                from: vec![b(2)],
                to: vec![b(0), b(1)],
                one_way: false
            }),
            "cut the network between broker 2 and brokers 0, 1"
        );
        assert_eq!(
            said(Action::PartitionNetwork {
                from: vec![b(0)],
                to: vec![NodeName::Controller("c0".into())],
                one_way: true
            }),
            "cut the network from broker 0 to controller c0 (one way: replies still flow back)"
        );
        assert_eq!(said(Action::KillBroker { broker: 1 }), "kill broker 1");
        assert_eq!(said(Action::PauseBroker { broker: 0, for_ms: 10_000 }), "pause broker 0 for 10 s");
        assert_eq!(said(Action::HealNetwork {}), "heal every network cut");
        assert_eq!(
            said(Action::KillConsumer {
                group: "billing".into(),
                member: 2
            }),
            "kill consumer 2 of group billing"
        );
    }
}
