//! What the checker knows about transactions, from observations only: which
//! transaction (producer id, epoch) each transactional record was written in,
//! how coordinators decided each transaction, which producer instances were
//! fenced, and which transactional records each group's applications got. From
//! these it checks that a transaction is decided once, that read_committed
//! consumers get only committed records, and counts the aborted records that
//! read_uncommitted consumers read.

use super::audit::RangeSet;
use crate::kafka::obs::TxnEnd;
use crate::sim::VecMap;
use std::collections::BTreeMap;

/// Audit-sequence ranges [from, to) with the transaction (pid, epoch) they were written in.
type TxnRanges = Vec<(u64, u64, u32, u16)>;

#[derive(Debug, Clone, Default)]
pub struct TxnAudit {
    /// (producer instance, partition) -> audit-sequence ranges with the
    /// transaction (pid, epoch) they were written in, in sequence order.
    written: VecMap<(u32, u32), TxnRanges>,
    /// (pid, epoch) -> committed?, and whether the coordinator ended it by timeout.
    pub decided: VecMap<(u32, u16), (bool, bool)>,
    /// Producer instances fenced (as keys; the value is unused).
    pub fenced: VecMap<u32, ()>,
    /// Records dropped unsent when transactions aborted or producers were fenced.
    pub dropped: u64,
    /// (group, producer instance, partition) -> audit sequences delivered.
    delivered: VecMap<(u32, u32, u32), RangeSet>,
}

impl TxnAudit {
    /// A leader or follower appended transactional records (the first append of a
    /// range names its transaction; replicas repeat it).
    pub fn appended(&mut self, instance: u32, pidx: u32, seq: u64, records: u64, pid: u32, epoch: u16) {
        let list = self.written.get_or_insert_with((instance, pidx), Vec::new);
        let end = seq + records;
        let i = list.partition_point(|r| r.1 <= seq);
        if list.get(i).is_some_and(|r| r.0 < end) {
            return;
        }
        list.insert(i, (seq, end, pid, epoch));
    }

    pub fn is_transactional(&self, instance: u32, pidx: u32) -> bool {
        self.written.contains_key(&(instance, pidx))
    }

    /// A decision; Err(earlier) when the same transaction was decided the other way.
    pub fn decided(&mut self, end: &TxnEnd) -> Result<(), bool> {
        let timed_out = end.cause.is_some_and(|c| c.contains("timeout"));
        match self.decided.get(&(end.pid, end.data_epoch)) {
            Some(&(commit, _)) if commit != end.commit => Err(commit),
            Some(_) => Ok(()),
            None => {
                self.decided.insert((end.pid, end.data_epoch), (end.commit, timed_out));
                Ok(())
            }
        }
    }

    /// Records handed to a group's application: returns how many belong to a
    /// transaction not committed (yet) at this moment.
    pub fn delivered(&mut self, group: u32, instance: u32, pidx: u32, seq: u64, records: u64) -> u64 {
        let Some(list) = self.written.get(&(instance, pidx)) else { return 0 };
        self.delivered
            .get_or_insert_with((group, instance, pidx), RangeSet::default)
            .insert(seq, seq + records);
        let end = seq + records;
        let mut uncommitted = 0;
        for r in list.iter().skip(list.partition_point(|r| r.1 <= seq)) {
            if r.0 >= end {
                break;
            }
            if self.decided.get(&(r.2, r.3)).is_none_or(|d| !d.0) {
                uncommitted += r.1.min(end) - r.0.max(seq);
            }
        }
        uncommitted
    }

    /// The parts of audit sequences [from, to) of an instance on a partition a
    /// reader sees: records outside transactions, and (read_committed) only
    /// those of committed transactions, else also aborted or open ones.
    pub fn visible(&self, instance: u32, pidx: u32, from: u64, to: u64, read_committed: bool) -> Vec<(u64, u64)> {
        let Some(list) = self.written.get(&(instance, pidx)) else {
            return vec![(from, to)];
        };
        let mut out: Vec<(u64, u64)> = Vec::new();
        let mut push = |a: u64, b: u64| {
            if a >= b {
                return;
            }
            match out.last_mut() {
                Some(l) if l.1 == a => l.1 = b,
                _ => out.push((a, b)),
            }
        };
        let mut at = from;
        for r in list.iter().skip(list.partition_point(|r| r.1 <= from)) {
            if r.0 >= to {
                break;
            }
            push(at, r.0.min(to));
            let seen = !read_committed || self.decided.get(&(r.2, r.3)).is_some_and(|d| d.0);
            if seen {
                push(r.0.max(at), r.1.min(to));
            }
            at = r.1.min(to).max(at);
        }
        push(at, to);
        out
    }

    /// Per group: records of aborted transactions its applications got.
    pub fn aborted_read(&self) -> BTreeMap<u32, u64> {
        let mut out: BTreeMap<u32, u64> = BTreeMap::new();
        for (&(group, instance, pidx), got) in self.delivered.iter() {
            let Some(list) = self.written.get(&(instance, pidx)) else { continue };
            let mut aborted = RangeSet::default();
            for r in list {
                if self.decided.get(&(r.2, r.3)).is_some_and(|d| !d.0) {
                    aborted.insert(r.0, r.1);
                }
            }
            let read = got.len() - got.minus(&aborted).len();
            *out.entry(group).or_default() += read;
        }
        out
    }

    /// (committed, aborted, timed out) transactions.
    pub fn counts(&self) -> (u64, u64, u64) {
        let committed = self.decided.values().filter(|d| d.0).count() as u64;
        let timed_out = self.decided.values().filter(|d| d.1).count() as u64;
        (committed, self.decided.len() as u64 - committed, timed_out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn end(pid: u32, epoch: u16, commit: bool) -> TxnEnd {
        TxnEnd {
            txn: 0,
            pid,
            data_epoch: epoch,
            commit,
            cause: None,
        }
    }

    #[test]
    fn aborted_records_read_counts_only_aborted_transactions_records() {
        let mut a = TxnAudit::default();
        a.appended(1, 0, 0, 10, 9, 0); // txn (9, 0): seq 0..10
        a.appended(1, 0, 10, 5, 9, 1); // txn (9, 1): seq 10..15
        a.appended(1, 0, 0, 10, 9, 0); // a follower's copy: ignored
        assert_eq!(a.delivered(0, 1, 0, 0, 15), 15, "nothing decided yet: all uncommitted");
        assert!(a.decided(&end(9, 0, true)).is_ok());
        assert!(a.decided(&end(9, 1, false)).is_ok());
        assert_eq!(a.decided(&end(9, 1, true)), Err(false), "decided both ways");
        assert_eq!(a.delivered(1, 1, 0, 0, 12), 2, "two records of the aborted one");
        let read = a.aborted_read();
        assert_eq!(read.get(&0), Some(&5));
        assert_eq!(read.get(&1), Some(&2));
        assert_eq!(a.counts(), (1, 1, 0));
    }
}
