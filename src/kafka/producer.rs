//! The producer client: records arrive at a rate over a key space (murmur2
//! partitioner) or with null keys (sticky partitioner); they fill per-partition
//! batches (`batch.size`, `linger.ms`); the sender drains the first batch of
//! every partition a broker leads into one ProduceRequest (up to
//! `max.in.flight.requests.per.connection` per broker); errors are retried with
//! exponential backoff until `delivery.timeout.ms`; idempotence uses a producer
//! id and per-partition sequence numbers; metadata is refreshed when leaders move.

use crate::kafka::log::Batch;
use crate::kafka::notable::Notable;
use crate::kafka::obs::Obs;
use crate::kafka::partitioner;
use crate::kafka::protocol::{BrokerMsg, Msg, ProduceRequest, ProducerMsg, Timer};
use crate::kafka::types::{Cluster, ErrorCode};
use crate::kafka::Ctx;
use crate::scenario::{Acks, ProducerConfig};
use crate::sim::{Micros, Node, SimRng, MS, SEC};
use std::collections::{BTreeMap, VecDeque};
use std::rc::Rc;

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
    cluster: Rc<Cluster>,
    /// Global index of the topic's partition 0, and the partition count.
    first: u32,
    topic: u32,
    n: u32,
    instance: u32,
    weights: Vec<u64>,
    weight_total: u64,
    owed_micro: Vec<u64>,
    sticky: u32,
    acc: Vec<VecDeque<PendingBatch>>,
    next_audit_seq: Vec<u64>,
    next_seq: Vec<u32>,
    in_flight: BTreeMap<u64, InFlight>,
    in_flight_per_broker: Vec<u32>,
    /// Per broker, the number of the current connection (a new one after each disconnect).
    conn_gen: Vec<u32>,
    /// Batches in flight per partition: a retried batch goes alone, so order holds.
    in_flight_per_part: Vec<u32>,
    leaders: Vec<Option<u32>>,
    leader_epochs: Vec<i32>,
    /// Per broker, the partitions it leads (ascending): what a drain walks.
    led_by: Vec<Vec<u32>>,
    metadata_in_flight: Option<(u64, Micros)>,
    want_metadata: bool,
    next_metadata_at: Micros,
    metadata_target: u32,
    next_req_id: u64,
    /// Workloads (crate::ml): a transactions producer mirrors its per-partition
    /// record counts to its labels producer (index), which writes them after the delay.
    pub(crate) label_sink: Option<(u32, Micros)>,
    /// Records to write at or after a time, per partition (labels, alerts), by time.
    injected: VecDeque<(Micros, u32, u64)>,
}

impl Producer {
    /// `rng` is the producer's own stream (it picks the first sticky partition).
    pub fn new(cluster: Rc<Cluster>, index: u32, cfg: ProducerConfig, rng: &mut SimRng) -> Producer {
        let topic = cluster.topic_index(&cfg.topic).unwrap_or(0);
        let t = &cluster.topics[topic as usize];
        let n = t.partitions;
        let mut weights = vec![0u64; n as usize];
        if cfg.keys == 0 {
            weights.iter_mut().for_each(|w| *w = 1);
        } else {
            for k in 0..cfg.keys {
                weights[partitioner::partition_for_key(format!("key-{k}").as_bytes(), n) as usize] += 1;
            }
        }
        let sticky = rng.range(0, u64::from(n - 1)) as u32;
        let brokers = cluster.brokers() as usize;
        Producer {
            first: t.first,
            topic,
            n,
            instance: index << 16,
            weight_total: weights.iter().sum::<u64>().max(1),
            weights,
            owed_micro: vec![0; n as usize],
            sticky,
            acc: vec![VecDeque::new(); n as usize],
            next_audit_seq: vec![0; n as usize],
            next_seq: vec![0; n as usize],
            in_flight: BTreeMap::new(),
            in_flight_per_broker: vec![0; brokers],
            conn_gen: vec![0; brokers],
            in_flight_per_part: vec![0; n as usize],
            leaders: vec![None; n as usize],
            leader_epochs: vec![-1; n as usize],
            led_by: vec![Vec::new(); brokers],
            metadata_in_flight: None,
            want_metadata: true,
            next_metadata_at: 0,
            metadata_target: index % brokers.max(1) as u32,
            next_req_id: 1,
            index,
            cfg,
            cluster,
            label_sink: None,
            injected: VecDeque::new(),
        }
    }

    /// The producer instance writing now (a new acks is a new instance).
    pub fn instance(&self) -> u32 {
        self.instance
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

    fn backoff(&self, ctx: &mut Ctx, attempts: u32) -> Micros {
        let base = self.cfg.retry_backoff_ms * MS;
        let max = self.cfg.retry_backoff_max_ms.max(self.cfg.retry_backoff_ms) * MS;
        let exp = base.saturating_mul(1 << attempts.saturating_sub(1).min(16)).min(max);
        // +-20% jitter, as Kafka's exponential backoff does.
        let j = exp / 5;
        exp - j + ctx.rng.range(0, 2 * j)
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

    // ---- handlers ------------------------------------------------------------------

    pub fn on_timer(&mut self, ctx: &mut Ctx, timer: Timer) {
        if timer == Timer::ProducerTick {
            self.tick(ctx);
        }
    }

    fn tick(&mut self, ctx: &mut Ctx) {
        let now = ctx.now;
        let linger = self.cfg.linger_ms.max(1) * MS;
        // 1. New records for the last linger interval.
        let mut produced = 0;
        let rate = self.cfg.records_per_sec;
        if self.cfg.keys == 0 {
            // Sticky partitioner: one partition until its batch fills, then another.
            self.owed_micro[0] += rate * linger;
            let mut n = self.owed_micro[0] / SEC;
            self.owed_micro[0] %= SEC;
            produced += n;
            let per_batch = u64::from((self.cfg.batch_size / self.cfg.record_bytes.max(1)).max(1));
            while n > 0 {
                let part = self.sticky;
                let room = per_batch
                    - self.acc[part as usize]
                        .back()
                        .filter(|b| b.attempts == 0)
                        .map_or(0, |b| u64::from(b.records) % per_batch);
                let take = n.min(room.max(1));
                if self.add_records(part, take, now, linger) && self.n > 1 {
                    let next = ctx.rng.range(0, u64::from(self.n - 2)) as u32;
                    self.sticky = if next >= part { next + 1 } else { next };
                }
                n -= take;
            }
        } else {
            for part in 0..self.n {
                let owed = &mut self.owed_micro[part as usize];
                *owed += rate * linger * self.weights[part as usize] / self.weight_total;
                let n = *owed / SEC;
                *owed %= SEC;
                if n > 0 {
                    produced += n;
                    self.add_records(part, n, now, linger);
                    if let Some((sink, delay)) = self.label_sink {
                        ctx.observe(Obs::LabelsDue {
                            sink,
                            at: now + delay,
                            part,
                            records: n,
                        });
                    }
                }
            }
        }
        // Records queued by the ML workloads (labels after their delay, alerts).
        while self.injected.front().is_some_and(|e| e.0 <= now) {
            let (_, part, n) = self.injected.pop_front().expect("present");
            if part < self.n {
                produced += n;
                self.add_records(part, n, now, linger);
            }
        }
        ctx.observe(Obs::Produced(produced));
        // 2. Client-side request timeouts (Kafka then closes the connection, failing
        // every request in flight on it) and delivery timeouts.
        let mut timed_out: Vec<u32> = self.in_flight.values().filter(|f| f.deadline <= now).map(|f| f.broker).collect();
        timed_out.sort_unstable();
        timed_out.dedup();
        for b in timed_out {
            self.disconnect(ctx, b);
        }
        if self
            .metadata_in_flight
            .is_some_and(|(_, t)| now.saturating_sub(t) > self.cfg.request_timeout_ms * MS)
        {
            self.metadata_in_flight = None;
            self.metadata_target += 1;
        }
        let delivery = self.cfg.delivery_timeout_ms * MS;
        let mut failed = 0u64;
        for q in &mut self.acc {
            while q.front().is_some_and(|b| now.saturating_sub(b.created) >= delivery) {
                failed += u64::from(q.pop_front().expect("present").records);
            }
        }
        if failed > 0 {
            self.fail_records(ctx, failed);
        }
        // 3. Metadata, then drain every broker.
        self.maybe_request_metadata(ctx);
        for b in 0..self.cluster.brokers() {
            self.drain(ctx, b);
        }
        ctx.timer(linger, Timer::ProducerTick);
    }

    /// The connection to `b` is gone (reset by the broker, or closed after a request
    /// timed out): every request in flight on it fails and is retried, the next
    /// requests go on a new connection, and metadata is refreshed (Kafka's
    /// `handleServerDisconnect`).
    fn disconnect(&mut self, ctx: &mut Ctx, b: u32) {
        self.conn_gen[b as usize] += 1;
        self.want_metadata = true;
        let ids: Vec<u64> = self.in_flight.iter().filter(|(_, f)| f.broker == b).map(|(&id, _)| id).collect();
        for id in ids {
            self.fail_request(ctx, id);
        }
        if self.metadata_in_flight.is_some() && self.metadata_target % self.cluster.brokers() == b {
            self.metadata_in_flight = None;
            self.metadata_target += 1;
        }
    }

    /// A request that will never be answered: retry its batches.
    fn fail_request(&mut self, ctx: &mut Ctx, req_id: u64) {
        let Some(f) = self.take_in_flight(req_id) else { return };
        self.want_metadata = true;
        ctx.observe(Obs::Errors {
            name: ErrorCode::NetworkException.name(),
            count: f.batches.len() as u64,
        });
        for (part, batch) in f.batches {
            self.retry_batch(ctx, part, batch);
        }
    }

    fn fail_records(&mut self, ctx: &mut Ctx, records: u64) {
        ctx.observe(Obs::Failed(records));
        ctx.observe(Obs::note(Notable::ProducerError {
            producer: self.cfg.id.clone(),
            error: "delivery.timeout.ms expired",
            partitions: 1,
        }));
    }

    fn maybe_request_metadata(&mut self, ctx: &mut Ctx) {
        let now = ctx.now;
        if !self.want_metadata || self.metadata_in_flight.is_some() || now < self.next_metadata_at {
            return;
        }
        let req_id = self.next_req_id;
        self.next_req_id += 1;
        self.metadata_in_flight = Some((req_id, now));
        self.next_metadata_at = now + self.cfg.retry_backoff_ms * MS;
        let target = self.metadata_target % self.cluster.brokers();
        ctx.send(
            Node::Broker(target),
            Msg::Broker(BrokerMsg::ClientMetadata {
                req_id,
                topics: vec![self.topic],
            }),
        );
    }

    /// Kafka's drain: the first ready batch of every partition the broker leads,
    /// into one request, while the connection has room for more in flight.
    fn drain(&mut self, ctx: &mut Ctx, b: u32) {
        let now = ctx.now;
        loop {
            if self.in_flight_per_broker[b as usize] >= self.cfg.max_in_flight_requests_per_connection {
                return;
            }
            let mut batches = Vec::new();
            let mut bytes = 0u64;
            let mut acks = None;
            for &part in &self.led_by[b as usize] {
                let Some(front) = self.acc[part as usize].front() else { continue };
                if front.retry_at > now || acks.is_some_and(|a| a != front.acks) {
                    continue;
                }
                // Kafka resends a failed batch only once the partition's earlier requests are
                // done, so an idempotent producer keeps its sequence order.
                if front.attempts > 0 && self.in_flight_per_part[part as usize] > 0 {
                    continue;
                }
                if !batches.is_empty() && bytes + u64::from(front.bytes) > MAX_REQUEST_BYTES {
                    break;
                }
                acks = Some(front.acks);
                bytes += u64::from(front.bytes);
                let batch = self.acc[part as usize].pop_front().expect("present");
                batches.push((part, batch));
            }
            let Some(acks) = acks else { return };
            let req_id = self.next_req_id;
            self.next_req_id += 1;
            let first = self.first;
            let request = ProduceRequest {
                req_id,
                conn: self.conn_gen[b as usize],
                acks,
                timeout_us: self.cfg.request_timeout_ms * MS,
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
                                payload: None,
                            },
                        )
                    })
                    .collect(),
            };
            if acks == Acks::Zero {
                // Fire and forget: nothing to wait for, nothing acknowledged.
                ctx.send(Node::Broker(b), Msg::Broker(BrokerMsg::Produce(Box::new(request))));
                continue;
            }
            // The client gives up a little after the broker would have answered.
            let deadline = now + self.cfg.request_timeout_ms * MS + self.cluster.config.network_rtt_us * 2;
            for (part, _) in &batches {
                self.in_flight_per_part[*part as usize] += 1;
            }
            self.in_flight.insert(req_id, InFlight { broker: b, deadline, batches });
            self.in_flight_per_broker[b as usize] += 1;
            ctx.send(Node::Broker(b), Msg::Broker(BrokerMsg::Produce(Box::new(request))));
        }
    }

    fn retry_batch(&mut self, ctx: &mut Ctx, part: u32, mut batch: PendingBatch) {
        let now = ctx.now;
        if now.saturating_sub(batch.created) >= self.cfg.delivery_timeout_ms * MS {
            self.fail_records(ctx, u64::from(batch.records));
            return;
        }
        batch.attempts += 1;
        batch.retry_at = now + self.backoff(ctx, batch.attempts);
        self.requeue(part, batch);
    }

    pub fn on_message(&mut self, ctx: &mut Ctx, from: Node, msg: ProducerMsg) {
        match msg {
            ProducerMsg::ProduceResponse { req_id, results } => {
                let Node::Broker(b) = from else { return };
                let Some(f) = self.take_in_flight(req_id) else { return };
                let first = self.first;
                let mut errors: BTreeMap<&'static str, u32> = BTreeMap::new();
                for (part, batch) in f.batches {
                    let pidx = first + part;
                    let result = results.iter().find(|r| r.0 == pidx).map_or(Err(ErrorCode::NetworkException), |r| r.1);
                    match result {
                        Ok(_) => {
                            let latency = ctx.now.saturating_sub(batch.arrival);
                            ctx.observe(Obs::Acked {
                                instance: batch.instance,
                                pidx,
                                seq: batch.audit_seq,
                                records: batch.records,
                                bytes: batch.bytes,
                                latency,
                            });
                        }
                        Err(e) => {
                            *errors.entry(e.name()).or_default() += 1;
                            if matches!(e, ErrorCode::NotLeaderOrFollower | ErrorCode::FencedLeaderEpoch | ErrorCode::UnknownLeaderEpoch) {
                                self.want_metadata = true;
                            }
                            self.retry_batch(ctx, part, batch);
                        }
                    }
                }
                for (error, partitions) in errors {
                    ctx.observe(Obs::note_once(Notable::ProducerError {
                        producer: self.cfg.id.clone(),
                        error,
                        partitions,
                    }));
                }
                self.maybe_request_metadata(ctx);
                self.drain(ctx, b);
            }
            ProducerMsg::Disconnected => {
                let Node::Broker(b) = from else { return };
                self.disconnect(ctx, b);
                self.maybe_request_metadata(ctx);
            }
            ProducerMsg::MetadataResponse { req_id, leaders } => {
                if self.metadata_in_flight.map(|m| m.0) != Some(req_id) {
                    return;
                }
                self.metadata_in_flight = None;
                let mut missing = false;
                for &(pidx, leader, epoch) in &leaders {
                    let Some(i) = pidx.checked_sub(self.first).map(|i| i as usize).filter(|&i| i < self.n as usize) else {
                        continue;
                    };
                    if epoch >= self.leader_epochs[i] {
                        self.leaders[i] = leader;
                        self.leader_epochs[i] = epoch;
                    }
                    missing |= self.leaders[i].is_none();
                }
                if leaders.is_empty() {
                    missing = true;
                }
                for (b, led) in self.led_by.iter_mut().enumerate() {
                    led.clear();
                    led.extend((0..self.n).filter(|&p| self.leaders[p as usize] == Some(b as u32)));
                }
                // Keep asking (after the backoff) while some partition has no leader,
                // and spread the next question over another broker.
                self.want_metadata = missing;
                self.metadata_target += 1;
                for b in 0..self.cluster.brokers() {
                    self.drain(ctx, b);
                }
            }
        }
    }

    /// `set_producer`: a new rate applies at once; a new acks is a new producer
    /// instance (a new producer id, sequences from 0), as in Kafka.
    pub fn set(&mut self, ctx: &mut Ctx, rate: Option<u64>, acks: Option<Acks>) {
        if let Some(r) = rate {
            self.cfg.records_per_sec = r;
        }
        if let Some(a) = acks {
            if a != self.cfg.acks {
                self.cfg.acks = a;
                if self.cfg.enable_idempotence == Some(true) && a != Acks::All {
                    self.cfg.enable_idempotence = None;
                }
                self.instance += 1;
                self.next_seq.iter_mut().for_each(|s| *s = 0);
                ctx.observe(Obs::ProducerInstance {
                    instance: self.instance,
                    acks: a,
                    idempotent: self.cfg.idempotent(),
                });
            }
        }
    }

    /// The first instance, for the checker (a new acks is a new instance).
    pub fn start(&mut self, ctx: &mut Ctx) {
        ctx.observe(Obs::ProducerInstance {
            instance: self.instance,
            acks: self.cfg.acks,
            idempotent: self.cfg.idempotent(),
        });
        ctx.timer(0, Timer::ProducerTick);
    }
}
