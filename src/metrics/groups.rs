//! What each consumer group did, built from the observations of its coordinator
//! and its members: every rebalance with its cause, steps, and what stopped
//! being consumed (for the timeline and the `rebalances` of the summary), the
//! records consumed and consumed again, and the offsets lag is measured from.

use crate::kafka::obs::{Delivery, RebalanceObs, ShareObs};
use crate::sim::Micros;
use serde::Serialize;
use std::collections::BTreeMap;

/// Rebalances kept per group for the timeline and the summary.
pub const HISTORY: usize = 200;
/// Steps kept per rebalance.
const MAX_STEPS: usize = 2_000;

/// One step of a rebalance, for the sequence diagram.
#[derive(Debug, Clone, Serialize)]
pub struct RebalanceStep {
    pub at_us: Micros,
    /// join, join_complete, sync, assign, revoke, leave, prepare, target,
    /// member_id_required, initial_delay (extended), replace (static member back)
    pub kind: &'static str,
    pub member: String,
    pub partitions: Vec<u32>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Rebalance {
    pub group: String,
    pub generation: i32,
    pub cause: &'static str,
    pub started_us: Micros,
    pub completed_us: Option<Micros>,
    pub moved_partitions: u32,
    pub revoked_partitions: u32,
    pub paused_partition_us: u64,
    /// member id -> partitions (global indices), before and after.
    pub before: BTreeMap<String, Vec<u32>>,
    pub after: BTreeMap<String, Vec<u32>>,
    pub steps: Vec<RebalanceStep>,
}

#[derive(Debug, Clone, Default)]
pub struct GroupReport {
    pub id: String,
    /// The latest rebalances (at most `HISTORY`), oldest first.
    pub history: Vec<Rebalance>,
    /// Rebalances dropped from the front of `history`.
    pub history_base: usize,
    /// Steps that belong to the next rebalance (MEMBER_ID_REQUIRED before it starts).
    early_steps: Vec<RebalanceStep>,
    /// Partition -> (paused since, rebalance number) until its new owner's first fetch.
    paused_since: crate::sim::VecMap<u32, (Micros, usize)>,
    /// Per partition, the end of what was ever delivered: below it is a redelivery.
    delivered_upto: BTreeMap<u32, u64>,
    pub consumed: u64,
    pub redelivered: u64,
    /// Where the group first started reading each partition (lag before any commit).
    pub start_offsets: BTreeMap<u32, u64>,
    /// Committed offsets, as the coordinator applied them; for a share group,
    /// each share-partition's start offset (SPSO), so lag counts what is not yet
    /// acknowledged or archived.
    pub committed: BTreeMap<u32, u64>,
    /// Share groups only (KIP-932).
    pub share: Option<ShareReport>,
}

/// What a share group did: records handed to members (each delivery counts),
/// redelivered (handed out before: released, expired, or in flight at a leader
/// that failed over, where the delivery count starts again from what was
/// persisted), acknowledged (ACCEPT) and archived (the delivery count limit, or
/// REJECT) at the share-partition leaders.
#[derive(Debug, Clone, Default)]
pub struct ShareReport {
    pub delivered: u64,
    pub acknowledged: u64,
    pub redelivered: u64,
    pub archived: u64,
    /// Member number -> records delivered to it.
    pub per_member: BTreeMap<u32, u64>,
    /// Records delivered with each delivery count (index 0 unused).
    pub by_delivery_count: Vec<u64>,
    /// Per partition, the offset ranges ever delivered (first -> end), merged.
    seen: crate::sim::VecMap<u32, BTreeMap<u64, u64>>,
}

/// Adds `first..end` to a set of disjoint ranges; returns how much of it was already there.
fn add_range(set: &mut BTreeMap<u64, u64>, first: u64, end: u64) -> u64 {
    let touching: Vec<(u64, u64)> = set.range(..=end).rev().take_while(|(_, &e)| e >= first).map(|(&s, &e)| (s, e)).collect();
    let (mut lo, mut hi, mut overlap) = (first, end, 0);
    for (s, e) in touching {
        overlap += e.min(end).saturating_sub(s.max(first));
        lo = lo.min(s);
        hi = hi.max(e);
        set.remove(&s);
    }
    set.insert(lo, hi);
    overlap
}

impl GroupReport {
    pub fn new(id: String, share: bool) -> GroupReport {
        GroupReport {
            id,
            share: share.then(ShareReport::default),
            ..GroupReport::default()
        }
    }

    /// A share-partition leader's report: acknowledged and archived records, and
    /// the share-partition start offset lag is measured from.
    pub fn share_obs(&mut self, what: &ShareObs) {
        let Some(s) = self.share.as_mut() else { return };
        match what {
            ShareObs::Init { pidx, start, .. } | ShareObs::Acquired { pidx, start, .. } => {
                self.committed.insert(*pidx, *start);
            }
            ShareObs::Unlocked {
                pidx,
                acknowledged,
                archived,
                start,
                ..
            } => {
                s.acknowledged += acknowledged;
                s.archived += archived;
                self.committed.insert(*pidx, *start);
            }
        }
    }

    /// Every rebalance so far, counting those dropped from the history.
    pub fn rebalances(&self) -> usize {
        self.history_base + self.history.len()
    }

    /// The rebalance in progress (or the last one), by its absolute number.
    fn current(&self) -> Option<usize> {
        (!self.history.is_empty()).then(|| self.history_base + self.history.len() - 1)
    }

    fn get_mut(&mut self, n: usize) -> Option<&mut Rebalance> {
        n.checked_sub(self.history_base).and_then(|i| self.history.get_mut(i))
    }

    fn pause(&mut self, now: Micros, partitions: &[u32], n: usize) {
        for &p in partitions {
            self.paused_since.get_or_insert_with(p, || (now, n));
        }
    }

    pub fn rebalance(&mut self, now: Micros, what: RebalanceObs) {
        match what {
            RebalanceObs::Started {
                generation,
                cause,
                before,
                after,
                revoked,
                pause,
            } => {
                self.history.push(Rebalance {
                    group: self.id.clone(),
                    generation,
                    cause,
                    started_us: now,
                    completed_us: None,
                    moved_partitions: 0,
                    revoked_partitions: revoked,
                    paused_partition_us: 0,
                    before,
                    after,
                    steps: std::mem::take(&mut self.early_steps),
                });
                if self.history.len() > HISTORY {
                    self.history.remove(0);
                    self.history_base += 1;
                }
                let n = self.current().unwrap_or(0);
                self.pause(now, &pause, n);
            }
            RebalanceObs::Step { kind, member, partitions } => {
                // A first JoinGroup answered MEMBER_ID_REQUIRED does not start a
                // rebalance; its rejoin does. It opens the next one in the timeline.
                let idle = self.history.last().is_none_or(|r| r.completed_us.is_some());
                if kind == "member_id_required" && idle {
                    if self.early_steps.len() < MAX_STEPS {
                        self.early_steps.push(RebalanceStep {
                            at_us: now,
                            kind,
                            member,
                            partitions,
                        });
                    }
                } else if let Some(r) = self.history.last_mut() {
                    if r.steps.len() < MAX_STEPS {
                        r.steps.push(RebalanceStep {
                            at_us: now,
                            kind,
                            member,
                            partitions,
                        });
                    }
                }
            }
            RebalanceObs::Generation { generation } => {
                if let Some(r) = self.history.last_mut() {
                    r.generation = generation;
                }
            }
            RebalanceObs::Completed { after } => {
                if let Some(r) = self.history.last_mut() {
                    if let Some(after) = after {
                        let owner_before: BTreeMap<u32, &String> = crate::sim::map_from(r.before.iter().flat_map(|(id, ps)| ps.iter().map(move |p| (*p, id))));
                        r.moved_partitions = after
                            .iter()
                            .flat_map(|(id, ps)| ps.iter().map(move |p| (*p, id)))
                            .filter(|(p, id)| owner_before.get(p) != Some(id))
                            .count() as u32;
                        r.after = after;
                    }
                    r.completed_us = Some(now);
                }
            }
            RebalanceObs::Revoked { partitions } => {
                if let Some(n) = self.current() {
                    self.pause(now, &partitions, n);
                    if let Some(r) = self.get_mut(n) {
                        r.revoked_partitions += partitions.len() as u32;
                    }
                }
            }
            RebalanceObs::Granted { member, partitions } => {
                if let Some(r) = self.history.last_mut() {
                    let moved = partitions
                        .iter()
                        .filter(|p| r.before.iter().any(|(id, ps)| *id != member && ps.contains(p)))
                        .count();
                    r.moved_partitions += moved as u32;
                }
            }
            RebalanceObs::MemberGone {
                member,
                partitions,
                next,
                record_before,
            } => {
                if let Some(n) = self.current() {
                    self.pause(now, &partitions, n + usize::from(next));
                    if record_before {
                        if let Some(r) = self.get_mut(n) {
                            r.before.entry(member).or_insert(partitions);
                        }
                    }
                }
            }
            RebalanceObs::Resumed { pidx } => {
                if let Some((since, n)) = self.paused_since.remove(&pidx) {
                    if let Some(r) = self.get_mut(n) {
                        r.paused_partition_us += now.saturating_sub(since);
                    }
                }
            }
        }
    }

    /// Records handed to the application: consumed, and consumed again (below what
    /// was ever delivered of the partition).
    pub fn delivered(&mut self, d: &Delivery) {
        if let Some(s) = self.share.as_mut() {
            // No order: a redelivery is a record handed out before, wherever it is.
            let count = usize::from(d.delivery_count);
            s.delivered += d.records;
            let again = add_range(s.seen.get_or_insert_with(d.pidx, BTreeMap::new), d.offset, d.offset + d.records);
            s.redelivered += again;
            self.redelivered += again;
            *s.per_member.entry(d.consumer).or_default() += d.records;
            if s.by_delivery_count.len() <= count {
                s.by_delivery_count.resize(count + 1, 0);
            }
            s.by_delivery_count[count] += d.records;
            self.consumed += d.records;
            return;
        }
        let upto = self.delivered_upto.entry(d.pidx).or_insert(0);
        let again = upto.saturating_sub(d.offset).min(d.records);
        *upto = (*upto).max(d.offset + d.records);
        self.consumed += d.records;
        self.redelivered += again;
    }
}
