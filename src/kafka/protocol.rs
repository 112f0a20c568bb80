//! Every message that crosses the simulated network, by the kind of node that
//! receives it, and the timers nodes set for themselves. Requests and answers
//! carry many partitions at once, as Kafka's do (one produce or fetch request
//! per broker pair), so the number of events follows requests, not records.

use crate::kafka::log::{Batch, TxnSpan};
use crate::kafka::metadata::{Entry, Image};
use crate::kafka::share::{AckType, ShareSnapshot};
use crate::kafka::types::{ErrorCode, PartMeta};
use crate::scenario::Acks;
use crate::sim::{Lane, Micros};
use serde::Serialize;

/// Every network message, by the kind of node that receives it.
#[derive(Debug, Clone)]
pub enum Msg {
    Broker(BrokerMsg),
    Controller(ControllerMsg),
    Producer(ProducerMsg),
    Consumer(ConsumerMsg),
}

/// The one connection between two nodes (TCP: in order).
pub const MAIN_LANE: Lane = 0;
/// A consumer's connection to its group coordinator: the Java client gives the
/// coordinator the node id `Integer.MAX_VALUE - brokerId`, so group requests never
/// wait behind a fetch held on the broker's main connection.
pub const COORDINATOR_LANE: Lane = 1;

impl Msg {
    /// Which connection between its two nodes the message travels on.
    pub fn lane(&self) -> Lane {
        match self {
            Msg::Broker(BrokerMsg::Group { .. })
            | Msg::Consumer(
                ConsumerMsg::Coordinator { .. }
                | ConsumerMsg::Joined(_)
                | ConsumerMsg::MemberIdRequired { .. }
                | ConsumerMsg::Synced { .. }
                | ConsumerMsg::HeartbeatDone { .. }
                | ConsumerMsg::GroupError { .. }
                | ConsumerMsg::CommitDone { .. }
                | ConsumerMsg::Offsets { .. }
                | ConsumerMsg::ConsumerHeartbeatDone(_),
            ) => COORDINATOR_LANE,
            _ => MAIN_LANE,
        }
    }
}

/// Timers a node sets for itself. A timer dies with the process that set it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timer {
    ProducerTick,
    BrokerTick,
    ParkedFetchTimeout,
    ControlledShutdownTimeout,
    PauseEnd,
    ControllerTick,
    GroupTick,
    ConsumerPoll,
    ConsumerHeartbeat,
    /// The consumer's heartbeat thread wakes to check `max.poll.interval.ms`.
    ConsumerPollCheck,
    /// A broker reads the next request of a connection that became free.
    ReadRequests,
    /// A share-partition leader's earliest acquisition lock expires.
    ShareLockTimeout,
}

// ---- to brokers ----------------------------------------------------------------

#[derive(Debug, Clone)]
pub enum BrokerMsg {
    Produce(Box<ProduceRequest>),
    Fetch {
        fetch_id: u64,
        parts: Vec<FetchPart>,
    },
    FetchResponse(Box<FetchResponse>),
    MetadataUpdate {
        offset: u64,
        changes: Vec<(u32, PartMeta)>,
    },
    AlterPartitionResponse {
        pidx: u32,
        result: Box<Result<PartMeta, ErrorCode>>,
    },
    ControlledShutdownResponse,
    ClientMetadata {
        req_id: u64,
        topics: Vec<u32>,
    },
    /// Where to start reading, for `auto.offset.reset`: each partition's earliest
    /// offset (its log start) or latest (its HW, or its LSO for read_committed).
    ListOffsets {
        req_id: u64,
        parts: Vec<u32>,
        earliest: bool,
        read_committed: bool,
    },
    /// A consumer's fetch: (partition, offset) pairs, answered up to the HW
    /// (read_uncommitted) or the last stable offset (read_committed).
    ConsumerFetch {
        req_id: u64,
        parts: Vec<(u32, u64)>,
        max_wait_us: Micros,
        read_committed: bool,
    },
    /// A transactional producer's request to its transaction coordinator.
    Txn(Box<TxnRequest>),
    /// Transaction protocol 2 (KIP-890): a partition leader that gets the first
    /// transactional batch of a producer adds the partition to its transaction
    /// at the coordinator before appending it.
    AddPartitionsToTxn {
        pid: u32,
        epoch: u16,
        pidx: u32,
    },
    AddPartitionsToTxnResponse {
        pid: u32,
        epoch: u16,
        pidx: u32,
        error: Option<ErrorCode>,
    },
    /// The coordinator asks a partition leader to end the producer's transaction
    /// there: a control batch (commit or abort marker).
    WriteTxnMarkers {
        pid: u32,
        epoch: u16,
        commit: bool,
        parts: Vec<u32>,
    },
    WriteTxnMarkersResponse {
        pid: u32,
        epoch: u16,
        results: Vec<(u32, Option<ErrorCode>)>,
    },
    Group {
        group: u32,
        req: Box<GroupRequest>,
    },
    /// A share consumer's fetch (KIP-932 ShareFetch) with its acknowledgements;
    /// `max_records` 0 only acknowledges (Kafka's ShareAcknowledge).
    ShareFetch(Box<ShareFetchRequest>),
    /// From a share-partition leader to the share coordinator (the group's
    /// coordinator here): the share-partition's state after a change.
    WriteShareState {
        group: u32,
        pidx: u32,
        snapshot: Box<ShareSnapshot>,
    },
    /// A new share-partition leader asks for the state its predecessor persisted.
    ReadShareState {
        group: u32,
        pidx: u32,
        leader_epoch: i32,
    },
    /// The share coordinator's answer: None when nothing was persisted yet, Err
    /// when the broker asked does not coordinate the group.
    ShareStateRead {
        group: u32,
        pidx: u32,
        state: Result<Option<Box<ShareSnapshot>>, GroupError>,
    },
    /// The connection to this leader was reset (its process died).
    Disconnected,
    /// A controller that is not the active one: ask `leader` (if it knows one).
    NotController {
        leader: Option<u32>,
    },
}

#[derive(Debug, Clone)]
pub struct ProduceRequest {
    pub req_id: u64,
    /// The producer's number for its connection to this broker (a new one after
    /// each disconnect): the broker drops requests from a connection it closed.
    pub conn: u32,
    pub acks: Acks,
    pub timeout_us: Micros,
    /// When the client wrote it to the connection (a request written before the
    /// broker's process died is lost with it; one written after is refused).
    pub sent_us: Micros,
    pub batches: Vec<(u32, Batch)>,
}

/// A transactional producer's requests to its transaction coordinator (`txn`:
/// the transactional id's index).
#[derive(Debug, Clone)]
pub enum TxnRequest {
    FindCoordinator {
        req_id: u64,
        txn: u32,
    },
    InitProducerId {
        req_id: u64,
        txn: u32,
        timeout_us: Micros,
    },
    EndTxn {
        req_id: u64,
        txn: u32,
        pid: u32,
        epoch: u16,
        commit: bool,
    },
    /// sendOffsetsToTransaction (protocol 2: straight to the group coordinator,
    /// which adds its `__consumer_offsets` partition to the transaction). Fenced
    /// by the consumer's member id and generation (KIP-447).
    TxnOffsetCommit {
        req_id: u64,
        group: u32,
        pid: u32,
        epoch: u16,
        member_id: String,
        generation: i32,
        offsets: Vec<(u32, u64)>,
    },
}

/// Why a TxnOffsetCommit failed: the group's answer, or the transaction's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxnCommitError {
    Group(GroupError),
    Txn(ErrorCode),
}

/// What a processing member's application asks of its producer (one process:
/// no network between them).
#[derive(Debug, Clone)]
pub enum AppCall {
    /// `send()`: one record per input record of [offset, offset + n) of `source`,
    /// processed after the member's `rewinds`-th return to its committed offsets.
    Send { part: u32, n: u64, source: (u32, u64), rewinds: u32 },
    /// exactly_once_v2: sendOffsetsToTransaction, then commitTransaction;
    /// at_least_once: flush (the application then commits the offsets itself).
    Commit {
        coordinator: u32,
        member_id: String,
        generation: i32,
        offsets: Vec<(u32, u64)>,
    },
    /// abortTransaction (the application lost partitions mid-transaction).
    Abort,
}

/// A ShareFetch: the partitions to acquire records from (on this leader), the
/// acknowledgements of records it delivered, and whether the member closes its
/// share session (its acquired records are released at once).
#[derive(Debug, Clone)]
pub struct ShareFetchRequest {
    pub req_id: u64,
    pub group: u32,
    /// The member process (its locks are its own; a restart is a new one).
    pub owner: u64,
    pub parts: Vec<u32>,
    /// (partition, first, end, how)
    pub acks: Vec<(u32, u64, u64, AckType)>,
    pub max_records: u32,
    pub max_wait_us: Micros,
    pub close: bool,
}

/// Records a share-partition leader acquired for a member, as a slice of one log batch.
#[derive(Debug, Clone, Copy)]
pub struct SharedRecords {
    pub offset: u64,
    pub records: u64,
    pub created_us: Micros,
    pub created_end_us: Micros,
    pub producer: u32,
    pub audit_seq: u64,
    pub delivery_count: u16,
}

#[derive(Debug, Clone)]
pub enum ShareFetchResult {
    Records(Vec<SharedRecords>),
    NotLeader,
}

#[derive(Debug, Clone, Copy)]
pub struct FetchPart {
    pub pidx: u32,
    pub offset: u64,
    pub last_epoch: Option<i32>,
    pub leader_epoch: i32,
}

#[derive(Debug, Clone)]
pub enum FetchResult {
    Data { hw: u64, log_start: u64, batches: Vec<Batch> },
    Diverging { epoch: i32, end_offset: u64 },
    OutOfRange { log_start: u64, leo: u64 },
    Error(ErrorCode),
}

#[derive(Debug, Clone)]
pub struct FetchResponse {
    pub fetch_id: u64,
    pub parts: Vec<(u32, i32, FetchResult)>,
}

/// Requests a consumer sends to a broker about its group.
#[derive(Debug, Clone)]
pub enum GroupRequest {
    FindCoordinator {
        req_id: u64,
    },
    Join {
        member_id: String,
        instance_id: Option<String>,
        owned: Vec<u32>,
        /// The generation in which the member owned `owned` (-1 when it owns
        /// nothing it knows of): the sticky assignors' generation rules read it.
        generation: i32,
    },
    Sync {
        member_id: String,
        generation: i32,
        assignments: Option<Vec<(String, Vec<u32>)>>,
    },
    Heartbeat {
        member_id: String,
        generation: i32,
    },
    Leave {
        member_id: String,
        reason: &'static str,
    },
    OffsetCommit {
        req_id: u64,
        member_id: String,
        generation: i32,
        offsets: Vec<(u32, u64)>,
    },
    OffsetFetch {
        req_id: u64,
        partitions: Vec<u32>,
    },
    /// KIP-932 ShareGroupHeartbeat: member epoch 0 joins, -1 leaves.
    ShareHeartbeat {
        member_id: String,
        member_epoch: i32,
    },
    /// KIP-848: member epoch 0 joins, -1 leaves, -2 leaves for a while (static).
    ConsumerHeartbeat {
        member_id: String,
        member_epoch: i32,
        instance_id: Option<String>,
        owned: Vec<u32>,
    },
}

// ---- to controllers ----------------------------------------------------------------

#[derive(Debug, Clone)]
pub enum ControllerMsg {
    // The quorum among controllers (KRaft, KIP-595, KIP-996 pre-vote).
    Vote {
        epoch: u32,
        candidate: u32,
        last_epoch: u32,
        end: u64,
        pre_vote: bool,
    },
    VoteResponse {
        epoch: u32,
        leader: Option<u32>,
        granted: bool,
        pre_vote: bool,
    },
    BeginQuorumEpoch {
        epoch: u32,
        leader: u32,
    },
    Fetch {
        epoch: u32,
        voter: u32,
        end: u64,
        last_epoch: u32,
    },
    FetchResponse(Box<RaftFetchResponse>),
    // From brokers, to the active controller.
    /// Also the registration of a new process (a new `incarnation`).
    Heartbeat {
        broker: u32,
        incarnation: u32,
        /// The previous process, if it shut down cleanly (Kafka's previousBrokerEpoch).
        clean_shutdown_of: Option<u32>,
        meta_offset: u64,
    },
    MetadataFetch {
        broker: u32,
        incarnation: u32,
        clean_shutdown_of: Option<u32>,
        offset: u64,
    },
    AlterPartition {
        broker: u32,
        pidx: u32,
        leader_epoch: i32,
        partition_epoch: i32,
        isr: Vec<u32>,
    },
    ControlledShutdown {
        broker: u32,
        incarnation: u32,
    },
}

/// The leader's answer to a voter's fetch of the metadata log.
#[derive(Debug, Clone)]
pub struct RaftFetchResponse {
    pub epoch: u32,
    pub leader: Option<u32>,
    pub hw: u64,
    pub body: RaftFetchBody,
}

#[derive(Debug, Clone)]
pub enum RaftFetchBody {
    Entries(Vec<Entry>),
    /// The voter's log parted from the leader's: cut it back to here first.
    Diverging {
        truncate_to: u64,
    },
    /// The voter is too far behind: here is the committed image.
    Snapshot {
        image: Box<Image>,
        offset: u64,
        epoch: u32,
    },
    NotLeader,
}

// ---- to producers ----------------------------------------------------------------

#[derive(Debug, Clone)]
pub enum ProducerMsg {
    ProduceResponse {
        req_id: u64,
        results: Vec<(u32, Result<u64, ErrorCode>)>,
    },
    /// The connection to the sending broker was reset.
    Disconnected,
    /// The broker's process is down: the connection was refused and this request
    /// never left the client (an acks=0 request's batches go back in the queue).
    Refused(Box<ProduceRequest>),
    MetadataResponse {
        req_id: u64,
        leaders: Vec<(u32, Option<u32>, i32)>,
    },
    TxnCoordinator {
        req_id: u64,
        broker: Option<u32>,
    },
    /// InitProducerId: the producer id and epoch to write with.
    ProducerIdDone {
        req_id: u64,
        result: Result<(u32, u16), ErrorCode>,
    },
    /// EndTxn: the producer id and epoch of the next transaction (protocol 2 bumps
    /// the epoch at every transaction end).
    EndTxnDone {
        req_id: u64,
        result: Result<(u32, u16), ErrorCode>,
    },
    TxnOffsetCommitDone {
        req_id: u64,
        error: Option<TxnCommitError>,
    },
    /// From the processing member in the same process.
    App(Box<AppCall>),
}

// ---- to consumers ----------------------------------------------------------------

#[derive(Debug, Clone)]
pub enum ConsumerMsg {
    /// From the member's own producer: the commit (or flush) it asked for is
    /// done, or the transaction was aborted (the member goes back to its
    /// committed offsets).
    AppDone {
        committed: bool,
        /// The group coordinator answered NOT_COORDINATOR: look it up again.
        coordinator_moved: bool,
    },
    Coordinator {
        req_id: u64,
        broker: Option<u32>,
    },
    Joined(Box<Joined>),
    /// A dynamic member's first JoinGroup (empty member id) is answered with the id
    /// it must rejoin with (KIP-394, Kafka 2.2+).
    MemberIdRequired {
        member_id: String,
    },
    Synced {
        generation: i32,
        assignment: Result<Vec<u32>, GroupError>,
    },
    /// The generation the heartbeat was sent in, so an answer about an older
    /// generation is ignored (Kafka's HeartbeatResponseHandler does the same).
    HeartbeatDone {
        generation: i32,
        error: Option<GroupError>,
    },
    GroupError {
        error: GroupError,
    },
    CommitDone {
        req_id: u64,
        error: Option<GroupError>,
    },
    Offsets {
        req_id: u64,
        offsets: Result<Vec<(u32, Option<u64>)>, GroupError>,
    },
    Fetched {
        req_id: u64,
        parts: Vec<(u32, ConsumerFetchResult)>,
    },
    Metadata {
        req_id: u64,
        leaders: Vec<(u32, Option<u32>, i32)>,
    },
    /// ListOffsets answers: the offset, or None where the broker does not lead the partition.
    ListedOffsets {
        req_id: u64,
        parts: Vec<(u32, Option<u64>)>,
    },
    ConsumerHeartbeatDone(Box<ConsumerHeartbeatDone>),
    /// A ShareFetch answer: the records acquired for this member, per partition.
    ShareFetched {
        req_id: u64,
        parts: Vec<(u32, ShareFetchResult)>,
    },
    Disconnected,
}

#[derive(Debug, Clone)]
pub enum ConsumerFetchResult {
    /// `aborted`: for read_committed, the aborted transactions overlapping the batches.
    Data {
        hw: u64,
        batches: Vec<Batch>,
        aborted: Vec<TxnSpan>,
    },
    NotLeader,
    OutOfRange {
        log_start: u64,
        hw: u64,
    },
}

/// A JoinGroup answer: the member's id and generation; the leader also gets every member.
#[derive(Debug, Clone)]
pub struct Joined {
    pub member_id: String,
    pub generation: i32,
    pub leader: String,
    pub members: Option<Vec<MemberInfo>>,
}

/// A KIP-848 ConsumerGroupHeartbeat answer.
#[derive(Debug, Clone)]
pub struct ConsumerHeartbeatDone {
    pub member_id: String,
    pub member_epoch: i32,
    pub assignment: Option<Vec<u32>>,
    pub error: Option<GroupError>,
}

/// What the leader needs to run the assignor.
#[derive(Debug, Clone)]
pub struct MemberInfo {
    pub member_id: String,
    pub instance_id: Option<String>,
    pub owned: Vec<u32>,
    pub generation: i32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GroupError {
    NotCoordinator,
    UnknownMemberId,
    IllegalGeneration,
    RebalanceInProgress,
    FencedInstanceId,
    /// OffsetFetch with require_stable (every Java consumer since KIP-447) while
    /// a commit for the partition is still being written: retry shortly.
    UnstableOffsetCommit,
    /// KIP-848: a heartbeat's member epoch the coordinator does not accept.
    FencedMemberEpoch,
    /// KIP-848: an offset commit whose member epoch is not the member's current one.
    StaleMemberEpoch,
}

impl GroupError {
    pub fn name(self) -> &'static str {
        match self {
            GroupError::NotCoordinator => "NOT_COORDINATOR",
            GroupError::UnknownMemberId => "UNKNOWN_MEMBER_ID",
            GroupError::IllegalGeneration => "ILLEGAL_GENERATION",
            GroupError::RebalanceInProgress => "REBALANCE_IN_PROGRESS",
            GroupError::FencedInstanceId => "FENCED_INSTANCE_ID",
            GroupError::UnstableOffsetCommit => "UNSTABLE_OFFSET_COMMIT",
            GroupError::FencedMemberEpoch => "FENCED_MEMBER_EPOCH",
            GroupError::StaleMemberEpoch => "STALE_MEMBER_EPOCH",
        }
    }
}
