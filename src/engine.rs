//! The simulation driver: builds a cluster from a scenario and runs it as a
//! discrete-event simulation. Drivers (the CLI, the browser app, tests) use
//! only this API: create, step, run until a time, inject an action, snapshot.

use crate::kafka::{layout, partitioner};
use crate::metrics::Metrics;
use crate::scenario::{Action, Scenario, TimedAction};
use crate::sim::{EventQueue, Fnv64, Micros, SimRng, MS, SEC};
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BrokerState {
    Up,
    Down,
}

#[derive(Debug, Clone)]
struct Broker {
    state: BrokerState,
}

#[derive(Debug, Clone)]
struct PartitionState {
    replicas: Vec<u32>,
    leader: Option<u32>,
    /// Log end offset per replica, in `replicas` order.
    leo: Vec<u64>,
}

#[derive(Debug, Clone)]
struct Topic {
    name: String,
    partitions: Vec<PartitionState>,
}

#[derive(Debug, Clone)]
struct Producer {
    topic: usize,
    records_per_sec: u64,
    record_bytes: u32,
    /// Records per partition owed since the last send, in millionths of a record,
    /// so rates that do not divide the tick length are still exact over time.
    owed_micro: Vec<u64>,
    /// Share of the key space per partition (keys hashing there), or uniform for null keys.
    weights: Vec<u64>,
    weight_total: u64,
}

#[derive(Debug, Clone)]
enum Event {
    ProducerTick { producer: usize },
    ProduceArrive { producer: usize, broker: u32, sent_at: Micros, parts: Vec<(usize, u32, u64)> },
    ProduceResponse { sent_at: Micros, records: u64, bytes: u64 },
    Action { index: usize },
}

/// The state a driver draws: cheap to build, no references into the engine.
#[derive(Debug, Clone, Serialize)]
pub struct Snapshot {
    pub now_us: Micros,
    pub brokers: Vec<BrokerView>,
    pub partitions: Vec<PartitionView>,
}

#[derive(Debug, Clone, Serialize)]
pub struct BrokerView {
    pub id: u32,
    pub state: BrokerState,
    pub leaders: u32,
    pub replicas: u32,
}

#[derive(Debug, Clone, Serialize)]
pub struct PartitionView {
    pub topic: String,
    pub partition: u32,
    pub replicas: Vec<u32>,
    pub leader: Option<u32>,
    pub leo: Vec<u64>,
}

#[derive(Clone)]
pub struct Simulation {
    scenario: Scenario,
    now: Micros,
    queue: EventQueue<Event>,
    net_rng: SimRng,
    brokers: Vec<Broker>,
    topics: Vec<Topic>,
    producers: Vec<Producer>,
    actions: Vec<TimedAction>,
    metrics: Metrics,
    trace: Fnv64,
    events: u64,
}

impl Simulation {
    pub fn new(scenario: &Scenario) -> Simulation {
        let mut layout_rng = SimRng::stream(scenario.seed, "layout");
        let topics = scenario
            .topics
            .iter()
            .map(|t| Topic {
                name: t.name.clone(),
                partitions: layout::assign_replicas(scenario.cluster.brokers, t.partitions, t.replication_factor, &mut layout_rng)
                    .into_iter()
                    .map(|replicas| PartitionState { leader: replicas.first().copied(), leo: vec![0; replicas.len()], replicas })
                    .collect(),
            })
            .collect::<Vec<_>>();
        let producers = scenario
            .producers
            .iter()
            .map(|p| {
                let topic = scenario.topics.iter().position(|t| t.name == p.topic).unwrap_or(0);
                let n = topics.get(topic).map_or(1, |t| t.partitions.len()) as u32;
                let mut weights = vec![0u64; n as usize];
                if p.keys == 0 {
                    weights.iter_mut().for_each(|w| *w = 1);
                } else {
                    for k in 0..p.keys {
                        weights[partitioner::partition_for_key(format!("key-{k}").as_bytes(), n) as usize] += 1;
                    }
                }
                Producer {
                    topic,
                    records_per_sec: p.records_per_sec,
                    record_bytes: p.record_bytes,
                    owed_micro: vec![0; n as usize],
                    weight_total: weights.iter().sum::<u64>().max(1),
                    weights,
                }
            })
            .collect::<Vec<_>>();
        let mut sim = Simulation {
            scenario: scenario.clone(),
            now: 0,
            queue: EventQueue::default(),
            net_rng: SimRng::stream(scenario.seed, "network"),
            brokers: (0..scenario.cluster.brokers).map(|_| Broker { state: BrokerState::Up }).collect(),
            topics,
            producers,
            actions: scenario.actions.clone(),
            metrics: Metrics::new(SEC, 3_600),
            trace: Fnv64::default(),
            events: 0,
        };
        // Actions at the same time apply in file order, before other events of that time:
        // they are queued first, and the queue breaks ties by insertion order.
        let mut order: Vec<usize> = (0..sim.actions.len()).collect();
        order.sort_by_key(|&i| sim.actions[i].at_us);
        for index in order {
            sim.queue.push(sim.actions[index].at_us, Event::Action { index });
        }
        for producer in 0..sim.producers.len() {
            sim.queue.push(0, Event::ProducerTick { producer });
        }
        sim
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

    /// Hex FNV-1a over every processed event's time, sequence and kind.
    pub fn fingerprint(&self) -> String {
        self.trace.hex()
    }

    /// Processes one event. Returns false when the queue is empty.
    pub fn step(&mut self) -> bool {
        let Some((time, seq, event)) = self.queue.pop() else {
            return false;
        };
        self.now = time;
        self.metrics.advance(time);
        self.events += 1;
        self.trace.u64(time);
        self.trace.u64(seq);
        self.handle(event);
        true
    }

    /// Runs every event scheduled at or before `t`, then sets the clock to `t`.
    pub fn run_until(&mut self, t: Micros) {
        while self.queue.peek_time().is_some_and(|next| next <= t) {
            self.step();
        }
        self.now = self.now.max(t);
        self.metrics.advance(self.now);
    }

    /// Applies an action now, as if it had been in the scenario at this time.
    pub fn inject(&mut self, action: Action) {
        let index = self.actions.len();
        self.actions.push(TimedAction { at_us: self.now, action });
        self.queue.push(self.now, Event::Action { index });
    }

    fn one_way_delay(&mut self) -> Micros {
        let half = self.scenario.cluster.network_rtt_us / 2;
        // Jitter: up to +20% of the one-way delay, uniform.
        half + self.net_rng.range(0, half / 5)
    }

    fn handle(&mut self, event: Event) {
        match event {
            Event::ProducerTick { producer } => self.producer_tick(producer),
            Event::ProduceArrive { producer, broker, sent_at, parts } => {
                self.trace.u32(1);
                if self.brokers[broker as usize].state != BrokerState::Up {
                    return;
                }
                let mut records = 0;
                for &(topic, partition, n) in &parts {
                    let p = &mut self.topics[topic].partitions[partition as usize];
                    if let Some(i) = p.replicas.iter().position(|&r| r == broker) {
                        p.leo[i] += n;
                        records += n;
                    }
                }
                let bytes = records * u64::from(self.producers[producer].record_bytes);
                let at = self.now + self.one_way_delay();
                self.queue.push(at, Event::ProduceResponse { sent_at, records, bytes });
            }
            Event::ProduceResponse { sent_at, records, bytes, .. } => {
                self.trace.u32(2);
                self.metrics.record_acked(records, bytes, self.now - sent_at);
            }
            Event::Action { index } => {
                self.trace.u32(3);
                let action = self.actions[index].action.clone();
                self.apply(action);
            }
        }
    }

    fn producer_tick(&mut self, producer: usize) {
        self.trace.u32(0);
        let linger = self.scenario.producers[producer].linger_ms.max(1) * MS;
        let p = &mut self.producers[producer];
        let topic = p.topic;
        // Records owed this tick, spread over partitions by key share; remainders carry.
        let mut by_leader: Vec<(u32, Vec<(usize, u32, u64)>)> = Vec::new();
        let mut produced = 0;
        for part in 0..p.owed_micro.len() {
            p.owed_micro[part] += p.records_per_sec * linger * p.weights[part] / p.weight_total;
            let n = p.owed_micro[part] / SEC;
            p.owed_micro[part] %= SEC;
            if n == 0 {
                continue;
            }
            produced += n;
            let Some(leader) = self.topics[topic].partitions[part].leader else { continue };
            match by_leader.iter_mut().find(|(b, _)| *b == leader) {
                Some((_, parts)) => parts.push((topic, part as u32, n)),
                None => by_leader.push((leader, vec![(topic, part as u32, n)])),
            }
        }
        self.metrics.record_produced(produced);
        for (broker, parts) in by_leader {
            let at = self.now + self.one_way_delay();
            self.queue.push(at, Event::ProduceArrive { producer, broker, sent_at: self.now, parts });
        }
        self.queue.push(self.now + linger, Event::ProducerTick { producer });
    }

    fn apply(&mut self, action: Action) {
        match action {
            Action::KillBroker { broker } => self.brokers[broker as usize].state = BrokerState::Down,
            Action::RestartBroker { broker } => self.brokers[broker as usize].state = BrokerState::Up,
            Action::SetProducer { producer, records_per_sec: Some(rate), .. } => {
                if let Some(i) = self.scenario.producers.iter().position(|p| p.id == producer) {
                    self.producers[i].records_per_sec = rate;
                }
            }
            // The rest of the fault model arrives with replication and the controller.
            _ => {}
        }
    }

    pub fn snapshot(&self) -> Snapshot {
        let mut brokers: Vec<BrokerView> = self
            .brokers
            .iter()
            .enumerate()
            .map(|(i, b)| BrokerView { id: i as u32, state: b.state, leaders: 0, replicas: 0 })
            .collect();
        let mut partitions = Vec::new();
        for t in &self.topics {
            for (i, p) in t.partitions.iter().enumerate() {
                for &r in &p.replicas {
                    brokers[r as usize].replicas += 1;
                }
                if let Some(l) = p.leader {
                    brokers[l as usize].leaders += 1;
                }
                partitions.push(PartitionView {
                    topic: t.name.clone(),
                    partition: i as u32,
                    replicas: p.replicas.clone(),
                    leader: p.leader,
                    leo: p.leo.clone(),
                });
            }
        }
        Snapshot { now_us: self.now, brokers, partitions }
    }
}
