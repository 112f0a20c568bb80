//! A share-partition (KIP-932): the in-flight records of one share group on one
//! partition, kept by the partition's leader. Every record between the
//! share-partition start offset (SPSO) and the end of what was ever acquired
//! is AVAILABLE, ACQUIRED (locked by one member until its acquisition lock
//! expires), ACKNOWLEDGED or ARCHIVED; the last two are final. State is kept
//! in runs of offsets that share it (Kafka keeps batches and splits them when
//! their records diverge), so cost follows requests, not records.
//!
//! Plain data and functions: the broker (`broker::share`) drives it, persists
//! its snapshots and reports what it did.

use crate::sim::{Fnv64, Micros};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordState {
    Available,
    Acquired,
    Acknowledged,
    Archived,
}

impl RecordState {
    pub fn is_final(self) -> bool {
        matches!(self, RecordState::Acknowledged | RecordState::Archived)
    }
}

/// How a member acknowledges a record (Kafka's AcknowledgeType).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AckType {
    /// Processed: ACKNOWLEDGED.
    Accept,
    /// Give it back for another delivery: AVAILABLE (ARCHIVED at the delivery limit).
    Release,
    /// Unprocessable: ARCHIVED.
    Reject,
}

/// Offsets `first..end` in one state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Run {
    pub first: u64,
    pub end: u64,
    pub state: RecordState,
    /// Deliveries so far (counted at acquisition, as Kafka does).
    pub count: u16,
    /// The member process holding the acquisition lock (0: none).
    pub owner: u64,
    /// When the acquisition lock expires.
    pub deadline: Micros,
}

impl Run {
    fn len(&self) -> u64 {
        self.end - self.first
    }

    /// Runs that say the same of their records merge.
    fn same(&self, o: &Run) -> bool {
        self.state == o.state && self.count == o.count && self.owner == o.owner && self.deadline == o.deadline
    }
}

/// What the share coordinator keeps of a share-partition (Kafka's ShareSnapshot):
/// the start offset, the end of what was acquired, and the runs in between with
/// their delivery counts. Acquisition is not persisted: an ACQUIRED run is
/// stored as AVAILABLE, so after a leader change it is delivered again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShareSnapshot {
    pub leader_epoch: i32,
    pub start: u64,
    pub end: u64,
    /// (first, end, state, delivery count), covering start..end.
    pub runs: Vec<(u64, u64, RecordState, u16)>,
}

/// What a change did, for the broker's report and the checker.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Transitions {
    /// Ranges that left ACQUIRED (their locks are gone).
    pub unlocked: Vec<(u64, u64)>,
    pub acknowledged: u64,
    pub archived: u64,
    pub released: u64,
    /// Acknowledged offsets the member did not hold (INVALID_RECORD_STATE).
    pub invalid: u64,
}

impl Transitions {
    pub fn is_empty(&self) -> bool {
        self.unlocked.is_empty() && self.invalid == 0
    }
}

/// Why records left ACQUIRED.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unlock {
    Acknowledged,
    LockTimeout,
    SessionClosed,
    LogStartMoved,
}

/// One acquired range handed to a member: first, end, delivery count.
pub type Acquired = (u64, u64, u16);

#[derive(Debug, Clone)]
pub struct SharePartition {
    /// The leader epoch this state belongs to (a new leadership starts anew).
    pub leader_epoch: i32,
    /// SPSO: the first offset not yet final.
    pub start: u64,
    /// One past the last offset ever acquired (Kafka's SPEO + 1).
    pub end: u64,
    /// Contiguous runs covering `start..end`.
    pub runs: Vec<Run>,
    /// Limits: `share.delivery.count.limit`, `share.partition.max.record.locks`.
    pub delivery_limit: u16,
    pub max_locks: u64,
}

impl SharePartition {
    /// A share-partition with nothing in flight, starting at `start`.
    pub fn new(leader_epoch: i32, start: u64, delivery_limit: u32, max_locks: u32) -> SharePartition {
        SharePartition {
            leader_epoch,
            start,
            end: start,
            runs: Vec::new(),
            delivery_limit: delivery_limit as u16,
            max_locks: u64::from(max_locks),
        }
    }

    /// Rebuilt from the share coordinator's snapshot: what was acquired is available again.
    pub fn restore(leader_epoch: i32, s: &ShareSnapshot, delivery_limit: u32, max_locks: u32) -> SharePartition {
        let mut sp = SharePartition::new(leader_epoch, s.start, delivery_limit, max_locks);
        sp.end = s.end.max(s.start);
        for &(first, end, state, count) in &s.runs {
            let state = if state == RecordState::Acquired { RecordState::Available } else { state };
            sp.runs.push(Run {
                first,
                end,
                state,
                count,
                owner: 0,
                deadline: 0,
            });
        }
        sp.normalize();
        sp
    }

    pub fn snapshot(&self) -> ShareSnapshot {
        ShareSnapshot {
            leader_epoch: self.leader_epoch,
            start: self.start,
            end: self.end,
            // Acquisition is not persisted: an acquired run is stored as it was
            // before (available, its count without this delivery).
            runs: self
                .runs
                .iter()
                .map(|r| match r.state {
                    RecordState::Acquired => (r.first, r.end, RecordState::Available, r.count.saturating_sub(1)),
                    _ => (r.first, r.end, r.state, r.count),
                })
                .collect(),
        }
    }

    /// Records in flight (between SPSO and the end): what `max.record.locks` bounds.
    pub fn window(&self) -> u64 {
        self.end - self.start
    }

    pub fn acquired_by(&self, owner: u64) -> u64 {
        self.runs
            .iter()
            .filter(|r| r.state == RecordState::Acquired && r.owner == owner)
            .map(Run::len)
            .sum()
    }

    pub fn count(&self, state: RecordState) -> u64 {
        self.runs.iter().filter(|r| r.state == state).map(Run::len).sum()
    }

    /// The earliest acquisition lock deadline.
    pub fn next_deadline(&self) -> Option<Micros> {
        self.runs.iter().filter(|r| r.state == RecordState::Acquired).map(|r| r.deadline).min()
    }

    pub fn has_available(&self) -> bool {
        self.runs.iter().any(|r| r.state == RecordState::Available)
    }

    /// Splits so that a run starts at `at` (when `at` is inside one).
    fn split_at(&mut self, at: u64) {
        if let Some(i) = self.runs.iter().position(|r| r.first < at && at < r.end) {
            let mut tail = self.runs[i];
            tail.first = at;
            self.runs[i].end = at;
            self.runs.insert(i + 1, tail);
        }
    }

    /// Merges equal neighbours and moves SPSO over final runs at the front.
    fn normalize(&mut self) {
        let mut out: Vec<Run> = Vec::with_capacity(self.runs.len());
        for r in self.runs.drain(..) {
            match out.last_mut() {
                Some(last) if last.end == r.first && last.same(&r) => last.end = r.end,
                _ => out.push(r),
            }
        }
        let done = out.iter().take_while(|r| r.state.is_final()).count();
        if done > 0 {
            self.start = out[done - 1].end;
            out.drain(..done);
        }
        if out.is_empty() {
            self.start = self.end;
        }
        self.runs = out;
    }

    /// Moves runs of `first..end` that `pick` selects; returns the moved ranges.
    fn transition(&mut self, first: u64, end: u64, mut apply: impl FnMut(&mut Run) -> bool) -> Vec<(u64, u64)> {
        self.split_at(first);
        self.split_at(end);
        let mut moved = Vec::new();
        for r in &mut self.runs {
            if r.first >= first && r.end <= end && apply(r) {
                moved.push((r.first, r.end));
            }
        }
        moved
    }

    /// ACQUIRED back to AVAILABLE, or ARCHIVED once delivered `delivery_limit` times.
    fn unlock(r: &mut Run, limit: u16, t: &mut Transitions) {
        let n = r.len();
        r.owner = 0;
        r.deadline = 0;
        if r.count >= limit {
            r.state = RecordState::Archived;
            t.archived += n;
        } else {
            r.state = RecordState::Available;
            t.released += n;
        }
        t.unlocked.push((r.first, r.end));
    }

    /// A member acknowledges `first..end`. Only the records it holds move.
    pub fn acknowledge(&mut self, owner: u64, first: u64, end: u64, kind: AckType) -> Transitions {
        let mut t = Transitions::default();
        let limit = self.delivery_limit;
        let lo = first.max(self.start);
        let hi = end.min(self.end);
        let mut held = 0;
        if lo < hi {
            self.transition(lo, hi, |r| {
                if r.state != RecordState::Acquired || r.owner != owner {
                    return false;
                }
                held += r.len();
                match kind {
                    AckType::Accept => {
                        t.acknowledged += r.len();
                        t.unlocked.push((r.first, r.end));
                        r.state = RecordState::Acknowledged;
                        r.owner = 0;
                        r.deadline = 0;
                    }
                    AckType::Reject => {
                        t.archived += r.len();
                        t.unlocked.push((r.first, r.end));
                        r.state = RecordState::Archived;
                        r.owner = 0;
                        r.deadline = 0;
                    }
                    AckType::Release => Self::unlock(r, limit, &mut t),
                }
                true
            });
        }
        t.invalid = (end - first).saturating_sub(held);
        self.normalize();
        t
    }

    /// Acquisition locks that expired by `now` (Kafka's releaseAcquisitionLockOnTimeout).
    pub fn expire(&mut self, now: Micros) -> Transitions {
        let mut t = Transitions::default();
        let limit = self.delivery_limit;
        for r in &mut self.runs {
            if r.state == RecordState::Acquired && r.deadline <= now {
                Self::unlock(r, limit, &mut t);
            }
        }
        self.normalize();
        t
    }

    /// A member's share session closed: everything it holds comes back at once.
    pub fn release_member(&mut self, owner: u64) -> Transitions {
        let mut t = Transitions::default();
        let limit = self.delivery_limit;
        for r in &mut self.runs {
            if r.state == RecordState::Acquired && r.owner == owner {
                Self::unlock(r, limit, &mut t);
            }
        }
        self.normalize();
        t
    }

    /// Retention moved the log start past records still in flight: the available
    /// ones below it are archived (they cannot be read any more).
    pub fn log_start_moved(&mut self, log_start: u64) -> Transitions {
        let mut t = Transitions::default();
        if log_start <= self.start {
            return t;
        }
        if self.end < log_start {
            self.end = log_start;
        }
        self.transition(self.start, log_start, |r| {
            if r.state == RecordState::Available {
                t.archived += r.len();
                r.state = RecordState::Archived;
                true
            } else {
                false
            }
        });
        if self.runs.is_empty() || self.runs.last().is_some_and(|r| r.end < self.end) {
            // The gap from the old end to the new one: records never acquired, gone.
            let from = self.runs.last().map_or(self.start, |r| r.end);
            self.runs.push(Run {
                first: from,
                end: self.end,
                state: RecordState::Archived,
                count: 0,
                owner: 0,
                deadline: 0,
            });
        }
        self.normalize();
        t
    }

    /// Acquires up to about `max` records for `owner` (Kafka's soft limit): first
    /// AVAILABLE ones inside the window, lowest first, then new ones from the end,
    /// only while the window is below `max.record.locks`, rounded up to the end of
    /// a log batch (`batch_end(offset)` gives the end of the batch holding it) and
    /// never past `hw`. Each acquisition counts a delivery and locks until `deadline`.
    pub fn acquire(&mut self, owner: u64, max: u64, hw: u64, deadline: Micros, batch_end: impl Fn(u64) -> u64) -> Vec<Acquired> {
        let mut got: Vec<Acquired> = Vec::new();
        let mut left = max;
        let mut i = 0;
        while left > 0 && i < self.runs.len() {
            if self.runs[i].state == RecordState::Available {
                if self.runs[i].len() > left {
                    let at = self.runs[i].first + left;
                    self.split_at(at);
                }
                let r = &mut self.runs[i];
                r.state = RecordState::Acquired;
                r.count = r.count.saturating_add(1);
                r.owner = owner;
                r.deadline = deadline;
                left -= r.len();
                got.push((r.first, r.end, r.count));
            }
            i += 1;
        }
        if left > 0 && self.end < hw && self.window() < self.max_locks {
            let take = left.min(hw - self.end).min(self.max_locks - self.window());
            let end = batch_end(self.end + take - 1).clamp(self.end + take, hw);
            self.runs.push(Run {
                first: self.end,
                end,
                state: RecordState::Acquired,
                count: 1,
                owner,
                deadline,
            });
            got.push((self.end, end, 1));
            self.end = end;
        }
        if !got.is_empty() {
            self.normalize();
        }
        got
    }
}

/// Is this record one the application always fails on? Decided by the record's
/// identity (producer instance, partition, the producer's sequence) and the
/// run's seed, so every member and every run agree.
pub fn is_poison(seed: u64, producer: u32, pidx: u32, seq: u64, per_mille: u32) -> bool {
    if per_mille == 0 {
        return false;
    }
    let mut h = Fnv64::default();
    h.u64(seed);
    h.u32(producer);
    h.u32(pidx);
    h.u64(seq);
    // FNV's low bits are weak: mix before taking the remainder (murmur3's finalizer).
    let mut x = h.finish();
    x = (x ^ (x >> 33)).wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    x % 1_000 < u64::from(per_mille)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sp() -> SharePartition {
        SharePartition::new(0, 100, 5, 2_000)
    }

    #[test]
    fn acquires_new_records_rounded_to_a_batch_and_locks_them() {
        let mut s = sp();
        let got = s.acquire(1, 10, 200, 30, |o| (o / 16 + 1) * 16);
        assert_eq!(got, vec![(100, 112, 1)]);
        assert_eq!((s.start, s.end), (100, 112));
        // Nothing available: the next member gets the next records.
        assert_eq!(s.acquire(2, 10, 200, 30, |o| o + 1), vec![(112, 122, 1)]);
        assert_eq!(s.acquired_by(1), 12);
    }

    #[test]
    fn accept_moves_the_start_and_only_the_owner_acknowledges() {
        let mut s = sp();
        s.acquire(1, 10, 200, 30, |o| o + 1);
        let t = s.acknowledge(2, 100, 110, AckType::Accept);
        assert_eq!((t.acknowledged, t.invalid), (0, 10));
        let t = s.acknowledge(1, 100, 105, AckType::Accept);
        assert_eq!(t.acknowledged, 5);
        assert_eq!(s.start, 105);
        s.acknowledge(1, 105, 110, AckType::Accept);
        assert_eq!((s.start, s.end, s.runs.len()), (110, 110, 0));
    }

    #[test]
    fn a_released_record_comes_back_and_is_archived_at_the_limit() {
        let mut s = sp();
        s.acquire(1, 3, 200, 30, |o| o + 1);
        for delivery in 1..=5u16 {
            // Records 100 and 102 are accepted the first time; 101 is released each time.
            let t = s.acknowledge(1, 101, 102, AckType::Release);
            if delivery < 5 {
                assert_eq!((t.released, t.archived), (1, 0));
                s.acknowledge(1, 100, 101, AckType::Accept);
                s.acknowledge(1, 102, 103, AckType::Accept);
                let again = s.acquire(1, 10, 103, 30, |o| o + 1);
                assert_eq!(again, vec![(101, 102, delivery + 1)]);
            } else {
                assert_eq!((t.released, t.archived), (0, 1));
            }
        }
        assert_eq!((s.start, s.end), (103, 103));
    }

    #[test]
    fn locks_expire_and_a_leader_change_makes_acquired_records_available() {
        let mut s = sp();
        s.acquire(1, 10, 200, 30, |o| o + 1);
        s.acquire(2, 10, 200, 50, |o| o + 1);
        s.acknowledge(2, 110, 112, AckType::Accept);
        let t = s.expire(40);
        assert_eq!((t.released, t.unlocked.clone()), (10, vec![(100, 110)]));
        let restored = SharePartition::restore(1, &s.snapshot(), 5, 2_000);
        assert_eq!(restored.count(RecordState::Available), 18);
        // 100..110 came back by expiry (count 1 persisted); the acquisition of
        // 112..120 was never persisted: count 0 again.
        assert_eq!(
            restored.runs[0],
            Run {
                first: 100,
                end: 110,
                state: RecordState::Available,
                count: 1,
                owner: 0,
                deadline: 0
            }
        );
        assert_eq!((restored.runs[2].first, restored.runs[2].count), (112, 0));
        assert_eq!(restored.count(RecordState::Acknowledged), 2);
        assert_eq!((restored.start, restored.end), (100, 120));
    }

    #[test]
    fn the_window_stops_new_acquisitions_at_max_record_locks() {
        let mut s = SharePartition::new(0, 0, 5, 100);
        assert_eq!(s.acquire(1, 500, 1_000, 30, |o| o + 1), vec![(0, 100, 1)]);
        assert!(s.acquire(2, 500, 1_000, 30, |o| o + 1).is_empty());
        s.release_member(1);
        assert_eq!(s.acquire(2, 500, 1_000, 30, |o| o + 1), vec![(0, 100, 2)]);
    }

    #[test]
    fn poison_is_a_property_of_the_record() {
        let poisoned = (0..10_000).filter(|&q| is_poison(7, 1 << 16, 3, q, 10)).count();
        assert!((50..=150).contains(&poisoned), "{poisoned}");
        assert!(!is_poison(7, 1 << 16, 3, 5, 0));
        assert_eq!(is_poison(7, 1 << 16, 3, 5, 500), is_poison(7, 1 << 16, 3, 5, 500));
    }
}
