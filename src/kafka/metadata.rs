//! The metadata log each controller keeps: records (a partition's new leader and
//! ISR, a broker's registration, a cluster setting, a leader-change marker),
//! each with the Raft epoch it was written in, and the images they build: the
//! committed image (up to the high watermark, what brokers see) and the working
//! image (everything this node has, what the active controller decides on).

use crate::kafka::obs::Obs;
use crate::kafka::types::PartMeta;
use std::collections::VecDeque;

/// Committed entries kept for followers that fall a little behind; further
/// behind, they get a snapshot of the committed image.
const RECENT: usize = 512;

/// What the controller knows of a broker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BrokerRegistration {
    pub fenced: bool,
    pub incarnation: u32,
    /// Metadata offset the broker must reach before it is unfenced.
    pub catch_up_offset: u64,
    pub shutting_down: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MetaRecord {
    Partition {
        pidx: u32,
        meta: PartMeta,
    },
    Broker {
        broker: u32,
        reg: BrokerRegistration,
    },
    /// `unclean.leader.election.enable`, set by an operator.
    Unclean(bool),
    /// A topic's `min.insync.replicas`, set by an operator.
    TopicMinIsr {
        topic: u32,
        min_isr: u32,
    },
    /// The first record of a new leader's epoch.
    LeaderChange {
        leader: u32,
    },
}

#[derive(Debug, Clone)]
pub struct Entry {
    pub offset: u64,
    pub epoch: u32,
    pub record: MetaRecord,
    /// What to report when the record is committed (event log lines, partition
    /// changes for the checker): prepared by the controller that decided it.
    pub report: Vec<Obs>,
}

/// The cluster's metadata as of some offset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Image {
    pub meta: Vec<PartMeta>,
    /// The offset of the record that last changed each partition.
    pub meta_offset: Vec<u64>,
    pub brokers: Vec<BrokerRegistration>,
    pub unclean: bool,
    /// `min.insync.replicas` per topic.
    pub min_isr: Vec<u32>,
}

impl Image {
    fn apply(&mut self, e: &Entry) {
        match &e.record {
            MetaRecord::Partition { pidx, meta } => {
                self.meta[*pidx as usize] = meta.clone();
                self.meta_offset[*pidx as usize] = e.offset;
            }
            MetaRecord::Broker { broker, reg } => self.brokers[*broker as usize] = *reg,
            MetaRecord::Unclean(on) => self.unclean = *on,
            MetaRecord::TopicMinIsr { topic, min_isr } => self.min_isr[*topic as usize] = *min_isr,
            MetaRecord::LeaderChange { .. } => {}
        }
    }
}

#[derive(Debug, Clone)]
pub struct MetadataLog {
    /// The image at `hw`.
    pub committed: Image,
    pub hw: u64,
    /// The epoch of the entry at `hw` (or of the snapshot it came from).
    hw_epoch: u32,
    /// Committed entries kept for laggards, oldest first, ending at `hw`.
    recent: VecDeque<Entry>,
    /// Entries above the high watermark.
    tail: Vec<Entry>,
    /// The image with the tail applied.
    pub working: Image,
}

impl MetadataLog {
    pub fn new(image: Image, offset: u64, epoch: u32) -> MetadataLog {
        MetadataLog {
            committed: image.clone(),
            hw: offset,
            hw_epoch: epoch,
            recent: VecDeque::new(),
            tail: Vec::new(),
            working: image,
        }
    }

    pub fn end(&self) -> u64 {
        self.tail.last().map_or(self.hw, |e| e.offset)
    }

    pub fn last_epoch(&self) -> u32 {
        self.tail.last().map_or(self.hw_epoch, |e| e.epoch)
    }

    pub fn append(&mut self, epoch: u32, record: MetaRecord, report: Vec<Obs>) -> u64 {
        let offset = self.end() + 1;
        let e = Entry { offset, epoch, record, report };
        self.working.apply(&e);
        self.tail.push(e);
        offset
    }

    /// The epoch of the entry at `offset`, if this log still knows it.
    pub fn epoch_at(&self, offset: u64) -> Option<u32> {
        if offset == self.hw {
            return Some(self.hw_epoch);
        }
        self.tail.iter().chain(self.recent.iter()).find(|e| e.offset == offset).map(|e| e.epoch)
    }

    /// The end of the largest epoch <= `epoch` in this log (Raft's divergence
    /// point). Epochs never go down along a log; what precedes the entries kept is
    /// committed, so shared by every replica.
    pub fn end_offset_for_epoch(&self, epoch: u32) -> u64 {
        let mut end = self.recent.front().map_or(self.hw, |e| e.offset - 1);
        for e in self.recent.iter().chain(self.tail.iter()) {
            if e.epoch > epoch {
                break;
            }
            end = e.offset;
        }
        end
    }

    /// Entries after `offset`, or None when they are older than this log keeps.
    pub fn entries_after(&self, offset: u64) -> Option<Vec<Entry>> {
        let oldest = self.recent.front().map_or(self.hw + 1, |e| e.offset);
        if offset + 1 < oldest {
            return None;
        }
        Some(self.recent.iter().chain(self.tail.iter()).filter(|e| e.offset > offset).cloned().collect())
    }

    /// Appends entries a leader sent (they follow this log's end).
    pub fn extend(&mut self, entries: Vec<Entry>) {
        for e in entries {
            if e.offset == self.end() + 1 {
                self.working.apply(&e);
                self.tail.push(e);
            }
        }
    }

    /// Drops everything above `offset` (never below the high watermark).
    pub fn truncate_to(&mut self, offset: u64) {
        let offset = offset.max(self.hw);
        if self.end() <= offset {
            return;
        }
        self.tail.retain(|e| e.offset <= offset);
        let mut working = self.committed.clone();
        for e in &self.tail {
            working.apply(e);
        }
        self.working = working;
    }

    /// Moves the high watermark up to `hw` (capped at the log end); returns the
    /// newly committed entries.
    pub fn commit_to(&mut self, hw: u64) -> Vec<Entry> {
        let hw = hw.min(self.end());
        if hw <= self.hw {
            return Vec::new();
        }
        let n = self.tail.iter().take_while(|e| e.offset <= hw).count();
        let done: Vec<Entry> = self.tail.drain(..n).collect();
        for e in &done {
            self.committed.apply(e);
            self.recent.push_back(e.clone());
        }
        while self.recent.len() > RECENT {
            self.recent.pop_front();
        }
        if let Some(last) = done.last() {
            self.hw = last.offset;
            self.hw_epoch = last.epoch;
        }
        done
    }

    /// A leader's committed image replaces everything this log has.
    pub fn install(&mut self, image: Image, offset: u64, epoch: u32) {
        *self = MetadataLog::new(image, offset, epoch);
    }
}
