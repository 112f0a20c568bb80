//! The producer client: records arrive at a rate over a key space (murmur2
//! partitioner) or with null keys (sticky partitioner); they fill per-partition
//! batches (`batch.size`, `linger.ms`); the sender drains the first batch of
//! every partition a broker leads into one ProduceRequest (up to
//! `max.in.flight.requests.per.connection` per broker); errors are retried with
//! exponential backoff until `delivery.timeout.ms`; idempotence uses a producer
//! id and per-partition sequence numbers; metadata is refreshed when leaders move.

use crate::engine::{ErrorCode, Msg, Simulation, Timer};
use crate::eventlog::Notable;
use crate::kafka::broker::{BrokerMsg, ProduceRequest};
use crate::kafka::log::Batch;
use crate::kafka::partitioner;
use crate::scenario::{Acks, ProducerConfig};
use crate::sim::{Micros, Node, SimRng, MS, SEC};
use std::collections::{BTreeMap, VecDeque};

/// `max.request.size`
const MAX_REQUEST_BYTES: u64 = 1_048_576;

#[derive(Debug, Clone, Copy)]
pub struct PendingBatch {
    pub instance: u32,
    pub acks: Acks,
    pub idempotent: bool,
    pub pepoch: u16,
    pub audit_seq: u64,
    pub seq: u32,
    pub records: u32,
    pub bytes: u32,
    pub created: Micros,
    /// Mean arrival time of its records: latency is measured from here.
    pub arrival: Micros,
    pub attempts: u32,
    pub retry_at: Micros,
}

#[derive(Debug, Clone)]
pub struct InFlight {
    pub broker: u32,
    pub deadline: Micros,
    pub batches: Vec<(u32, PendingBatch)>,
}

#[derive(Debug, Clone)]
pub struct Producer {
    pub cfg: ProducerConfig,
    pub index: u32,
    /// Global index of the topic's partition 0, and the partition count.
    first: u32,
    topic: u32,
    n: u32,
    instance: u32,
    instances: BTreeMap<u32, (Acks, bool)>,
    weights: Vec<u64>,
    weight_total: u64,
    owed_micro: Vec<u64>,
    sticky: u32,
    acc: Vec<VecDeque<PendingBatch>>,
    next_audit_seq: Vec<u64>,
    next_seq: Vec<u32>,
    in_flight: BTreeMap<u64, InFlight>,
    in_flight_per_broker: Vec<u32>,
    /// Batches in flight per partition: a retried batch goes alone, so order holds.
    in_flight_per_part: Vec<u32>,
    leaders: Vec<Option<u32>>,
    leader_epochs: Vec<i32>,
    metadata_in_flight: Option<(u64, Micros)>,
    want_metadata: bool,
    next_metadata_at: Micros,
    metadata_target: u32,
    next_req_id: u64,
    rng: SimRng,
    /// Workloads (crate::ml): a transactions producer mirrors its per-partition
    /// record counts to its labels producer (index), which writes them after the delay.
    pub(crate) label_sink: Option<(u32, Micros)>,
    /// Records to write at or after a time, per partition (labels, alerts), by time.
    injected: VecDeque<(Micros, u32, u64)>,
}

#[derive(Debug, Clone)]
pub enum ProducerMsg {
    ProduceResponse {
        req_id: u64,
        results: Vec<(u32, Result<u64, ErrorCode>)>,
    },
    /// The connection to the sending broker was reset.
    Disconnected,
    MetadataResponse {
        req_id: u64,
        leaders: Vec<(u32, Option<u32>, i32)>,
    },
}

impl Producer {
    pub fn new(sim: &Simulation, index: u32, cfg: ProducerConfig) -> Producer {
        let topic = sim.topics.iter().position(|t| t.name == cfg.topic).unwrap_or(0) as u32;
        let t = &sim.topics[topic as usize];
        let n = t.partitions;
        let mut weights = vec![0u64; n as usize];
        if cfg.keys == 0 {
            weights.iter_mut().for_each(|w| *w = 1);
        } else {
            for k in 0..cfg.keys {
                weights[partitioner::partition_for_key(format!("key-{k}").as_bytes(), n) as usize] += 1;
            }
        }
        let mut rng = SimRng::stream(sim.scenario.seed, &format!("producer/{}", cfg.id));
        let sticky = rng.range(0, u64::from(n - 1)) as u32;
        let instance = index << 16;
        let mut instances = BTreeMap::new();
        instances.insert(instance, (cfg.acks, cfg.idempotent()));
        let brokers = sim.brokers.len();
        Producer {
            first: t.first,
            topic,
            n,
            instance,
            instances,
            weight_total: weights.iter().sum::<u64>().max(1),
            weights,
            owed_micro: vec![0; n as usize],
            sticky,
            acc: vec![VecDeque::new(); n as usize],
            next_audit_seq: vec![0; n as usize],
            next_seq: vec![0; n as usize],
            in_flight: BTreeMap::new(),
            in_flight_per_broker: vec![0; brokers],
            in_flight_per_part: vec![0; n as usize],
            leaders: vec![None; n as usize],
            leader_epochs: vec![-1; n as usize],
            metadata_in_flight: None,
            want_metadata: true,
            next_metadata_at: 0,
            metadata_target: index % brokers.max(1) as u32,
            next_req_id: 1,
            rng,
            index,
            cfg,
            label_sink: None,
            injected: VecDeque::new(),
        }
    }

    pub fn partitions(&self) -> u32 {
        self.n
    }

    /// Queues `n` records for partition `part` (of its topic) at or after `at`.
    pub(crate) fn inject(&mut self, at: Micros, part: u32, n: u64) {
        let i = self.injected.partition_point(|e| e.0 <= at);
        self.injected.insert(i, (at, part, n));
    }

    pub fn in_flight_requests(&self) -> u32 {
        self.in_flight.len() as u32
    }

    pub fn queued_batches(&self) -> u32 {
        self.acc.iter().map(|q| q.len() as u32).sum()
    }

    pub fn has_in_flight_to(&self, broker: u32) -> bool {
        self.in_flight_per_broker.get(broker as usize).is_some_and(|&n| n > 0)
    }

    pub fn is_idempotent_instance(&self, instance: u32) -> bool {
        self.instances.get(&instance).is_some_and(|i| i.1)
    }

    pub fn instances(&self) -> impl Iterator<Item = (u32, Acks)> + '_ {
        self.instances.iter().map(|(&i, &(a, _))| (i, a))
    }

    fn backoff(&mut self, attempts: u32) -> Micros {
        let base = self.cfg.retry_backoff_ms * MS;
        let max = self.cfg.retry_backoff_max_ms.max(self.cfg.retry_backoff_ms) * MS;
        let exp = base.saturating_mul(1 << attempts.saturating_sub(1).min(16)).min(max);
        // +-20% jitter, as Kafka's exponential backoff does.
        let j = exp / 5;
        exp - j + self.rng.range(0, 2 * j)
    }

    /// Puts records into the open batch of a partition, opening new ones when full.
    fn add_records(&mut self, part: u32, mut n: u64, now: Micros, linger: Micros) -> bool {
        let per_batch = u64::from((self.cfg.batch_size / self.cfg.record_bytes.max(1)).max(1));
        let acks = self.cfg.acks;
        let idem = self.cfg.idempotent();
        let mut filled = false;
        let arrival = now.saturating_sub(linger / 2);
        while n > 0 {
            let q = &mut self.acc[part as usize];
            let open = q
                .back_mut()
                .filter(|b| b.attempts == 0 && b.instance == self.instance && u64::from(b.records) < per_batch);
            let b = match open {
                Some(b) => b,
                None => {
                    q.push_back(PendingBatch {
                        instance: self.instance,
                        acks,
                        idempotent: idem,
                        pepoch: 0,
                        audit_seq: self.next_audit_seq[part as usize],
                        seq: self.next_seq[part as usize],
                        records: 0,
                        bytes: 0,
                        created: now,
                        arrival,
                        attempts: 0,
                        retry_at: 0,
                    });
                    q.back_mut().expect("just pushed")
                }
            };
            let take = n.min(per_batch - u64::from(b.records));
            b.records += take as u32;
            b.bytes += (take * u64::from(self.cfg.record_bytes)) as u32;
            n -= take;
            self.next_audit_seq[part as usize] += take;
            self.next_seq[part as usize] = self.next_seq[part as usize].wrapping_add(take as u32);
            if u64::from(b.records) == per_batch {
                filled = true;
            }
        }
        filled
    }

    fn take_in_flight(&mut self, req_id: u64) -> Option<InFlight> {
        let f = self.in_flight.remove(&req_id)?;
        self.in_flight_per_broker[f.broker as usize] -= 1;
        for (part, _) in &f.batches {
            self.in_flight_per_part[*part as usize] -= 1;
        }
        Some(f)
    }

    fn requeue(&mut self, part: u32, batch: PendingBatch) {
        let q = &mut self.acc[part as usize];
        let at = q.partition_point(|b| (b.instance, b.audit_seq) < (batch.instance, batch.audit_seq));
        q.insert(at, batch);
    }
}

impl Simulation {
    pub(crate) fn producer_timer(&mut self, p: u32, timer: Timer) {
        if timer == Timer::ProducerTick {
            self.producer_tick(p);
        }
    }

    fn producer_tick(&mut self, p: u32) {
        let now = self.now;
        let pr = &mut self.producers[p as usize];
        let linger = pr.cfg.linger_ms.max(1) * MS;
        // 1. New records for the last linger interval.
        let mut produced = 0;
        let mut mirrored: Vec<(u32, Micros, u32, u64)> = Vec::new();
        let rate = pr.cfg.records_per_sec;
        if pr.cfg.keys == 0 {
            // Sticky partitioner: one partition until its batch fills, then another.
            pr.owed_micro[0] += rate * linger;
            let mut n = pr.owed_micro[0] / SEC;
            pr.owed_micro[0] %= SEC;
            produced += n;
            let per_batch = u64::from((pr.cfg.batch_size / pr.cfg.record_bytes.max(1)).max(1));
            while n > 0 {
                let part = pr.sticky;
                let room = per_batch
                    - pr.acc[part as usize]
                        .back()
                        .filter(|b| b.attempts == 0)
                        .map_or(0, |b| u64::from(b.records) % per_batch);
                let take = n.min(room.max(1));
                if pr.add_records(part, take, now, linger) && pr.n > 1 {
                    let next = pr.rng.range(0, u64::from(pr.n - 2)) as u32;
                    pr.sticky = if next >= part { next + 1 } else { next };
                }
                n -= take;
            }
        } else {
            for part in 0..pr.n {
                let owed = &mut pr.owed_micro[part as usize];
                *owed += rate * linger * pr.weights[part as usize] / pr.weight_total;
                let n = *owed / SEC;
                *owed %= SEC;
                if n > 0 {
                    produced += n;
                    pr.add_records(part, n, now, linger);
                    if let Some((sink, delay)) = pr.label_sink {
                        mirrored.push((sink, now + delay, part, n));
                    }
                }
            }
        }
        for (sink, at, part, n) in mirrored.drain(..) {
            self.producers[sink as usize].inject(at, part, n);
        }
        let pr = &mut self.producers[p as usize];
        // Records queued by the ML workloads (labels after their delay, alerts).
        while pr.injected.front().is_some_and(|e| e.0 <= now) {
            let (_, part, n) = pr.injected.pop_front().expect("present");
            if part < pr.n {
                produced += n;
                pr.add_records(part, n, now, linger);
            }
        }
        self.metrics.record_produced(produced);
        // 2. Client-side request timeouts and delivery timeouts.
        let pr = &mut self.producers[p as usize];
        let timed_out: Vec<u64> = pr.in_flight.iter().filter(|(_, f)| f.deadline <= now).map(|(&id, _)| id).collect();
        for id in timed_out {
            self.fail_request(p, id);
        }
        let pr = &mut self.producers[p as usize];
        if pr
            .metadata_in_flight
            .is_some_and(|(_, t)| now.saturating_sub(t) > pr.cfg.request_timeout_ms * MS)
        {
            pr.metadata_in_flight = None;
            pr.metadata_target += 1;
        }
        let delivery = pr.cfg.delivery_timeout_ms * MS;
        let mut failed = 0u64;
        for q in &mut pr.acc {
            while q.front().is_some_and(|b| now.saturating_sub(b.created) >= delivery) {
                failed += u64::from(q.pop_front().expect("present").records);
            }
        }
        if failed > 0 {
            self.fail_records(p, failed);
        }
        // 3. Metadata, then drain every broker.
        self.maybe_request_metadata(p);
        for b in 0..self.brokers.len() as u32 {
            self.drain(p, b);
        }
        self.timer(Node::Client(p), linger, Timer::ProducerTick);
    }

    /// A request that will never be answered (timeout, reset connection): retry its batches.
    fn fail_request(&mut self, p: u32, req_id: u64) {
        let Some(f) = self.producers[p as usize].take_in_flight(req_id) else { return };
        self.producers[p as usize].want_metadata = true;
        self.count_error(ErrorCode::NetworkException, f.batches.len() as u64);
        for (part, batch) in f.batches {
            self.retry_batch(p, part, batch);
        }
    }

    fn fail_records(&mut self, p: u32, records: u64) {
        self.counters.failed_records += records;
        self.metrics.record_failed(records);
        let producer = self.producers[p as usize].cfg.id.clone();
        self.note(Notable::ProducerError {
            producer,
            error: "delivery.timeout.ms expired",
            partitions: 1,
        });
    }

    fn maybe_request_metadata(&mut self, p: u32) {
        let now = self.now;
        let brokers = self.brokers.len() as u32;
        let pr = &mut self.producers[p as usize];
        if !pr.want_metadata || pr.metadata_in_flight.is_some() || now < pr.next_metadata_at {
            return;
        }
        let req_id = pr.next_req_id;
        pr.next_req_id += 1;
        pr.metadata_in_flight = Some((req_id, now));
        pr.next_metadata_at = now + pr.cfg.retry_backoff_ms * MS;
        let target = pr.metadata_target % brokers;
        let topic = pr.topic;
        self.send(
            Node::Client(p),
            Node::Broker(target),
            Msg::Broker(BrokerMsg::ClientMetadata { req_id, topics: vec![topic] }),
        );
    }

    /// Kafka's drain: the first ready batch of every partition the broker leads,
    /// into one request, while the connection has room for more in flight.
    fn drain(&mut self, p: u32, b: u32) {
        let now = self.now;
        loop {
            let pr = &mut self.producers[p as usize];
            if pr.in_flight_per_broker[b as usize] >= pr.cfg.max_in_flight_requests_per_connection {
                return;
            }
            let mut batches = Vec::new();
            let mut bytes = 0u64;
            let mut acks = None;
            for part in 0..pr.n {
                if pr.leaders[part as usize] != Some(b) {
                    continue;
                }
                let Some(front) = pr.acc[part as usize].front() else { continue };
                if front.retry_at > now || acks.is_some_and(|a| a != front.acks) {
                    continue;
                }
                // Kafka resends a failed batch only once the partition's earlier requests are
                // done, so an idempotent producer keeps its sequence order.
                if front.attempts > 0 && pr.in_flight_per_part[part as usize] > 0 {
                    continue;
                }
                if !batches.is_empty() && bytes + u64::from(front.bytes) > MAX_REQUEST_BYTES {
                    break;
                }
                acks = Some(front.acks);
                bytes += u64::from(front.bytes);
                let batch = pr.acc[part as usize].pop_front().expect("present");
                batches.push((part, batch));
            }
            let Some(acks) = acks else { return };
            let req_id = pr.next_req_id;
            pr.next_req_id += 1;
            let first = pr.first;
            let request = ProduceRequest {
                req_id,
                acks,
                timeout_us: pr.cfg.request_timeout_ms * MS,
                batches: batches
                    .iter()
                    .map(|(part, pb)| {
                        (
                            first + part,
                            Batch {
                                base_offset: 0,
                                records: pb.records,
                                bytes: pb.bytes,
                                epoch: 0,
                                producer: pb.instance,
                                audit_seq: pb.audit_seq,
                                idem: pb.idempotent.then_some((pb.pepoch, pb.seq)),
                                created_us: pb.arrival,
                                created_end_us: pb.arrival,
                            },
                        )
                    })
                    .collect(),
            };
            if acks == Acks::Zero {
                // Fire and forget: nothing to wait for, nothing acknowledged.
                self.send(Node::Client(p), Node::Broker(b), Msg::Broker(BrokerMsg::Produce(Box::new(request))));
                continue;
            }
            // The client gives up a little after the broker would have answered.
            let deadline = now + pr.cfg.request_timeout_ms * MS + self.scenario.cluster.network_rtt_us * 2;
            for (part, _) in &batches {
                pr.in_flight_per_part[*part as usize] += 1;
            }
            pr.in_flight.insert(req_id, InFlight { broker: b, deadline, batches });
            pr.in_flight_per_broker[b as usize] += 1;
            self.send(Node::Client(p), Node::Broker(b), Msg::Broker(BrokerMsg::Produce(Box::new(request))));
        }
    }

    fn retry_batch(&mut self, p: u32, part: u32, mut batch: PendingBatch) {
        let now = self.now;
        let pr = &mut self.producers[p as usize];
        if now.saturating_sub(batch.created) >= pr.cfg.delivery_timeout_ms * MS {
            let records = u64::from(batch.records);
            self.fail_records(p, records);
            return;
        }
        batch.attempts += 1;
        batch.retry_at = now + pr.backoff(batch.attempts);
        pr.requeue(part, batch);
    }

    pub(crate) fn producer_receive(&mut self, p: u32, from: Node, msg: ProducerMsg) {
        match msg {
            ProducerMsg::ProduceResponse { req_id, results } => {
                let Node::Broker(b) = from else { return };
                let Some(f) = self.producers[p as usize].take_in_flight(req_id) else { return };
                let first = self.producers[p as usize].first;
                let mut errors: BTreeMap<&'static str, u32> = BTreeMap::new();
                for (part, batch) in f.batches {
                    let pidx = first + part;
                    let result = results.iter().find(|r| r.0 == pidx).map_or(Err(ErrorCode::NetworkException), |r| r.1);
                    match result {
                        Ok(_) => {
                            let latency = self.now.saturating_sub(batch.arrival);
                            self.metrics.record_acked(u64::from(batch.records), u64::from(batch.bytes), latency);
                            self.audit.acked(batch.instance, pidx, batch.audit_seq, batch.records);
                        }
                        Err(e) => {
                            *errors.entry(e.name()).or_default() += 1;
                            if matches!(e, ErrorCode::NotLeaderOrFollower | ErrorCode::FencedLeaderEpoch | ErrorCode::UnknownLeaderEpoch) {
                                self.producers[p as usize].want_metadata = true;
                            }
                            self.retry_batch(p, part, batch);
                        }
                    }
                }
                if !errors.is_empty() {
                    let producer = self.producers[p as usize].cfg.id.clone();
                    for (error, partitions) in errors {
                        if self
                            .log
                            .entries
                            .back()
                            .is_none_or(|e| !matches!(&e.what, Notable::ProducerError { error: x, .. } if *x == error))
                        {
                            self.note(Notable::ProducerError {
                                producer: producer.clone(),
                                error,
                                partitions,
                            });
                        }
                    }
                }
                self.maybe_request_metadata(p);
                self.drain(p, b);
            }
            ProducerMsg::Disconnected => {
                let Node::Broker(b) = from else { return };
                let ids: Vec<u64> = self.producers[p as usize]
                    .in_flight
                    .iter()
                    .filter(|(_, f)| f.broker == b)
                    .map(|(&id, _)| id)
                    .collect();
                for id in ids {
                    self.fail_request(p, id);
                }
                let pr = &mut self.producers[p as usize];
                if pr.metadata_in_flight.is_some_and(|_| pr.metadata_target % self.brokers.len() as u32 == b) {
                    pr.metadata_in_flight = None;
                    pr.metadata_target += 1;
                }
                self.maybe_request_metadata(p);
            }
            ProducerMsg::MetadataResponse { req_id, leaders } => {
                let pr = &mut self.producers[p as usize];
                if pr.metadata_in_flight.map(|m| m.0) != Some(req_id) {
                    return;
                }
                pr.metadata_in_flight = None;
                let mut missing = false;
                for &(pidx, leader, epoch) in &leaders {
                    let Some(i) = pidx.checked_sub(pr.first).map(|i| i as usize).filter(|&i| i < pr.n as usize) else {
                        continue;
                    };
                    if epoch >= pr.leader_epochs[i] {
                        pr.leaders[i] = leader;
                        pr.leader_epochs[i] = epoch;
                    }
                    missing |= pr.leaders[i].is_none();
                }
                if leaders.is_empty() {
                    missing = true;
                }
                // Keep asking (after the backoff) while some partition has no leader,
                // and spread the next question over another broker.
                pr.want_metadata = missing;
                pr.metadata_target += 1;
                for b in 0..self.brokers.len() as u32 {
                    self.drain(p, b);
                }
            }
        }
    }

    /// `set_producer`: a new rate applies at once; a new acks is a new producer
    /// instance (a new producer id, sequences from 0), as in Kafka.
    pub(crate) fn set_producer(&mut self, p: u32, rate: Option<u64>, acks: Option<crate::scenario::Acks>) {
        let pr = &mut self.producers[p as usize];
        if let Some(r) = rate {
            pr.cfg.records_per_sec = r;
        }
        if let Some(a) = acks {
            if a != pr.cfg.acks {
                pr.cfg.acks = a;
                if pr.cfg.enable_idempotence == Some(true) && a != Acks::All {
                    pr.cfg.enable_idempotence = None;
                }
                pr.instance += 1;
                let inst = pr.instance;
                let idem = pr.cfg.idempotent();
                pr.instances.insert(inst, (a, idem));
                pr.next_seq.iter_mut().for_each(|s| *s = 0);
                self.audit.register_instance(inst, a);
            }
        }
    }
}
