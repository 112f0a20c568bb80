//! The transaction coordinator, a part of the broker that leads the
//! transactional id's `__transaction_state` partition (`crate::kafka::txn` says
//! which), as in Kafka 4.x with transaction protocol version 2 (KIP-890):
//!
//! - InitProducerId gives the id's producer id and the next epoch, which fences
//!   every older instance (PRODUCER_FENCED); a transaction still open is first
//!   aborted, and the caller retries (CONCURRENT_TRANSACTIONS);
//! - partition leaders add partitions to the transaction when its first batch
//!   reaches them (`add_partition`), the producer sends nothing for that;
//! - EndTxn writes PrepareCommit or PrepareAbort with the epoch bumped, answers,
//!   then has the markers written (`markers.rs`) and writes CompleteCommit or
//!   CompleteAbort;
//! - every 10 s, transactions open longer than `transaction.timeout.ms` are
//!   aborted with a bumped epoch;
//! - every transition is written to `__transaction_state` with acks=all and
//!   applied once replicated; a broker that becomes leader of the partition
//!   loads the ids from its replica and finishes what was being prepared.

mod markers;

use crate::kafka::broker::{Broker, ProduceWait, WaitThen};
use crate::kafka::log::{Batch, TxnMark};
use crate::kafka::notable::Notable;
use crate::kafka::obs::{Appended, Obs, TxnEnd};
use crate::kafka::protocol::{BrokerMsg, Msg, ProducerMsg, TxnRequest};
use crate::kafka::records::{Record, TxnSnapshot};
use crate::kafka::txn::{first_pid, next_pid, TxnState, MAX_EPOCH, TIMEOUT_CHECK_INTERVAL_MS};
use crate::kafka::types::{ErrorCode, Role};
use crate::kafka::Ctx;
use crate::sim::{Micros, Node, VecMap, MS};

/// How long a transition may wait for its write to be replicated.
const WRITE_TIMEOUT: Micros = 5_000 * MS;
/// Markers that failed (no leader, not enough replicas) are sent again after this.
const MARKER_RETRY: Micros = 100 * MS;

/// One transactional id as its coordinator knows it.
#[derive(Debug, Clone)]
pub struct TxnMeta {
    pub pid: u32,
    pub epoch: u16,
    pub state: TxnState,
    pub partitions: Vec<u32>,
    pub start_us: Micros,
    pub timeout_us: Micros,
    /// A transition is being written: others wait (CONCURRENT_TRANSACTIONS).
    pub pending: bool,
    /// Preparing: partitions whose marker is not written yet, and when to send again.
    pub markers_left: Vec<u32>,
    pub markers_at: Micros,
    /// The epoch the transaction's records were written with (the one being ended).
    pub data_epoch: u16,
    /// Adds that arrived while an add was being written: written together next
    /// (Kafka's coordinator would answer CONCURRENT_TRANSACTIONS and the leaders retry).
    pub queued_adds: Vec<(u32, u32, u16, u32)>,
    pub adding: bool,
}

impl TxnMeta {
    fn snapshot(&self, txn: u32) -> TxnSnapshot {
        TxnSnapshot {
            txn,
            pid: self.pid,
            epoch: self.epoch,
            state: self.state,
            partitions: self.partitions.clone(),
            start_us: self.start_us,
            timeout_us: self.timeout_us,
            data_epoch: self.data_epoch,
        }
    }

    fn from_snapshot(s: &TxnSnapshot) -> TxnMeta {
        TxnMeta {
            pid: s.pid,
            epoch: s.epoch,
            state: s.state,
            partitions: s.partitions.clone(),
            start_us: s.start_us,
            timeout_us: s.timeout_us,
            pending: false,
            markers_left: if s.state.is_prepare() { s.partitions.clone() } else { Vec::new() },
            markers_at: 0,
            data_epoch: s.data_epoch,
            queued_adds: Vec::new(),
            adding: false,
        }
    }
}

/// Who waits for a transition's write, and what to tell them.
#[derive(Debug, Clone)]
pub enum TxnReply {
    Nobody,
    ProducerId {
        producer: Node,
        req_id: u64,
    },
    EndTxn {
        producer: Node,
        req_id: u64,
    },
    /// Partition leaders waiting for their partitions to join: (leader, pid, epoch, partition).
    Added(Vec<(u32, u32, u16, u32)>),
}

/// A transition waiting for its `__transaction_state` write.
#[derive(Debug, Clone)]
pub struct TxnWrite {
    pub txn: u32,
    pub next: TxnSnapshot,
    pub reply: TxnReply,
    /// Why an abort was started by the coordinator itself (timeout or fencing).
    pub cause: Option<&'static str>,
}

/// The transaction coordinator's state on a broker: the ids whose
/// `__transaction_state` partition it leads.
#[derive(Debug, Clone, Default)]
pub struct TxnCoordinator {
    pub txns: VecMap<u32, TxnMeta>,
    pub next_timeout_check: Micros,
    pub markers_due: bool,
}

impl Broker {
    fn txn_state_pidx(&self, txn: u32) -> Option<u32> {
        self.cluster.txn_ids.get(txn as usize).map(|t| t.state_pidx)
    }

    fn is_txn_coordinator(&self, txn: u32) -> bool {
        self.txn_state_pidx(txn).is_some_and(|p| self.leads(p))
    }

    fn txn_reply(&mut self, ctx: &mut Ctx, to: Node, msg: ProducerMsg) {
        let done = self.service(ctx.now, 20);
        ctx.send_at(done, to, Msg::Producer(msg));
    }

    pub(super) fn handle_txn_request(&mut self, ctx: &mut Ctx, from: Node, req: TxnRequest) {
        match req {
            TxnRequest::FindCoordinator { req_id, txn } => {
                let broker = self.txn_state_pidx(txn).and_then(|p| self.image.get(p as usize)).and_then(|x| x.0);
                self.txn_reply(ctx, from, ProducerMsg::TxnCoordinator { req_id, broker });
            }
            TxnRequest::InitProducerId { req_id, txn, timeout_us } => {
                let result = self.init_producer_id(ctx, txn, timeout_us, TxnReply::ProducerId { producer: from, req_id });
                if let Err(e) = result {
                    self.txn_reply(ctx, from, ProducerMsg::ProducerIdDone { req_id, result: Err(e) });
                }
            }
            TxnRequest::EndTxn {
                req_id,
                txn,
                pid,
                epoch,
                commit,
            } => match self.end_txn(ctx, txn, pid, epoch, commit, TxnReply::EndTxn { producer: from, req_id }) {
                Ok(None) => {}
                Ok(Some(done)) => self.txn_reply(ctx, from, ProducerMsg::EndTxnDone { req_id, result: Ok(done) }),
                Err(e) => self.txn_reply(ctx, from, ProducerMsg::EndTxnDone { req_id, result: Err(e) }),
            },
            TxnRequest::TxnOffsetCommit {
                req_id,
                group,
                pid,
                epoch,
                member_id,
                generation,
                offsets,
            } => self.handle_txn_offset_commit(ctx, from, req_id, group, pid, epoch, &member_id, generation, offsets),
        }
    }

    /// InitProducerId: the next epoch for the id (a new producer id if exhausted).
    fn init_producer_id(&mut self, ctx: &mut Ctx, txn: u32, timeout_us: Micros, reply: TxnReply) -> Result<(), ErrorCode> {
        if !self.is_txn_coordinator(txn) {
            return Err(ErrorCode::NotCoordinator);
        }
        let now = ctx.now;
        let meta = self.transactions.txns.get_or_insert_with(txn, || TxnMeta {
            pid: first_pid(txn),
            epoch: 0,
            state: TxnState::Empty,
            partitions: Vec::new(),
            start_us: now,
            timeout_us,
            pending: false,
            markers_left: Vec::new(),
            markers_at: 0,
            data_epoch: 0,
            queued_adds: Vec::new(),
            adding: false,
        });
        if meta.pending || meta.state.is_prepare() {
            return Err(ErrorCode::ConcurrentTransactions);
        }
        if meta.state == TxnState::Ongoing {
            // A newer instance: abort what the older one left open, then it retries.
            self.abort_open(ctx, txn, "a new instance of the producer started");
            return Err(ErrorCode::ConcurrentTransactions);
        }
        let fresh = meta.partitions.is_empty() && meta.state == TxnState::Empty && meta.start_us == now && meta.epoch == 0;
        let mut next = meta.snapshot(txn);
        if !fresh {
            if meta.epoch >= MAX_EPOCH {
                next.pid = next_pid(meta.pid);
                next.epoch = 0;
            } else {
                next.epoch = meta.epoch + 1;
            }
        }
        next.state = TxnState::Empty;
        next.partitions.clear();
        next.timeout_us = timeout_us;
        self.write_txn(ctx, txn, next, reply, None)
    }

    /// EndTxn (protocol 2): Ok(Some) answers at once (a retry of a finished end),
    /// Ok(None) answers once PrepareX is written.
    fn end_txn(&mut self, ctx: &mut Ctx, txn: u32, pid: u32, epoch: u16, commit: bool, reply: TxnReply) -> Result<Option<(u32, u16)>, ErrorCode> {
        if !self.is_txn_coordinator(txn) {
            return Err(ErrorCode::NotCoordinator);
        }
        let Some(meta) = self.transactions.txns.get(&txn) else {
            return Err(ErrorCode::NotCoordinator);
        };
        let wanted = if commit { TxnState::CompleteCommit } else { TxnState::CompleteAbort };
        let preparing = if commit { TxnState::PrepareCommit } else { TxnState::PrepareAbort };
        if meta.pid != pid {
            return Err(ErrorCode::ProducerFenced);
        }
        // Protocol 2: a retry carries the epoch from before the bump.
        if epoch.wrapping_add(1) == meta.epoch && (meta.state == wanted || meta.state == preparing) {
            return if meta.state == wanted {
                Ok(Some((meta.pid, meta.epoch)))
            } else {
                Err(ErrorCode::ConcurrentTransactions)
            };
        }
        if epoch != meta.epoch {
            return Err(ErrorCode::ProducerFenced);
        }
        if meta.pending || meta.state.is_prepare() {
            return Err(ErrorCode::ConcurrentTransactions);
        }
        match meta.state {
            TxnState::Ongoing => {
                let mut next = meta.snapshot(txn);
                next.state = preparing;
                next.data_epoch = meta.epoch;
                next.epoch = meta.epoch + 1;
                self.write_txn(ctx, txn, next, reply, None)?;
                Ok(None)
            }
            // Nothing was written in it: an abort only bumps the epoch.
            _ if !commit => {
                let mut next = meta.snapshot(txn);
                next.state = TxnState::CompleteAbort;
                next.epoch = meta.epoch + 1;
                next.partitions.clear();
                self.write_txn(ctx, txn, next, reply, None)?;
                Ok(None)
            }
            _ => Err(ErrorCode::InvalidTxnState),
        }
    }

    /// The coordinator aborts an open transaction itself (timeout, or a new
    /// instance): the epoch is bumped, which fences the instance that opened it.
    fn abort_open(&mut self, ctx: &mut Ctx, txn: u32, cause: &'static str) {
        let Some(meta) = self.transactions.txns.get(&txn) else { return };
        let mut next = meta.snapshot(txn);
        next.state = TxnState::PrepareAbort;
        next.data_epoch = meta.epoch;
        next.epoch = meta.epoch.saturating_add(1);
        let _ = self.write_txn(ctx, txn, next, TxnReply::Nobody, Some(cause));
    }

    /// TV2: the leader of `pidx` asks to add it to the producer's transaction.
    pub(super) fn add_partition(&mut self, ctx: &mut Ctx, leader: u32, pid: u32, epoch: u16, pidx: u32) {
        let txn = crate::kafka::txn::txn_of(pid).unwrap_or(u32::MAX);
        let now = ctx.now;
        let answer = |e: Option<ErrorCode>| Msg::Broker(BrokerMsg::AddPartitionsToTxnResponse { pid, epoch, pidx, error: e });
        let error = if !self.is_txn_coordinator(txn) {
            Some(ErrorCode::NotCoordinator)
        } else {
            match self.transactions.txns.get(&txn) {
                None => Some(ErrorCode::ProducerFenced),
                Some(m) if m.pid != pid || epoch < m.epoch => Some(ErrorCode::ProducerFenced),
                Some(m) if epoch > m.epoch => Some(ErrorCode::InvalidTxnState),
                Some(m) if m.pending && m.adding => {
                    let m = self.transactions.txns.get_mut(&txn).expect("present");
                    m.queued_adds.push((leader, pid, epoch, pidx));
                    return;
                }
                Some(m) if m.pending || m.state.is_prepare() => Some(ErrorCode::ConcurrentTransactions),
                Some(m) if m.state == TxnState::Ongoing && m.partitions.contains(&pidx) => None,
                Some(_) => match self.write_adds(ctx, txn, vec![(leader, pid, epoch, pidx)]) {
                    Ok(()) => return,
                    Err(e) => Some(e),
                },
            }
        };
        let done = self.service(now, 20);
        ctx.send_at(done, Node::Broker(leader), answer(error));
    }

    /// Ongoing with these partitions added (and the start time set if it was not ongoing).
    fn write_adds(&mut self, ctx: &mut Ctx, txn: u32, adds: Vec<(u32, u32, u16, u32)>) -> Result<(), ErrorCode> {
        let m = &self.transactions.txns[&txn];
        let mut next = m.snapshot(txn);
        if m.state != TxnState::Ongoing {
            next.start_us = ctx.now;
            next.partitions.clear();
        }
        next.state = TxnState::Ongoing;
        for &(_, _, _, pidx) in &adds {
            let at = next.partitions.partition_point(|&p| p < pidx);
            if next.partitions.get(at) != Some(&pidx) {
                next.partitions.insert(at, pidx);
            }
        }
        self.write_txn(ctx, txn, next, TxnReply::Added(adds), None)?;
        if let Some(m) = self.transactions.txns.get_mut(&txn) {
            m.adding = true;
        }
        Ok(())
    }

    /// Writes a transition to `__transaction_state`; it applies once replicated.
    fn write_txn(&mut self, ctx: &mut Ctx, txn: u32, next: TxnSnapshot, reply: TxnReply, cause: Option<&'static str>) -> Result<(), ErrorCode> {
        let pidx = self.txn_state_pidx(txn).ok_or(ErrorCode::NotCoordinator)?;
        let now = ctx.now;
        let bytes = 80 + 8 * next.partitions.len() as u32;
        let end = self.append_internal(ctx, pidx, Record::TxnState(Box::new(next.clone())), 1, bytes)?;
        if let Some(m) = self.transactions.txns.get_mut(&txn) {
            m.pending = true;
        }
        let wait = ProduceWait {
            client: Node::Broker(self.id),
            req_id: 0,
            remaining: 1,
            deadline: now + WRITE_TIMEOUT,
            results: vec![(pidx, None)],
            then: WaitThen::TxnWrite(Box::new(TxnWrite { txn, next, reply, cause })),
        };
        let (slot, gen) = self.park_wait(wait);
        if let Some(r) = self.replica_mut(pidx) {
            r.purgatory.push_back((end, slot, gen));
        }
        self.after_leader_append(ctx, pidx);
        Ok(())
    }

    /// A transition's write finished: apply it (if replicated) and answer.
    pub(crate) fn txn_written(&mut self, ctx: &mut Ctx, at: Micros, w: TxnWrite, written: bool) {
        let TxnWrite { txn, next, reply, cause } = w;
        let mut queued = Vec::new();
        let applied = match self.transactions.txns.get_mut(&txn) {
            Some(m) if written => {
                let before = m.state;
                queued = std::mem::take(&mut m.queued_adds);
                *m = TxnMeta::from_snapshot(&next);
                if next.state.is_prepare() {
                    m.markers_at = 0;
                    self.transactions.markers_due = true;
                    ctx.observe(Obs::TxnEnded(TxnEnd {
                        txn,
                        pid: next.pid,
                        data_epoch: next.data_epoch,
                        commit: next.state == TxnState::PrepareCommit,
                        cause,
                    }));
                    let info = &self.cluster.txn_ids[txn as usize];
                    let id = info.id.clone();
                    let commit = next.state == TxnState::PrepareCommit;
                    let what = if commit { "commits" } else { "aborts" };
                    let why = cause.map(|c| format!(" ({c})")).unwrap_or_default();
                    if !(info.quiet && commit) {
                        ctx.observe(Obs::note(Notable::Text(format!(
                            "transaction coordinator (broker {}): {id} {what} its transaction on {} partitions{why}; epoch {} fences older writers",
                            self.id,
                            next.partitions.len(),
                            next.epoch
                        ))));
                    }
                } else if before.is_prepare() {
                    // Completed: nothing left to write.
                }
                true
            }
            Some(m) => {
                m.pending = false;
                m.adding = false;
                queued = std::mem::take(&mut m.queued_adds);
                false
            }
            None => false,
        };
        let done = at.max(self.service(ctx.now, 10));
        match reply {
            TxnReply::Nobody => {}
            TxnReply::ProducerId { producer, req_id } => {
                let result = if applied {
                    Ok((next.pid, next.epoch))
                } else {
                    Err(ErrorCode::NotCoordinator)
                };
                ctx.send_at(done, producer, Msg::Producer(ProducerMsg::ProducerIdDone { req_id, result }));
            }
            TxnReply::EndTxn { producer, req_id } => {
                let result = if applied {
                    Ok((next.pid, next.epoch))
                } else {
                    Err(ErrorCode::NotCoordinator)
                };
                ctx.send_at(done, producer, Msg::Producer(ProducerMsg::EndTxnDone { req_id, result }));
            }
            TxnReply::Added(adds) => {
                let error = (!applied).then_some(ErrorCode::NotCoordinator);
                for (leader, pid, epoch, pidx) in adds {
                    ctx.send_at(
                        done,
                        Node::Broker(leader),
                        Msg::Broker(BrokerMsg::AddPartitionsToTxnResponse { pid, epoch, pidx, error }),
                    );
                }
            }
        }
        // Adds that waited behind this write: one more write for all of them.
        if !queued.is_empty() {
            for (leader, pid, epoch, pidx) in queued {
                self.add_partition(ctx, leader, pid, epoch, pidx);
            }
        }
        if applied && next.state.is_prepare() {
            self.send_markers(ctx);
        }
    }

    /// The coordinator's clock: abort transactions past their timeout (checked
    /// every 10 s, as Kafka does), and send markers that are due again.
    pub(crate) fn txn_tick(&mut self, ctx: &mut Ctx) {
        if self.transactions.txns.is_empty() {
            return;
        }
        let now = ctx.now;
        if now >= self.transactions.next_timeout_check {
            self.transactions.next_timeout_check = now + TIMEOUT_CHECK_INTERVAL_MS * MS;
            let expired: Vec<u32> = self
                .transactions
                .txns
                .iter()
                .filter(|(_, m)| m.state == TxnState::Ongoing && !m.pending && m.start_us + m.timeout_us < now)
                .map(|(&t, _)| t)
                .collect();
            for txn in expired {
                if self.is_txn_coordinator(txn) {
                    self.abort_open(ctx, txn, "transaction.timeout.ms expired");
                }
            }
        }
        if self.transactions.markers_due {
            self.send_markers(ctx);
        }
    }

    /// This broker became leader of `__transaction_state` partition `pidx`: it
    /// loads the ids written there and finishes the transactions being prepared.
    pub(crate) fn load_txns(&mut self, ctx: &mut Ctx, pidx: u32) {
        let Some(r) = self.replica(pidx) else { return };
        let mut latest: VecMap<u32, TxnSnapshot> = VecMap::default();
        for b in &r.log.batches {
            if let Some(Record::TxnState(s)) = b.payload.as_deref() {
                latest.insert(s.txn, (**s).clone());
            }
        }
        let mut preparing = false;
        for (&txn, s) in latest.iter() {
            if self.txn_state_pidx(txn) != Some(pidx) {
                continue;
            }
            preparing |= s.state.is_prepare();
            if s.state.is_prepare() {
                // Decided by the coordinator before (which may not have seen its write
                // replicated): this one finishes it.
                ctx.observe(Obs::TxnEnded(TxnEnd {
                    txn,
                    pid: s.pid,
                    data_epoch: s.data_epoch,
                    commit: s.state == TxnState::PrepareCommit,
                    cause: None,
                }));
            }
            let id = self.cluster.txn_ids[txn as usize].id.clone();
            ctx.observe(Obs::note(Notable::Text(format!(
                "transactional id {id}: coordinator moved to broker {} ({})",
                self.id,
                s.state.name()
            ))));
            self.transactions.txns.insert(txn, TxnMeta::from_snapshot(s));
        }
        if preparing {
            self.transactions.markers_due = true;
            self.send_markers(ctx);
        }
    }

    /// This broker stopped leading `pidx`: the ids there go with it.
    /// Leaders whose adds were queued behind a write hear NOT_COORDINATOR, so
    /// they answer their producers (which find the next coordinator).
    pub(crate) fn unload_txns(&mut self, ctx: &mut Ctx, pidx: u32) {
        let cluster = self.cluster.clone();
        let mut queued = Vec::new();
        self.transactions.txns.retain(|&t, m| {
            let keep = cluster.txn_ids.get(t as usize).is_some_and(|i| i.state_pidx != pidx);
            if !keep {
                queued.append(&mut m.queued_adds);
            }
            keep
        });
        let error = Some(ErrorCode::NotCoordinator);
        for (leader, pid, epoch, pidx) in queued {
            ctx.send(
                Node::Broker(leader),
                Msg::Broker(BrokerMsg::AddPartitionsToTxnResponse { pid, epoch, pidx, error }),
            );
        }
    }

    /// A control batch for the producer's transaction on `pidx` (the leader's side
    /// of WriteTxnMarkers). Returns the log end after it.
    fn append_marker(&mut self, ctx: &mut Ctx, pidx: u32, pid: u32, epoch: u16, commit: bool) -> Result<u64, ErrorCode> {
        let broker = self.id;
        let r = self.replica_mut(pidx).ok_or(ErrorCode::NotLeaderOrFollower)?;
        if r.role != Role::Leader {
            return Err(ErrorCode::NotLeaderOrFollower);
        }
        if r.known.isr.len() < (r.min_isr as usize).min(r.followers.len()) {
            return Err(ErrorCode::NotEnoughReplicas);
        }
        let batch = Batch {
            base_offset: 0,
            records: 1,
            bytes: 80,
            epoch: r.known.leader_epoch,
            producer: crate::kafka::log::INTERNAL_WRITER,
            pid,
            txn: if commit { TxnMark::Commit } else { TxnMark::Abort },
            audit_seq: 0,
            idem: Some((epoch, 0)),
            created_us: ctx.now,
            created_end_us: ctx.now,
            payload: None,
        };
        let appended = Appended::of(&batch, r.log.leo);
        r.log.append(batch);
        let end = r.log.leo;
        ctx.observe(Obs::Appended { pidx, broker, batch: appended });
        Ok(end)
    }
}
