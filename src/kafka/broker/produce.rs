//! The leader's side of a produce request: checks (leadership, min.insync.replicas,
//! idempotence), the append, and acks=all requests waiting in purgatory until the
//! high watermark passes them (or `request.timeout.ms`). Retention runs here too.

use super::{Broker, ProduceWait, Verifying, WaitThen};
use crate::kafka::log::IdemCheck;
use crate::kafka::log::{Batch, TxnMark};
use crate::kafka::obs::{Acks0Loss, Appended, ErrorKind, Obs};
use crate::kafka::protocol::{BrokerMsg, Msg, ProduceRequest, ProducerMsg, MAIN_LANE};
use crate::kafka::types::{ErrorCode, Role};
use crate::kafka::Ctx;
use crate::scenario::Acks;
use crate::sim::{Micros, Node, MS};

/// `add.partitions.to.txn.retry.backoff.ms` and `.max.ms`: a leader retries a
/// CONCURRENT_TRANSACTIONS answer itself for a while.
const ADD_RETRY_BACKOFF: Micros = 20 * MS;
const ADD_RETRY_MAX: Micros = 100 * MS;
/// A batch held for its partition's add gets an answer by then, whatever became
/// of the coordinator (Kafka's inter-broker request times out and the producer
/// retries): CONCURRENT_TRANSACTIONS, retriable.
const VERIFY_TIMEOUT: Micros = 5_000 * MS;

impl Broker {
    pub(super) fn handle_produce(&mut self, ctx: &mut Ctx, client: Node, req: ProduceRequest) {
        let b = self.id;
        let mut cost = 30;
        let mut results = Vec::with_capacity(req.batches.len());
        let mut touched = Vec::with_capacity(req.batches.len());
        let mut bytes = 0u64;
        let mut refused: Vec<(u32, u32, u64, u32)> = Vec::new();
        let mut to_verify: Vec<(u32, Batch)> = Vec::new();
        let mut refuse = |results: &mut Vec<_>, pidx: u32, batch: &Batch, e: ErrorCode| {
            results.push((pidx, Some(Err(e))));
            if req.acks == Acks::Zero {
                refused.push((pidx, batch.producer, batch.audit_seq, batch.records));
            }
        };
        for (pidx, batch) in req.batches {
            cost += 5;
            let Some(r) = self.replica_mut(pidx) else {
                refuse(&mut results, pidx, &batch, ErrorCode::NotLeaderOrFollower);
                continue;
            };
            if r.role != Role::Leader {
                refuse(&mut results, pidx, &batch, ErrorCode::NotLeaderOrFollower);
                continue;
            }
            // Kafka 3.7+: the effective min ISR, min(min.insync.replicas, replica count).
            if req.acks == Acks::All && r.known.isr.len() < (r.min_isr as usize).min(r.followers.len()) {
                refuse(&mut results, pidx, &batch, ErrorCode::NotEnoughReplicas);
                continue;
            }
            // Protocol 2: the first batch of a transaction here waits until the
            // coordinator has added the partition to it (which also fences zombies);
            // its sequence is checked when it is appended.
            if batch.txn == TxnMark::Data && !r.log.in_transaction(batch.pid, batch.idem.map_or(0, |i| i.0)) {
                results.push((pidx, None));
                to_verify.push((pidx, batch));
                continue;
            }
            if let Some((pepoch, seq)) = batch.idem {
                match r.log.check_idempotent(batch.pid, pepoch, seq, batch.records) {
                    IdemCheck::Append => {}
                    IdemCheck::Duplicate(offset) => {
                        // A retry of a batch already written: success with its original offset.
                        let end = offset + u64::from(batch.records);
                        let done = req.acks != Acks::All || r.log.hw >= end;
                        results.push((pidx, if done { Some(Ok(offset)) } else { None }));
                        touched.push((pidx, end));
                        continue;
                    }
                    IdemCheck::OutOfOrder => {
                        refuse(&mut results, pidx, &batch, ErrorCode::OutOfOrderSequenceNumber);
                        continue;
                    }
                    IdemCheck::InvalidEpoch => {
                        refuse(&mut results, pidx, &batch, ErrorCode::InvalidProducerEpoch);
                        continue;
                    }
                }
            }
            let mut batch = batch;
            batch.epoch = r.known.leader_epoch;
            bytes += u64::from(batch.bytes);
            let appended = Appended::of(&batch, r.log.leo);
            let base = r.log.append(batch);
            let end = r.log.leo;
            ctx.observe(Obs::Appended {
                pidx,
                broker: b,
                batch: appended,
            });
            results.push((pidx, if req.acks == Acks::All { None } else { Some(Ok(base)) }));
            touched.push((pidx, end));
        }
        let disk = self.disk_cost(ctx, bytes);
        let done = self.service(ctx.now, cost + disk);
        if req.acks == Acks::Zero {
            // No answer: the connection is read again once the request is handled, or
            // closed if any partition refused it (the client then asks for metadata).
            if !refused.is_empty() {
                for (pidx, instance, seq, records) in refused {
                    ctx.observe(Obs::Acks0Unwritten {
                        instance,
                        pidx,
                        seq,
                        records,
                        why: Acks0Loss::NotLeader,
                    });
                }
                self.close_connection(ctx, done, client, req.conn);
            } else {
                self.request_done(ctx, client, MAIN_LANE, done);
            }
            for (pidx, _) in &touched {
                self.after_leader_append(ctx, *pidx);
            }
            return;
        }
        let pending = results.iter().filter(|r| r.1.is_none()).count() as u32;
        if pending == 0 {
            self.answer_produce(ctx, done, client, req.req_id, results);
        } else {
            let wait = ProduceWait {
                client,
                req_id: req.req_id,
                remaining: pending,
                deadline: ctx.now + req.timeout_us,
                results,
                then: WaitThen::Produce,
            };
            let (slot, gen) = self.park_wait(wait);
            for &(pidx, end) in &touched {
                if let Some(r) = self.replica_mut(pidx) {
                    r.purgatory.push_back((end, slot, gen));
                }
            }
            for (pidx, batch) in to_verify {
                self.verify_txn_batch(ctx, slot, gen, pidx, batch);
            }
        }
        for (pidx, _) in touched {
            self.after_leader_append(ctx, pidx);
        }
    }

    /// Held transactional batches whose add was never answered fail (retriable).
    pub(super) fn expire_verifications(&mut self, ctx: &mut Ctx) {
        let now = ctx.now;
        if self.verifying.iter().all(|v| v.since + VERIFY_TIMEOUT > now) {
            return;
        }
        let expired: Vec<Verifying> = self.verifying.iter().filter(|v| v.since + VERIFY_TIMEOUT <= now).cloned().collect();
        self.verifying.retain(|v| v.since + VERIFY_TIMEOUT > now);
        for v in expired {
            self.finish_wait_part(ctx, v.slot, v.gen, v.pidx, Err(ErrorCode::ConcurrentTransactions));
        }
    }

    /// The broker coordinating the producer id's transactions, as this broker knows it.
    fn txn_coordinator_of(&self, pid: u32) -> Option<u32> {
        crate::kafka::txn::txn_of(pid)
            .and_then(|t| self.cluster.txn_ids.get(t as usize))
            .and_then(|t| self.image.get(t.state_pidx as usize))
            .and_then(|x| x.0)
    }

    /// Asks the producer's transaction coordinator to add `pidx` to its transaction.
    pub(super) fn verify_txn_batch(&mut self, ctx: &mut Ctx, slot: u32, gen: u32, pidx: u32, batch: Batch) {
        let (pid, epoch) = (batch.pid, batch.idem.map_or(0, |i| i.0));
        let Some(tc) = self.txn_coordinator_of(pid) else {
            self.finish_wait_part(ctx, slot, gen, pidx, Err(ErrorCode::ConcurrentTransactions));
            return;
        };
        // Later batches of the same transaction wait behind the first one's question.
        let asked = self
            .verifying
            .iter()
            .any(|v| v.pidx == pidx && v.batch.pid == pid && v.batch.idem.map(|x| x.0) == Some(epoch));
        self.verifying.push(Verifying {
            slot,
            gen,
            pidx,
            batch,
            since: ctx.now,
        });
        if !asked {
            ctx.send(Node::Broker(tc), Msg::Broker(BrokerMsg::AddPartitionsToTxn { pid, epoch, pidx }));
        }
    }

    /// The coordinator's answer: append the held batch, or fail it.
    pub(super) fn on_partition_added(&mut self, ctx: &mut Ctx, pid: u32, epoch: u16, pidx: u32, error: Option<ErrorCode>) {
        let matches = |v: &Verifying| v.pidx == pidx && v.batch.pid == pid && v.batch.idem.map(|x| x.0) == Some(epoch);
        // The coordinator is ending the previous transaction: the leader asks again
        // (`add.partitions.to.txn.retry.backoff.ms` 20, for up to 100 ms) before
        // answering the producer.
        let first_held = self.verifying.iter().filter(|v| matches(v)).map(|v| v.since).min();
        if error == Some(ErrorCode::ConcurrentTransactions) && first_held.is_some_and(|t| ctx.now < t + ADD_RETRY_MAX) {
            if let Some(tc) = self.txn_coordinator_of(pid) {
                ctx.send_at(
                    ctx.now + ADD_RETRY_BACKOFF,
                    Node::Broker(tc),
                    Msg::Broker(BrokerMsg::AddPartitionsToTxn { pid, epoch, pidx }),
                );
                return;
            }
        }
        let held: Vec<Verifying> = self.verifying.iter().filter(|v| matches(v)).cloned().collect();
        self.verifying.retain(|v| !matches(v));
        let mut appended = false;
        for Verifying { slot, gen, pidx, batch, .. } in held {
            let result = match error {
                // Kafka turns the coordinator's PRODUCER_FENCED into INVALID_PRODUCER_EPOCH.
                Some(ErrorCode::ProducerFenced) => Err(ErrorCode::InvalidProducerEpoch),
                Some(ErrorCode::InvalidTxnState) => Err(ErrorCode::InvalidTxnState),
                Some(_) => Err(ErrorCode::ConcurrentTransactions),
                None => match self.txn_offsets_refused(slot, gen) {
                    Some(e) => Err(e),
                    None => self.append_verified(ctx, pidx, batch),
                },
            };
            match result {
                Ok(end) => {
                    if let Some(r) = self.replica_mut(pidx) {
                        r.purgatory.push_back((end, slot, gen));
                    }
                    appended = true;
                }
                Err(e) => self.finish_wait_part(ctx, slot, gen, pidx, Err(e)),
            }
        }
        if appended {
            self.after_leader_append(ctx, pidx);
        }
    }

    /// Appends a verified transactional batch, with the leader's usual checks.
    fn append_verified(&mut self, ctx: &mut Ctx, pidx: u32, mut batch: Batch) -> Result<u64, ErrorCode> {
        let b = self.id;
        let r = self.replica_mut(pidx).ok_or(ErrorCode::NotLeaderOrFollower)?;
        if r.role != Role::Leader {
            return Err(ErrorCode::NotLeaderOrFollower);
        }
        if r.known.isr.len() < (r.min_isr as usize).min(r.followers.len()) {
            return Err(ErrorCode::NotEnoughReplicas);
        }
        // A group coordinator's offsets in a transaction have no sequence numbers;
        // like any transactional write they are refused once a marker of a newer
        // epoch ended the producer's transaction here (ProducerStateManager).
        if batch.producer == crate::kafka::log::INTERNAL_WRITER {
            let pepoch = batch.idem.map_or(0, |i| i.0);
            if r.log.idem.iter().any(|(pid, st)| *pid == batch.pid && st.epoch > pepoch) {
                return Err(ErrorCode::InvalidProducerEpoch);
            }
        }
        if let Some((pepoch, seq)) = batch.idem.filter(|_| batch.producer != crate::kafka::log::INTERNAL_WRITER) {
            match r.log.check_idempotent(batch.pid, pepoch, seq, batch.records) {
                IdemCheck::Append => {}
                IdemCheck::Duplicate(offset) => return Ok(offset + u64::from(batch.records)),
                IdemCheck::OutOfOrder => return Err(ErrorCode::OutOfOrderSequenceNumber),
                IdemCheck::InvalidEpoch => return Err(ErrorCode::InvalidProducerEpoch),
            }
        }
        batch.epoch = r.known.leader_epoch;
        let appended = Appended::of(&batch, r.log.leo);
        let held = batch.payload.clone();
        r.log.append(batch);
        let end = r.log.leo;
        ctx.observe(Obs::Appended {
            pidx,
            broker: b,
            batch: appended,
        });
        if let Some(record) = held {
            // A group coordinator's transactional offsets: pending from the moment
            // they are in the log, so the transaction's marker always finds them.
            self.hold_txn_offsets(&record);
        }
        Ok(end)
    }

    /// New data on a leader: wake parked follower fetches, maybe advance the HW, apply retention.
    pub(crate) fn after_leader_append(&mut self, ctx: &mut Ctx, pidx: u32) {
        self.maybe_advance_hw(ctx, pidx);
        self.wake_parked_fetches(ctx, pidx);
        self.apply_retention(ctx, pidx);
    }

    /// Follower fetches held here that include the partition are answered now.
    pub(super) fn wake_parked_fetches(&mut self, ctx: &mut Ctx, pidx: u32) {
        let waiting: Vec<usize> = self
            .parked
            .iter()
            .enumerate()
            .filter(|(_, p)| p.parts.iter().any(|fp| fp.pidx == pidx))
            .map(|(i, _)| i)
            .collect();
        for i in waiting.into_iter().rev() {
            let parked = self.parked.swap_remove(i);
            self.answer_fetch(ctx, parked.follower, parked.fetch_id, parked.parts, false);
        }
    }

    /// Retention runs on the leader; committed records it deletes are retired, not lost.
    fn apply_retention(&mut self, ctx: &mut Ctx, pidx: u32) {
        let c = &self.cluster.config;
        let max = c.retention_batches as usize;
        let keep_after = ctx.now.saturating_sub(c.retention_ms * MS);
        let b = self.id;
        let Some(r) = self.replica_mut(pidx) else { return };
        if r.role != Role::Leader {
            return;
        }
        let start = r.log.log_start;
        r.log.enforce_retention(max, keep_after, max * 20, |batch| {
            ctx.observe(Obs::Retired {
                pidx,
                producer: batch.producer,
                offset: batch.base_offset,
                seq: batch.audit_seq,
                records: batch.records,
            });
        });
        if r.log.log_start != start {
            ctx.observe(Obs::LogStartMoved {
                pidx,
                broker: b,
                offset: r.log.log_start,
            });
        }
    }

    pub(super) fn complete_waits(&mut self, ctx: &mut Ctx, pidx: u32) {
        let Some(r) = self.replica_mut(pidx) else { return };
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
            self.finish_wait_part(ctx, wslot, gen, pidx, Ok(end));
        }
    }

    fn finish_wait_part(&mut self, ctx: &mut Ctx, wslot: u32, gen: u32, pidx: u32, result: Result<u64, ErrorCode>) {
        if self.wait_gen.get(wslot as usize) != Some(&gen) {
            return;
        }
        let Some(w) = self.waits[wslot as usize].as_mut() else { return };
        let Some(entry) = w.results.iter_mut().find(|r| r.0 == pidx && r.1.is_none()) else {
            return;
        };
        // The response carries the batch's base offset; `end` is enough for the client.
        entry.1 = Some(result);
        w.remaining -= 1;
        if w.remaining == 0 {
            let w = self.waits[wslot as usize].take().expect("present");
            self.free_waits.push(wslot);
            self.wait_gen[wslot as usize] += 1;
            self.finish_wait(ctx, ctx.now, w);
        }
    }

    /// Puts a request in the broker's purgatory slab: (slot, generation) name it there.
    pub(crate) fn park_wait(&mut self, wait: ProduceWait) -> (u32, u32) {
        let slot = match self.free_waits.pop() {
            Some(s) => s,
            None => {
                self.waits.push(None);
                self.wait_gen.push(0);
                (self.waits.len() - 1) as u32
            }
        };
        self.wait_gen[slot as usize] += 1;
        self.waits[slot as usize] = Some(wait);
        (slot, self.wait_gen[slot as usize])
    }

    /// Sends the answer for a completed (or expired) wait: a produce response, or
    /// for an offset commit, the coordinator's answer.
    pub(crate) fn finish_wait(&mut self, ctx: &mut Ctx, at: Micros, w: ProduceWait) {
        let written = w.results.iter().all(|r| matches!(r.1, Some(Ok(_))));
        match (w.then, w.client) {
            (WaitThen::OffsetCommit(commit), Node::Consumer(c)) => self.commit_written(ctx, at, Some((c, w.req_id)), commit, written),
            (WaitThen::LateOffsetCommit(commit), _) => self.commit_written(ctx, at, None, commit, written),
            (WaitThen::TxnWrite(write), _) => self.txn_written(ctx, at, *write, written),
            (WaitThen::Markers { pid, epoch }, Node::Broker(tc)) => self.answer_markers(ctx, at, tc, pid, epoch, w.results),
            (WaitThen::TxnOffsetCommit(c), client) => self.txn_offsets_written(ctx, at, client, w.req_id, *c, w.results),
            _ => self.answer_produce(ctx, at, w.client, w.req_id, w.results),
        }
    }

    /// Server-side `request.timeout.ms` for acks=all requests stuck below the HW.
    pub(super) fn expire_waits(&mut self, ctx: &mut Ctx) {
        let now = ctx.now;
        let expired: Vec<u32> = self
            .waits
            .iter()
            .enumerate()
            .filter(|(_, w)| w.as_ref().is_some_and(|w| w.deadline <= now))
            .map(|(i, _)| i as u32)
            .collect();
        for wslot in expired {
            // An offset commit still waiting for replication: its consumer hears of
            // the timeout now, but its record stays in the log and is applied if
            // it is replicated (OffsetFetch waits for it meanwhile).
            let late = match &mut self.waits[wslot as usize] {
                Some(w) if matches!(w.then, WaitThen::OffsetCommit(_)) && w.results.iter().all(|r| r.1.is_none()) => {
                    w.deadline = Micros::MAX;
                    let then = std::mem::replace(&mut w.then, WaitThen::Produce);
                    let WaitThen::OffsetCommit(commit) = then else { unreachable!() };
                    w.then = WaitThen::LateOffsetCommit(commit);
                    Some((w.client, w.req_id))
                }
                _ => None,
            };
            if let Some((client, req_id)) = late {
                if let Node::Consumer(_) = client {
                    let error = Some(crate::kafka::protocol::GroupError::NotCoordinator);
                    ctx.send(client, Msg::Consumer(crate::kafka::protocol::ConsumerMsg::CommitDone { req_id, error }));
                }
                continue;
            }
            let w = self.waits[wslot as usize].take().expect("present");
            self.free_waits.push(wslot);
            self.wait_gen[wslot as usize] += 1;
            self.finish_wait(ctx, now, w);
        }
    }

    /// Leadership lost: every waiting acks=all request for the partition fails.
    pub(super) fn fail_waits(&mut self, ctx: &mut Ctx, pidx: u32) {
        let held: Vec<Verifying> = self.verifying.iter().filter(|v| v.pidx == pidx).cloned().collect();
        self.verifying.retain(|v| v.pidx != pidx);
        for v in held {
            self.finish_wait_part(ctx, v.slot, v.gen, pidx, Err(ErrorCode::NotLeaderOrFollower));
        }
        let Some(r) = self.replica_mut(pidx) else { return };
        let waiting: Vec<(u64, u32, u32)> = r.purgatory.drain(..).collect();
        for (_, wslot, gen) in waiting {
            self.finish_wait_part(ctx, wslot, gen, pidx, Err(ErrorCode::NotLeaderOrFollower));
        }
    }

    /// The produce response; a partition still waiting counts as timed out.
    fn answer_produce(&mut self, ctx: &mut Ctx, at: Micros, client: Node, req_id: u64, results: Vec<(u32, Option<Result<u64, ErrorCode>>)>) {
        let results: Vec<(u32, Result<u64, ErrorCode>)> = results.into_iter().map(|(p, r)| (p, r.unwrap_or(Err(ErrorCode::RequestTimedOut)))).collect();
        for (_, r) in &results {
            if let Err(e) = r {
                ctx.observe(Obs::Errors {
                    kind: ErrorKind::Produce,
                    name: e.name(),
                    count: 1,
                });
            }
        }
        self.respond(ctx, at, client, Msg::Producer(ProducerMsg::ProduceResponse { req_id, results }));
    }
}
