//! Transaction markers. The coordinator, once PrepareCommit or PrepareAbort is
//! written, asks the leader of every partition in the transaction to write a
//! control batch (one WriteTxnMarkers request per leader), sends again where it
//! failed, and writes CompleteCommit or CompleteAbort when all are written.
//! The leader appends the marker with acks=all and answers once it is
//! replicated; the marker ends the producer's transaction there and lets the
//! last stable offset pass it.

use super::{TxnReply, MARKER_RETRY};
use crate::kafka::broker::{Broker, ProduceWait, WaitThen};
use crate::kafka::protocol::{BrokerMsg, Msg};
use crate::kafka::txn::TxnState;
use crate::kafka::types::ErrorCode;
use crate::kafka::Ctx;
use crate::sim::{Micros, Node, MS};

/// The leader gives up on a marker's replication after this (`request.timeout.ms`).
const MARKER_TIMEOUT: Micros = 30_000 * MS;

impl Broker {
    /// Sends the markers that are due, one request per leader and transaction.
    pub(super) fn send_markers(&mut self, ctx: &mut Ctx) {
        let now = ctx.now;
        self.transactions.markers_due = false;
        let mut out: Vec<(u32, u32, u16, bool, Vec<u32>)> = Vec::new();
        for m in self.transactions.txns.values_mut() {
            if !m.state.is_prepare() || m.pending || m.markers_left.is_empty() {
                continue;
            }
            if m.markers_at > now {
                self.transactions.markers_due = true;
                continue;
            }
            m.markers_at = now + MARKER_RETRY;
            let mut by_leader: crate::sim::VecMap<u32, Vec<u32>> = Default::default();
            for &p in &m.markers_left {
                match self.image.get(p as usize).and_then(|x| x.0) {
                    Some(l) => by_leader.entry_or_default(l).push(p),
                    None => self.transactions.markers_due = true,
                }
            }
            for (leader, parts) in by_leader {
                out.push((leader, m.pid, m.epoch, m.state == TxnState::PrepareCommit, parts));
            }
        }
        for (leader, pid, epoch, commit, parts) in out {
            ctx.send(Node::Broker(leader), Msg::Broker(BrokerMsg::WriteTxnMarkers { pid, epoch, commit, parts }));
        }
    }

    /// The leader's answer: written partitions are done; the others go again.
    pub(crate) fn on_markers_written(&mut self, ctx: &mut Ctx, pid: u32, epoch: u16, results: Vec<(u32, Option<ErrorCode>)>) {
        let Some(txn) = crate::kafka::txn::txn_of(pid) else { return };
        let Some(m) = self.transactions.txns.get_mut(&txn) else { return };
        if m.pid != pid || m.epoch != epoch || !m.state.is_prepare() {
            return;
        }
        for (p, e) in results {
            match e {
                None => m.markers_left.retain(|&x| x != p),
                // The producer moved on (a newer epoch wrote there): nothing to end.
                Some(ErrorCode::InvalidProducerEpoch) => m.markers_left.retain(|&x| x != p),
                Some(_) => {
                    self.transactions.markers_due = true;
                    m.markers_at = m.markers_at.min(ctx.now + MARKER_RETRY);
                }
            }
        }
        if m.markers_left.is_empty() && !m.pending {
            let mut next = m.snapshot(txn);
            next.state = if m.state == TxnState::PrepareCommit {
                TxnState::CompleteCommit
            } else {
                TxnState::CompleteAbort
            };
            next.partitions.clear();
            if self.write_txn(ctx, txn, next, TxnReply::Nobody, None).is_err() {
                self.transactions.markers_due = true;
            }
        }
    }

    /// WriteTxnMarkers at a partition leader: a control batch per partition,
    /// answered once replicated.
    pub(crate) fn handle_write_markers(&mut self, ctx: &mut Ctx, tc: u32, pid: u32, epoch: u16, commit: bool, parts: Vec<u32>) {
        let now = ctx.now;
        let mut results: Vec<(u32, Option<Result<u64, ErrorCode>>)> = Vec::with_capacity(parts.len());
        let mut touched = Vec::new();
        for p in parts {
            match self.append_marker(ctx, p, pid, epoch, commit) {
                Ok(end) => {
                    self.txn_offsets_decided(ctx, p, pid, commit);
                    results.push((p, None));
                    touched.push((p, end));
                }
                Err(e) => results.push((p, Some(Err(e)))),
            }
        }
        let done = self.service(now, 20 + 10 * results.len() as u64);
        let pending = touched.len() as u32;
        let wait = ProduceWait {
            client: Node::Broker(tc),
            req_id: 0,
            remaining: pending,
            deadline: now + MARKER_TIMEOUT,
            results,
            then: WaitThen::Markers { pid, epoch },
        };
        if pending == 0 {
            self.finish_wait(ctx, done, wait);
            return;
        }
        let (slot, gen) = self.park_wait(wait);
        for &(p, end) in &touched {
            if let Some(r) = self.replica_mut(p) {
                r.purgatory.push_back((end, slot, gen));
            }
        }
        for (p, _) in touched {
            self.after_leader_append(ctx, p);
        }
    }

    /// Sends the markers' answer to the coordinator.
    pub(crate) fn answer_markers(&mut self, ctx: &mut Ctx, at: Micros, tc: u32, pid: u32, epoch: u16, results: Vec<(u32, Option<Result<u64, ErrorCode>>)>) {
        let results = results
            .into_iter()
            .map(|(p, r)| (p, r.unwrap_or(Err(ErrorCode::RequestTimedOut)).err()))
            .collect();
        ctx.send_at(at, Node::Broker(tc), Msg::Broker(BrokerMsg::WriteTxnMarkersResponse { pid, epoch, results }));
    }
}
