//! Offsets committed inside a transaction (Kafka's TxnOffsetCommit, KIP-447,
//! with transaction protocol 2): the producer sends the consumer's offsets and
//! its group metadata straight here; the coordinator checks the member and its
//! generation (a zombie whose partitions moved gets ILLEGAL_GENERATION or
//! UNKNOWN_MEMBER_ID and must abort), adds the group's `__consumer_offsets`
//! partition to the transaction as a partition leader adds a data partition,
//! and writes the offsets there as transactional records. They stay pending,
//! and an OffsetFetch for their partitions is answered UNSTABLE_OFFSET_COMMIT,
//! until the transaction's marker reaches the partition: COMMIT makes them the
//! group's offsets, ABORT drops them.

use super::TxnCommitPayload;
use crate::kafka::broker::{Broker, ProduceWait, WaitThen};
use crate::kafka::log::{Batch, TxnMark, INTERNAL_WRITER};
use crate::kafka::obs::Obs;
use crate::kafka::protocol::{GroupError, Msg, ProducerMsg, TxnCommitError};
use crate::kafka::records::Record;
use crate::kafka::types::ErrorCode;
use crate::kafka::Ctx;
use crate::sim::{Micros, Node};
use std::rc::Rc;

impl Broker {
    fn txn_commit_reply(&mut self, ctx: &mut Ctx, at: Micros, to: Node, req_id: u64, error: Option<TxnCommitError>) {
        if let Some(e) = error {
            let (kind, name) = match e {
                TxnCommitError::Group(g) => (crate::kafka::obs::ErrorKind::Group, g.name()),
                TxnCommitError::Txn(t) => (crate::kafka::obs::ErrorKind::Group, t.name()),
            };
            ctx.observe(Obs::Errors { kind, name, count: 1 });
        }
        ctx.send_at(at, to, Msg::Producer(ProducerMsg::TxnOffsetCommitDone { req_id, error }));
    }

    /// TxnOffsetCommit: check the member, add the partition to the transaction,
    /// write the offsets (answered once replicated).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn handle_txn_offset_commit(
        &mut self,
        ctx: &mut Ctx,
        from: Node,
        req_id: u64,
        g: u32,
        pid: u32,
        epoch: u16,
        member_id: &str,
        generation: i32,
        offsets: Vec<(u32, u64)>,
    ) {
        let done = self.service(ctx.now, 20);
        if !self.is_coordinator(g) {
            self.txn_commit_reply(ctx, done, from, req_id, Some(TxnCommitError::Group(GroupError::NotCoordinator)));
            return;
        }
        self.ensure_group(g);
        let grp = self.coordinator.group(g);
        if let Some(e) = grp.txn_commit_refusal(member_id, generation) {
            self.txn_commit_reply(ctx, done, from, req_id, Some(TxnCommitError::Group(e)));
            return;
        }
        let pidx = grp.info.offsets_pidx;
        let Some(r) = self.replica(pidx) else {
            self.txn_commit_reply(ctx, done, from, req_id, Some(TxnCommitError::Group(GroupError::NotCoordinator)));
            return;
        };
        let n = offsets.len().max(1) as u32;
        let batch = Batch {
            base_offset: 0,
            records: n,
            bytes: 60 * n,
            epoch: r.known.leader_epoch,
            producer: INTERNAL_WRITER,
            pid,
            txn: TxnMark::Data,
            audit_seq: 0,
            idem: Some((epoch, 0)),
            created_us: ctx.now,
            created_end_us: ctx.now,
            payload: Some(Rc::new(Record::TxnOffsetCommit {
                group: g,
                pid,
                offsets: offsets.clone(),
            })),
        };
        // From now until the write's outcome, a new owner's OffsetFetch must wait.
        let until = ctx.now + super::offsets::OFFSETS_COMMIT_TIMEOUT;
        self.coordinator.group_mut(g).hold_commits(&offsets, until);
        let wait = ProduceWait {
            client: from,
            req_id,
            remaining: 1,
            deadline: until,
            results: vec![(pidx, None)],
            then: WaitThen::TxnOffsetCommit(Box::new(TxnCommitPayload {
                group: g,
                pid,
                offsets,
                member_id: member_id.to_string(),
                generation,
            })),
        };
        let (slot, gen) = self.park_wait(wait);
        self.verify_txn_batch(ctx, slot, gen, pidx, batch);
    }

    /// The transactional offsets were written (or not): hold them until the
    /// marker, and answer the producer.
    pub(crate) fn txn_offsets_written(
        &mut self,
        ctx: &mut Ctx,
        at: Micros,
        to: Node,
        req_id: u64,
        c: TxnCommitPayload,
        results: Vec<(u32, Option<Result<u64, ErrorCode>>)>,
    ) {
        let failed = results.iter().find_map(|r| match r.1 {
            Some(Ok(_)) => None,
            Some(Err(e)) => Some(e),
            None => Some(ErrorCode::RequestTimedOut),
        });
        let error = match self.coordinator.groups.get_mut(&c.group) {
            Some(grp) => {
                grp.release_commits(&c.offsets);
                if failed.is_some() {
                    // Not written (or not replicated in time): not part of the transaction.
                    if let Some(held) = grp.txn_offsets.get_mut(&c.pid) {
                        held.retain(|e| !c.offsets.contains(e));
                        if held.is_empty() {
                            grp.txn_offsets.remove(&c.pid);
                        }
                    }
                }
                match failed {
                    None => None,
                    // The producer's epoch is old, or its transaction is ending: its answer.
                    Some(
                        e @ (ErrorCode::InvalidProducerEpoch | ErrorCode::ProducerFenced | ErrorCode::InvalidTxnState | ErrorCode::ConcurrentTransactions),
                    ) => Some(TxnCommitError::Txn(e)),
                    Some(ErrorCode::IllegalGeneration) => Some(TxnCommitError::Group(GroupError::IllegalGeneration)),
                    Some(ErrorCode::UnknownMemberId) => Some(TxnCommitError::Group(GroupError::UnknownMemberId)),
                    Some(_) => Some(TxnCommitError::Group(GroupError::NotCoordinator)),
                }
            }
            None => Some(TxnCommitError::Group(GroupError::NotCoordinator)),
        };
        self.txn_commit_reply(ctx, at, to, req_id, error);
    }

    /// The member check again, when the transaction's verification came back and
    /// the offsets are about to be appended: Kafka runs TxnOffsetCommit's write
    /// operation, member and generation check included, only after verification,
    /// so a member whose partitions moved meanwhile is refused (its commit would
    /// otherwise land after the new owner read the offsets).
    pub(crate) fn txn_offsets_refused(&self, slot: u32, gen: u32) -> Option<ErrorCode> {
        if self.wait_gen.get(slot as usize) != Some(&gen) {
            return None;
        }
        let Some(ProduceWait {
            then: WaitThen::TxnOffsetCommit(c),
            ..
        }) = self.waits[slot as usize].as_ref()
        else {
            return None;
        };
        let Some(grp) = self.coordinator.groups.get(&c.group) else {
            return Some(ErrorCode::NotCoordinator);
        };
        grp.txn_commit_refusal(&c.member_id, c.generation).map(|e| match e {
            GroupError::UnknownMemberId => ErrorCode::UnknownMemberId,
            _ => ErrorCode::IllegalGeneration,
        })
    }

    /// Transactional offsets were appended to the group's partition: they are
    /// the producer's pending offsets until its transaction's marker.
    pub(crate) fn hold_txn_offsets(&mut self, record: &Record) {
        let Record::TxnOffsetCommit { group, pid, offsets } = record else { return };
        let Some(grp) = self.coordinator.groups.get_mut(group) else { return };
        let held = grp.txn_offsets.get_or_insert_with(*pid, Vec::new);
        for &(p, o) in offsets {
            match held.iter_mut().find(|e| e.0 == p) {
                Some(e) => e.1 = o,
                None => held.push((p, o)),
            }
        }
    }

    /// A marker reached offsets partition `pidx`: the producer's pending offsets
    /// in the groups coordinated there become committed, or are dropped.
    pub(crate) fn txn_offsets_decided(&mut self, ctx: &mut Ctx, pidx: u32, pid: u32, commit: bool) {
        for (&g, grp) in self.coordinator.groups.iter_mut() {
            if grp.info.offsets_pidx != pidx {
                continue;
            }
            let Some(held) = grp.txn_offsets.remove(&pid) else { continue };
            if commit {
                for (p, o) in held {
                    grp.offsets.insert(p, o);
                    ctx.observe(Obs::OffsetCommitted { group: g, pidx: p, offset: o });
                }
            }
        }
    }
}

/// Offsets of a transaction still open: (group, producer id, offsets).
type Pending = (u32, u32, Vec<(u32, u64)>);
/// A committed offset where its marker is: (batch index, group, partition, offset).
type Applied = (usize, u32, u32, u64);

/// Replays one offsets partition's transactional offsets in log order (a new
/// coordinator's load): committed ones as (batch index, group, partition,
/// offset) in order, and what is still pending.
pub(super) fn replay_txn_offsets(batches: &std::collections::VecDeque<Batch>) -> (Vec<Applied>, Vec<Pending>) {
    let mut pending: Vec<Pending> = Vec::new();
    let mut committed: Vec<Applied> = Vec::new();
    for (i, b) in batches.iter().enumerate() {
        match (b.txn, b.payload.as_deref()) {
            (TxnMark::Data, Some(Record::TxnOffsetCommit { group, pid, offsets })) => match pending.iter_mut().find(|e| e.0 == *group && e.1 == *pid) {
                Some(e) => {
                    for &(p, o) in offsets {
                        match e.2.iter_mut().find(|x| x.0 == p) {
                            Some(x) => x.1 = o,
                            None => e.2.push((p, o)),
                        }
                    }
                }
                None => pending.push((*group, *pid, offsets.clone())),
            },
            (TxnMark::Commit | TxnMark::Abort, _) => {
                let commit = b.txn == TxnMark::Commit;
                pending.retain(|e| {
                    if e.1 != b.pid {
                        return true;
                    }
                    if commit {
                        committed.extend(e.2.iter().map(|&(p, o)| (i, e.0, p, o)));
                    }
                    false
                });
            }
            _ => {}
        }
    }
    (committed, pending)
}
