//! Named invariants from the Kafka semantics, checked incrementally by the
//! checker from the nodes' observations, right after what they guard changed. A violation is a
//! simulator bug; it is reported once, when it starts, with time and detail.
//! Losses that a configuration allows are not violations (see `audit`).

use super::shadow::Shadow;
use crate::kafka::obs::Appended;
use crate::kafka::types::PartMeta;
use crate::sim::Micros;
use serde::Serialize;
use std::collections::BTreeSet;

/// The invariants, in the order the UI lists them.
pub const NAMES: &[(&str, &str)] = &[
    ("one_leader_per_epoch", "At most one leader per partition per leader epoch; epochs only grow"),
    (
        "hw_within_isr",
        "A leader's high watermark never exceeds the LEO of an ISR member and never goes back",
    ),
    ("no_acked_write_lost", "With acks=all and clean elections, no acknowledged record is ever lost"),
    ("no_double_assignment", "A group never assigns a partition while another member still owns it"),
    ("committed_offsets_monotonic", "A group's committed offset for a partition never goes backwards"),
    (
        "idempotent_no_duplicates",
        "With idempotence, no duplicate (producer id, sequence) and per-key order kept",
    ),
    (
        "elr_holds_committed",
        "An eligible leader replica holds every committed record and is never in the ISR; the ISR is empty only with ELR, and then there is no leader",
    ),
    ("transactions_end_once", "A transaction ends once: committed or aborted, never both"),
    (
        "exactly_once_outputs",
        "Exactly once: every input record below an exactly_once_v2 group's committed offsets has exactly one committed output",
    ),
    (
        "read_committed_sees_committed",
        "A read_committed consumer gets only records of committed transactions, never of open or aborted ones",
    ),
    (
        "share_acquisition_exclusive",
        "A share-partition leader hands a record to one member at a time (until it is acknowledged, released or its acquisition lock expires), and never more often than the delivery count limit",
    ),
];

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Violation {
    pub name: &'static str,
    pub at_ms: f64,
    pub detail: String,
}

#[derive(Debug, Clone, Default)]
pub struct Invariants {
    pub violations: Vec<Violation>,
    reported: BTreeSet<(&'static str, String)>,
    /// Per partition: the recent (epoch, broker) leadership claims.
    claims: Vec<Vec<(i32, u32)>>,
    /// How many checks ran: shown in the UI so "green" means something.
    pub checks: u64,
}

impl Invariants {
    pub fn new(partitions: usize) -> Invariants {
        Invariants {
            claims: vec![Vec::new(); partitions],
            ..Invariants::default()
        }
    }

    /// Records a violation once per (name, key).
    pub fn violation(&mut self, now: Micros, name: &'static str, detail: String) {
        let key = detail.split(':').next().unwrap_or("").to_string();
        if self.reported.insert((name, key)) && self.violations.len() < 1_000 {
            self.violations.push(Violation {
                name,
                at_ms: now as f64 / 1000.0,
                detail,
            });
        }
    }

    pub fn is_violated(&self, name: &str) -> bool {
        self.violations.iter().any(|v| v.name == name)
    }

    pub fn on_become_leader(&mut self, now: Micros, pidx: u32, broker: u32, epoch: i32) {
        self.checks += 1;
        let claims = &mut self.claims[pidx as usize];
        if let Some(&(e, other)) = claims.iter().find(|c| c.0 == epoch && c.1 != broker) {
            self.violation(
                now,
                "one_leader_per_epoch",
                format!("partition {pidx}: brokers {other} and {broker} both led epoch {e}"),
            );
        } else if let Some(max) = claims.iter().filter(|c| c.1 == broker).map(|c| c.0).max() {
            // Epochs only grow as each broker sees them (the controller's own are checked
            // at its commits). A broker that slept through two leader changes may still
            // act on the older one it reads first, and lead an epoch already passed, as
            // a Kafka broker replaying its metadata would: it is fenced by epoch, not a
            // second leader of any epoch.
            if epoch < max {
                self.violation(
                    now,
                    "one_leader_per_epoch",
                    format!("partition {pidx}: broker {broker} became leader at epoch {epoch} after epoch {max}"),
                );
            }
        }
        let claims = &mut self.claims[pidx as usize];
        claims.push((epoch, broker));
        if claims.len() > 8 {
            claims.remove(0);
        }
    }

    /// `elr_enabled`: eligible leader replicas are on (the ISR may then be empty).
    pub fn on_controller_commit(&mut self, now: Micros, pidx: u32, prev: &PartMeta, next: &PartMeta, elr_enabled: bool) {
        self.checks += 1;
        if next.leader_epoch < prev.leader_epoch || (next.leader != prev.leader && next.leader_epoch <= prev.leader_epoch) {
            self.violation(
                now,
                "one_leader_per_epoch",
                format!(
                    "partition {pidx}: controller moved leader {:?} -> {:?} without a new epoch",
                    prev.leader, next.leader
                ),
            );
        }
        if next.leader.is_some_and(|l| !next.isr.contains(&l)) {
            self.violation(
                now,
                "hw_within_isr",
                format!("partition {pidx}: committed ISR {:?} with leader {:?}", next.isr, next.leader),
            );
        }
        let elr_wrong = if next.isr.is_empty() && !elr_enabled {
            Some("an empty ISR without ELR")
        } else if !elr_enabled && (!next.elr.is_empty() || !next.last_known_elr.is_empty()) {
            Some("eligible leader replicas without ELR")
        } else if next.elr.iter().any(|r| next.isr.contains(r)) {
            Some("a replica in both the ISR and the ELR")
        } else if next.last_known_elr.len() > 1 {
            Some("more than one last known leader")
        } else {
            None
        };
        if let Some(what) = elr_wrong {
            self.violation(
                now,
                "elr_holds_committed",
                format!(
                    "partition {pidx}: {what}: leader {:?} ISR {:?} ELR {:?} last known {:?}",
                    next.leader, next.isr, next.elr, next.last_known_elr
                ),
            );
        }
    }

    /// `elr_leos`: each eligible leader replica and its LEO as the checker knows
    /// it; `committed`: the highest HW any leader reached (since the last unclean
    /// election). The HW never moves while the ISR is below min ISR, so every
    /// replica that left the ISR then still has it.
    pub fn on_elr(&mut self, now: Micros, pidx: u32, committed: u64, elr_leos: impl Iterator<Item = (u32, u64)>) {
        self.checks += 1;
        for (m, leo) in elr_leos {
            if leo < committed {
                self.violation(
                    now,
                    "elr_holds_committed",
                    format!("partition {pidx}: eligible leader replica {m} ends at {leo}, below the committed offset {committed}"),
                );
            }
        }
    }

    /// `isr_leos`: each ISR member and its LEO as the checker knows it.
    pub fn on_leader_hw(&mut self, now: Micros, pidx: u32, leader: u32, old: u64, new: u64, isr_leos: impl Iterator<Item = (u32, u64)>) {
        self.checks += 1;
        if new < old {
            self.violation(now, "hw_within_isr", format!("partition {pidx}: leader {leader} HW went back {old} -> {new}"));
        }
        for (m, leo) in isr_leos {
            if leo < new {
                self.violation(
                    now,
                    "hw_within_isr",
                    format!("partition {pidx}: leader {leader} HW {new} above ISR member {m}'s LEO {leo}"),
                );
            }
        }
    }

    /// `last`: the replica's end of the last idempotent sequence appended, per producer instance.
    pub fn on_append(&mut self, now: Micros, pidx: u32, broker: u32, batch: &Appended, idempotent: bool, last: &mut Vec<(u32, u64)>) {
        if !idempotent || !batch.idem {
            return;
        }
        self.checks += 1;
        let i = match last.iter().position(|e| e.0 == batch.producer) {
            Some(i) => i,
            None => {
                last.push((batch.producer, 0));
                last.len() - 1
            }
        };
        let prev = last[i].1;
        last[i].1 = prev.max(batch.audit_seq + u64::from(batch.records));
        if batch.audit_seq < prev {
            self.violation(
                now,
                "idempotent_no_duplicates",
                format!(
                    "partition {pidx}: broker {broker} appended sequence {} after {prev} (duplicate or reordered)",
                    batch.audit_seq
                ),
            );
        }
    }

    /// After a truncation the expected next sequences come from what is left.
    pub fn on_truncate(log: &mut Shadow) {
        let mut last: Vec<(u32, u64)> = Vec::new();
        for r in log.runs.iter().filter(|r| r.idem) {
            match last.iter_mut().find(|e| e.0 == r.producer) {
                Some(e) => e.1 = e.1.max(r.seq + r.len),
                None => last.push((r.producer, r.seq + r.len)),
            }
        }
        log.idem_last = last;
    }
}
