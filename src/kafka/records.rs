//! What internal topics hold: the group coordinator's records in
//! `__consumer_offsets` (offset commits, and the group's state after each
//! change), carried by batches like any other data so that they replicate,
//! truncate and fail over the same way. A new coordinator rebuilds its groups
//! from them (`group::load`).

use crate::kafka::group::GroupState;
use crate::kafka::share::ShareSnapshot;
use crate::kafka::txn::TxnState;
use std::collections::BTreeMap;

/// A record of an internal topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record {
    /// Committed offsets of a group: (partition, offset).
    OffsetCommit { group: u32, offsets: Vec<(u32, u64)> },
    /// Offsets committed inside a producer's transaction (TxnOffsetCommit): they
    /// count once the transaction's COMMIT marker follows in this partition.
    TxnOffsetCommit { group: u32, pid: u32, offsets: Vec<(u32, u64)> },
    /// The group's state as the coordinator persists it (Kafka's GroupMetadata,
    /// and for the consumer protocol its member and target-assignment records).
    GroupMetadata(Box<GroupSnapshot>),
    /// A transactional id's state as its coordinator writes it to
    /// `__transaction_state` at every transition (Kafka's TransactionLogValue).
    TxnState(Box<TxnSnapshot>),
    /// A share-partition's state as the share coordinator keeps it (Kafka's
    /// ShareSnapshot in `__share_group_state`; here the group's own partition).
    ShareState { group: u32, pidx: u32, snapshot: Box<ShareSnapshot> },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxnSnapshot {
    /// The transactional id's index.
    pub txn: u32,
    pub pid: u32,
    pub epoch: u16,
    pub state: TxnState,
    pub partitions: Vec<u32>,
    pub start_us: u64,
    pub timeout_us: u64,
    /// The epoch the transaction being ended was written with.
    pub data_epoch: u16,
}

/// Share-state keys live apart from offset keys in the compaction key space.
const SHARE_KEY: u32 = 1 << 31;

impl Record {
    /// The keys log compaction keeps the latest record of: (group, None) for the
    /// group's state, (group, Some(partition)) for an offset.
    pub fn keys(&self) -> Vec<(u32, Option<u32>)> {
        match self {
            Record::GroupMetadata(s) => vec![(s.group, None)],
            Record::TxnState(s) => vec![(s.txn, None)],
            Record::OffsetCommit { group, offsets } => offsets.iter().map(|(p, _)| (*group, Some(*p))).collect(),
            // Kept until a marker decides them (an aborted one must not hide an
            // earlier committed offset): no key here, never compacted.
            Record::TxnOffsetCommit { .. } => Vec::new(),
            Record::ShareState { group, pidx, .. } => vec![(*group, Some(SHARE_KEY | pidx))],
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberSnapshot {
    pub id: String,
    pub instance_id: Option<String>,
    /// The consumer process it was (the simulator's node index).
    pub consumer: u32,
    pub join_order: u64,
    pub assignment: Vec<u32>,
    pub member_epoch: i32,
    pub revoking: Vec<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupSnapshot {
    pub group: u32,
    pub state: GroupState,
    pub generation: i32,
    pub leader: Option<String>,
    pub members: Vec<MemberSnapshot>,
    /// KIP-848: the target assignment of the group epoch.
    pub target: BTreeMap<String, Vec<u32>>,
    /// Counters the coordinator names new members with.
    pub next_member: u64,
    pub next_join_order: u64,
}
