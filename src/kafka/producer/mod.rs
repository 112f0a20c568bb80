//! The producer client: records arrive at a rate over a key space (murmur2
//! partitioner) or with null keys (sticky partitioner); they fill per-partition
//! batches (`batch.size`, `linger.ms`); the sender drains the first batch of
//! every partition a broker leads into one ProduceRequest (up to
//! `max.in.flight.requests.per.connection` per broker); errors are retried with
//! exponential backoff until `delivery.timeout.ms`; idempotence uses a producer
//! id and per-partition sequence numbers; metadata is refreshed when leaders move.

mod app;
mod transactions;

pub use app::AppLink;
pub use transactions::{TxnClient, TxnPhase};

use crate::kafka::log::{Batch, TxnMark};
use crate::kafka::notable::Notable;
use crate::kafka::obs::{ErrorKind, Obs};
use crate::kafka::partitioner;
use crate::kafka::protocol::{BrokerMsg, Msg, ProduceRequest, ProducerMsg, Timer};
use crate::kafka::types::{Cluster, ErrorCode};
use crate::kafka::Ctx;
use crate::scenario::{Acks, ProducerConfig};
use crate::sim::{Micros, Node, MS, SEC};
use std::collections::{BTreeMap, VecDeque};
use std::rc::Rc;

/// `max.request.size`
const MAX_REQUEST_BYTES: u64 = 1_048_576;
/// `metadata.max.age.ms`: metadata is refreshed at least this often, even when
/// nothing failed (an acks=0 producer cut off from its leader learns no other way).
const METADATA_MAX_AGE: Micros = 300 * SEC;

#[derive(Debug, Clone, Copy)]
pub struct PendingBatch {
    pub instance: u32,
    pub acks: Acks,
    pub idempotent: bool,
    /// Idempotence: the producer epoch and base sequence, given when the batch is
    /// first sent (Kafka numbers batches at drain time) and kept on retries.
    pub pepoch: u16,
    pub audit_seq: u64,
    pub seq: u32,
    pub sequenced: bool,
    /// Renumbered by an epoch bump: an OUT_OF_ORDER answer to it is expected.
    pub seq_reset: bool,
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
    /// Null keys (Kafka's BuiltInPartitioner): the partition records go to now
    /// (None until the first), the bytes it got since, and which partitions have
    /// had a batch (adaptive partitioning waits until all have).
    sticky: Option<u32>,
    sticky_bytes: u64,
    had_batch: Vec<bool>,
    acc: Vec<VecDeque<PendingBatch>>,
    next_audit_seq: Vec<u64>,
    /// Idempotence (KIP-360): the producer epoch; per partition the epoch its
    /// sequences count in, the next sequence, the last acknowledged one, and the
    /// sequence after a batch that expired in retry (None: resolved).
    pepoch: u16,
    part_epoch: Vec<u16>,
    next_seq: Vec<u32>,
    last_acked: Vec<Option<u32>>,
    unresolved: Vec<Option<u32>>,
    in_flight: crate::sim::VecMap<u64, InFlight>,
    in_flight_per_broker: Vec<u32>,
    /// Per broker, the number of the current connection (a new one after each disconnect).
    conn_gen: Vec<u32>,
    /// Per broker, no new connection before this time (`reconnect.backoff.ms`, 50 ms
    /// doubling to 1 s over consecutive failures), and how many failures in a row.
    not_ready_until: Vec<Micros>,
    conn_failures: Vec<u32>,
    /// Batches in flight per partition: a retried batch goes alone, so order holds.
    in_flight_per_part: Vec<u32>,
    leaders: Vec<Option<u32>>,
    leader_epochs: Vec<i32>,
    /// Per broker, the partitions it leads (ascending): what a drain walks.
    led_by: Vec<Vec<u32>>,
    metadata_in_flight: Option<(u64, Micros)>,
    want_metadata: bool,
    next_metadata_at: Micros,
    /// When the last metadata answer came (for `metadata.max.age.ms`).
    metadata_at: Micros,
    metadata_target: u32,
    next_req_id: u64,
    /// Workloads (crate::ml): a transactions producer mirrors its per-partition
    /// record counts to its labels producer (index), which writes them after the delay.
    pub(crate) label_sink: Option<(u32, Micros)>,
    /// Records to write at or after a time, per partition (labels, alerts), by time.
    injected: VecDeque<(Micros, u32, u64)>,
    /// A transactional producer's transaction state (None without `transactional_id`).
    pub txn: Option<TxnClient>,
    /// The producer of a processing group's member: that member (None otherwise).
    pub app: Option<AppLink>,
    /// The process: killed (`alive` false), paused until a time, and which process
    /// it is (timers of an earlier one are void).
    pub alive: bool,
    pub paused_until: Micros,
    pub incarnation: u32,
}

impl Producer {
    pub fn new(cluster: Rc<Cluster>, index: u32, cfg: ProducerConfig) -> Producer {
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
        let brokers = cluster.brokers() as usize;
        let cfg_txn = cfg
            .transactional_id
            .as_ref()
            .and_then(|id| cluster.txn_ids.iter().position(|t| &t.id == id))
            .map(|i| TxnClient::new(i as u32));
        Producer {
            first: t.first,
            topic,
            n,
            instance: index << 16,
            weight_total: weights.iter().sum::<u64>().max(1),
            weights,
            owed_micro: vec![0; n as usize],
            sticky: None,
            sticky_bytes: 0,
            had_batch: vec![false; n as usize],
            acc: vec![VecDeque::new(); n as usize],
            next_audit_seq: vec![0; n as usize],
            pepoch: 0,
            part_epoch: vec![0; n as usize],
            next_seq: vec![0; n as usize],
            last_acked: vec![None; n as usize],
            unresolved: vec![None; n as usize],
            in_flight: Default::default(),
            in_flight_per_broker: vec![0; brokers],
            conn_gen: vec![0; brokers],
            not_ready_until: vec![0; brokers],
            conn_failures: vec![0; brokers],
            in_flight_per_part: vec![0; n as usize],
            leaders: vec![None; n as usize],
            leader_epochs: vec![-1; n as usize],
            led_by: vec![Vec::new(); brokers],
            metadata_in_flight: None,
            want_metadata: true,
            next_metadata_at: 0,
            metadata_at: 0,
            metadata_target: index % brokers.max(1) as u32,
            next_req_id: 1,
            index,
            cfg,
            cluster,
            label_sink: None,
            injected: VecDeque::new(),
            txn: cfg_txn,
            app: None,
            alive: true,
            paused_until: 0,
            incarnation: 0,
        }
    }

    /// A new process of this producer (`restart_producer`): a new producer
    /// instance, with the same transactional id if it has one. Request ids go on
    /// from the old process, so answers meant for it are not taken for its own.
    pub fn restarted(&self) -> Producer {
        let mut p = Producer::new(self.cluster.clone(), self.index, self.cfg.clone());
        p.instance = self.instance + 1;
        p.next_req_id = self.next_req_id + 1_000_000;
        p.incarnation = self.incarnation + 1;
        p.label_sink = self.label_sink;
        p.app = self.app.as_ref().map(|a| a.restarted());
        p
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
                    self.had_batch[part as usize] = true;
                    q.push_back(PendingBatch {
                        instance: self.instance,
                        acks,
                        idempotent: idem,
                        pepoch: 0,
                        audit_seq: self.next_audit_seq[part as usize],
                        seq: 0,
                        sequenced: false,
                        seq_reset: false,
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
            if u64::from(b.records) == per_batch {
                filled = true;
            }
        }
        filled
    }

    /// Kafka's BuiltInPartitioner (KIP-794) for records without a key: they stick
    /// to one partition until it has had `batch.size` bytes, and it switches at a
    /// batch boundary (its last batch is full, or nothing is queued for it because
    /// the sender took it), or in any case at twice `batch.size`. Batches sent early
    /// by `linger.ms` do not move it: a slow producer still spreads its records.
    fn add_null_key_records(&mut self, ctx: &mut Ctx, mut n: u64, now: Micros, linger: Micros) {
        const BATCH_HEADER: u64 = 61;
        let batch_size = u64::from(self.cfg.batch_size.max(1));
        let record = u64::from(self.cfg.record_bytes.max(1));
        while n > 0 {
            let part = match self.sticky {
                Some(p) => p,
                None => self.switch_sticky(ctx),
            };
            if self.sticky_bytes >= batch_size && self.all_batches_full(part) {
                self.switch_sticky(ctx);
                continue;
            }
            let room = self.open_batch_room(part);
            let (room, header) = if room == 0 { (self.records_per_batch(), BATCH_HEADER) } else { (room, 0) };
            // Stop at the record that reaches twice batch.size.
            let to_cap = (2 * batch_size).saturating_sub(self.sticky_bytes + header).div_ceil(record).max(1);
            let take = n.min(room).min(to_cap);
            self.add_records(part, take, now, linger);
            self.sticky_bytes += header + take * record;
            n -= take;
            if (self.sticky_bytes >= batch_size && self.all_batches_full(part)) || self.sticky_bytes >= 2 * batch_size {
                self.switch_sticky(ctx);
            }
        }
    }

    #[cfg(test)]
    fn acc_template(&self) -> PendingBatch {
        PendingBatch {
            instance: self.instance,
            acks: self.cfg.acks,
            idempotent: false,
            pepoch: 0,
            audit_seq: 0,
            seq: 0,
            sequenced: false,
            seq_reset: false,
            records: 1,
            bytes: 1,
            created: 0,
            arrival: 0,
            attempts: 0,
            retry_at: 0,
        }
    }

    fn records_per_batch(&self) -> u64 {
        u64::from((self.cfg.batch_size / self.cfg.record_bytes.max(1)).max(1))
    }

    /// Records that still fit in the partition's open batch (0: none open).
    fn open_batch_room(&self, part: u32) -> u64 {
        let per_batch = self.records_per_batch();
        self.acc[part as usize]
            .back()
            .filter(|b| b.attempts == 0 && b.instance == self.instance)
            .map_or(0, |b| per_batch.saturating_sub(u64::from(b.records)))
    }

    /// Kafka's `allBatchesFull`: nothing queued for the partition, or its last batch is full.
    fn all_batches_full(&self, part: u32) -> bool {
        self.open_batch_room(part) == 0
    }

    /// Kafka's `nextPartition`: a random partition among those with a known leader;
    /// with adaptive partitioning (once every partition has had a batch), weighted
    /// against queued batches so a slow broker's partitions get fewer records. The
    /// same partition may come again.
    fn switch_sticky(&mut self, ctx: &mut Ctx) -> u32 {
        let random = ctx.rng.next_u64() & 0x7fff_ffff;
        let known: Vec<u32> = (0..self.n).filter(|&p| self.leaders[p as usize].is_some()).collect();
        let mut pick = None;
        if self.cfg.partitioner_adaptive_partitioning_enable && self.n >= 2 && self.had_batch.iter().all(|&b| b) && !known.is_empty() {
            let sizes: Vec<u64> = known.iter().map(|&p| self.acc[p as usize].len() as u64).collect();
            let max = sizes.iter().copied().max().unwrap_or(0);
            if known.len() < self.n as usize || sizes.iter().any(|&s| s != max) {
                // Cumulative frequency table over (max + 1 - queue size).
                let total: u64 = sizes.iter().map(|s| max + 1 - s).sum();
                let mut w = random % total;
                for (i, s) in sizes.iter().enumerate() {
                    let f = max + 1 - s;
                    if w < f {
                        pick = Some(known[i]);
                        break;
                    }
                    w -= f;
                }
            }
        }
        let part = pick.unwrap_or(if known.is_empty() {
            (random % u64::from(self.n)) as u32
        } else {
            known[(random % known.len() as u64) as usize]
        });
        self.sticky = Some(part);
        self.sticky_bytes = 0;
        part
    }

    // ---- idempotence (KIP-360) ------------------------------------------------------

    /// May the partition's next new batch get a sequence now? Not while a batch that
    /// expired in retry leaves its sequence unresolved; after an epoch bump, sequences
    /// restart at 0 once the batches numbered in the old epoch are all done.
    fn may_number(&mut self, part: u32) -> bool {
        let p = part as usize;
        if self.unresolved[p].is_some() {
            return false;
        }
        if self.part_epoch[p] != self.pepoch {
            if self.in_flight_per_part[p] > 0 || self.acc[p].front().is_some_and(|b| b.sequenced) {
                return false;
            }
            self.part_epoch[p] = self.pepoch;
            self.next_seq[p] = 0;
            self.last_acked[p] = None;
        }
        true
    }

    /// Kafka's `canRetry` for OUT_OF_ORDER_SEQUENCE_NUMBER: an answer to a batch that
    /// does not follow the last acknowledged one (or was renumbered) is the cascade
    /// of an earlier failure and is just retried; otherwise the broker lost sequences
    /// (an unclean election, say) and the producer bumps its epoch.
    fn is_real_gap(&self, part: u32, batch: &PendingBatch) -> bool {
        let p = part as usize;
        if !batch.sequenced || batch.instance != self.instance {
            return false;
        }
        let expected = self.last_acked[p].map_or(0, |s| s.wrapping_add(1));
        match self.unresolved[p] {
            None => !batch.seq_reset && batch.seq == expected,
            Some(next) => batch.seq == next,
        }
    }

    /// A batch that expired in retry left its sequence unresolved: once the partition
    /// has nothing in flight, later acknowledgements tell whether it landed; if not,
    /// the epoch is bumped and sequences restart at 0.
    fn resolve_sequences(&mut self, ctx: &mut Ctx) {
        if self.txn.is_some() {
            // A transactional producer resolves nothing alone: its transaction
            // aborts (an expired batch made it abortable) and the end bumps the epoch.
            return;
        }
        let mut bump = Vec::new();
        for part in 0..self.n {
            let p = part as usize;
            if self.unresolved[p].is_none() {
                continue;
            }
            if self.in_flight_per_part[p] > 0 || self.acc[p].front().is_some_and(|b| b.sequenced) {
                continue;
            }
            // Kafka's `isNextSequence`: later batches of the same epoch were acknowledged
            // up to the next sequence, so the expired one landed too.
            if self.last_acked[p].map_or(0, |s| s.wrapping_add(1)) == self.next_seq[p] {
                self.unresolved[p] = None;
            } else {
                bump.push(part);
            }
        }
        self.bump_epoch(ctx, &bump);
    }

    /// Kafka's `bumpIdempotentProducerEpoch`, done by the client alone: epoch + 1 with
    /// the same producer id, once for every partition that asked; their unfinished
    /// batches are renumbered from 0 in order; other partitions restart at 0 with
    /// their next new batch.
    fn bump_epoch(&mut self, ctx: &mut Ctx, parts: &[u32]) {
        if parts.is_empty() {
            return;
        }
        self.pepoch = self.pepoch.wrapping_add(1);
        for &part in parts {
            self.renumber_from_zero(ctx, part);
        }
    }

    fn renumber_from_zero(&mut self, ctx: &mut Ctx, part: u32) {
        let p = part as usize;
        let epoch = self.pepoch;
        let instance = self.instance;
        let mut order: Vec<(u64, u32)> = self.acc[p]
            .iter()
            .filter(|b| b.sequenced)
            .chain(
                self.in_flight
                    .values()
                    .flat_map(|f| f.batches.iter())
                    .filter(|(q, _)| *q == part)
                    .map(|(_, b)| b),
            )
            .filter(|b| b.instance == instance)
            .map(|b| (b.audit_seq, b.records))
            .collect();
        order.sort_unstable();
        let mut next = 0u32;
        let mut numbered = Vec::with_capacity(order.len());
        for (audit, records) in order {
            numbered.push((audit, next));
            next = next.wrapping_add(records);
        }
        let renumber = |b: &mut PendingBatch| {
            if b.instance != instance {
                return;
            }
            if let Ok(i) = numbered.binary_search_by_key(&b.audit_seq, |e| e.0) {
                b.pepoch = epoch;
                b.seq = numbered[i].1;
                b.seq_reset = true;
            }
        };
        self.acc[p].iter_mut().filter(|b| b.sequenced).for_each(renumber);
        for f in self.in_flight.values_mut() {
            f.batches.iter_mut().filter(|(q, _)| *q == part).for_each(|(_, b)| renumber(b));
        }
        self.part_epoch[p] = epoch;
        self.next_seq[p] = next;
        self.last_acked[p] = None;
        self.unresolved[p] = None;
        ctx.observe(Obs::note(Notable::ProducerEpochBumped {
            producer: self.cfg.id.clone(),
            epoch,
            topic: self.cluster.topics[self.topic as usize].name.clone(),
            partition: part,
        }));
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
        if self.txn.as_ref().is_some_and(|t| t.phase == TxnPhase::Fenced) {
            // ProducerFencedException: the application closes this producer.
            return;
        }
        let now = ctx.now;
        let linger = self.cfg.linger_ms.max(1) * MS;
        // 1. New records for the last linger interval.
        let mut produced = 0;
        let rate = self.cfg.records_per_sec;
        if self.cfg.keys == 0 {
            self.owed_micro[0] += rate * linger;
            let n = self.owed_micro[0] / SEC;
            self.owed_micro[0] %= SEC;
            produced += n;
            match self.txn.as_mut() {
                Some(t) if !t.accepts_records() => t.hold(u32::MAX, n),
                _ => self.add_null_key_records(ctx, n, now, linger),
            }
        } else {
            for part in 0..self.n {
                let owed = &mut self.owed_micro[part as usize];
                *owed += rate * linger * self.weights[part as usize] / self.weight_total;
                let n = *owed / SEC;
                *owed %= SEC;
                if n > 0 {
                    produced += n;
                    match self.txn.as_mut() {
                        Some(t) if !t.accepts_records() => t.hold(part, n),
                        _ => {
                            self.add_records(part, n, now, linger);
                        }
                    }
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
        let instance = self.instance;
        for (q, unresolved) in self.acc.iter_mut().zip(&mut self.unresolved) {
            while q.front().is_some_and(|b| now.saturating_sub(b.created) >= delivery) {
                let b = q.pop_front().expect("present");
                failed += u64::from(b.records);
                if b.sequenced && b.instance == instance {
                    // Sent before and maybe written: its sequence is unresolved.
                    let next = b.seq.wrapping_add(b.records);
                    *unresolved = Some(unresolved.map_or(next, |u| u.max(next)));
                }
            }
        }
        if failed > 0 {
            self.fail_records(ctx, failed);
        }
        self.resolve_sequences(ctx);
        // 3. Metadata, then drain every broker.
        if now.saturating_sub(self.metadata_at) >= METADATA_MAX_AGE {
            self.want_metadata = true;
        }
        self.maybe_request_metadata(ctx);
        self.app_commit_lost(ctx, None);
        self.txn_step(ctx);
        for b in 0..self.cluster.brokers() {
            self.drain(ctx, b);
        }
        self.app_check_flushed(ctx);
        ctx.timer(linger, Timer::ProducerTick);
    }

    /// The connection to `b` is gone (reset by the broker, or closed after a request
    /// timed out): every request in flight on it fails and is retried, the next
    /// requests go on a new connection, and metadata is refreshed (Kafka's
    /// `handleServerDisconnect`).
    fn disconnect(&mut self, ctx: &mut Ctx, b: u32) {
        self.conn_gen[b as usize] += 1;
        self.want_metadata = true;
        if ctx.now >= self.not_ready_until[b as usize] {
            // Kafka's reconnect backoff: 50 ms, doubling per failure in a row up to 1 s, +-20%.
            let failures = &mut self.conn_failures[b as usize];
            *failures += 1;
            let base = ((50 * MS) << (*failures - 1).min(5)).min(SEC);
            let j = base / 5;
            self.not_ready_until[b as usize] = ctx.now + base - j + ctx.rng.range(0, 2 * j);
        }
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
            kind: ErrorKind::Produce,
            name: ErrorCode::NetworkException.name(),
            count: f.batches.len() as u64,
        });
        for (part, batch) in f.batches {
            self.retry_batch(ctx, part, batch);
        }
    }

    fn fail_records(&mut self, ctx: &mut Ctx, records: u64) {
        self.txn_abortable();
        self.app_send_failed();
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
        if self.txn.as_ref().is_some_and(|t| !t.may_send()) {
            return;
        }
        if now < self.not_ready_until[b as usize] {
            // Not connected: the batches wait in the queue (Kafka's `client.ready`).
            return;
        }
        loop {
            if self.in_flight_per_broker[b as usize] >= self.cfg.max_in_flight_requests_per_connection {
                return;
            }
            let mut batches = Vec::new();
            let mut bytes = 0u64;
            let mut acks = None;
            for i in 0..self.led_by[b as usize].len() {
                let part = self.led_by[b as usize][i];
                let Some(&front) = self.acc[part as usize].front() else { continue };
                if front.retry_at > now || acks.is_some_and(|a| a != front.acks) {
                    continue;
                }
                // Kafka resends a failed batch only once the partition's earlier requests are
                // done, so an idempotent producer keeps its sequence order.
                if front.attempts > 0 && self.in_flight_per_part[part as usize] > 0 {
                    continue;
                }
                if front.idempotent && !front.sequenced && !self.may_number(part) {
                    continue;
                }
                if !batches.is_empty() && bytes + u64::from(front.bytes) > MAX_REQUEST_BYTES {
                    break;
                }
                acks = Some(front.acks);
                bytes += u64::from(front.bytes);
                let mut batch = self.acc[part as usize].pop_front().expect("present");
                if batch.idempotent && !batch.sequenced {
                    let p = part as usize;
                    batch.sequenced = true;
                    batch.pepoch = self.pepoch;
                    batch.seq = self.next_seq[p];
                    self.next_seq[p] = self.next_seq[p].wrapping_add(batch.records);
                }
                batches.push((part, batch));
            }
            let Some(acks) = acks else { return };
            let (pid, txn_mark) = match self.txn.as_mut() {
                Some(t) => {
                    t.sent = true;
                    (Some(t.pid), TxnMark::Data)
                }
                None => (None, TxnMark::None),
            };
            let req_id = self.next_req_id;
            self.next_req_id += 1;
            let first = self.first;
            let request = ProduceRequest {
                req_id,
                conn: self.conn_gen[b as usize],
                acks,
                timeout_us: self.cfg.request_timeout_ms * MS,
                sent_us: now,
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
                                pid: pid.unwrap_or(pb.instance),
                                txn: txn_mark,
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
                // Fire and forget: nothing to wait for, nothing acknowledged; the
                // checker is told what was sent, to count what never got written.
                for (part, pb) in &batches {
                    ctx.observe(Obs::Acks0Sent {
                        instance: pb.instance,
                        pidx: first + part,
                        seq: pb.audit_seq,
                        records: pb.records,
                    });
                }
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
            if batch.sequenced && batch.instance == self.instance {
                let next = batch.seq.wrapping_add(batch.records);
                let u = &mut self.unresolved[part as usize];
                *u = Some(u.map_or(next, |u| u.max(next)));
            }
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
                self.conn_failures[b as usize] = 0;
                let Some(f) = self.take_in_flight(req_id) else { return };
                let first = self.first;
                let mut errors: BTreeMap<&'static str, u32> = BTreeMap::new();
                let mut bump = Vec::new();
                let mut fenced = false;
                for (part, batch) in f.batches {
                    let pidx = first + part;
                    let result = results.iter().find(|r| r.0 == pidx).map_or(Err(ErrorCode::NetworkException), |r| r.1);
                    match result {
                        Ok(_) => {
                            let p = part as usize;
                            if batch.sequenced && batch.instance == self.instance && batch.pepoch == self.part_epoch[p] {
                                let last = batch.seq.wrapping_add(batch.records.max(1) - 1);
                                self.last_acked[p] = Some(self.last_acked[p].map_or(last, |l| l.max(last)));
                            }
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
                            if self.txn.is_some() {
                                match e {
                                    ErrorCode::InvalidProducerEpoch | ErrorCode::ProducerFenced => fenced = true,
                                    // A cascade of an earlier batch's retriable error (the leader
                                    // refused what follows a gap): retried, as without transactions.
                                    ErrorCode::OutOfOrderSequenceNumber if !self.is_real_gap(part, &batch) => self.retry_batch(ctx, part, batch),
                                    ErrorCode::OutOfOrderSequenceNumber | ErrorCode::InvalidTxnState => {
                                        // Abortable: the batch fails and the transaction aborts.
                                        ctx.observe(Obs::TxnRecordsDropped(u64::from(batch.records)));
                                        self.txn_abortable();
                                    }
                                    _ => self.retry_batch(ctx, part, batch),
                                }
                                continue;
                            }
                            if e == ErrorCode::OutOfOrderSequenceNumber && self.is_real_gap(part, &batch) {
                                bump.push(part);
                            }
                            self.retry_batch(ctx, part, batch);
                        }
                    }
                }
                self.bump_epoch(ctx, &bump);
                if fenced {
                    self.txn_fenced(ctx);
                }
                for (error, partitions) in errors {
                    ctx.observe(Obs::note_once(Notable::ProducerError {
                        producer: self.cfg.id.clone(),
                        error,
                        partitions,
                    }));
                }
                self.maybe_request_metadata(ctx);
                self.txn_step(ctx);
                self.drain(ctx, b);
                self.app_check_flushed(ctx);
            }
            ProducerMsg::TxnCoordinator { req_id, broker } => self.on_txn_coordinator(ctx, req_id, broker),
            ProducerMsg::ProducerIdDone { req_id, result } => self.on_txn_answer(ctx, req_id, result, false),
            ProducerMsg::EndTxnDone { req_id, result } => self.on_txn_answer(ctx, req_id, result, true),
            ProducerMsg::TxnOffsetCommitDone { req_id, error } => self.on_txn_offset_commit(ctx, req_id, error),
            ProducerMsg::App(call) => self.on_app(ctx, *call),
            ProducerMsg::Disconnected => {
                let Node::Broker(b) = from else { return };
                self.app_commit_lost(ctx, Some(b));
                if let Some(t) = self.txn.as_mut() {
                    t.coordinator_lost(b);
                }
                self.disconnect(ctx, b);
                self.maybe_request_metadata(ctx);
            }
            ProducerMsg::Refused(req) => {
                let Node::Broker(b) = from else { return };
                if req.acks == Acks::Zero {
                    // Never written: the batches go back to the queue, for the next leader.
                    for (pidx, batch) in req.batches {
                        let Some(part) = pidx.checked_sub(self.first) else { continue };
                        self.requeue(
                            part,
                            PendingBatch {
                                instance: batch.producer,
                                acks: Acks::Zero,
                                idempotent: false,
                                pepoch: 0,
                                audit_seq: batch.audit_seq,
                                seq: 0,
                                sequenced: false,
                                seq_reset: false,
                                records: batch.records,
                                bytes: batch.bytes,
                                created: batch.created_us,
                                arrival: batch.created_us,
                                attempts: 0,
                                retry_at: 0,
                            },
                        );
                    }
                }
                self.disconnect(ctx, b);
                self.maybe_request_metadata(ctx);
            }
            ProducerMsg::MetadataResponse { req_id, leaders } => {
                if self.metadata_in_flight.map(|m| m.0) != Some(req_id) {
                    return;
                }
                self.metadata_in_flight = None;
                self.metadata_at = ctx.now;
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
                self.pepoch = 0;
                self.part_epoch.iter_mut().for_each(|e| *e = 0);
                self.next_seq.iter_mut().for_each(|s| *s = 0);
                self.last_acked.iter_mut().for_each(|s| *s = None);
                self.unresolved.iter_mut().for_each(|s| *s = None);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kafka::types::{PartInfo, TopicInfo};
    use crate::kafka::Outbox;
    use crate::scenario::ClusterConfig;
    use crate::sim::SimRng;

    fn producer(partitions: u32, cfg: ProducerConfig) -> Producer {
        let cluster = Cluster {
            txn_ids: Vec::new(),
            config: ClusterConfig::default(),
            topics: vec![TopicInfo {
                name: "t".to_string(),
                first: 0,
                partitions,
                replication_factor: 1,
                min_isr: 1,
            }],
            partitions: (0..partitions)
                .map(|index| PartInfo {
                    topic: 0,
                    index,
                    assignment: vec![0],
                })
                .collect(),
            groups: Vec::new(),
            seed: 1,
        };
        Producer::new(Rc::new(cluster), 0, ProducerConfig { topic: "t".to_string(), ..cfg })
    }

    /// Null-key records while nothing is sent (no leader known yet): each stint on
    /// a partition ends when the second batch fills, the first point where it has
    /// had batch.size bytes and its last batch is full.
    #[test]
    fn a_null_key_stint_ends_at_the_first_full_batch_past_batch_size() {
        let cfg = ProducerConfig {
            record_bytes: 200,
            batch_size: 16_384,
            ..ProducerConfig::default()
        };
        let mut p = producer(4, cfg);
        let (mut rng, mut out) = (SimRng::stream(1, "test"), Outbox::default());
        let mut ctx = Ctx::new(0, Node::Client(0), &mut rng, &mut out);
        let mut stints = Vec::new();
        for _ in 0..40 {
            let before: Vec<u32> = p.acc.iter().map(|q| q.iter().map(|b| b.records).sum()).collect();
            // 162 records: two batches of 81 (16,200 bytes + a 61-byte header each).
            p.add_null_key_records(&mut ctx, 162, 0, 5 * MS);
            let grew: Vec<u32> = p.acc.iter().zip(&before).map(|(q, b)| q.iter().map(|x| x.records).sum::<u32>() - b).collect();
            stints.push(grew);
        }
        // Each call is exactly one stint on one partition, and the sticky partition moved on.
        for grew in &stints {
            assert_eq!(grew.iter().filter(|&&g| g > 0).count(), 1, "{grew:?}");
            assert_eq!(grew.iter().sum::<u32>(), 162);
        }
        assert_eq!(p.sticky_bytes, 0);
        // Over 40 stints, every partition was picked.
        assert!(p.acc.iter().all(|q| !q.is_empty()));
    }

    /// Once every partition has had a batch, adaptive partitioning weighs the next
    /// pick against queued batches: a partition with a long queue is picked rarely.
    #[test]
    fn adaptive_partitioning_avoids_long_queues() {
        let mut p = producer(3, ProducerConfig::default());
        p.leaders = vec![Some(0); 3];
        p.had_batch = vec![true; 3];
        for _ in 0..9 {
            let b = p.acc_template();
            p.acc[0].push_back(b);
        }
        let (mut rng, mut out) = (SimRng::stream(2, "test"), Outbox::default());
        let mut ctx = Ctx::new(0, Node::Client(0), &mut rng, &mut out);
        let mut picks = [0u32; 3];
        for _ in 0..3_000 {
            picks[p.switch_sticky(&mut ctx) as usize] += 1;
        }
        // Weights (max + 1 - queue): 1, 10, 10 of 21.
        assert!(picks[0] < 250, "{picks:?}");
        assert!(picks[1] > 1_200 && picks[2] > 1_200, "{picks:?}");
        p.cfg.partitioner_adaptive_partitioning_enable = false;
        let mut uniform = [0u32; 3];
        for _ in 0..3_000 {
            uniform[p.switch_sticky(&mut ctx) as usize] += 1;
        }
        assert!(uniform[0] > 800, "{uniform:?}");
    }
}
