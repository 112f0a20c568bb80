//! The leader's side of a produce request: checks (leadership, min.insync.replicas,
//! idempotence), the append, and acks=all requests waiting in purgatory until the
//! high watermark passes them (or `request.timeout.ms`). Retention runs here too.

use super::{Broker, ProduceWait};
use crate::kafka::log::Batch;
use crate::kafka::log::IdemCheck;
use crate::kafka::obs::{Acks0Loss, Appended, ErrorKind, Obs};
use crate::kafka::protocol::{Msg, ProduceRequest, ProducerMsg, MAIN_LANE};
use crate::kafka::types::{ErrorCode, Role};
use crate::kafka::Ctx;
use crate::scenario::Acks;
use crate::sim::{Micros, Node, MS};

impl Broker {
    pub(super) fn handle_produce(&mut self, ctx: &mut Ctx, client: Node, req: ProduceRequest) {
        let b = self.id;
        let mut cost = 30;
        let mut results = Vec::with_capacity(req.batches.len());
        let mut touched = Vec::with_capacity(req.batches.len());
        let mut bytes = 0u64;
        let mut refused: Vec<(u32, u32, u64, u32)> = Vec::new();
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
                commit: None,
            };
            let (slot, gen) = self.park_wait(wait);
            for &(pidx, end) in &touched {
                if let Some(r) = self.replica_mut(pidx) {
                    r.purgatory.push_back((end, slot, gen));
                }
            }
        }
        for (pidx, _) in touched {
            self.after_leader_append(ctx, pidx);
        }
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
    fn finish_wait(&mut self, ctx: &mut Ctx, at: Micros, w: ProduceWait) {
        match (w.commit, w.client) {
            (Some(commit), Node::Consumer(c)) => {
                let written = w.results.iter().all(|r| matches!(r.1, Some(Ok(_))));
                self.commit_written(ctx, at, c, w.req_id, commit, written);
            }
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
            let w = self.waits[wslot as usize].take().expect("present");
            self.free_waits.push(wslot);
            self.wait_gen[wslot as usize] += 1;
            self.finish_wait(ctx, now, w);
        }
    }

    /// Leadership lost: every waiting acks=all request for the partition fails.
    pub(super) fn fail_waits(&mut self, ctx: &mut Ctx, pidx: u32) {
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
