//! The producer of a processing group's member (Kafka Streams' thread
//! producer): the member's application hands it one output record per input
//! record it processed (`send`), and every `commit.interval.ms` asks it to
//! commit.
//!
//! - exactly_once_v2: `sendOffsetsToTransaction` (a TxnOffsetCommit to the
//!   group coordinator with the member's id and generation, KIP-447), then
//!   `commitTransaction`. Outputs and input offsets commit together or not at
//!   all. An error aborts the transaction, and the member goes back to its
//!   committed offsets; a fenced producer is replaced by a new one (the engine
//!   starts it), as a Streams thread does after a TaskMigratedException.
//! - at_least_once: `flush()`, and the member commits its offsets once every
//!   output it sent is acknowledged. A failed send makes the member go back to
//!   its committed offsets instead: outputs may repeat, never go missing.
//!
//! The member and this producer are one process: what they say to each other
//! crosses no network (the engine delivers it at once).

use super::{Producer, TxnPhase};
use crate::kafka::obs::Obs;
use crate::kafka::protocol::{AppCall, BrokerMsg, ConsumerMsg, Msg, TxnCommitError, TxnRequest};
use crate::kafka::types::ErrorCode;
use crate::kafka::Ctx;
use crate::sim::{Micros, Node, MS};

#[derive(Debug, Clone)]
pub struct AppLink {
    /// The member's consumer node and group.
    pub consumer: u32,
    pub group: u32,
    /// Outputs sent before the first transaction began: (partition, records, source).
    held: Vec<(u32, u64, (u32, u64))>,
    /// A commit asked for: at_least_once waits for the flush; exactly_once has
    /// its TxnOffsetCommit in flight to a broker, (request id, broker, sent at).
    commit: Option<Option<(u64, u32, Micros)>>,
    /// at_least_once: a send failed since the last commit.
    failed: bool,
    /// The group coordinator answered NOT_COORDINATOR: the member looks it up again.
    coordinator_moved: bool,
    /// The member's returns to its committed offsets this producer told it of:
    /// a send made before the last one is stale (its input is processed again).
    rewinds: u32,
}

impl AppLink {
    pub fn new(consumer: u32, group: u32) -> AppLink {
        AppLink {
            consumer,
            group,
            held: Vec::new(),
            commit: None,
            failed: false,
            coordinator_moved: false,
            rewinds: 0,
        }
    }

    /// A replacement producer for the same member process (after fencing): it
    /// knows how often the member went back.
    pub fn restarted(&self) -> AppLink {
        AppLink {
            rewinds: self.rewinds,
            ..AppLink::new(self.consumer, self.group)
        }
    }

    /// The member's process started again: its count starts again too.
    pub fn reset(&mut self) {
        *self = AppLink::new(self.consumer, self.group);
    }
}

impl Producer {
    fn app_done(&mut self, ctx: &mut Ctx, committed: bool) {
        let Some(a) = self.app.as_mut() else { return };
        a.commit = None;
        a.failed = false;
        if !committed {
            a.rewinds += 1;
        }
        let coordinator_moved = std::mem::take(&mut a.coordinator_moved);
        let consumer = a.consumer;
        ctx.send(Node::Consumer(consumer), Msg::Consumer(ConsumerMsg::AppDone { committed, coordinator_moved }));
    }

    /// Outputs of input records go into the accumulator, tagged for the audit.
    fn app_send(&mut self, ctx: &mut Ctx, part: u32, n: u64, source: (u32, u64)) {
        if part >= self.n {
            return;
        }
        let group = self.app.as_ref().map_or(0, |a| a.group);
        match self.txn.as_ref().map(|t| t.phase) {
            Some(TxnPhase::Init) => {
                if let Some(a) = self.app.as_mut() {
                    a.held.push((part, n, source));
                }
                return;
            }
            Some(TxnPhase::Ending { .. } | TxnPhase::Fenced) => {
                ctx.observe(Obs::TxnRecordsDropped(n));
                return;
            }
            Some(TxnPhase::Open) | None => {}
        }
        let linger = self.cfg.linger_ms.max(1) * MS;
        ctx.observe(Obs::AppOutput {
            group,
            instance: self.instance,
            pidx: self.first + part,
            seq: self.next_audit_seq[part as usize],
            records: n,
            source,
        });
        ctx.observe(Obs::Produced(n));
        self.add_records(part, n, ctx.now, linger);
    }

    /// A new transaction began: what the application sent before it goes in.
    pub(super) fn app_release_held(&mut self, ctx: &mut Ctx) {
        let held = match self.app.as_mut() {
            Some(a) if !a.held.is_empty() => std::mem::take(&mut a.held),
            _ => return,
        };
        for (part, n, source) in held {
            self.app_send(ctx, part, n, source);
        }
    }

    pub(super) fn on_app(&mut self, ctx: &mut Ctx, call: AppCall) {
        match call {
            AppCall::Send { part, n, source, rewinds } => {
                if self.app.as_ref().is_some_and(|a| a.rewinds == rewinds) {
                    self.app_send(ctx, part, n, source);
                } else {
                    // Processed before the member heard of an abort: it processes it again.
                    ctx.observe(Obs::TxnRecordsDropped(n));
                }
            }
            AppCall::Commit {
                coordinator,
                member_id,
                generation,
                offsets,
            } => {
                let Some(t) = self.txn.as_ref() else {
                    // at_least_once: flush, then the member commits.
                    if let Some(a) = self.app.as_mut() {
                        a.commit = Some(None);
                    }
                    self.app_check_flushed(ctx);
                    return;
                };
                if t.phase != TxnPhase::Open {
                    if let Some(a) = self.app.as_mut() {
                        a.held.clear();
                    }
                    self.app_done(ctx, false);
                    return;
                }
                let (pid, epoch) = (t.pid, t.epoch);
                let group = self.app.as_ref().map_or(0, |a| a.group);
                let req_id = self.next_req_id;
                self.next_req_id += 1;
                if let Some(a) = self.app.as_mut() {
                    a.commit = Some(Some((req_id, coordinator, ctx.now)));
                }
                let req = TxnRequest::TxnOffsetCommit {
                    req_id,
                    group,
                    pid,
                    epoch,
                    member_id,
                    generation,
                    offsets,
                };
                ctx.send(Node::Broker(coordinator), Msg::Broker(BrokerMsg::Txn(Box::new(req))));
            }
            AppCall::Abort => match self.txn.as_ref().map(|t| t.phase) {
                Some(TxnPhase::Open) => {
                    self.txn_abortable();
                    self.txn_step(ctx);
                }
                Some(TxnPhase::Ending { .. }) => {}
                _ => {
                    if let Some(a) = self.app.as_mut() {
                        a.held.clear();
                    }
                    self.app_done(ctx, false);
                }
            },
        }
    }

    /// The group coordinator's answer to sendOffsetsToTransaction.
    pub(super) fn on_txn_offset_commit(&mut self, ctx: &mut Ctx, req_id: u64, error: Option<TxnCommitError>) {
        if self.app.as_ref().is_none_or(|a| a.commit.flatten().is_none_or(|c| c.0 != req_id)) {
            return;
        }
        if let Some(a) = self.app.as_mut() {
            a.commit = Some(None);
        }
        match error {
            None => {
                if let Some(t) = self.txn.as_mut() {
                    // The offsets partition is in the transaction: there is something to end.
                    t.sent = true;
                    if t.phase == TxnPhase::Open {
                        t.phase = TxnPhase::Ending { commit: !t.abortable };
                    }
                }
            }
            Some(TxnCommitError::Txn(ErrorCode::ProducerFenced | ErrorCode::InvalidProducerEpoch)) => {
                self.txn_fenced(ctx);
                return;
            }
            // ILLEGAL_GENERATION, UNKNOWN_MEMBER_ID (a zombie: its partitions moved),
            // or a coordinator that moved: CommitFailedException, abort.
            Some(e) => {
                if matches!(
                    e,
                    TxnCommitError::Group(crate::kafka::protocol::GroupError::NotCoordinator) | TxnCommitError::Txn(ErrorCode::NotCoordinator)
                ) {
                    if let Some(a) = self.app.as_mut() {
                        a.coordinator_moved = true;
                    }
                }
                self.txn_abortable();
            }
        }
        self.txn_step(ctx);
    }

    /// The transaction ended (answered by the coordinator, or nothing to end).
    pub(super) fn app_txn_ended(&mut self, ctx: &mut Ctx, committed: bool) {
        if self.app.is_some() {
            if !committed {
                if let Some(a) = self.app.as_mut() {
                    a.held.clear();
                }
            }
            self.app_done(ctx, committed);
        }
    }

    /// at_least_once: answers the flush once nothing is queued or in flight.
    pub(super) fn app_check_flushed(&mut self, ctx: &mut Ctx) {
        let Some(a) = self.app.as_ref() else { return };
        if a.commit != Some(None) || self.txn.is_some() {
            return;
        }
        if self.acc.iter().all(|q| q.is_empty()) && self.in_flight.is_empty() {
            let ok = !a.failed;
            self.app_done(ctx, ok);
        }
    }

    /// A send failed for good (at_least_once): the next commit must not happen.
    pub(super) fn app_send_failed(&mut self) {
        if let Some(a) = self.app.as_mut() {
            a.failed = true;
        }
    }

    /// sendOffsetsToTransaction unanswered past `request.timeout.ms`, or its
    /// connection reset: the transaction aborts.
    pub(super) fn app_commit_lost(&mut self, ctx: &mut Ctx, broker: Option<u32>) {
        let timeout = self.cfg.request_timeout_ms * MS;
        let now = ctx.now;
        let lost = self
            .app
            .as_ref()
            .and_then(|a| a.commit.flatten())
            .is_some_and(|(_, b, at)| broker.map_or(now.saturating_sub(at) > timeout, |x| x == b));
        if lost {
            if let Some(a) = self.app.as_mut() {
                a.commit = Some(None);
            }
            self.txn_abortable();
            self.txn_step(ctx);
        }
    }
}
