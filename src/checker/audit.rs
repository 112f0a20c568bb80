//! An independent audit of acknowledged records, kept as sequence ranges per
//! (producer instance, partition) so memory does not grow with records. It can
//! say at any time which acknowledged records are missing from a replica's log
//! (as the checker's shadow of it shows) and which are stored twice. It never
//! looks at the engine's own bookkeeping of acks.

use super::shadow::Shadow;
use crate::kafka::log::ProducerInstance;
use crate::kafka::obs::Acks0Loss;
use crate::scenario::Acks;
use std::collections::BTreeMap;

/// Sorted, disjoint, coalesced half-open ranges.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RangeSet(Vec<(u64, u64)>);

impl RangeSet {
    /// Adds [a, b); returns how many of those values were already present.
    pub fn insert(&mut self, a: u64, b: u64) -> u64 {
        if a >= b {
            return 0;
        }
        // Fast path: appending in order, the common case.
        if let Some(last) = self.0.last_mut() {
            if a >= last.1 {
                if a == last.1 {
                    last.1 = b;
                } else {
                    self.0.push((a, b));
                }
                return 0;
            }
        } else {
            self.0.push((a, b));
            return 0;
        }
        let mut overlap = 0;
        let (mut lo, mut hi) = (a, b);
        let start = self.0.partition_point(|r| r.1 < a);
        let mut end = start;
        while end < self.0.len() && self.0[end].0 <= b {
            let r = self.0[end];
            overlap += r.1.min(b).saturating_sub(r.0.max(a));
            lo = lo.min(r.0);
            hi = hi.max(r.1);
            end += 1;
        }
        self.0.splice(start..end, std::iter::once((lo, hi)));
        overlap
    }

    pub fn len(&self) -> u64 {
        self.0.iter().map(|r| r.1 - r.0).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn ranges(&self) -> &[(u64, u64)] {
        &self.0
    }

    /// self minus other.
    pub fn minus(&self, other: &RangeSet) -> RangeSet {
        let mut out = Vec::new();
        let mut j = 0;
        for &(a, b) in &self.0 {
            let mut cur = a;
            while j < other.0.len() && other.0[j].1 <= cur {
                j += 1;
            }
            let mut k = j;
            while cur < b {
                match other.0.get(k) {
                    Some(&(oa, ob)) if oa < b => {
                        if oa > cur {
                            out.push((cur, oa));
                        }
                        cur = cur.max(ob);
                        k += 1;
                    }
                    _ => {
                        out.push((cur, b));
                        cur = b;
                    }
                }
            }
        }
        RangeSet(out)
    }
}

/// Why acknowledged records were allowed to disappear.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LossReason {
    Acks1LeaderFailover,
    UncleanElection,
    /// Not allowed by any rule: a simulator bug (invariant 3).
    Unexplained,
}

impl LossReason {
    pub fn key(self) -> &'static str {
        match self {
            LossReason::Acks1LeaderFailover => "acks_1_leader_failover",
            LossReason::UncleanElection => "unclean_election",
            LossReason::Unexplained => "unexplained",
        }
    }

    pub fn explain(self) -> &'static str {
        match self {
            LossReason::Acks1LeaderFailover => "acks=1 and the leader died before followers copied the records",
            LossReason::UncleanElection => "unclean election chose a replica that was behind",
            LossReason::Unexplained => "no rule allows this loss: a simulator bug",
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct Audit {
    /// acks of each producer instance.
    instance_acks: crate::sim::VecMap<ProducerInstance, Acks>,
    acked: BTreeMap<(ProducerInstance, u32), RangeSet>,
    /// Committed batches deleted by retention: aged out, not lost.
    retired: BTreeMap<(ProducerInstance, u32), RangeSet>,
    /// Partitions that had an unclean election, for loss reasons.
    unclean: Vec<bool>,
    /// Per partition: offsets below this were already retired by some leader, so a
    /// later leader deleting its copy of them does not count twice.
    retired_upto: Vec<u64>,
    /// Records retired while already retired under another offset: committed twice.
    retired_duplicates: u64,
    pub acked_records: u64,
    /// acks=0: what was sent, what was written on some replica, and what a broker,
    /// the network or a dead process told the checker will never be written.
    acks0_sent: BTreeMap<(ProducerInstance, u32), RangeSet>,
    acks0_written: BTreeMap<(ProducerInstance, u32), RangeSet>,
    acks0_unwritten: BTreeMap<(ProducerInstance, u32, Acks0Loss), RangeSet>,
}

#[derive(Debug, Clone, Default)]
pub struct AuditReport {
    pub lost: u64,
    pub by_reason: BTreeMap<LossReason, u64>,
    pub duplicates: u64,
    /// Records sent with acks=0 that are not in the committed log, by why; records
    /// still on their way at the end are not counted.
    pub acks0_lost: u64,
    pub acks0_by_reason: BTreeMap<Acks0Loss, u64>,
}

impl Audit {
    pub fn new(partitions: usize) -> Audit {
        Audit {
            unclean: vec![false; partitions],
            retired_upto: vec![0; partitions],
            ..Audit::default()
        }
    }

    pub fn register_instance(&mut self, id: ProducerInstance, acks: Acks) {
        self.instance_acks.insert(id, acks);
    }

    pub fn acked(&mut self, producer: ProducerInstance, partition: u32, seq: u64, records: u32) {
        self.acked.entry((producer, partition)).or_default().insert(seq, seq + u64::from(records));
        self.acked_records += u64::from(records);
    }

    /// Did any producer send with acks=0 (the guarantees panel then shows `acks0_lost`)?
    pub fn tracks_acks0(&self) -> bool {
        !self.acks0_sent.is_empty()
    }

    pub fn acks0_sent(&mut self, producer: ProducerInstance, partition: u32, seq: u64, records: u32) {
        self.acks0_sent.entry((producer, partition)).or_default().insert(seq, seq + u64::from(records));
    }

    pub fn acks0_unwritten(&mut self, producer: ProducerInstance, partition: u32, seq: u64, records: u32, why: Acks0Loss) {
        self.acks0_unwritten
            .entry((producer, partition, why))
            .or_default()
            .insert(seq, seq + u64::from(records));
    }

    /// A replica appended a batch: for acks=0 producers, it was written once.
    pub fn appended(&mut self, producer: ProducerInstance, partition: u32, seq: u64, records: u64) {
        if self.instance_acks.get(&producer) == Some(&Acks::Zero) {
            self.acks0_written.entry((producer, partition)).or_default().insert(seq, seq + records);
        }
    }

    /// A committed batch at `offset` aged out of the leader's log.
    pub fn retired(&mut self, producer: ProducerInstance, partition: u32, offset: u64, seq: u64, records: u32) {
        if producer == crate::kafka::group::COMMIT_WRITER {
            return;
        }
        let upto = &mut self.retired_upto[partition as usize];
        if offset < *upto {
            return;
        }
        *upto = offset + u64::from(records);
        let overlap = self.retired.entry((producer, partition)).or_default().insert(seq, seq + u64::from(records));
        // After an unclean election offsets were reused, so a second retirement of the same
        // records is not proof of a duplicate: only count duplicates on clean partitions.
        if !self.unclean[partition as usize] {
            self.retired_duplicates += overlap;
        }
    }

    /// An unclean election: the new leader's offsets from `log_start` on replace
    /// whatever other replicas held there.
    pub fn mark_unclean(&mut self, partition: u32, log_start: u64) {
        if let Some(u) = self.unclean.get_mut(partition as usize) {
            *u = true;
            self.retired_upto[partition as usize] = log_start;
        }
    }

    /// What the replica holds from offset `from` on, per producer instance, and how
    /// many records appear twice. Below `from` the records were retired already.
    fn present(log: &Shadow, from: u64) -> (crate::sim::VecMap<ProducerInstance, RangeSet>, u64) {
        let mut present: crate::sim::VecMap<ProducerInstance, RangeSet> = Default::default();
        let mut dups = 0;
        for r in log.from(from) {
            // Offset commits in __consumer_offsets are the coordinator's, not a producer's.
            if r.producer == crate::kafka::group::COMMIT_WRITER {
                continue;
            }
            dups += present.entry_or_default(r.producer).insert(r.seq, r.seq + r.len);
        }
        (present, dups)
    }

    /// Acknowledged records of `partition` missing from a replica's log
    /// (retired ones count as present), with the rule that allowed it.
    pub fn check_partition(&self, partition: u32, log: &Shadow, report: &mut AuditReport) {
        let from = self.retired_upto.get(partition as usize).copied().unwrap_or(0);
        let (present, dups) = Self::present(log, from);
        report.duplicates += dups;
        for (&producer, ranges) in present.iter() {
            if let Some(r) = self.retired.get(&(producer, partition)) {
                report.duplicates += ranges.len() - ranges.minus(r).len();
            }
        }
        let empty = RangeSet::default();
        for (&(producer, p), acked) in self.acked.range((0, partition)..) {
            if p != partition {
                continue;
            }
            let n = self.missing(producer, partition, acked, present.get(&producer).unwrap_or(&empty)).len();
            if n > 0 {
                let reason = self.reason(producer, partition);
                report.lost += n;
                *report.by_reason.entry(reason).or_default() += n;
            }
        }
        for (&(producer, p), sent) in self.acks0_sent.range((0, partition)..) {
            if p != partition {
                continue;
            }
            let mut missing = self.missing(producer, partition, sent, present.get(&producer).unwrap_or(&empty));
            let explained = [Acks0Loss::DeadBroker, Acks0Loss::NetworkCut, Acks0Loss::NotLeader, Acks0Loss::ConnectionClosed]
                .into_iter()
                .map(|why| (why, self.acks0_unwritten.get(&(producer, partition, why))))
                .chain(std::iter::once((Acks0Loss::Truncated, self.acks0_written.get(&(producer, partition)))));
            for (why, set) in explained {
                let Some(set) = set else { continue };
                let rest = missing.minus(set);
                let n = missing.len() - rest.len();
                if n > 0 {
                    report.acks0_lost += n;
                    *report.acks0_by_reason.entry(why).or_default() += n;
                }
                missing = rest;
            }
            // What is left was still on its way (in the network or a broker's queue).
        }
    }

    /// Records of `wanted` that a replica's log (`present`) lacks and retention did not delete.
    fn missing(&self, producer: ProducerInstance, partition: u32, wanted: &RangeSet, present: &RangeSet) -> RangeSet {
        let missing = wanted.minus(present);
        match self.retired.get(&(producer, partition)) {
            Some(r) => missing.minus(r),
            None => missing,
        }
    }

    /// Only the losses that no rule allows (invariant 3), for a quick check at a leader change.
    /// Duplicates found among batches already deleted by retention.
    pub fn retired_duplicates(&self) -> u64 {
        self.retired_duplicates
    }

    pub fn unexplained_missing(&self, partition: u32, log: &Shadow) -> u64 {
        let mut r = AuditReport::default();
        self.check_partition(partition, log, &mut r);
        r.by_reason.get(&LossReason::Unexplained).copied().unwrap_or(0)
    }

    fn reason(&self, producer: ProducerInstance, partition: u32) -> LossReason {
        if self.unclean.get(partition as usize).copied().unwrap_or(false) {
            return LossReason::UncleanElection;
        }
        match self.instance_acks.get(&producer) {
            Some(Acks::One) => LossReason::Acks1LeaderFailover,
            _ => LossReason::Unexplained,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_set_coalesces_and_counts_overlap() {
        let mut r = RangeSet::default();
        assert_eq!(r.insert(0, 10), 0);
        assert_eq!(r.insert(10, 20), 0);
        assert_eq!(r.ranges(), &[(0, 20)]);
        assert_eq!(r.insert(30, 40), 0);
        assert_eq!(r.insert(15, 35), 10);
        assert_eq!(r.ranges(), &[(0, 40)]);
        assert_eq!(r.len(), 40);
    }

    #[test]
    fn minus_removes_covered_parts() {
        let mut a = RangeSet::default();
        a.insert(0, 100);
        let mut b = RangeSet::default();
        b.insert(10, 20);
        b.insert(50, 60);
        b.insert(90, 120);
        let m = a.minus(&b);
        assert_eq!(m.ranges(), &[(0, 10), (20, 50), (60, 90)]);
        assert_eq!(m.len(), 70);
        assert!(b.minus(&a).ranges() == [(100, 120)]);
    }
}
