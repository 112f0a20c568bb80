//! A replica's log: batches (never single records), the leader-epoch cache
//! used for truncation (KIP-101/279/320), the high watermark, retention, and
//! the idempotent-producer state rebuilt from the log like Kafka does.

use crate::kafka::records::Record;
use std::collections::{BTreeSet, VecDeque};
use std::rc::Rc;

/// Retention deletes this many batches at a time (a "segment").
pub const RETENTION_CHUNK: usize = 32;

/// Who wrote a batch: a producer instance (a new acks or a restart is a new one).
pub type ProducerInstance = u32;

/// The writer of internal records (a group coordinator's), not a producer.
pub const INTERNAL_WRITER: ProducerInstance = u32::MAX;

/// What a batch is to transactions: plain data, data of an open transaction,
/// or a control batch (one marker record) ending the producer's transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxnMark {
    None,
    Data,
    Commit,
    Abort,
}

impl TxnMark {
    pub fn is_control(self) -> bool {
        matches!(self, TxnMark::Commit | TxnMark::Abort)
    }
}

/// One transaction of one producer id on a partition: where its first record
/// is, and once its marker is in the log, the marker's offset and whether it
/// committed. The oldest open one holds the last stable offset back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TxnSpan {
    pub pid: u32,
    /// The producer epoch its records were written with (protocol 2: one per transaction).
    pub epoch: u16,
    pub first: u64,
    pub end: Option<(u64, bool)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch {
    pub base_offset: u64,
    pub records: u32,
    pub bytes: u32,
    /// Leader epoch of the leader that appended it.
    pub epoch: i32,
    pub producer: ProducerInstance,
    /// Kafka's producer id: the producer instance, except that every instance of
    /// one transactional id shares the id its coordinator gave it (epochs tell
    /// them apart, and fence the older).
    pub pid: u32,
    pub txn: TxnMark,
    /// Simulator's own per-(producer, partition) record sequence, for the audit.
    pub audit_seq: u64,
    /// Idempotence: producer epoch and base sequence (None when not idempotent).
    pub idem: Option<(u16, u32)>,
    /// When the producer created it, for end-to-end latency; a merged batch keeps
    /// the first and the last creation time.
    pub created_us: u64,
    pub created_end_us: u64,
    /// What an internal topic's record says (`__consumer_offsets`); None for data.
    pub payload: Option<Rc<Record>>,
}

impl Batch {
    pub fn end_offset(&self) -> u64 {
        self.base_offset + u64::from(self.records)
    }

    /// Creation time of the record at `offset`, interpolated inside a merged batch.
    pub fn created_at(&self, offset: u64) -> u64 {
        let span = self.created_end_us.saturating_sub(self.created_us);
        let pos = offset.saturating_sub(self.base_offset).min(u64::from(self.records));
        self.created_us + span * pos / u64::from(self.records.max(1))
    }

    /// The part of this batch from `offset` on (a merged batch split at an offset).
    pub fn suffix_from(&self, offset: u64) -> Batch {
        let skip = offset.saturating_sub(self.base_offset).min(u64::from(self.records)) as u32;
        let mut tail = self.clone();
        // The record's content belongs to the batch's first offset.
        tail.payload = None;
        tail.base_offset = self.base_offset + u64::from(skip);
        tail.records = self.records - skip;
        tail.bytes = (u64::from(self.bytes) * u64::from(tail.records) / u64::from(self.records.max(1))) as u32;
        tail.audit_seq = self.audit_seq + u64::from(skip);
        tail.created_us = self.created_at(tail.base_offset);
        if let Some((e, seq)) = tail.idem {
            tail.idem = Some((e, seq.wrapping_add(skip)));
        }
        tail
    }

    /// Can `next` be folded into this batch once both are committed and cold?
    fn can_absorb(&self, next: &Batch) -> bool {
        if self.payload.is_some() || next.payload.is_some() || self.txn.is_control() || next.txn.is_control() {
            return false;
        }
        // Compacted internal records: nothing left to tell apart.
        if self.producer == INTERNAL_WRITER && next.producer == INTERNAL_WRITER && next.base_offset == self.end_offset() {
            return u64::from(self.records) + u64::from(next.records) < 1 << 30;
        }
        self.producer == next.producer
            && self.pid == next.pid
            && self.txn == next.txn
            && self.epoch == next.epoch
            && match (self.idem, next.idem) {
                // One producer epoch, sequences continuing: the merged batch's range stays true.
                (Some((e1, s1)), Some((e2, s2))) => e1 == e2 && s2 == s1.wrapping_add(self.records),
                (None, None) => true,
                _ => false,
            }
            && next.base_offset == self.end_offset()
            && next.audit_seq == self.audit_seq + u64::from(self.records)
            && next.created_end_us.saturating_sub(self.created_us) < MERGE_SPAN_US
            && u64::from(self.records) + u64::from(next.records) < 1 << 30
            && u64::from(self.bytes) + u64::from(next.bytes) < 1 << 31
    }
}

/// The newest batches stay as written (idempotence, follower fetches, truncation).
const HOT_BATCHES: usize = 64;
/// Cold committed batches merge into "segments" spanning at most this much time.
const MERGE_SPAN_US: u64 = 1_000_000;

/// Last sequences of one idempotent producer on this partition (Kafka keeps 5).
#[derive(Debug, Clone, Default)]
pub struct IdemState {
    pub epoch: u16,
    /// (base_seq, last_seq, base_offset), oldest first, at most 5.
    pub recent: VecDeque<(u32, u32, u64)>,
}

pub enum IdemCheck {
    Append,
    /// Already in the log at this base offset: answer success without appending.
    Duplicate(u64),
    OutOfOrder,
    /// Older than the producer epoch this partition knows: INVALID_PRODUCER_EPOCH.
    InvalidEpoch,
}

#[derive(Debug, Clone, Default)]
pub struct Log {
    pub batches: VecDeque<Batch>,
    pub log_start: u64,
    pub leo: u64,
    pub hw: u64,
    /// (epoch, start offset), ascending.
    pub epochs: Vec<(i32, u64)>,
    /// Per idempotent producer id (few per partition, so a list).
    pub idem: Vec<(u32, IdemState)>,
    /// Transactions on this partition, by first offset: the open ones, and the
    /// aborted ones until retention passes them (read_committed consumers skip
    /// their records). Committed ones are forgotten once below the HW.
    pub txns: Vec<TxnSpan>,
    /// Bytes currently held, for the UI.
    pub bytes: u64,
    /// Batches before this index were already merged.
    merge_from: usize,
    /// Holds internal records (with content): compacted, never deleted by retention.
    compacted: bool,
}

impl Log {
    pub fn last_epoch(&self) -> Option<i32> {
        self.epochs.last().map(|e| e.0)
    }

    /// Records a new leader epoch starting at the current LEO (on becoming leader).
    pub fn start_epoch(&mut self, epoch: i32) {
        if self.last_epoch().is_none_or(|e| e < epoch) {
            self.epochs.push((epoch, self.leo));
        }
    }

    pub fn append(&mut self, mut batch: Batch) -> u64 {
        let base = self.leo;
        batch.base_offset = base;
        if self.last_epoch().is_none_or(|e| e < batch.epoch) {
            self.epochs.push((batch.epoch, base));
        }
        self.leo = batch.end_offset();
        self.bytes += u64::from(batch.bytes);
        self.note_idempotent(&batch);
        if batch.txn != TxnMark::None {
            self.note_txn(&batch);
        }
        self.compacted |= batch.payload.is_some();
        self.batches.push_back(batch);
        if self.batches.len() >= self.merge_from + 2 * HOT_BATCHES {
            self.merge_cold();
        }
        base
    }

    /// Opens a transaction at its first data batch; a marker closes it.
    fn note_txn(&mut self, batch: &Batch) {
        let open = self.txns.iter().rposition(|t| t.pid == batch.pid && t.end.is_none());
        match (batch.txn, open) {
            (TxnMark::Data, None) => self.txns.push(TxnSpan {
                pid: batch.pid,
                epoch: batch.idem.map_or(0, |i| i.0),
                first: batch.base_offset,
                end: None,
            }),
            (TxnMark::Commit | TxnMark::Abort, Some(i)) => self.txns[i].end = Some((batch.base_offset, batch.txn == TxnMark::Commit)),
            _ => {}
        }
    }

    /// Is the producer's transaction of this epoch open here? (Otherwise its first
    /// batch here must be verified with the coordinator.)
    pub fn in_transaction(&self, pid: u32, epoch: u16) -> bool {
        self.txns.iter().any(|t| t.pid == pid && t.epoch == epoch && t.end.is_none())
    }

    /// Kafka's last stable offset: below the first record of the oldest
    /// transaction still open or whose marker is not replicated yet (Kafka's
    /// unreplicated transactions), and never above the HW. read_committed
    /// consumers read up to it.
    pub fn lso(&self) -> u64 {
        let hw = self.hw;
        self.txns
            .iter()
            .filter(|t| t.end.is_none_or(|e| e.0 >= hw))
            .map(|t| t.first)
            .min()
            .map_or(self.hw, |f| f.min(self.hw))
    }

    /// Aborted transactions overlapping [from, to): what a read_committed fetch
    /// answer carries so the consumer drops their records.
    pub fn aborted_between(&self, from: u64, to: u64) -> Vec<TxnSpan> {
        self.txns
            .iter()
            .filter(|t| matches!(t.end, Some((end, false)) if end >= from && t.first < to))
            .copied()
            .collect()
    }

    /// Forgets committed transactions below the HW and aborted ones below the log start.
    fn prune_txns(&mut self) {
        let (hw, start) = (self.hw, self.log_start);
        self.txns.retain(|t| match t.end {
            None => true,
            Some((end, true)) => end >= hw,
            Some((end, false)) => end >= start,
        });
    }

    /// Log compaction for internal topics: a record whose every key has a later
    /// record loses its content (Kafka's cleaner deletes it; here the offsets stay,
    /// so that replicas keep fetching contiguous ranges), and empty batches merge.
    fn compact(&mut self) {
        let mut seen: BTreeSet<(u32, Option<u32>)> = BTreeSet::new();
        for b in self.batches.iter_mut().rev() {
            let Some(record) = &b.payload else { continue };
            let keys = record.keys();
            if keys.is_empty() {
                continue;
            }
            let live = keys.iter().any(|k| !seen.contains(k));
            seen.extend(keys);
            if !live {
                b.payload = None;
            }
        }
    }

    /// Folds runs of committed, cold batches from one producer (same epoch,
    /// contiguous sequences) into one, so retention counted in batches covers
    /// minutes even when `linger.ms` makes tiny batches. Offsets, epochs and the
    /// audit's sequence ranges are unchanged.
    fn merge_cold(&mut self) {
        if self.compacted {
            self.compact();
        }
        if !self.txns.is_empty() {
            self.prune_txns();
        }
        let limit = self.batches.len().saturating_sub(HOT_BATCHES);
        let mut w = self.merge_from;
        for r in self.merge_from..limit {
            let b = self.batches[r].clone();
            if b.end_offset() > self.hw {
                // Not committed yet: keep it and everything after as is.
                if w != r {
                    self.batches.drain(w..r);
                }
                self.merge_from = w;
                return;
            }
            if w > 0 && self.batches[w - 1].end_offset() <= self.hw && self.batches[w - 1].can_absorb(&b) {
                let a = &mut self.batches[w - 1];
                a.records += b.records;
                a.bytes += b.bytes;
                a.created_end_us = b.created_end_us;
            } else {
                self.batches[w] = b;
                w += 1;
            }
        }
        self.batches.drain(w..limit);
        self.merge_from = w;
    }

    /// The broker's duplicate / ordering check for an idempotent batch, in Kafka's
    /// order (`ProducerStateManager`): an exact repeat of one of the last five
    /// batches is a duplicate; an older epoch is refused; a newer epoch must start
    /// at sequence 0; the same epoch must continue the last batch. A producer this
    /// partition has no state for (never seen, or lost in an unclean election) may
    /// start anywhere.
    pub fn check_idempotent(&self, producer: u32, pepoch: u16, first: u32, records: u32) -> IdemCheck {
        let Some(st) = self.idem.iter().find(|e| e.0 == producer).map(|e| &e.1) else {
            return IdemCheck::Append;
        };
        let last = first.wrapping_add(records.max(1) - 1);
        if pepoch == st.epoch {
            if let Some(&(_, _, off)) = st.recent.iter().find(|r| r.0 == first && r.1 == last) {
                return IdemCheck::Duplicate(off);
            }
        }
        if pepoch < st.epoch {
            return IdemCheck::InvalidEpoch;
        }
        if pepoch > st.epoch {
            return if first == 0 { IdemCheck::Append } else { IdemCheck::OutOfOrder };
        }
        match st.recent.back() {
            Some(&(_, prev, _)) if first == prev.wrapping_add(1) => IdemCheck::Append,
            None if first == 0 => IdemCheck::Append,
            _ => IdemCheck::OutOfOrder,
        }
    }

    /// Kafka's `endOffsetForEpoch`: the largest epoch <= `epoch` we know and
    /// where it ends (the next epoch's start, or the LEO for the latest).
    pub fn end_offset_for_epoch(&self, epoch: i32) -> Option<(i32, u64)> {
        let i = self.epochs.iter().rposition(|e| e.0 <= epoch)?;
        let end = self.epochs.get(i + 1).map_or(self.leo, |next| next.1);
        Some((self.epochs[i].0, end))
    }

    /// Removes everything at or above `offset`. Returns the batches removed.
    pub fn truncate_to(&mut self, offset: u64) -> Vec<Batch> {
        let mut removed = Vec::new();
        if offset >= self.leo {
            return removed;
        }
        while let Some(b) = self.batches.back() {
            if b.base_offset < offset {
                break;
            }
            self.bytes -= u64::from(b.bytes);
            removed.push(b.clone());
            self.batches.pop_back();
        }
        // A merged batch can straddle the truncation point: cut it there.
        if let Some(b) = self.batches.back_mut() {
            if b.end_offset() > offset {
                let tail = b.suffix_from(offset);
                b.created_end_us = tail.created_us;
                b.records -= tail.records;
                b.bytes -= tail.bytes;
                self.bytes -= u64::from(tail.bytes);
                removed.push(tail);
            }
        }
        self.merge_from = self.merge_from.min(self.batches.len());
        self.leo = self.batches.back().map_or(offset.max(self.log_start), |b| b.end_offset());
        self.hw = self.hw.min(self.leo);
        while self.epochs.last().is_some_and(|e| e.1 >= self.leo && self.epochs.len() > 1) {
            self.epochs.pop();
        }
        if self.epochs.last().is_some_and(|e| e.1 > self.leo) {
            self.epochs.pop();
        }
        self.rebuild_idem();
        let leo = self.leo;
        self.txns.retain(|t| t.first < leo);
        for t in &mut self.txns {
            if t.end.is_some_and(|e| e.0 >= leo) {
                t.end = None;
            }
        }
        removed
    }

    /// After a diverging-epoch answer: epochs newer than the leader's are not ours to keep.
    pub fn forget_epochs_after(&mut self, epoch: i32) {
        self.epochs.retain(|e| e.0 <= epoch);
    }

    /// Drops the whole log and restarts at `offset` (the follower fell below the
    /// leader's log start).
    pub fn reset_to(&mut self, offset: u64) {
        self.batches.clear();
        self.merge_from = 0;
        self.bytes = 0;
        self.log_start = offset;
        self.leo = offset;
        self.hw = offset;
        self.epochs.clear();
        self.idem.clear();
        self.txns.clear();
    }

    fn rebuild_idem(&mut self) {
        self.idem.clear();
        let batches: Vec<Batch> = self.batches.iter().rev().take(64).rev().cloned().collect();
        for b in batches {
            self.note_idempotent(&b);
        }
    }

    /// Remembers the last 5 sequences of an idempotent producer, as the broker does.
    fn note_idempotent(&mut self, batch: &Batch) {
        let Some((pepoch, seq)) = batch.idem else { return };
        let i = match self.idem.iter().position(|e| e.0 == batch.pid) {
            Some(i) => i,
            None => {
                self.idem.push((batch.pid, IdemState::default()));
                self.idem.len() - 1
            }
        };
        let st = &mut self.idem[i].1;
        if pepoch > st.epoch {
            st.epoch = pepoch;
            st.recent.clear();
        }
        if batch.txn.is_control() {
            // A marker carries the producer's (bumped) epoch: older writes are fenced
            // from here on, and the next transaction starts its sequences at 0.
            return;
        }
        st.recent.push_back((seq, seq.wrapping_add(batch.records.max(1) - 1), batch.base_offset));
        if st.recent.len() > 5 {
            st.recent.pop_front();
        }
    }

    /// Retention: keeps at most `max_batches`, deleting only committed batches
    /// (below the HW), oldest first. Returns the deleted batches.
    /// Batches created before `keep_after_us` may go once there are more than
    /// `max_batches`; younger ones only above `hard_cap`.
    pub fn enforce_retention(&mut self, max_batches: usize, keep_after_us: u64, hard_cap: usize, mut on_delete: impl FnMut(&Batch)) {
        // Delete in chunks, like segments roll, instead of touching the cold front every append.
        if self.batches.len() <= max_batches + RETENTION_CHUNK {
            return;
        }
        while self.batches.len() > max_batches {
            let Some(front) = self.batches.front() else { break };
            if front.end_offset() > self.hw || front.payload.is_some() {
                break;
            }
            if front.created_end_us >= keep_after_us && self.batches.len() <= hard_cap {
                break;
            }
            on_delete(front);
            self.bytes -= u64::from(front.bytes);
            self.log_start = front.end_offset();
            self.batches.pop_front();
            self.merge_from = self.merge_from.saturating_sub(1);
        }
        if let Some(first) = self.epochs.iter().rposition(|e| e.1 <= self.log_start) {
            self.epochs.drain(..first);
        }
    }

    /// Follows the leader's log start offset, never past our own HW.
    pub fn advance_start(&mut self, offset: u64) {
        let target = offset.min(self.hw);
        if self.batches.front().is_none_or(|f| f.end_offset() > target) {
            return;
        }
        while let Some(front) = self.batches.front() {
            if front.end_offset() > target {
                break;
            }
            self.bytes -= u64::from(front.bytes);
            self.log_start = front.end_offset();
            self.batches.pop_front();
            self.merge_from = self.merge_from.saturating_sub(1);
        }
        if let Some(first) = self.epochs.iter().rposition(|e| e.1 <= self.log_start) {
            self.epochs.drain(..first);
        }
    }

    /// Index of the first batch containing or after `offset`.
    pub fn batch_index_from(&self, offset: u64) -> usize {
        // Most fetches ask at the end of the log: answer those without a search.
        if offset >= self.leo {
            return self.batches.len();
        }
        if offset <= self.log_start {
            return 0;
        }
        // Followers ask for recent data: walk back a few batches (hot in cache) first.
        let n = self.batches.len();
        for i in (n.saturating_sub(8)..n).rev() {
            if self.batches[i].base_offset <= offset {
                return if self.batches[i].end_offset() <= offset { i + 1 } else { i };
            }
        }
        self.batches.partition_point(|b| b.end_offset() <= offset)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(epoch: i32, records: u32) -> Batch {
        Batch {
            base_offset: 0,
            records,
            bytes: records * 10,
            epoch,
            producer: 0,
            pid: 0,
            txn: TxnMark::None,
            audit_seq: 0,
            idem: None,
            created_us: 0,
            created_end_us: 0,
            payload: None,
        }
    }

    #[test]
    fn epochs_track_leader_changes_and_truncation_finds_divergence() {
        let mut leader = Log::default();
        let mut follower = Log::default();
        for l in [&mut leader, &mut follower] {
            l.append(batch(1, 5));
        }
        // The old leader (follower here) appended in epoch 1 what the new leader never got.
        follower.append(batch(1, 3));
        leader.start_epoch(2);
        leader.append(batch(2, 4));
        assert_eq!(leader.end_offset_for_epoch(1), Some((1, 5)));
        assert_eq!(leader.end_offset_for_epoch(2), Some((2, 9)));
        // The follower asks about its last epoch 1 at fetch offset 8: diverges at 5.
        let (_, end) = leader.end_offset_for_epoch(follower.last_epoch().unwrap()).unwrap();
        assert!(end < follower.leo);
        let removed = follower.truncate_to(end);
        assert_eq!(removed.len(), 1);
        assert_eq!(follower.leo, 5);
        assert_eq!(follower.epochs, vec![(1, 0)]);
    }

    #[test]
    fn idempotence_detects_duplicates_and_gaps() {
        let mut log = Log::default();
        let mut b = batch(0, 10);
        b.idem = Some((0, 0));
        log.append(b);
        assert!(matches!(log.check_idempotent(0, 0, 0, 10), IdemCheck::Duplicate(0)));
        // Only an exact repeat is a duplicate.
        assert!(matches!(log.check_idempotent(0, 0, 0, 5), IdemCheck::OutOfOrder));
        assert!(matches!(log.check_idempotent(0, 0, 10, 5), IdemCheck::Append));
        assert!(matches!(log.check_idempotent(0, 0, 11, 5), IdemCheck::OutOfOrder));
        assert!(matches!(log.check_idempotent(0, 1, 0, 5), IdemCheck::Append));
        assert!(matches!(log.check_idempotent(0, 1, 3, 5), IdemCheck::OutOfOrder));
        // A producer the partition never saw may start anywhere (KIP-360).
        assert!(matches!(log.check_idempotent(7, 0, 42, 5), IdemCheck::Append));
        let mut b = batch(0, 5);
        b.idem = Some((1, 0));
        log.append(b);
        assert!(matches!(log.check_idempotent(0, 0, 10, 5), IdemCheck::InvalidEpoch));
        assert!(matches!(log.check_idempotent(0, 1, 5, 5), IdemCheck::Append));
    }

    fn txn_batch(pid: u32, txn: TxnMark, pepoch: u16, seq: u32) -> Batch {
        let mut b = batch(0, if txn.is_control() { 1 } else { 5 });
        b.pid = pid;
        b.producer = pid;
        b.txn = txn;
        b.idem = Some((pepoch, seq));
        b
    }

    #[test]
    fn an_open_transaction_holds_the_lso_and_an_abort_marker_fences_its_epoch() {
        let mut log = Log::default();
        log.append(batch(0, 5)); // 0..5 plain
        log.append(txn_batch(7, TxnMark::Data, 3, 0)); // 5..10, pid 7 opens at 5
        log.append(txn_batch(8, TxnMark::Data, 0, 0)); // 10..15, pid 8 opens at 10
        log.hw = 15;
        assert_eq!(log.lso(), 5, "the oldest open transaction starts at 5");
        log.append(txn_batch(7, TxnMark::Abort, 4, 0)); // marker at 15, epoch bumped to 4
        assert_eq!(log.lso(), 5, "stable only once the marker is replicated");
        log.hw = 16;
        assert_eq!(log.lso(), 10, "pid 8's transaction is still open");
        assert_eq!(
            log.aborted_between(0, 16),
            vec![TxnSpan {
                pid: 7,
                epoch: 3,
                first: 5,
                end: Some((15, false))
            }]
        );
        assert!(log.aborted_between(16, 20).is_empty(), "ends before the range");
        // The zombie's epoch 3 is older than the marker's.
        assert!(matches!(log.check_idempotent(7, 3, 5, 5), IdemCheck::InvalidEpoch));
        // The next transaction, at the marker's epoch, starts at sequence 0.
        assert!(matches!(log.check_idempotent(7, 4, 0, 5), IdemCheck::Append));
        log.append(txn_batch(8, TxnMark::Commit, 1, 0)); // 16
        log.hw = 17;
        assert_eq!(log.lso(), 17, "nothing open: the LSO is the HW");
        // Truncating the commit marker reopens pid 8's transaction.
        log.truncate_to(16);
        log.hw = 16;
        assert_eq!(log.lso(), 10);
        // Truncating below a transaction's first record forgets it.
        log.truncate_to(8);
        assert!(log.txns.iter().all(|t| t.first < 8));
        assert_eq!(log.lso(), 5, "pid 7's abort marker is gone: its transaction is open again");
    }

    #[test]
    fn retention_deletes_only_committed_batches() {
        let mut log = Log::default();
        for _ in 0..20 {
            log.append(batch(0, 1));
        }
        log.hw = 20;
        let mut deleted = 0;
        // Within one chunk of the limit nothing rolls off yet.
        log.enforce_retention(10, u64::MAX, usize::MAX, |_| deleted += 1);
        assert_eq!(deleted, 0);
        for _ in 0..40 {
            log.append(batch(0, 1));
        }
        log.hw = 5;
        log.enforce_retention(10, u64::MAX, usize::MAX, |_| deleted += 1);
        assert_eq!(deleted, 5, "deleted past the HW");
        assert_eq!(log.log_start, 5);
        log.hw = 60;
        log.enforce_retention(10, u64::MAX, usize::MAX, |_| deleted += 1);
        assert_eq!(log.batches.len(), 10);
        assert_eq!(log.log_start, 50);
    }
}

#[cfg(test)]
mod merge_tests {
    use super::*;

    fn b(seq: u64, records: u32, t: u64) -> Batch {
        Batch {
            base_offset: 0,
            records,
            bytes: records * 100,
            pid: 0,
            txn: TxnMark::None,
            epoch: 0,
            producer: 7,
            audit_seq: seq,
            idem: None,
            created_us: t,
            created_end_us: t,
            payload: None,
        }
    }

    #[test]
    fn cold_committed_batches_merge_and_split_back_exactly() {
        let mut log = Log::default();
        let mut seq = 0;
        for i in 0..300u64 {
            log.append(b(seq, 3, i * 5_000));
            seq += 3;
            log.hw = log.leo;
        }
        // 300 small batches, 5 ms apart: the cold ones merge into ~1 s segments.
        assert!(log.batches.len() < 150, "{} batches", log.batches.len());
        assert_eq!(log.leo, 900);
        let total: u64 = log.batches.iter().map(|x| u64::from(x.records)).sum();
        assert_eq!(total, 900);
        // Offsets stay contiguous and sequences follow offsets.
        for w in log.batches.iter().collect::<Vec<_>>().windows(2) {
            assert_eq!(w[0].end_offset(), w[1].base_offset);
            assert_eq!(w[0].audit_seq + u64::from(w[0].records), w[1].audit_seq);
        }
        // A suffix taken from inside a merged batch starts exactly there.
        let first = log.batches[0].clone();
        let tail = first.suffix_from(first.base_offset + 10);
        assert_eq!((tail.base_offset, tail.audit_seq, tail.end_offset()), (10, 10, first.end_offset()));
        assert!(tail.created_us > first.created_us);
        // Truncating inside a merged batch cuts it there.
        log.truncate_to(100);
        assert_eq!(log.leo, 100);
        assert_eq!(log.batches.iter().map(|x| u64::from(x.records)).sum::<u64>(), 100);
    }

    #[test]
    fn uncommitted_batches_never_merge() {
        let mut log = Log::default();
        for i in 0..300u64 {
            log.append(b(i, 1, i * 1_000));
        }
        assert_eq!(log.batches.len(), 300);
    }
}

#[cfg(test)]
mod retention_age_tests {
    use super::*;

    #[test]
    fn young_committed_batches_stay_past_the_soft_limit_until_the_hard_cap() {
        let mut log = Log::default();
        for i in 0..100u64 {
            // Alternate producers so nothing merges.
            log.append(Batch {
                base_offset: 0,
                records: 1,
                bytes: 10,
                epoch: 0,
                producer: (i % 2) as u32,
                pid: (i % 2) as u32,
                txn: TxnMark::None,
                audit_seq: i / 2,
                idem: None,
                created_us: i * 1_000,
                created_end_us: i * 1_000,
                payload: None,
            });
        }
        log.hw = log.leo;
        // Everything is younger than the cut-off: kept although above the soft limit of 10.
        log.enforce_retention(10, 0, 1_000, |_| {});
        assert_eq!(log.batches.len(), 100);
        // The hard cap still bounds memory.
        log.enforce_retention(10, 0, 50, |_| {});
        assert_eq!(log.batches.len(), 50);
        // Old enough: down to the soft limit.
        log.enforce_retention(10, u64::MAX, 50, |_| {});
        assert_eq!(log.batches.len(), 10);
    }
}
