//! The checker: it watches the run from outside, through the observations the
//! nodes report, never their state. It keeps its own picture of every
//! replica's log (`shadow`), the audit of acknowledged records (`audit`) and
//! the invariants (`invariants`, with `share` for share groups), all checked
//! as the observations arrive.

pub mod audit;
pub mod eos;
pub mod invariants;
pub mod shadow;
pub mod transactions;

use transactions::TxnAudit;
mod share;

use crate::kafka::notable::ElectionKind;
use crate::kafka::obs::{Appended, Obs};
use crate::kafka::types::Cluster;
use crate::sim::Micros;
use audit::{Audit, AuditReport};
use eos::EosAudit;
use invariants::Invariants;
use shadow::{Run, Shadow};
use std::rc::Rc;

#[derive(Debug, Clone)]
pub struct Checker {
    cluster: Rc<Cluster>,
    pub audit: Audit,
    pub invariants: Invariants,
    /// Per partition, per replica in assignment order.
    shadows: Vec<Vec<Shadow>>,
    /// (producer instance, idempotent): few, so a list.
    idempotent: Vec<(u32, bool)>,
    group_names: Vec<String>,
    /// (group, partition) -> the committed offset, and where auto.offset.reset
    /// moved the position (the lowest, if more than once) since the last commit that went back.
    committed: crate::sim::VecMap<(u32, u32), u64>,
    resets: crate::sim::VecMap<(u32, u32), u64>,
    /// Per partition: the highest HW a leader reached since the last unclean election.
    committed_hw: Vec<u64>,
    /// Partitions that had an unclean election: what their coordinators had
    /// written may be gone (a transaction decided again, offsets going back).
    unclean: Vec<bool>,
    pub txns: TxnAudit,
    /// Processing groups: which inputs each output was made from.
    pub eos: EosAudit,
    /// Share groups: what each share-partition leader has handed out and not yet taken back.
    share: share::ShareLocks,
}

impl Checker {
    pub fn new(cluster: Rc<Cluster>, group_names: Vec<String>) -> Checker {
        let n = cluster.partitions.len();
        Checker {
            shadows: cluster.partitions.iter().map(|p| vec![Shadow::default(); p.assignment.len()]).collect(),
            audit: Audit::new(n),
            invariants: Invariants::new(n),
            idempotent: Vec::new(),
            group_names,
            committed: Default::default(),
            resets: Default::default(),
            committed_hw: vec![0; n],
            unclean: vec![false; n],
            txns: TxnAudit::default(),
            eos: EosAudit::default(),
            share: share::ShareLocks::default(),
            cluster,
        }
    }

    /// The checker's picture of `broker`'s replica of `pidx`.
    pub fn shadow(&self, pidx: u32, broker: u32) -> Option<&Shadow> {
        let slot = self.cluster.part(pidx).slot_of(broker)?;
        Some(&self.shadows[pidx as usize][slot])
    }

    fn shadow_mut(&mut self, pidx: u32, broker: u32) -> Option<&mut Shadow> {
        let slot = self.cluster.part(pidx).slot_of(broker)?;
        Some(&mut self.shadows[pidx as usize][slot])
    }

    pub fn observe(&mut self, now: Micros, obs: &Obs) {
        match obs {
            Obs::ProducerInstance { instance, acks, idempotent } => {
                self.audit.register_instance(*instance, *acks);
                self.idempotent.retain(|e| e.0 != *instance);
                self.idempotent.push((*instance, *idempotent));
            }
            Obs::Acked {
                instance, pidx, seq, records, ..
            } => self.audit.acked(*instance, *pidx, *seq, *records),
            Obs::Appended { pidx, broker, batch } => {
                self.audit.appended(batch.producer, *pidx, batch.audit_seq, u64::from(batch.records));
                if let Some((pid, epoch)) = batch.txn {
                    self.txns.appended(batch.producer, *pidx, batch.audit_seq, u64::from(batch.records), pid, epoch);
                }
                self.appended(now, *pidx, *broker, batch);
            }
            Obs::Acks0Sent { instance, pidx, seq, records } => self.audit.acks0_sent(*instance, *pidx, *seq, *records),
            Obs::Acks0Unwritten {
                instance,
                pidx,
                seq,
                records,
                why,
            } => self.audit.acks0_unwritten(*instance, *pidx, *seq, *records, *why),
            Obs::Truncated { pidx, broker, to, .. } => {
                if let Some(s) = self.shadow_mut(*pidx, *broker) {
                    s.truncate(*to);
                    Invariants::on_truncate(s);
                }
            }
            Obs::LogReset { pidx, broker, offset } => {
                if let Some(s) = self.shadow_mut(*pidx, *broker) {
                    s.reset(*offset);
                }
            }
            Obs::LogStartMoved { pidx, broker, offset } => {
                if let Some(s) = self.shadow_mut(*pidx, *broker) {
                    s.move_start(*offset);
                }
            }
            Obs::Retired {
                pidx,
                producer,
                offset,
                seq,
                records,
            } => self.audit.retired(*producer, *pidx, *offset, *seq, *records),
            Obs::BecameLeader { pidx, broker, epoch } => self.invariants.on_become_leader(now, *pidx, *broker, *epoch),
            Obs::LeaderHw { pidx, broker, old, new, isr } => {
                let hw = &mut self.committed_hw[*pidx as usize];
                *hw = (*hw).max(*new);
                let part = self.cluster.part(*pidx);
                let shadows = &self.shadows[*pidx as usize];
                let leos = isr.iter().filter_map(|m| part.slot_of(m).map(|s| (m, shadows[s].leo)));
                self.invariants.on_leader_hw(now, *pidx, *broker, *old, *new, leos);
            }
            Obs::UncleanElection { pidx, leader } => {
                // Offsets are reused from here: what was committed before may be gone.
                self.committed_hw[*pidx as usize] = 0;
                self.unclean[*pidx as usize] = true;
                let log_start = self.shadow(*pidx, *leader).map_or(0, |s| s.log_start);
                self.audit.mark_unclean(*pidx, log_start);
            }
            Obs::PartitionChange { pidx, prev, next, kind } => {
                let elr_enabled = self.cluster.config.eligible_leader_replicas_enable;
                self.invariants.on_controller_commit(now, *pidx, prev, next, elr_enabled);
                if !next.elr.is_empty() {
                    let part = self.cluster.part(*pidx);
                    let shadows = &self.shadows[*pidx as usize];
                    let leos = next.elr.iter().filter_map(|&m| part.slot_of(m).map(|s| (m, shadows[s].leo)));
                    self.invariants.on_elr(now, *pidx, self.committed_hw[*pidx as usize], leos);
                }
                // Invariant 3 at a clean leader change: the new leader's log must hold every
                // acknowledged record that no rule allowed to be lost.
                if prev.leader != next.leader && *kind != ElectionKind::Unclean {
                    if let Some(log) = next.leader.and_then(|l| self.shadow(*pidx, l)) {
                        let missing = self.audit.unexplained_missing(*pidx, log);
                        if missing > 0 {
                            let (topic, partition) = (self.cluster.topic_name(*pidx), self.cluster.part(*pidx).index);
                            let detail = format!("{topic}-{partition}: new leader {:?} lacks {missing} acknowledged records", next.leader);
                            self.invariants.violation(now, "no_acked_write_lost", detail);
                        }
                    }
                }
            }
            Obs::Assignment { group, owned, assignments } => {
                // Invariant 4: nothing goes to a member while another member still owns it.
                let mut violation = None;
                for (to, parts) in assignments {
                    for p in parts {
                        if let Some((other, _)) = owned.iter().find(|(id, o)| id != to && o.contains(p)) {
                            violation = Some(format!(
                                "group {}: partition {p} assigned to {to} while {other} still owns it",
                                self.group_name(*group)
                            ));
                        }
                    }
                }
                if let Some(v) = violation {
                    self.invariants.violation(now, "no_double_assignment", v);
                }
                self.invariants.checks += 1;
            }
            Obs::Reconciled { .. } => self.invariants.checks += 1,
            Obs::TxnEnded(end) => {
                self.invariants.checks += 1;
                let info = self.cluster.txn_ids.get(end.txn as usize);
                // An unclean election of the id's __transaction_state partition may
                // lose a decision, and the next coordinator decides again.
                let lost = info.is_some_and(|t| self.unclean[t.state_pidx as usize]);
                let decided = self.txns.decided(end);
                if let Err(earlier) = decided.or_else(|e| if lost { Ok(()) } else { Err(e) }) {
                    let id = info.map_or("?", |t| t.id.as_str());
                    let (was, now_) = if earlier { ("committed", "aborted") } else { ("aborted", "committed") };
                    let detail = format!("{id}: transaction of epoch {} {was}, then {now_}", end.data_epoch);
                    self.invariants.violation(now, "transactions_end_once", detail);
                }
            }
            Obs::ProducerFenced { producer } => {
                self.txns.fenced.insert(*producer, ());
            }
            Obs::TxnRecordsDropped(n) => self.txns.dropped += n,
            Obs::AppOutput {
                group,
                instance,
                pidx,
                seq,
                records,
                source,
            } => self.eos.output(*group, *instance, *pidx, *seq, *records, *source),
            Obs::Delivered(d) if self.processing(d.group) && d.delivery_count == 0 => {
                self.eos.delivered(d.group, d.pidx, d.offset);
                if self.txns.is_transactional(d.producer_instance, d.pidx) {
                    self.check_read_committed(now, d);
                }
            }
            Obs::Delivered(d) if self.txns.is_transactional(d.producer_instance, d.pidx) => self.check_read_committed(now, d),
            Obs::Share(what) => self.share.observe(now, what, &self.cluster, &mut self.invariants),
            Obs::OffsetReset { group, pidx, to } => {
                if self.processing(*group) {
                    self.eos.reset(*group, *pidx, *to);
                }
                let floor = self.resets.get_or_insert_with((*group, *pidx), || *to);
                *floor = (*floor).min(*to);
            }
            Obs::OffsetCommitted { group, pidx, offset } => {
                // Invariant 5: a committed offset never goes back, unless auto.offset.reset
                // moved the position: then once, and not below where it moved it (a
                // commit sent before the reset may still land after it, going forward).
                let key = (*group, *pidx);
                let old = self.committed.insert(key, *offset);
                self.invariants.checks += 1;
                let back = old.is_some_and(|old| *offset < old);
                // An unclean election of the group's __consumer_offsets partition may
                // lose commits: the next coordinator's offsets can be older.
                let lost = self.cluster.groups.get(*group as usize).is_some_and(|g| self.unclean[g.offsets_pidx as usize]);
                let allowed = back && (lost || self.resets.get(&key).is_some_and(|&floor| *offset >= floor));
                if allowed {
                    self.resets.remove(&key);
                }
                if let Some(old) = old.filter(|_| back && !allowed) {
                    let id = self.group_name(*group);
                    let detail = format!("group {id} partition {pidx}: committed offset went back {old} -> {offset}");
                    self.invariants.violation(now, "committed_offsets_monotonic", detail);
                }
            }
            _ => {}
        }
    }

    /// The highest HW a leader of `pidx` reached since its last unclean election.
    pub fn committed_hw(&self, pidx: u32) -> u64 {
        self.committed_hw[pidx as usize]
    }

    /// A processing group's exactly-once counts (see `eos.rs`).
    pub fn eos_counts(&self, g: u32, read_committed: bool, logs: &impl eos::Logs) -> Option<eos::EosCounts> {
        let committed: Vec<(u32, u64)> = self.committed.iter().filter(|(k, _)| k.0 == g).map(|(k, o)| (k.1, *o)).collect();
        self.eos.counts(g, &committed, read_committed, &self.txns, logs)
    }

    fn processing(&self, g: u32) -> bool {
        self.cluster.groups.get(g as usize).is_some_and(|g| g.cfg.processing_guarantee.is_some())
    }

    /// Invariant: a read_committed group gets only committed transactional records.
    fn check_read_committed(&mut self, now: Micros, d: &crate::kafka::obs::Delivery) {
        let uncommitted = self.txns.delivered(d.group, d.producer_instance, d.pidx, d.audit_seq, d.records);
        let read_committed = self
            .cluster
            .groups
            .get(d.group as usize)
            .is_some_and(|g| g.cfg.isolation_level == crate::scenario::IsolationLevel::ReadCommitted);
        if read_committed {
            self.invariants.checks += 1;
            if uncommitted > 0 {
                let detail = format!(
                    "group {}: partition {} offset {}: {uncommitted} records of a transaction not committed",
                    self.group_name(d.group),
                    d.pidx,
                    d.offset
                );
                self.invariants.violation(now, "read_committed_sees_committed", detail);
            }
        }
    }

    fn group_name(&self, g: u32) -> String {
        self.group_names.get(g as usize).cloned().unwrap_or_default()
    }

    fn appended(&mut self, now: Micros, pidx: u32, broker: u32, batch: &Appended) {
        let Some(slot) = self.cluster.part(pidx).slot_of(broker) else { return };
        let s = &mut self.shadows[pidx as usize][slot];
        s.append(Run {
            start: batch.base_offset,
            len: u64::from(batch.records),
            producer: batch.producer,
            seq: batch.audit_seq,
            idem: batch.idem,
        });
        let idempotent = self.idempotent.iter().find(|e| e.0 == batch.producer).is_some_and(|e| e.1);
        self.invariants.on_append(now, pidx, broker, batch, idempotent, &mut s.idem_last);
    }

    /// Compares every acknowledged record with the log of the partition's current
    /// leader (or of the last ISR member when offline), as the controller has it.
    /// Records above a HW that is lagging or frozen (ISR below min.insync.replicas)
    /// are not lost: the leader commits them once its ISR allows, and no replica
    /// will truncate them.
    pub fn audit_report(&self, holders: impl Iterator<Item = (u32, Option<u32>)>) -> AuditReport {
        let mut report = AuditReport {
            duplicates: self.audit.retired_duplicates(),
            ..AuditReport::default()
        };
        for (pidx, holder) in holders {
            if let Some(log) = holder.and_then(|b| self.shadow(pidx, b)) {
                self.audit.check_partition(pidx, log, &mut report);
            }
        }
        report
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::ClusterConfig;

    fn checker() -> Checker {
        let cluster = Cluster {
            txn_ids: Vec::new(),
            config: ClusterConfig::default(),
            topics: Vec::new(),
            partitions: Vec::new(),
            groups: Vec::new(),
            seed: 1,
        };
        Checker::new(Rc::new(cluster), vec!["g".to_string()])
    }

    fn commit(c: &mut Checker, t: u64, offset: u64) {
        c.observe(t, &Obs::OffsetCommitted { group: 0, pidx: 4, offset });
    }

    /// Randomized seed 1113: a commit sent before an auto.offset.reset landed after
    /// it, going forward; the first commit after the reset then went back. That is
    /// the reset, not a bug (the old rule spent the reset on the forward commit).
    #[test]
    fn a_commit_sent_before_a_reset_may_land_after_it() {
        let mut c = checker();
        commit(&mut c, 1, 33_110);
        c.observe(2, &Obs::OffsetReset { group: 0, pidx: 4, to: 0 });
        commit(&mut c, 3, 38_477);
        commit(&mut c, 3, 38_047);
        assert!(c.invariants.violations.is_empty(), "{:?}", c.invariants.violations);
        // Going back again, with no new reset, is a violation.
        commit(&mut c, 4, 100);
        assert_eq!(c.invariants.violations.len(), 1);
    }

    #[test]
    fn a_reset_does_not_excuse_a_commit_below_its_target() {
        let mut c = checker();
        commit(&mut c, 1, 500);
        c.observe(2, &Obs::OffsetReset { group: 0, pidx: 4, to: 400 });
        commit(&mut c, 3, 300);
        assert_eq!(c.invariants.violations.len(), 1);
    }
}
