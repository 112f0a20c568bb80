//! The transactional producer (Kafka's TransactionManager with transaction
//! protocol 2, KIP-890): find the transaction coordinator, InitProducerId (which
//! fences older instances of the transactional id), then transactions one after
//! another: records go out with the transaction's epoch, the partition leaders
//! add their partitions to it, and after `transaction_ms` the producer flushes
//! and sends EndTxn. The answer carries the bumped epoch of the next one.
//!
//! An abortable error (a batch that expired or was refused) makes the next end
//! an abort; PRODUCER_FENCED or INVALID_PRODUCER_EPOCH is fatal: a newer
//! instance took over, and this one stops. Records that arrive while a
//! transaction ends wait for the next one (the application is blocked in
//! `commitTransaction`).

use super::Producer;
use crate::kafka::notable::Notable;
use crate::kafka::obs::Obs;
use crate::kafka::protocol::{BrokerMsg, Msg, TxnRequest};
use crate::kafka::types::ErrorCode;
use crate::kafka::Ctx;
use crate::sim::{Micros, Node, MS};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxnPhase {
    /// Looking for the coordinator and a producer id.
    Init,
    /// Writing the current transaction.
    Open,
    /// Flushing, then EndTxn (commit or abort).
    Ending { commit: bool },
    /// A newer instance fenced this one: it does nothing more.
    Fenced,
}

#[derive(Debug, Clone)]
pub struct TxnClient {
    /// The transactional id's index.
    pub txn: u32,
    pub phase: TxnPhase,
    pub coordinator: Option<u32>,
    /// The request in flight to the coordinator: (request id, sent at).
    in_flight: Option<(u64, Micros)>,
    retry_at: Micros,
    pub pid: u32,
    pub epoch: u16,
    pub began_at: Micros,
    /// Batches of the current transaction went out.
    pub sent: bool,
    /// An error makes a commit impossible: the transaction ends in an abort.
    pub abortable: bool,
    /// Records that arrived while the transaction ended: (partition or u32::MAX
    /// for null keys, records), written in the next one.
    held: Vec<(u32, u64)>,
    pub committed: u64,
    pub aborted: u64,
}

impl TxnClient {
    pub fn new(txn: u32) -> TxnClient {
        TxnClient {
            txn,
            phase: TxnPhase::Init,
            coordinator: None,
            in_flight: None,
            retry_at: 0,
            pid: 0,
            epoch: 0,
            began_at: 0,
            sent: false,
            abortable: false,
            held: Vec::new(),
            committed: 0,
            aborted: 0,
        }
    }

    /// New records go into the accumulator only while a transaction is open.
    pub fn accepts_records(&self) -> bool {
        self.phase == TxnPhase::Open
    }

    pub fn may_send(&self) -> bool {
        matches!(self.phase, TxnPhase::Open | TxnPhase::Ending { .. })
    }

    pub fn hold(&mut self, part: u32, n: u64) {
        if self.phase == TxnPhase::Fenced {
            return;
        }
        match self.held.iter_mut().find(|h| h.0 == part) {
            Some(h) => h.1 += n,
            None => self.held.push((part, n)),
        }
    }

    /// The connection to `broker` was reset: a request to it as coordinator is lost.
    pub fn coordinator_lost(&mut self, broker: u32) {
        if self.coordinator == Some(broker) || self.coordinator.is_none() {
            self.in_flight = None;
            self.coordinator = None;
        }
    }

    pub fn state_name(&self) -> &'static str {
        match self.phase {
            TxnPhase::Init => "initializing",
            TxnPhase::Open => "in transaction",
            TxnPhase::Ending { commit: true } => "committing",
            TxnPhase::Ending { commit: false } => "aborting",
            TxnPhase::Fenced => "fenced",
        }
    }
}

impl Producer {
    fn txn_request(&mut self, ctx: &mut Ctx, to: u32, req: TxnRequest) -> u64 {
        let req_id = self.next_req_id;
        self.next_req_id += 1;
        if let Some(t) = self.txn.as_mut() {
            t.in_flight = Some((req_id, ctx.now));
        }
        ctx.send(Node::Broker(to), Msg::Broker(BrokerMsg::Txn(Box::new(req))));
        req_id
    }

    /// Drives the transaction: find the coordinator, get a producer id, end the
    /// transaction when it is due and flushed.
    pub(super) fn txn_step(&mut self, ctx: &mut Ctx) {
        let now = ctx.now;
        let request_timeout = self.cfg.request_timeout_ms * MS;
        let Some(t) = self.txn.as_mut() else { return };
        if t.in_flight.is_some_and(|(_, at)| now.saturating_sub(at) > request_timeout) {
            t.in_flight = None;
            t.coordinator = None;
        }
        if t.in_flight.is_some() || now < t.retry_at || t.phase == TxnPhase::Fenced {
            return;
        }
        let txn = t.txn;
        // A processing member's producer ends its transactions when the member commits.
        if t.phase == TxnPhase::Open && self.app.is_none() && now >= t.began_at + self.cfg.transaction_ms * MS {
            let queued = self.acc.iter().any(|q| !q.is_empty());
            let t = self.txn.as_mut().expect("checked");
            if t.sent || queued {
                t.phase = TxnPhase::Ending { commit: !t.abortable };
            } else {
                // Nothing written: the next transaction starts now.
                t.began_at = now;
            }
        }
        let t = self.txn.as_ref().expect("checked");
        match t.phase {
            TxnPhase::Init | TxnPhase::Ending { .. } if t.coordinator.is_none() => {
                let to = self.metadata_target % self.cluster.brokers();
                self.metadata_target += 1;
                let req_id = self.next_req_id;
                self.txn_request(ctx, to, TxnRequest::FindCoordinator { req_id, txn });
            }
            TxnPhase::Init => {
                let to = t.coordinator.expect("checked");
                let req_id = self.next_req_id;
                let timeout_us = self.cfg.transaction_timeout_ms * MS;
                self.txn_request(ctx, to, TxnRequest::InitProducerId { req_id, txn, timeout_us });
            }
            TxnPhase::Ending { commit } => {
                if !commit {
                    // abortTransaction: batches not sent yet are dropped.
                    let dropped: u64 = self.acc.iter().flat_map(|q| q.iter()).map(|b| u64::from(b.records)).sum();
                    if dropped > 0 {
                        self.acc.iter_mut().for_each(|q| q.clear());
                        ctx.observe(Obs::TxnRecordsDropped(dropped));
                    }
                }
                let flushed = self.acc.iter().all(|q| q.is_empty()) && self.in_flight.is_empty();
                if !flushed {
                    return;
                }
                let to = t.coordinator.expect("checked");
                let (pid, epoch) = (t.pid, t.epoch);
                if !t.sent {
                    // Nothing reached a leader: there is nothing to end.
                    self.begin_txn(ctx, pid, epoch);
                    self.app_txn_ended(ctx, false);
                    return;
                }
                let req_id = self.next_req_id;
                self.txn_request(
                    ctx,
                    to,
                    TxnRequest::EndTxn {
                        req_id,
                        txn,
                        pid,
                        epoch,
                        commit,
                    },
                );
            }
            TxnPhase::Open | TxnPhase::Fenced => {}
        }
    }

    /// A new transaction with this producer id and epoch: sequences restart at 0,
    /// and the records held while the last one ended go in.
    fn begin_txn(&mut self, ctx: &mut Ctx, pid: u32, epoch: u16) {
        let now = ctx.now;
        self.pepoch = epoch;
        self.unresolved.iter_mut().for_each(|u| *u = None);
        let linger = self.cfg.linger_ms.max(1) * MS;
        let held = {
            let t = self.txn.as_mut().expect("transactional");
            t.pid = pid;
            t.epoch = epoch;
            t.phase = TxnPhase::Open;
            t.began_at = now;
            t.sent = false;
            t.abortable = false;
            std::mem::take(&mut t.held)
        };
        for (part, n) in held {
            if part == u32::MAX {
                self.add_null_key_records(ctx, n, now, linger);
            } else {
                self.add_records(part, n, now, linger);
            }
        }
        self.app_release_held(ctx);
    }

    /// An error that only an abort can clear (a batch refused or expired).
    pub(super) fn txn_abortable(&mut self) {
        if let Some(t) = self.txn.as_mut() {
            t.abortable = true;
            // Also while flushing for a commit: commitTransaction() then throws and
            // the application aborts (EndTxn goes only once everything is answered,
            // so it was not sent yet).
            if matches!(t.phase, TxnPhase::Open | TxnPhase::Ending { commit: true }) {
                t.phase = TxnPhase::Ending { commit: false };
            }
        }
    }

    /// The `abort_transaction` action.
    pub fn abort_transaction(&mut self, ctx: &mut Ctx) {
        self.txn_abortable();
        self.txn_step(ctx);
    }

    /// A newer instance took over: fatal.
    pub(super) fn txn_fenced(&mut self, ctx: &mut Ctx) {
        let Some(t) = self.txn.as_mut() else { return };
        if t.phase == TxnPhase::Fenced {
            return;
        }
        t.phase = TxnPhase::Fenced;
        let dropped: u64 = self.acc.iter().flat_map(|q| q.iter()).map(|b| u64::from(b.records)).sum();
        self.acc.iter_mut().for_each(|q| q.clear());
        if dropped > 0 {
            ctx.observe(Obs::TxnRecordsDropped(dropped));
        }
        ctx.observe(Obs::ProducerFenced { producer: self.instance });
        self.app_txn_ended(ctx, false);
        ctx.observe(Obs::note(Notable::Text(format!(
            "producer {} (instance {}) is fenced: a newer instance of its transactional id took over (ProducerFencedException), and it stops",
            self.cfg.id,
            self.instance & 0xFFFF
        ))));
    }

    pub(super) fn on_txn_coordinator(&mut self, ctx: &mut Ctx, req_id: u64, broker: Option<u32>) {
        let retry = self.cfg.retry_backoff_ms * MS;
        let Some(t) = self.txn.as_mut() else { return };
        if t.in_flight.map(|f| f.0) != Some(req_id) {
            return;
        }
        t.in_flight = None;
        t.coordinator = broker;
        if broker.is_none() {
            t.retry_at = ctx.now + retry;
        }
        self.txn_step(ctx);
    }

    pub(super) fn on_txn_answer(&mut self, ctx: &mut Ctx, req_id: u64, result: Result<(u32, u16), ErrorCode>, end: bool) {
        let retry = self.cfg.retry_backoff_ms * MS;
        let Some(t) = self.txn.as_mut() else { return };
        if t.in_flight.map(|f| f.0) != Some(req_id) {
            return;
        }
        t.in_flight = None;
        match result {
            Ok((pid, epoch)) => {
                let mut ended = None;
                if let (true, TxnPhase::Ending { commit }) = (end, t.phase) {
                    if commit {
                        t.committed += 1;
                    } else {
                        t.aborted += 1;
                    }
                    ended = Some(commit);
                }
                self.begin_txn(ctx, pid, epoch);
                if let Some(commit) = ended {
                    self.app_txn_ended(ctx, commit);
                }
                for b in 0..self.cluster.brokers() {
                    self.drain(ctx, b);
                }
            }
            Err(ErrorCode::ProducerFenced | ErrorCode::InvalidProducerEpoch) => self.txn_fenced(ctx),
            Err(ErrorCode::InvalidTxnState) => {
                // The coordinator has no such transaction to commit: abort instead.
                t.phase = TxnPhase::Ending { commit: false };
                t.retry_at = ctx.now + retry;
            }
            Err(ErrorCode::ConcurrentTransactions) => t.retry_at = ctx.now + retry.min(20 * MS),
            Err(_) => {
                t.coordinator = None;
                t.retry_at = ctx.now + retry;
            }
        }
        self.txn_step(ctx);
    }
}
