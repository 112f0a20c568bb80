//! Kafka's shared vocabulary: partition metadata as the controller commits it,
//! replica roles, error codes, and the cluster's layout (topics, partitions and
//! their replica assignments), which every node knows from the start and which
//! never changes during a run.

use crate::scenario::{ClusterConfig, GroupConfig};
use crate::sim::Node;
use serde::Serialize;
use std::rc::Rc;

/// What the controller has committed for a partition (and what brokers learn of it).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PartMeta {
    pub leader: Option<u32>,
    pub leader_epoch: i32,
    /// May be empty only with eligible leader replicas on (then the partition has no leader).
    pub isr: Vec<u32>,
    pub partition_epoch: i32,
    /// Eligible leader replicas (KIP-966): replicas that left the ISR while it was
    /// below the effective min.insync.replicas, so the high watermark could not
    /// move without them: they hold every committed record. Never overlaps the ISR.
    pub elr: Vec<u32>,
    /// Kafka's LastKnownElr, which in 4.x holds only the last leader: set when the
    /// ISR becomes empty, cleared when a leader is elected.
    pub last_known_elr: Vec<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    None,
    Leader,
    Follower,
}

/// Error names as Kafka spells them, counted per partition response.
pub const ERROR_NAMES: &[&str] = &[
    "NOT_LEADER_OR_FOLLOWER",
    "NOT_ENOUGH_REPLICAS",
    "NOT_ENOUGH_REPLICAS_AFTER_APPEND",
    "REQUEST_TIMED_OUT",
    "NETWORK_EXCEPTION",
    "OUT_OF_ORDER_SEQUENCE_NUMBER",
    "DUPLICATE_SEQUENCE_NUMBER",
    "FENCED_LEADER_EPOCH",
    "UNKNOWN_LEADER_EPOCH",
    "OFFSET_OUT_OF_RANGE",
    "INVALID_UPDATE_VERSION",
    "INELIGIBLE_REPLICA",
    "INVALID_PRODUCER_EPOCH",
    "CONCURRENT_TRANSACTIONS",
    "PRODUCER_FENCED",
    "NOT_COORDINATOR",
    "INVALID_TXN_STATE",
    "ILLEGAL_GENERATION",
    "UNKNOWN_MEMBER_ID",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ErrorCode {
    NotLeaderOrFollower,
    NotEnoughReplicas,
    NotEnoughReplicasAfterAppend,
    RequestTimedOut,
    NetworkException,
    OutOfOrderSequenceNumber,
    DuplicateSequenceNumber,
    FencedLeaderEpoch,
    UnknownLeaderEpoch,
    OffsetOutOfRange,
    InvalidUpdateVersion,
    IneligibleReplica,
    InvalidProducerEpoch,
    /// The transaction coordinator is busy with a transition of this id: retry.
    ConcurrentTransactions,
    /// A newer instance of the transactional id took over (fatal for this one).
    ProducerFenced,
    NotCoordinator,
    InvalidTxnState,
    /// A group coordinator's check of a transactional offset commit, made when
    /// the write is about to be appended (after the transaction's verification).
    IllegalGeneration,
    UnknownMemberId,
}

impl ErrorCode {
    pub fn name(self) -> &'static str {
        ERROR_NAMES[self as usize]
    }
}

#[derive(Debug, Clone)]
pub struct TopicInfo {
    pub name: String,
    /// Global index of partition 0; partitions are contiguous.
    pub first: u32,
    pub partitions: u32,
    pub replication_factor: u32,
    /// min.insync.replicas at the start of the run.
    pub min_isr: u32,
}

/// One partition of the layout.
#[derive(Debug, Clone)]
pub struct PartInfo {
    pub topic: u32,
    pub index: u32,
    /// The replica list: the first entry is the preferred leader.
    pub assignment: Vec<u32>,
}

impl PartInfo {
    /// The position of `broker` in the assignment (its "slot").
    pub fn slot_of(&self, broker: u32) -> Option<usize> {
        self.assignment.iter().position(|&r| r == broker)
    }
}

/// A consumer group as its members configure it (the simulator gives the same
/// settings to every member and to the coordinator).
#[derive(Debug, Clone)]
pub struct GroupInfo {
    pub cfg: GroupConfig,
    /// The `__consumer_offsets` partition whose leader coordinates the group.
    pub offsets_pidx: u32,
    /// Subscribed topics (global indices), sorted by name.
    pub topics: Vec<u32>,
}

/// The cluster as every node knows it from its configuration: brokers,
/// controllers, topics and replica assignments, consumer groups, and the
/// cluster settings.
/// A transactional id and the `__transaction_state` partition whose leader coordinates it.
#[derive(Debug, Clone)]
pub struct TxnIdInfo {
    pub id: String,
    pub state_pidx: u32,
    /// A processing member's producer: it commits every `commit.interval.ms`,
    /// so the event log tells only its aborts.
    pub quiet: bool,
}

#[derive(Debug, Clone)]
pub struct Cluster {
    pub config: ClusterConfig,
    pub topics: Vec<TopicInfo>,
    pub partitions: Vec<PartInfo>,
    pub groups: Vec<Rc<GroupInfo>>,
    /// Transactional ids, in the order producers name them first.
    pub txn_ids: Vec<TxnIdInfo>,
    pub seed: u64,
}

impl Cluster {
    pub fn brokers(&self) -> u32 {
        self.config.brokers
    }

    pub fn part(&self, pidx: u32) -> &PartInfo {
        &self.partitions[pidx as usize]
    }

    pub fn topic_of(&self, pidx: u32) -> &TopicInfo {
        &self.topics[self.partitions[pidx as usize].topic as usize]
    }

    pub fn topic_name(&self, pidx: u32) -> &str {
        &self.topic_of(pidx).name
    }

    pub fn topic_index(&self, name: &str) -> Option<u32> {
        self.topics.iter().position(|t| t.name == name).map(|i| i as u32)
    }

    /// Internal topics (`__consumer_offsets`) are not the user's.
    pub fn is_internal(&self, pidx: u32) -> bool {
        self.topic_name(pidx).starts_with("__")
    }
}

/// How a node is named in notes: "0", "c1", "client3", "consumer2".
pub fn node_label(n: Node) -> String {
    match n {
        Node::Broker(b) => b.to_string(),
        Node::Controller(c) => format!("c{c}"),
        Node::Client(c) => format!("client{c}"),
        Node::Consumer(c) => format!("consumer{c}"),
    }
}
