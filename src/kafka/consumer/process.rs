//! Consume-transform-produce (Kafka Streams' loop, `processing_guarantee`):
//! a member of a processing group hands one output record per input record to
//! its own producer, and every `commit.interval.ms` stops processing to commit.
//!
//! - exactly_once_v2: the producer sends the member's offsets with its group
//!   metadata into the transaction and commits it; outputs and offsets count
//!   together. If the transaction aborts (the member lost partitions while it
//!   was open, a zombie's commit was refused by generation, a send failed, the
//!   producer was fenced), the member drops what it fetched and goes back to
//!   its committed offsets: the aborted outputs are never read (read_committed),
//!   and the inputs are processed again.
//! - at_least_once: the producer flushes, then the member commits its offsets
//!   (OffsetCommit). Inputs processed after the last commit are processed again
//!   after a crash or a rebalance: their outputs repeat.

use super::Consumer;
use crate::kafka::protocol::{AppCall, Msg, ProducerMsg};
use crate::kafka::Ctx;
use crate::sim::{Micros, Node, MS};

/// Offsets being committed, and the generation they were taken in.
type Commit = (Vec<(u32, u64)>, i32);

#[derive(Debug, Clone)]
pub struct Processing {
    /// The member's producer node (the engine links it when it starts the member).
    pub producer: Option<u32>,
    pub exactly_once: bool,
    /// Partitions of the output topic: input partition i writes to i mod this.
    out_parts: u32,
    interval: Micros,
    last_commit: Micros,
    /// Waiting for the producer: the offsets being committed with the
    /// generation they were taken in (at_least_once commits them after the
    /// flush), or None for an abort.
    waiting: Option<Option<Commit>>,
    /// Records processed since the last commit.
    dirty: bool,
    /// Partitions left while the transaction held their outputs: abort first.
    abort_due: bool,
    /// Back to the committed offsets: OffsetFetch (again, if the coordinator was away).
    pub refetch: bool,
    /// How many times the member went back to its committed offsets: its sends
    /// carry it, so its producer drops what was processed before the last one.
    rewinds: u32,
}

impl Processing {
    pub fn new(exactly_once: bool, out_parts: u32, interval_ms: u64) -> Processing {
        Processing {
            producer: None,
            exactly_once,
            out_parts: out_parts.max(1),
            interval: interval_ms * MS,
            last_commit: 0,
            waiting: None,
            dirty: false,
            abort_due: false,
            refetch: false,
            rewinds: 0,
        }
    }

    /// A new process of the same member.
    pub fn restarted(&self) -> Processing {
        Processing {
            producer: self.producer,
            ..Processing::new(self.exactly_once, self.out_parts, self.interval / MS)
        }
    }
}

impl Consumer {
    fn app_call(&self, ctx: &mut Ctx, call: AppCall) {
        if let Some(p) = self.processing.as_ref().and_then(|pr| pr.producer) {
            ctx.send(Node::Client(p), Msg::Producer(ProducerMsg::App(Box::new(call))));
        }
    }

    /// The application processed records [offset, offset + n) of `pidx`: one output each.
    pub(super) fn app_processed(&mut self, ctx: &mut Ctx, pidx: u32, offset: u64, n: u64) {
        let Some(pr) = self.processing.as_mut() else { return };
        pr.dirty = true;
        let part = self.setup.cluster.part(pidx).index % pr.out_parts;
        let rewinds = pr.rewinds;
        self.app_call(
            ctx,
            AppCall::Send {
                part,
                n,
                source: (pidx, offset),
                rewinds,
            },
        );
    }

    /// The processing turn of a poll: true while the loop is blocked in a commit.
    pub(super) fn app_turn(&mut self, ctx: &mut Ctx) -> bool {
        let now = ctx.now;
        let Some(pr) = self.processing.as_mut() else { return false };
        if pr.waiting.is_some() {
            return true;
        }
        if std::mem::take(&mut pr.abort_due) && pr.dirty {
            pr.waiting = Some(None);
            self.app_call(ctx, AppCall::Abort);
            return true;
        }
        let due = pr.dirty && now >= pr.last_commit + pr.interval;
        let unplaced = || self.assigned.iter().any(|p| !self.positions.contains_key(p) && !self.to_reset.contains(p));
        if self.coordinator.is_some() && self.offsets_req.is_none() && (pr.refetch || unplaced()) {
            // Back to the committed offsets: asked again when the question was lost
            // (the coordinator away or moved); an answer only places partitions
            // still without a position.
            pr.refetch = false;
            self.request_offsets(ctx);
        }
        let Some(coordinator) = self.coordinator.filter(|_| due && !self.member_id.is_empty()) else {
            return false;
        };
        let offsets: Vec<(u32, u64)> = self.uncommitted().into_iter().filter(|(p, _)| self.assigned.contains(p)).collect();
        let pr = self.processing.as_mut().expect("checked");
        if offsets.is_empty() {
            pr.dirty = false;
            return false;
        }
        pr.waiting = Some(Some((offsets.clone(), self.generation)));
        let (member_id, generation) = (self.member_id.clone(), self.generation);
        self.app_call(
            ctx,
            AppCall::Commit {
                coordinator,
                member_id,
                generation,
                offsets,
            },
        );
        true
    }

    /// Partitions leave the member while its transaction holds their outputs
    /// (exactly_once_v2): the transaction aborts, and the member restarts from
    /// its committed offsets. A commit under way forgets their offsets: the
    /// member may get them back in the same generation (a KIP-848 member fenced
    /// and rejoining at an unchanged group epoch) but starts them again from
    /// the committed offset, below what it had taken.
    pub(super) fn app_partitions_lost(&mut self, parts: &[u32]) {
        let Some(pr) = self.processing.as_mut() else { return };
        if let Some(Some((offsets, _))) = pr.waiting.as_mut() {
            offsets.retain(|(p, _)| !parts.contains(p));
        }
        if pr.exactly_once && pr.dirty && pr.waiting.is_none() {
            pr.abort_due = true;
        }
    }

    /// The producer's answer: committed (or flushed), or aborted.
    pub(super) fn on_app_done(&mut self, ctx: &mut Ctx, committed: bool, coordinator_moved: bool) {
        let now = ctx.now;
        if coordinator_moved {
            // NOT_COORDINATOR for the transaction's offsets: find the group's coordinator again.
            self.coordinator = None;
        }
        let Some(pr) = self.processing.as_mut() else { return };
        let (offsets, generation) = pr.waiting.take().flatten().unwrap_or_default();
        pr.last_commit = now;
        pr.dirty = false;
        let exactly_once = pr.exactly_once;
        if committed && exactly_once {
            for (p, o) in offsets {
                self.committed.insert(p, o);
            }
        } else if committed {
            // at_least_once: every output is acknowledged; now the offsets, unless
            // a rebalance came in between (Kafka Streams flushes and commits in one
            // turn of its loop, where no rebalance can happen): what moved is
            // processed again by its new owner.
            let offsets: Vec<(u32, u64)> = offsets.into_iter().filter(|(p, _)| self.assigned.contains(p)).collect();
            let same = generation == self.generation;
            if same && self.commit_in_flight.is_none() && !offsets.is_empty() && !self.member_id.is_empty() {
                let req_id = self.req();
                self.send_offset_commit(ctx, req_id, offsets);
            }
        } else {
            // Back to the committed offsets: what was fetched or in flight is stale,
            // and so is what was sent before this answer came.
            if let Some(pr) = self.processing.as_mut() {
                pr.rewinds += 1;
            }
            let all = self.assigned.clone();
            self.stop_fetching(&all);
            self.fetches.clear();
            // Nothing consumed counts until the committed offsets are back: a
            // commit meanwhile would skip what the abort took back.
            for p in &all {
                self.consumed.remove(p);
            }
            self.request_offsets(ctx);
            if self.offsets_req.is_none() {
                if let Some(pr) = self.processing.as_mut() {
                    pr.refetch = true;
                }
            }
        }
        self.schedule_poll(ctx, 0);
    }
}
