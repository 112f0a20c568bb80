//! The broker: appends produce requests as leader (acks=all waits in purgatory
//! for the high watermark), serves follower fetches with long-poll and
//! divergence answers, runs one fetcher per leader broker as follower, proposes
//! ISR changes to the controller (AlterPartition) and follows metadata.

use crate::audit::Audit;
use crate::engine::{ErrorCode, FollowerState, Msg, PartMeta, Role, Simulation, Timer};
use crate::eventlog::Notable;
use crate::kafka::consumer::{ConsumerFetchResult, ConsumerMsg};
use crate::kafka::controller::ControllerMsg;
use crate::kafka::group::GroupRequest;
use crate::kafka::log::{Batch, IdemCheck};
use crate::kafka::producer::ProducerMsg;
use crate::scenario::Acks;
use crate::sim::SortSmall;
use crate::sim::{Micros, Node, MS};
use std::collections::BTreeMap;

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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BrokerState {
    Up,
    Down,
    Stopped,
}

#[derive(Debug, Clone, Default)]
pub struct Fetcher {
    pub partitions: Vec<u32>,
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

/// (group, generation when accepted, offsets)
pub type CommitPayload = (u32, i32, Vec<(u32, u64)>);

#[derive(Debug, Clone)]
pub struct ProduceWait {
    pub client: Node,
    pub req_id: u64,
    pub remaining: u32,
    pub deadline: Micros,
    pub results: Vec<(u32, Option<Result<u64, ErrorCode>>)>,
    /// An offset commit rather than a producer's request.
    pub commit: Option<CommitPayload>,
}

/// A consumer fetch waiting for the HW to move (long poll).
#[derive(Debug, Clone)]
pub struct ParkedConsumerFetch {
    pub consumer: u32,
    pub req_id: u64,
    pub parts: Vec<(u32, u64)>,
    pub deadline: Micros,
}

#[derive(Debug, Clone)]
pub struct Broker {
    pub state: BrokerState,
    pub incarnation: u32,
    pub paused_until: Micros,
    pub disk_extra_us: Micros,
    pub busy_until: Micros,
    pub meta_offset: u64,
    pub meta_in_flight: Option<Micros>,
    /// Leader and epoch of every partition as this broker knows them (for clients).
    pub image: Vec<(Option<u32>, i32)>,
    pub next_heartbeat: Micros,
    pub next_isr_check: Micros,
    pub fetchers: BTreeMap<u32, Fetcher>,
    pub parked: Vec<Parked>,
    pub parked_consumers: Vec<ParkedConsumerFetch>,
    /// When the one pending long-poll timeout fires (0: none pending).
    pub parked_timer_at: Micros,
    pub waits: Vec<Option<ProduceWait>>,
    pub wait_gen: Vec<u32>,
    pub free_waits: Vec<u32>,
    pub next_fetch_id: u64,
    pub shutting_down: bool,
}

impl Broker {
    pub fn new() -> Broker {
        Broker {
            state: BrokerState::Up,
            incarnation: 1,
            paused_until: 0,
            disk_extra_us: 0,
            busy_until: 0,
            meta_offset: 0,
            meta_in_flight: None,
            image: Vec::new(),
            next_heartbeat: 0,
            next_isr_check: 0,
            fetchers: BTreeMap::new(),
            parked: Vec::new(),
            parked_consumers: Vec::new(),
            parked_timer_at: 0,
            waits: Vec::new(),
            wait_gen: Vec::new(),
            free_waits: Vec::new(),
            next_fetch_id: 1,
            shutting_down: false,
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
}

impl Default for Broker {
    fn default() -> Self {
        Broker::new()
    }
}

#[derive(Debug, Clone)]
pub struct ProduceRequest {
    pub req_id: u64,
    pub acks: Acks,
    pub timeout_us: Micros,
    pub batches: Vec<(u32, Batch)>,
}

#[derive(Debug, Clone, Copy)]
pub struct FetchPart {
    pub pidx: u32,
    pub offset: u64,
    pub last_epoch: Option<i32>,
    pub leader_epoch: i32,
}

#[derive(Debug, Clone)]
pub enum FetchResult {
    Data { hw: u64, log_start: u64, batches: Vec<Batch> },
    Diverging { epoch: i32, end_offset: u64 },
    OutOfRange { log_start: u64, leo: u64 },
    Error(ErrorCode),
}

#[derive(Debug, Clone)]
pub struct FetchResponse {
    pub fetch_id: u64,
    pub parts: Vec<(u32, i32, FetchResult)>,
}

#[derive(Debug, Clone)]
pub enum BrokerMsg {
    Produce(Box<ProduceRequest>),
    Fetch {
        fetch_id: u64,
        parts: Vec<FetchPart>,
    },
    FetchResponse(Box<FetchResponse>),
    MetadataUpdate {
        offset: u64,
        changes: Vec<(u32, PartMeta)>,
    },
    AlterPartitionResponse {
        pidx: u32,
        result: Result<PartMeta, ErrorCode>,
    },
    ControlledShutdownResponse,
    ClientMetadata {
        req_id: u64,
        topics: Vec<u32>,
    },
    /// A consumer's fetch: (partition, offset) pairs, answered up to the HW.
    ConsumerFetch {
        req_id: u64,
        parts: Vec<(u32, u64)>,
        max_wait_us: Micros,
    },
    Group {
        group: u32,
        req: GroupRequest,
    },
    /// The connection to this leader was reset (its process died).
    Disconnected,
}

impl Simulation {
    pub(crate) fn broker_receive(&mut self, b: u32, from: Node, msg: BrokerMsg) {
        match msg {
            BrokerMsg::Produce(req) => self.handle_produce(b, from, *req),
            BrokerMsg::Fetch { fetch_id, parts } => {
                if let Node::Broker(f) = from {
                    self.handle_fetch(b, f, fetch_id, parts);
                }
            }
            BrokerMsg::FetchResponse(resp) => {
                if let Node::Broker(l) = from {
                    self.handle_fetch_response(b, l, *resp);
                }
            }
            BrokerMsg::MetadataUpdate { offset, changes } => self.handle_metadata(b, offset, changes),
            BrokerMsg::AlterPartitionResponse { pidx, result } => self.handle_alter_response(b, pidx, result),
            BrokerMsg::ControlledShutdownResponse => {
                if self.brokers[b as usize].shutting_down {
                    self.note(Notable::ControlledShutdownDone { broker: b });
                    self.kill_broker(b, true);
                }
            }
            BrokerMsg::Disconnected => {
                if let Node::Broker(l) = from {
                    let now = self.now;
                    if let Some(f) = self.brokers[b as usize].fetchers.get_mut(&l) {
                        f.in_flight = None;
                        f.backoff_until = now + FETCH_BACKOFF;
                    }
                }
            }
            BrokerMsg::ClientMetadata { req_id, topics } => {
                let image = &self.brokers[b as usize].image;
                let mut leaders = Vec::new();
                for t in topics {
                    let t = &self.topics[t as usize];
                    for p in t.first..t.first + t.partitions {
                        let (l, e) = image.get(p as usize).copied().unwrap_or((None, -1));
                        leaders.push((p, l, e));
                    }
                }
                let done = self.service(b, 20);
                let msg = match from {
                    Node::Consumer(_) => Msg::Consumer(ConsumerMsg::Metadata { req_id, leaders }),
                    _ => Msg::Producer(ProducerMsg::MetadataResponse { req_id, leaders }),
                };
                self.send_at(done, Node::Broker(b), from, msg);
            }
            BrokerMsg::ConsumerFetch { req_id, parts, max_wait_us } => {
                if let Node::Consumer(c) = from {
                    self.answer_consumer_fetch(b, c, req_id, parts, Some(max_wait_us));
                }
            }
            BrokerMsg::Group { group, req } => {
                if let Node::Consumer(c) = from {
                    self.handle_group_request(b, c, group, req);
                }
            }
        }
    }

    pub(crate) fn broker_timer(&mut self, b: u32, timer: Timer) {
        match timer {
            Timer::BrokerTick => self.broker_tick(b),
            Timer::ParkedFetchTimeout => {
                // One timer per broker, at the earliest deadline: answer what expired, re-arm.
                let now = self.now;
                let br = &mut self.brokers[b as usize];
                br.parked_timer_at = 0;
                let mut expired = Vec::new();
                let mut i = 0;
                while i < br.parked.len() {
                    if br.parked[i].deadline <= now {
                        expired.push(br.parked.remove(i));
                    } else {
                        i += 1;
                    }
                }
                let mut expired_consumers = Vec::new();
                let mut i = 0;
                while i < br.parked_consumers.len() {
                    if br.parked_consumers[i].deadline <= now {
                        expired_consumers.push(br.parked_consumers.remove(i));
                    } else {
                        i += 1;
                    }
                }
                for parked in expired {
                    self.answer_fetch(b, parked.follower, parked.fetch_id, &parked.parts, false);
                }
                for parked in expired_consumers {
                    self.answer_consumer_fetch(b, parked.consumer, parked.req_id, parked.parts, None);
                }
                self.arm_parked_timer(b);
            }
            Timer::ControlledShutdownTimeout if self.brokers[b as usize].shutting_down => {
                self.kill_broker(b, true);
            }
            Timer::PauseEnd => self.refresh_availability(),
            _ => {}
        }
    }

    /// Request handling time on broker `b`: a single queue, so load adds latency.
    pub(crate) fn service(&mut self, b: u32, cost_us: Micros) -> Micros {
        let br = &mut self.brokers[b as usize];
        let start = br.busy_until.max(self.now);
        br.busy_until = start + cost_us;
        br.busy_until
    }

    /// Page-cache append cost: Kafka does not fsync per write. A rare stall
    /// (dirty-page writeback) gives the latency tail.
    fn disk_cost(&mut self, b: u32, bytes: u64) -> Micros {
        let mut cost = 5 + bytes / 1_000 + self.brokers[b as usize].disk_extra_us;
        if self.rng.chance_ppm(250) {
            cost += self.rng.range(2 * MS, 20 * MS);
        }
        cost
    }

    fn broker_tick(&mut self, b: u32) {
        let now = self.now;
        let c = &self.scenario.cluster;
        let (hb_interval, lag_max) = (c.broker_heartbeat_interval_ms * MS, c.replica_lag_time_max_ms * MS);
        let active = self.quorum.active;
        let br = &mut self.brokers[b as usize];
        let inc = br.incarnation;
        if let Some(ctl) = active {
            if now >= br.next_heartbeat {
                br.next_heartbeat = now + hb_interval;
                let meta_offset = br.meta_offset;
                self.send(
                    Node::Broker(b),
                    Node::Controller(ctl),
                    Msg::Controller(ControllerMsg::Heartbeat {
                        broker: b,
                        incarnation: inc,
                        meta_offset,
                    }),
                );
            }
            let br = &mut self.brokers[b as usize];
            if br.meta_in_flight.is_none_or(|t| now.saturating_sub(t) > METADATA_TIMEOUT) {
                br.meta_in_flight = Some(now);
                let offset = br.meta_offset;
                self.send(
                    Node::Broker(b),
                    Node::Controller(ctl),
                    Msg::Controller(ControllerMsg::MetadataFetch {
                        broker: b,
                        incarnation: inc,
                        offset,
                    }),
                );
            }
        }
        // Fetchers: resend lost fetches, restart idle ones.
        let leaders: Vec<u32> = self.brokers[b as usize].fetchers.keys().copied().collect();
        for l in leaders {
            let f = &self.brokers[b as usize].fetchers[&l];
            let stuck = f.in_flight.is_some_and(|(_, t)| now.saturating_sub(t) > FETCH_TIMEOUT);
            if stuck || (f.in_flight.is_none() && f.backoff_until <= now) {
                self.send_fetch(b, l, now);
            }
        }
        if now >= self.brokers[b as usize].next_isr_check {
            self.brokers[b as usize].next_isr_check = now + lag_max / 2;
            self.check_isr_shrink(b);
        }
        self.retry_stale_alter_partitions(b);
        self.expire_waits(b);
        self.timer(Node::Broker(b), TICK, Timer::BrokerTick);
    }

    // ---- produce -------------------------------------------------------------

    fn handle_produce(&mut self, b: u32, client: Node, req: ProduceRequest) {
        let mut cost = 30;
        let mut results = Vec::with_capacity(req.batches.len());
        let mut touched = Vec::with_capacity(req.batches.len());
        let mut bytes = 0u64;
        for (pidx, batch) in req.batches {
            cost += 5;
            let p = &mut self.partitions[pidx as usize];
            let min_isr = p.min_isr as usize;
            let Some(slot) = p.slot_of(b) else {
                results.push((pidx, Some(Err(ErrorCode::NotLeaderOrFollower))));
                continue;
            };
            let r = &mut p.replicas[slot];
            if r.role != Role::Leader {
                results.push((pidx, Some(Err(ErrorCode::NotLeaderOrFollower))));
                continue;
            }
            if req.acks == Acks::All && r.known.isr.len() < min_isr {
                results.push((pidx, Some(Err(ErrorCode::NotEnoughReplicas))));
                continue;
            }
            if let Some((pepoch, seq)) = batch.idem {
                match r.log.check_idempotent(batch.producer, pepoch, seq) {
                    IdemCheck::Append => {}
                    IdemCheck::Duplicate(offset) => {
                        *self.counters.errors.entry(ErrorCode::DuplicateSequenceNumber.name()).or_default() += 1;
                        let end = offset + u64::from(batch.records);
                        let done = req.acks != Acks::All || r.log.hw >= end;
                        results.push((pidx, if done { Some(Ok(offset)) } else { None }));
                        touched.push((pidx, end));
                        continue;
                    }
                    IdemCheck::OutOfOrder => {
                        results.push((pidx, Some(Err(ErrorCode::OutOfOrderSequenceNumber))));
                        continue;
                    }
                }
            }
            let mut batch = batch;
            batch.epoch = r.known.leader_epoch;
            bytes += u64::from(batch.bytes);
            let base = r.log.append(batch);
            let end = r.log.leo;
            self.invariants.on_append(self.now, pidx, b, &batch, self.audit_is_idempotent(batch.producer));
            results.push((pidx, if req.acks == Acks::All { None } else { Some(Ok(base)) }));
            touched.push((pidx, end));
        }
        let disk = self.disk_cost(b, bytes);
        let done = self.service(b, cost + disk);
        if req.acks == Acks::Zero {
            for (pidx, _) in &touched {
                self.after_leader_append(b, *pidx);
            }
            return;
        }
        let pending = results.iter().filter(|r| r.1.is_none()).count() as u32;
        if pending == 0 {
            self.send_produce_response(b, done, client, req.req_id, results);
        } else {
            let wait = ProduceWait {
                client,
                req_id: req.req_id,
                remaining: pending,
                deadline: self.now + req.timeout_us,
                results,
                commit: None,
            };
            let (slot, gen) = self.park_wait(b, wait);
            for &(pidx, end) in &touched {
                let p = &mut self.partitions[pidx as usize];
                if let Some(s) = p.slot_of(b) {
                    p.replicas[s].purgatory.push_back((end, slot, gen));
                }
            }
        }
        for (pidx, _) in touched {
            self.after_leader_append(b, pidx);
        }
    }

    fn audit_is_idempotent(&self, instance: u32) -> bool {
        self.producers.iter().any(|p| p.is_idempotent_instance(instance))
    }

    fn send_produce_response(&mut self, b: u32, at: Micros, client: Node, req_id: u64, results: Vec<(u32, Option<Result<u64, ErrorCode>>)>) {
        let results: Vec<(u32, Result<u64, ErrorCode>)> = results.into_iter().map(|(p, r)| (p, r.unwrap_or(Err(ErrorCode::RequestTimedOut)))).collect();
        for (_, r) in &results {
            if let Err(e) = r {
                self.count_error(*e, 1);
            }
        }
        self.send_at(at, Node::Broker(b), client, Msg::Producer(ProducerMsg::ProduceResponse { req_id, results }));
    }

    /// New data on a leader: wake parked follower fetches, maybe advance the HW, apply retention.
    fn after_leader_append(&mut self, b: u32, pidx: u32) {
        self.maybe_advance_hw(b, pidx);
        let waiting: Vec<usize> = self.brokers[b as usize]
            .parked
            .iter()
            .enumerate()
            .filter(|(_, p)| p.parts.iter().any(|fp| fp.pidx == pidx))
            .map(|(i, _)| i)
            .collect();
        for i in waiting.into_iter().rev() {
            let parked = self.brokers[b as usize].parked.swap_remove(i);
            self.answer_fetch(b, parked.follower, parked.fetch_id, &parked.parts, false);
        }
        self.apply_retention(pidx, b);
    }

    /// Retention runs on the leader; committed records it deletes are retired, not lost.
    fn apply_retention(&mut self, pidx: u32, b: u32) {
        let max = self.scenario.cluster.retention_batches as usize;
        let keep_after = self.now.saturating_sub(self.scenario.cluster.retention_ms * MS);
        let p = &mut self.partitions[pidx as usize];
        let Some(slot) = p.slot_of(b) else { return };
        if p.replicas[slot].role != Role::Leader {
            return;
        }
        let audit: &mut Audit = &mut self.audit;
        p.replicas[slot].log.enforce_retention(max, keep_after, max * 20, |batch| {
            audit.retired(batch.producer, pidx, batch.base_offset, batch.audit_seq, batch.records);
        });
    }

    /// Leader: HW = smallest LEO over the ISR (plus pending additions, Kafka's
    /// "maximal ISR"), not advanced while the ISR is below min(min.insync.replicas, RF).
    pub(crate) fn maybe_advance_hw(&mut self, b: u32, pidx: u32) {
        let p = &self.partitions[pidx as usize];
        let Some(slot) = p.slot_of(b) else { return };
        let r = &p.replicas[slot];
        if r.role != Role::Leader {
            return;
        }
        let floor = (p.min_isr as usize).min(p.replicas.len());
        let mut isr_len = r.known.isr.len();
        let mut hw = r.log.leo;
        let mut consider = |broker: u32| -> bool {
            if broker == b {
                return true;
            }
            match p.slot_of(broker).and_then(|s| r.followers[s].leo) {
                Some(leo) => {
                    hw = hw.min(leo);
                    true
                }
                None => false,
            }
        };
        for &m in &r.known.isr {
            if !consider(m) {
                return;
            }
        }
        if let Some(pending) = &r.pending_isr {
            for &m in pending.iter().filter(|m| !r.known.isr.contains(m)) {
                isr_len += 1;
                if !consider(m) {
                    return;
                }
            }
        }
        if isr_len < floor || hw <= r.log.hw {
            return;
        }
        let old = r.log.hw;
        self.partitions[pidx as usize].replicas[slot].log.hw = hw;
        self.invariants.on_leader_hw(self.now, pidx, b, old, hw, &self.partitions[pidx as usize]);
        self.complete_waits(b, pidx);
        self.wake_consumers(b, pidx);
    }

    fn complete_waits(&mut self, b: u32, pidx: u32) {
        let p = &mut self.partitions[pidx as usize];
        let Some(slot) = p.slot_of(b) else { return };
        let r = &mut p.replicas[slot];
        let hw = r.log.hw;
        let mut ready = Vec::new();
        while let Some(&(end, wslot, gen)) = r.purgatory.front() {
            if end > hw {
                break;
            }
            r.purgatory.pop_front();
            ready.push((wslot, gen, end));
        }
        for (wslot, gen, end) in ready {
            self.finish_wait_part(b, wslot, gen, pidx, Ok(end));
        }
    }

    fn finish_wait_part(&mut self, b: u32, wslot: u32, gen: u32, pidx: u32, result: Result<u64, ErrorCode>) {
        let br = &mut self.brokers[b as usize];
        if br.wait_gen.get(wslot as usize) != Some(&gen) {
            return;
        }
        let Some(w) = br.waits[wslot as usize].as_mut() else { return };
        let Some(entry) = w.results.iter_mut().find(|r| r.0 == pidx && r.1.is_none()) else {
            return;
        };
        // The response carries the batch's base offset; `end` is enough for the client.
        entry.1 = Some(result);
        w.remaining -= 1;
        if w.remaining == 0 {
            let w = br.waits[wslot as usize].take().expect("present");
            br.free_waits.push(wslot);
            br.wait_gen[wslot as usize] += 1;
            let now = self.now;
            self.finish_wait(b, now, w);
        }
    }

    /// Puts a request in the broker's purgatory slab: (slot, generation) name it there.
    fn park_wait(&mut self, b: u32, wait: ProduceWait) -> (u32, u32) {
        let br = &mut self.brokers[b as usize];
        let slot = match br.free_waits.pop() {
            Some(s) => s,
            None => {
                br.waits.push(None);
                br.wait_gen.push(0);
                (br.waits.len() - 1) as u32
            }
        };
        br.wait_gen[slot as usize] += 1;
        br.waits[slot as usize] = Some(wait);
        (slot, br.wait_gen[slot as usize])
    }

    /// Sends the answer for a completed (or expired) wait: a produce response, or
    /// for an offset commit, applies it and tells the consumer.
    fn finish_wait(&mut self, b: u32, at: Micros, w: ProduceWait) {
        match (w.commit, w.client) {
            (Some((g, generation, offsets)), Node::Consumer(c)) => {
                use crate::kafka::group::GroupError;
                let written = w.results.iter().all(|r| matches!(r.1, Some(Ok(_))));
                let grp = &mut self.groups[g as usize];
                for (p, _) in &offsets {
                    if let Some(e) = grp.pending_commits.get_mut(p) {
                        e.0 = e.0.saturating_sub(1);
                        if e.0 == 0 {
                            grp.pending_commits.remove(p);
                        }
                    }
                }
                // Classic: a commit from a generation the group has moved past is
                // fenced, so a late write from a previous owner cannot move an offset
                // backwards. KIP-848 commits were checked against ownership when taken
                // (GroupRequest::OffsetCommit), and are applied in log order.
                let current = match grp.cfg.protocol {
                    crate::scenario::GroupProtocol::Classic => generation >= grp.generation,
                    crate::scenario::GroupProtocol::Consumer => true,
                };
                if written && current {
                    self.apply_commit(g, &offsets);
                }
                let error = match (written, current) {
                    (false, _) => Some(GroupError::NotCoordinator),
                    (true, false) => Some(GroupError::IllegalGeneration),
                    (true, true) => None,
                };
                self.send_at(
                    at,
                    Node::Broker(b),
                    Node::Consumer(c),
                    Msg::Consumer(ConsumerMsg::CommitDone { req_id: w.req_id, error }),
                );
            }
            _ => self.send_produce_response(b, at, w.client, w.req_id, w.results),
        }
    }

    /// The coordinator appends an offset commit to its `__consumer_offsets` partition.
    pub(crate) fn append_commit(&mut self, b: u32, pidx: u32, mut batch: Batch) -> Result<u64, ErrorCode> {
        let p = &mut self.partitions[pidx as usize];
        let slot = p.slot_of(b).ok_or(ErrorCode::NotLeaderOrFollower)?;
        let r = &mut p.replicas[slot];
        if r.role != Role::Leader {
            return Err(ErrorCode::NotLeaderOrFollower);
        }
        batch.epoch = r.known.leader_epoch;
        r.log.append(batch);
        Ok(r.log.leo)
    }

    /// Waits (acks=all) for a commit batch to reach the HW, then applies it.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn wait_for_commit(&mut self, b: u32, consumer: u32, g: u32, req_id: u64, pidx: u32, end: u64, offsets: Vec<(u32, u64)>) {
        let generation = self.groups[g as usize].generation;
        let timeout = self.scenario.cluster.replica_lag_time_max_ms * MS;
        let wait = ProduceWait {
            client: Node::Consumer(consumer),
            req_id,
            remaining: 1,
            deadline: self.now + timeout,
            results: vec![(pidx, None)],
            commit: Some((g, generation, offsets)),
        };
        let (slot, gen) = self.park_wait(b, wait);
        let p = &mut self.partitions[pidx as usize];
        if let Some(s) = p.slot_of(b) {
            p.replicas[s].purgatory.push_back((end, slot, gen));
        }
        self.after_leader_append(b, pidx);
    }

    /// Answers a consumer fetch with committed data (below the HW), or parks it.
    fn answer_consumer_fetch(&mut self, b: u32, c: u32, req_id: u64, parts: Vec<(u32, u64)>, park_for: Option<Micros>) {
        let mut out = Vec::with_capacity(parts.len());
        let mut anything = false;
        let mut bytes = 0u64;
        for &(pidx, offset) in &parts {
            let p = &self.partitions[pidx as usize];
            let result = match p.slot_of(b).map(|s| &p.replicas[s]) {
                Some(r) if r.role == Role::Leader => {
                    let log = &r.log;
                    // As in Kafka: out of range only outside the log; above the HW
                    // (a new leader's HW lags a fetch) there is just nothing to read yet.
                    if offset < log.log_start || offset > log.leo {
                        ConsumerFetchResult::OutOfRange {
                            log_start: log.log_start,
                            hw: log.hw,
                        }
                    } else {
                        let mut batches = Vec::new();
                        let mut n = 0u64;
                        for batch in log.batches.iter().skip(log.batch_index_from(offset)) {
                            if batch.end_offset() > log.hw || (n > 0 && n + u64::from(batch.bytes) > FETCH_MAX_BYTES) {
                                break;
                            }
                            n += u64::from(batch.bytes);
                            batches.push(*batch);
                        }
                        bytes += n;
                        ConsumerFetchResult::Data { hw: log.hw, batches }
                    }
                }
                _ => ConsumerFetchResult::NotLeader,
            };
            if !matches!(&result, ConsumerFetchResult::Data { batches, .. } if batches.is_empty()) {
                anything = true;
            }
            out.push((pidx, result));
        }
        if let (false, Some(wait)) = (anything, park_for) {
            let deadline = self.now + wait;
            self.brokers[b as usize].parked_consumers.push(ParkedConsumerFetch {
                consumer: c,
                req_id,
                parts,
                deadline,
            });
            self.arm_parked_timer(b);
            return;
        }
        let done = self.service(b, 20 + 3 * parts.len() as u64 + bytes / 2_000);
        self.send_at(
            done,
            Node::Broker(b),
            Node::Consumer(c),
            Msg::Consumer(ConsumerMsg::Fetched { req_id, parts: out }),
        );
    }

    /// The HW moved: consumers waiting on this partition get their data now.
    fn wake_consumers(&mut self, b: u32, pidx: u32) {
        let br = &mut self.brokers[b as usize];
        if br.parked_consumers.is_empty() {
            return;
        }
        let mut woken = Vec::new();
        let mut i = 0;
        while i < br.parked_consumers.len() {
            if br.parked_consumers[i].parts.iter().any(|p| p.0 == pidx) {
                woken.push(br.parked_consumers.swap_remove(i));
            } else {
                i += 1;
            }
        }
        for w in woken {
            self.answer_consumer_fetch(b, w.consumer, w.req_id, w.parts, None);
        }
    }

    /// Server-side `request.timeout.ms` for acks=all requests stuck below the HW.
    fn expire_waits(&mut self, b: u32) {
        let now = self.now;
        let expired: Vec<u32> = self.brokers[b as usize]
            .waits
            .iter()
            .enumerate()
            .filter(|(_, w)| w.as_ref().is_some_and(|w| w.deadline <= now))
            .map(|(i, _)| i as u32)
            .collect();
        for wslot in expired {
            let br = &mut self.brokers[b as usize];
            let w = br.waits[wslot as usize].take().expect("present");
            br.free_waits.push(wslot);
            br.wait_gen[wslot as usize] += 1;
            self.finish_wait(b, now, w);
        }
    }

    /// Leadership lost: every waiting acks=all request for the partition fails.
    fn fail_waits(&mut self, b: u32, pidx: u32) {
        let p = &mut self.partitions[pidx as usize];
        let Some(slot) = p.slot_of(b) else { return };
        let waiting: Vec<(u64, u32, u32)> = p.replicas[slot].purgatory.drain(..).collect();
        for (_, wslot, gen) in waiting {
            self.finish_wait_part(b, wslot, gen, pidx, Err(ErrorCode::NotLeaderOrFollower));
        }
    }

    // ---- fetch: leader side ----------------------------------------------------

    fn handle_fetch(&mut self, b: u32, follower: u32, fetch_id: u64, parts: Vec<FetchPart>) {
        self.answer_fetch(b, follower, fetch_id, &parts, true);
    }

    /// Builds and sends the answer to a follower fetch, or parks it (long poll)
    /// when there is nothing to return. `first` is false when a parked fetch wakes.
    fn answer_fetch(&mut self, b: u32, follower: u32, fetch_id: u64, parts: &[FetchPart], first: bool) {
        let mut out = Vec::with_capacity(parts.len());
        let mut bytes = 0u64;
        let mut anything = false;
        for fp in parts {
            let (result, n) = self.fetch_part(b, follower, fp, first);
            bytes += n;
            if !matches!(&result, FetchResult::Data { batches, .. } if batches.is_empty()) {
                anything = true;
            }
            out.push((fp.pidx, fp.leader_epoch, result));
        }
        if first && !anything {
            let deadline = self.now + self.scenario.cluster.replica_fetch_wait_max_ms * MS;
            self.brokers[b as usize].parked.push(Parked {
                follower,
                fetch_id,
                parts: parts.to_vec(),
                deadline,
            });
            self.arm_parked_timer(b);
            return;
        }
        let cost = 20 + 3 * parts.len() as u64 + bytes / 2_000;
        let done = self.service(b, cost);
        self.send_at(
            done,
            Node::Broker(b),
            Node::Broker(follower),
            Msg::Broker(BrokerMsg::FetchResponse(Box::new(FetchResponse { fetch_id, parts: out }))),
        );
    }

    fn arm_parked_timer(&mut self, b: u32) {
        let br = &self.brokers[b as usize];
        if br.parked_timer_at != 0 {
            return;
        }
        if let Some(first) = br.parked.iter().map(|p| p.deadline).chain(br.parked_consumers.iter().map(|p| p.deadline)).min() {
            self.brokers[b as usize].parked_timer_at = first;
            let after = first.saturating_sub(self.now);
            self.timer(Node::Broker(b), after, Timer::ParkedFetchTimeout);
        }
    }

    fn fetch_part(&mut self, b: u32, follower: u32, fp: &FetchPart, update: bool) -> (FetchResult, u64) {
        let now = self.now;
        let p = &mut self.partitions[fp.pidx as usize];
        let (Some(slot), Some(fslot)) = (p.slot_of(b), p.slot_of(follower)) else {
            return (FetchResult::Error(ErrorCode::NotLeaderOrFollower), 0);
        };
        let r = &mut p.replicas[slot];
        if r.role != Role::Leader {
            return (FetchResult::Error(ErrorCode::NotLeaderOrFollower), 0);
        }
        if fp.leader_epoch < r.known.leader_epoch {
            return (FetchResult::Error(ErrorCode::FencedLeaderEpoch), 0);
        }
        if fp.leader_epoch > r.known.leader_epoch {
            return (FetchResult::Error(ErrorCode::UnknownLeaderEpoch), 0);
        }
        // The common case on a big cluster: an in-sync follower asking again at the log
        // end it already reported. Nothing was validated differently since its last fetch
        // (same epoch, same offset, the leader never truncates), so only the caught-up
        // time moves: no divergence, ISR or HW work.
        if fp.offset == r.log.leo && r.followers[fslot].leo == Some(fp.offset) && r.known.isr.contains(&follower) {
            if update {
                let f = &mut r.followers[fslot];
                f.last_caught_up = now;
                f.last_fetch_leader_leo = fp.offset;
                f.last_fetch_time = now;
            }
            return (
                FetchResult::Data {
                    hw: r.log.hw,
                    log_start: r.log.log_start,
                    batches: Vec::new(),
                },
                0,
            );
        }
        if fp.offset < r.log.log_start || fp.offset > r.log.leo && fp.last_epoch.is_none() {
            return (
                FetchResult::OutOfRange {
                    log_start: r.log.log_start,
                    leo: r.log.leo,
                },
                0,
            );
        }
        if let Some(last) = fp.last_epoch {
            // Kafka's check: diverging if the leader ends that epoch before the fetch
            // offset, or does not know the epoch at all.
            match r.log.end_offset_for_epoch(last) {
                Some((epoch, end)) if epoch == last && end >= fp.offset => {}
                Some((epoch, end)) => {
                    return (
                        FetchResult::Diverging {
                            epoch,
                            end_offset: end.min(fp.offset),
                        },
                        0,
                    )
                }
                None => {
                    let first = r.log.epochs.first().map_or(r.log.log_start, |e| e.1);
                    return (
                        FetchResult::Diverging {
                            epoch: -1,
                            end_offset: first.min(fp.offset),
                        },
                        0,
                    );
                }
            }
        }
        if fp.offset > r.log.leo {
            return (
                FetchResult::OutOfRange {
                    log_start: r.log.log_start,
                    leo: r.log.leo,
                },
                0,
            );
        }
        if update {
            // Kafka's Replica.updateFetchState: caught up if it reached the LEO now,
            // or the LEO as of its previous fetch.
            let leo = r.log.leo;
            let f: &mut FollowerState = &mut r.followers[fslot];
            if fp.offset >= leo {
                f.last_caught_up = now;
            } else if fp.offset >= f.last_fetch_leader_leo {
                f.last_caught_up = f.last_caught_up.max(f.last_fetch_time);
            }
            f.last_fetch_leader_leo = leo;
            f.last_fetch_time = now;
            f.leo = Some(fp.offset);
        }
        let start = r.log.batch_index_from(fp.offset);
        let mut batches = Vec::new();
        let mut bytes = 0u64;
        for batch in r.log.batches.iter().skip(start) {
            if bytes > 0 && bytes + u64::from(batch.bytes) > FETCH_MAX_BYTES {
                break;
            }
            bytes += u64::from(batch.bytes);
            batches.push(*batch);
        }
        if update {
            self.maybe_expand_isr(b, fp.pidx, follower, fp.offset);
            self.maybe_advance_hw(b, fp.pidx);
        }
        let log = &self.partitions[fp.pidx as usize].replicas[slot].log;
        (
            FetchResult::Data {
                hw: log.hw,
                log_start: log.log_start,
                batches,
            },
            bytes,
        )
    }

    fn maybe_expand_isr(&mut self, b: u32, pidx: u32, follower: u32, offset: u64) {
        let p = &self.partitions[pidx as usize];
        let Some(slot) = p.slot_of(b) else { return };
        let r = &p.replicas[slot];
        if r.known.isr.contains(&follower) || r.pending_isr.is_some() || r.alter_backoff_until > self.now {
            return;
        }
        let epoch_start = r.log.epochs.last().map_or(0, |e| e.1);
        if offset >= r.log.hw && offset >= epoch_start {
            let mut isr = r.known.isr.clone();
            isr.push(follower);
            isr.sort_small();
            self.propose_isr(b, pidx, isr);
        }
    }

    fn check_isr_shrink(&mut self, b: u32) {
        let lag_max = self.scenario.cluster.replica_lag_time_max_ms * MS;
        let now = self.now;
        for pidx in 0..self.partitions.len() as u32 {
            let p = &self.partitions[pidx as usize];
            let Some(slot) = p.slot_of(b) else { continue };
            let r = &p.replicas[slot];
            if r.role != Role::Leader || r.pending_isr.is_some() {
                continue;
            }
            let out_of_sync: Vec<u32> = r
                .known
                .isr
                .iter()
                .copied()
                .filter(|&m| m != b)
                .filter(|&m| {
                    let f = p.slot_of(m).map(|s| r.followers[s]);
                    f.is_none_or(|f| now.saturating_sub(f.last_caught_up) > lag_max && f.leo.is_none_or(|leo| leo < r.log.leo))
                })
                .collect();
            if !out_of_sync.is_empty() {
                let isr = r.known.isr.iter().copied().filter(|m| !out_of_sync.contains(m)).collect();
                self.propose_isr(b, pidx, isr);
            }
        }
    }

    fn propose_isr(&mut self, b: u32, pidx: u32, isr: Vec<u32>) {
        let now = self.now;
        let r = {
            let p = &mut self.partitions[pidx as usize];
            let Some(slot) = p.slot_of(b) else { return };
            let r = &mut p.replicas[slot];
            r.pending_isr = Some(isr.clone());
            r.pending_since = now;
            (r.known.leader_epoch, r.known.partition_epoch)
        };
        if let Some(ctl) = self.quorum.active {
            self.send(
                Node::Broker(b),
                Node::Controller(ctl),
                Msg::Controller(ControllerMsg::AlterPartition {
                    broker: b,
                    pidx,
                    leader_epoch: r.0,
                    partition_epoch: r.1,
                    isr,
                }),
            );
        }
    }

    fn retry_stale_alter_partitions(&mut self, b: u32) {
        let now = self.now;
        for p in &mut self.partitions {
            if let Some(slot) = p.slot_of(b) {
                let r = &mut p.replicas[slot];
                if r.pending_isr.is_some() && now.saturating_sub(r.pending_since) > ALTER_PARTITION_RETRY {
                    // Forget it; the next fetch or ISR check proposes again from fresh state.
                    r.pending_isr = None;
                }
            }
        }
    }

    fn handle_alter_response(&mut self, b: u32, pidx: u32, result: Result<PartMeta, ErrorCode>) {
        let p = &mut self.partitions[pidx as usize];
        let Some(slot) = p.slot_of(b) else { return };
        p.replicas[slot].pending_isr = None;
        match result {
            Ok(meta) => {
                if meta.partition_epoch > p.replicas[slot].known.partition_epoch {
                    self.apply_known(pidx, slot, meta);
                }
            }
            Err(e) => {
                // Propose again later, from fresh metadata, rather than on every fetch.
                p.replicas[slot].alter_backoff_until = self.now + ALTER_PARTITION_BACKOFF;
                self.count_error(e, 1);
            }
        }
    }

    // ---- fetch: follower side -----------------------------------------------

    fn send_fetch(&mut self, b: u32, leader: u32, depart: Micros) {
        let br = &mut self.brokers[b as usize];
        let Some(f) = br.fetchers.get_mut(&leader) else { return };
        if f.partitions.is_empty() {
            f.in_flight = None;
            return;
        }
        let fetch_id = br.next_fetch_id;
        br.next_fetch_id += 1;
        f.in_flight = Some((fetch_id, depart));
        let pids = f.partitions.clone();
        let parts = pids
            .into_iter()
            .filter_map(|pidx| {
                let p = &self.partitions[pidx as usize];
                let r = &p.replicas[p.slot_of(b)?];
                Some(FetchPart {
                    pidx,
                    offset: r.log.leo,
                    last_epoch: r.log.last_epoch(),
                    leader_epoch: r.known.leader_epoch,
                })
            })
            .collect();
        self.send_at(depart, Node::Broker(b), Node::Broker(leader), Msg::Broker(BrokerMsg::Fetch { fetch_id, parts }));
    }

    fn handle_fetch_response(&mut self, b: u32, leader: u32, resp: FetchResponse) {
        let Some(f) = self.brokers[b as usize].fetchers.get_mut(&leader) else {
            return;
        };
        if f.in_flight.map(|x| x.0) != Some(resp.fetch_id) {
            return;
        }
        f.in_flight = None;
        let mut bytes = 0u64;
        let mut errors = 0;
        let n = resp.parts.len();
        for (pidx, epoch, result) in resp.parts {
            let p = &self.partitions[pidx as usize];
            let Some(slot) = p.slot_of(b) else { continue };
            let r = &p.replicas[slot];
            if r.role != Role::Follower || r.known.leader != Some(leader) || r.known.leader_epoch != epoch {
                continue;
            }
            match result {
                FetchResult::Data { hw, log_start, batches } => {
                    for batch in batches {
                        let r = &mut self.partitions[pidx as usize].replicas[slot];
                        // The leader may have merged old batches: take the part we lack.
                        let batch = if batch.base_offset < r.log.leo && batch.end_offset() > r.log.leo {
                            batch.suffix_from(r.log.leo)
                        } else {
                            batch
                        };
                        if batch.base_offset != r.log.leo {
                            continue;
                        }
                        bytes += u64::from(batch.bytes);
                        r.log.append(batch);
                        self.invariants.on_append(self.now, pidx, b, &batch, self.audit_is_idempotent(batch.producer));
                    }
                    let r = &mut self.partitions[pidx as usize].replicas[slot];
                    let new_hw = hw.min(r.log.leo);
                    if new_hw > r.log.hw {
                        r.log.hw = new_hw;
                    }
                    // The leader decides the log start offset; followers follow it (Kafka's
                    // fetch response carries logStartOffset).
                    if r.log.batches.len() > self.scenario.cluster.retention_batches as usize + crate::kafka::log::RETENTION_CHUNK {
                        r.log.advance_start(log_start);
                    }
                }
                FetchResult::Diverging { epoch, end_offset } => {
                    // Truncate to where our log and the leader's part, by our own view of that epoch too.
                    let log = &self.partitions[pidx as usize].replicas[slot].log;
                    let ours = log.end_offset_for_epoch(epoch).filter(|e| e.0 == epoch).map_or(end_offset, |e| e.1);
                    self.truncate_replica(pidx, slot, end_offset.min(ours));
                    self.partitions[pidx as usize].replicas[slot].log.forget_epochs_after(epoch);
                }
                FetchResult::OutOfRange { log_start, leo } => {
                    let r = &mut self.partitions[pidx as usize].replicas[slot];
                    if r.log.leo < log_start {
                        r.log.reset_to(log_start);
                    } else if r.log.leo > leo {
                        self.truncate_replica(pidx, slot, leo);
                    }
                }
                FetchResult::Error(e) => {
                    errors += 1;
                    self.count_error(e, 1);
                }
            }
        }
        let now = self.now;
        if errors == n && n > 0 {
            if let Some(f) = self.brokers[b as usize].fetchers.get_mut(&leader) {
                f.backoff_until = now + FETCH_BACKOFF;
            }
            return;
        }
        let disk = if bytes > 0 { self.disk_cost(b, bytes) } else { 0 };
        self.send_fetch(b, leader, now + disk);
    }

    fn truncate_replica(&mut self, pidx: u32, slot: usize, offset: u64) {
        let r = &mut self.partitions[pidx as usize].replicas[slot];
        let from = r.log.leo;
        let broker = r.broker;
        let removed = r.log.truncate_to(offset);
        if removed.is_empty() {
            return;
        }
        let to = r.log.leo;
        self.counters.truncated_records += from - to;
        self.invariants.on_truncate(pidx, broker, &self.partitions[pidx as usize].replicas[slot].log);
        let topic = self.topic_name(pidx).to_string();
        let partition = self.partitions[pidx as usize].index;
        self.note(Notable::Truncated {
            topic,
            partition,
            broker,
            from,
            to,
        });
    }

    // ---- metadata and roles --------------------------------------------------

    fn handle_metadata(&mut self, b: u32, offset: u64, changes: Vec<(u32, PartMeta)>) {
        let br = &mut self.brokers[b as usize];
        br.meta_in_flight = None;
        if br.image.len() < self.partitions.len() {
            br.image.resize(self.partitions.len(), (None, -1));
        }
        for (pidx, meta) in &changes {
            br.image[*pidx as usize] = (meta.leader, meta.leader_epoch);
        }
        br.meta_offset = br.meta_offset.max(offset);
        for (pidx, meta) in changes {
            if let Some(slot) = self.partitions[pidx as usize].slot_of(b) {
                let known = &self.partitions[pidx as usize].replicas[slot].known;
                if meta.leader_epoch > known.leader_epoch
                    || (meta.leader_epoch == known.leader_epoch && meta.partition_epoch > known.partition_epoch)
                    || self.partitions[pidx as usize].replicas[slot].role == Role::None
                {
                    self.apply_known(pidx, slot, meta);
                }
            }
        }
        // Long poll: ask again at once.
        if let Some(ctl) = self.quorum.active {
            let br = &mut self.brokers[b as usize];
            br.meta_in_flight = Some(self.now);
            let (inc, offset) = (br.incarnation, br.meta_offset);
            self.send(
                Node::Broker(b),
                Node::Controller(ctl),
                Msg::Controller(ControllerMsg::MetadataFetch {
                    broker: b,
                    incarnation: inc,
                    offset,
                }),
            );
        }
    }

    /// The broker learns new metadata for one of its replicas and changes role.
    pub(crate) fn apply_known(&mut self, pidx: u32, slot: usize, meta: PartMeta) {
        let now = self.now;
        let p = &mut self.partitions[pidx as usize];
        let n = p.replicas.len();
        let r = &mut p.replicas[slot];
        let b = r.broker;
        let old_role = r.role;
        let old_leader = r.known.leader;
        let epoch_changed = r.known.leader_epoch != meta.leader_epoch;
        r.known = meta.clone();
        if meta.leader == Some(b) {
            if old_role != Role::Leader || epoch_changed {
                r.role = Role::Leader;
                r.log.start_epoch(meta.leader_epoch);
                r.followers = vec![
                    FollowerState {
                        leo: None,
                        last_caught_up: now,
                        last_fetch_leader_leo: 0,
                        last_fetch_time: now
                    };
                    n
                ];
                r.pending_isr = None;
                if let Some(old) = old_leader.filter(|_| old_role == Role::Follower) {
                    self.leave_fetcher(b, old, pidx);
                }
                self.invariants.on_become_leader(now, pidx, b, meta.leader_epoch);
            } else if r.pending_isr.as_ref() == Some(&meta.isr) {
                r.pending_isr = None;
            }
            self.maybe_advance_hw(b, pidx);
            return;
        }
        if old_role == Role::Leader {
            self.fail_waits(b, pidx);
        }
        let r = &mut self.partitions[pidx as usize].replicas[slot];
        r.role = if meta.leader.is_some() { Role::Follower } else { Role::None };
        r.pending_isr = None;
        if old_role == Role::Follower && old_leader != meta.leader {
            if let Some(old) = old_leader {
                self.leave_fetcher(b, old, pidx);
            }
        }
        if let Some(l) = meta.leader {
            if old_role != Role::Follower || old_leader != meta.leader || epoch_changed {
                let f = self.brokers[b as usize].fetchers.entry(l).or_default();
                if !f.partitions.contains(&pidx) {
                    f.partitions.push(pidx);
                    f.partitions.sort_small();
                }
                // A fetch in flight carries the old epoch: the answer is ignored, so fetch again.
                let now = self.now;
                self.send_fetch(b, l, now);
            }
        }
    }

    fn leave_fetcher(&mut self, b: u32, leader: u32, pidx: u32) {
        let br = &mut self.brokers[b as usize];
        if let Some(f) = br.fetchers.get_mut(&leader) {
            f.partitions.retain(|&p| p != pidx);
            if f.partitions.is_empty() {
                br.fetchers.remove(&leader);
            }
        }
    }

    // ---- faults -----------------------------------------------------------------

    /// A message reached a dead broker: clients and fetchers see a refused connection.
    pub(crate) fn refuse(&mut self, b: u32, from: Node, msg: &BrokerMsg) {
        match (from, msg) {
            (Node::Client(_), BrokerMsg::Produce(_) | BrokerMsg::ClientMetadata { .. }) => {
                self.send(Node::Broker(b), from, Msg::Producer(ProducerMsg::Disconnected));
            }
            (Node::Broker(_), BrokerMsg::Fetch { .. }) => self.send(Node::Broker(b), from, Msg::Broker(BrokerMsg::Disconnected)),
            (Node::Consumer(_), _) => self.send(Node::Broker(b), from, Msg::Consumer(ConsumerMsg::Disconnected)),
            _ => {}
        }
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
            .filter(|&f| f != b && self.brokers[f as usize].fetchers.contains_key(&b))
            .collect();
        for f in followers {
            self.send(Node::Broker(b), Node::Broker(f), Msg::Broker(BrokerMsg::Disconnected));
        }
    }

    /// The process dies (or finishes a controlled shutdown): memory is lost, the log survives.
    pub(crate) fn kill_broker(&mut self, b: u32, stopped: bool) {
        if !self.brokers[b as usize].is_running() {
            return;
        }
        self.reset_connections(b);
        let br = &mut self.brokers[b as usize];
        br.state = if stopped {
            crate::kafka::broker::BrokerState::Stopped
        } else {
            crate::kafka::broker::BrokerState::Down
        };
        br.incarnation += 1;
        br.paused_until = 0;
        br.busy_until = 0;
        br.meta_in_flight = None;
        br.fetchers.clear();
        br.parked.clear();
        br.parked_consumers.clear();
        br.parked_timer_at = 0;
        br.waits.clear();
        br.wait_gen.clear();
        br.free_waits.clear();
        br.shutting_down = false;
        for p in &mut self.partitions {
            if let Some(slot) = p.slot_of(b) {
                let r = &mut p.replicas[slot];
                r.role = Role::None;
                r.known = PartMeta::default();
                r.pending_isr = None;
                r.purgatory.clear();
            }
        }
        self.refresh_availability();
    }

    pub(crate) fn restart_broker(&mut self, b: u32) {
        let br = &mut self.brokers[b as usize];
        if br.is_running() {
            return;
        }
        br.state = crate::kafka::broker::BrokerState::Up;
        br.incarnation += 1;
        br.meta_offset = 0;
        br.image.clear();
        br.next_heartbeat = 0;
        br.next_isr_check = self.now + self.scenario.cluster.replica_lag_time_max_ms * MS / 2;
        self.timer(Node::Broker(b), 0, Timer::BrokerTick);
        self.refresh_availability();
    }

    /// Controlled shutdown: ask the controller to move leaderships first.
    pub(crate) fn stop_broker(&mut self, b: u32) {
        if !self.broker_up(b) || self.brokers[b as usize].shutting_down {
            return;
        }
        self.brokers[b as usize].shutting_down = true;
        let inc = self.brokers[b as usize].incarnation;
        match self.quorum.active {
            Some(ctl) => {
                self.send(
                    Node::Broker(b),
                    Node::Controller(ctl),
                    Msg::Controller(ControllerMsg::ControlledShutdown { broker: b, incarnation: inc }),
                );
                self.timer(Node::Broker(b), 30_000 * MS, Timer::ControlledShutdownTimeout);
            }
            None => self.kill_broker(b, true),
        }
    }
}
