//! Observations: what nodes report about themselves as they act. The checker
//! (audit of acknowledged records and the invariants), the metrics, the event
//! log and the group reports are built from these alone, never by reading a
//! node's state, so what they say is what the nodes said happened.

use crate::kafka::log::Batch;
use crate::kafka::notable::{ElectionKind, Notable};
use crate::kafka::share::{Acquired, Unlock};
use crate::kafka::types::PartMeta;
use crate::scenario::Acks;
use crate::sim::Micros;
use std::collections::BTreeMap;

/// Which kind of answer an error was: produce responses (the summary's `errors`),
/// group requests, or the brokers' own replication and AlterPartition requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    Produce,
    Group,
    Replication,
}

/// Why records sent with acks=0 are not in the committed log (`acks0_lost`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Acks0Loss {
    /// Sent to a broker whose process was down (the connection was refused), or
    /// waiting on a connection of a broker that died.
    DeadBroker,
    /// Dropped by a network cut between the producer and the broker.
    NetworkCut,
    /// The broker did not lead the partition: it dropped the batch and closed the connection.
    NotLeader,
    /// Queued behind a refused request on a connection the broker then closed.
    ConnectionClosed,
    /// Written, then truncated away (a leader change before followers copied it).
    Truncated,
}

impl Acks0Loss {
    pub fn key(self) -> &'static str {
        match self {
            Acks0Loss::DeadBroker => "dead_broker",
            Acks0Loss::NetworkCut => "network_cut",
            Acks0Loss::NotLeader => "not_leader",
            Acks0Loss::ConnectionClosed => "connection_closed",
            Acks0Loss::Truncated => "truncated",
        }
    }

    pub fn explain(self) -> &'static str {
        match self {
            Acks0Loss::DeadBroker => "sent to a broker that was down",
            Acks0Loss::NetworkCut => "dropped by a network cut",
            Acks0Loss::NotLeader => "refused by a broker that no longer led the partition",
            Acks0Loss::ConnectionClosed => "queued behind a refused request when the broker closed the connection",
            Acks0Loss::Truncated => "written, then truncated when the leader changed",
        }
    }
}

/// A set of brokers (there are at most 64), e.g. an ISR.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BrokerSet(pub u64);

impl BrokerSet {
    pub fn of(brokers: &[u32]) -> BrokerSet {
        BrokerSet(brokers.iter().fold(0, |m, &b| m | 1 << b))
    }

    pub fn iter(self) -> impl Iterator<Item = u32> {
        let mut bits = self.0;
        std::iter::from_fn(move || {
            (bits != 0).then(|| {
                let b = bits.trailing_zeros();
                bits &= bits - 1;
                b
            })
        })
    }
}

#[derive(Debug, Clone)]
pub enum Obs {
    /// A line for the event log.
    Note(Box<Notable>),
    /// A line for the event log, unless the last line is the same (repeated producer errors).
    NoteOnce(Box<Notable>),

    // ---- transactions ----
    /// A transaction coordinator decided a transaction's end (PrepareCommit or
    /// PrepareAbort replicated). A coordinator that takes over may decide the same
    /// one again: the pair (pid, data_epoch) names it.
    TxnEnded(TxnEnd),
    /// Records a transactional producer dropped unsent or failed when its
    /// transaction aborted or it was fenced (never acknowledged).
    TxnRecordsDropped(u64),
    /// A processing member's producer took output records of input records
    /// [offset, offset + records) of partition `source.0` from `source.1`: they
    /// are its audit sequences [seq, seq + records) on output partition `pidx`.
    AppOutput {
        group: u32,
        instance: u32,
        pidx: u32,
        seq: u64,
        records: u64,
        source: (u32, u64),
    },
    /// A producer instance learned it was fenced by a newer one (fatal).
    ProducerFenced {
        producer: u32,
    },

    // ---- producers ----
    /// A producer instance exists (a new acks means a new instance).
    ProducerInstance {
        instance: u32,
        acks: Acks,
        idempotent: bool,
    },
    Produced(u64),
    /// A batch was acknowledged to the producer (`latency` from its records' arrival).
    Acked {
        instance: u32,
        pidx: u32,
        seq: u64,
        records: u32,
        bytes: u32,
        latency: Micros,
    },
    /// Records given up after `delivery.timeout.ms`.
    Failed(u64),
    /// Error answers, counted by Kafka's name and by what answered them.
    Errors {
        kind: ErrorKind,
        name: &'static str,
        count: u64,
    },
    /// An acks=0 producer sent a batch (nobody will say whether it was written).
    Acks0Sent {
        instance: u32,
        pidx: u32,
        seq: u64,
        records: u32,
    },
    /// An acks=0 batch that will never be written, and why.
    Acks0Unwritten {
        instance: u32,
        pidx: u32,
        seq: u64,
        records: u32,
        why: Acks0Loss,
    },
    /// A transactions workload's labels, due on its labels producer (`crate::ml`).
    LabelsDue {
        sink: u32,
        at: Micros,
        part: u32,
        records: u64,
    },

    // ---- replicas ----
    /// A batch was appended to a replica (leader or follower), at its base offset.
    Appended {
        pidx: u32,
        broker: u32,
        batch: Appended,
    },
    /// A replica truncated its log to `to` (divergence, or a fetch out of range).
    Truncated {
        pidx: u32,
        broker: u32,
        from: u64,
        to: u64,
    },
    /// A follower dropped its whole log and restarts at `offset`.
    LogReset {
        pidx: u32,
        broker: u32,
        offset: u64,
    },
    /// A replica's log start moved up to `offset` (retention, or following the leader's).
    LogStartMoved {
        pidx: u32,
        broker: u32,
        offset: u64,
    },
    /// A committed batch aged out of the leader's log: retired, not lost.
    Retired {
        pidx: u32,
        producer: u32,
        offset: u64,
        seq: u64,
        records: u32,
    },
    BecameLeader {
        pidx: u32,
        broker: u32,
        epoch: i32,
    },
    /// The leader's high watermark moved, with the ISR it believed in.
    LeaderHw {
        pidx: u32,
        broker: u32,
        old: u64,
        new: u64,
        isr: BrokerSet,
    },

    // ---- controller ----
    /// The controller committed a partition change to the metadata log.
    PartitionChange {
        pidx: u32,
        prev: Box<PartMeta>,
        next: Box<PartMeta>,
        kind: ElectionKind,
    },
    /// An unclean election chose `leader`, whatever it lacks.
    UncleanElection {
        pidx: u32,
        leader: u32,
    },
    /// A topic's `min.insync.replicas` was committed: brokers apply it (they would
    /// learn it from the metadata log; the engine hands it to them at the commit).
    MinIsrChanged {
        topic: u32,
        min_isr: u32,
    },
    /// Leaders, fencing or the quorum changed: partition availability may have too.
    AvailabilityChanged,
    /// What a metadata record means, reported when it is committed by the
    /// controller leading then (the same record may be reported by the next
    /// leader too: `offset` tells them apart).
    Committed {
        offset: u64,
        reports: Vec<Obs>,
    },

    // ---- brokers as processes ----
    /// The broker process ends on its own (controlled shutdown done).
    Exit {
        stopped: bool,
    },

    // ---- groups ----
    /// The coordinator assigned partitions (classic SyncGroup), with what members owned.
    Assignment {
        group: u32,
        owned: Vec<(String, Vec<u32>)>,
        assignments: Vec<(String, Vec<u32>)>,
    },
    /// A KIP-848 member was reconciled (granted only what no one else owns).
    Reconciled {
        group: u32,
    },
    /// A committed offset was applied by the coordinator.
    OffsetCommitted {
        group: u32,
        pidx: u32,
        offset: u64,
    },
    /// A consumer moved its position by `auto.offset.reset` (not by consuming).
    OffsetReset {
        group: u32,
        pidx: u32,
        to: u64,
    },
    /// Where a group first started reading a partition (lag before any commit).
    StartOffset {
        group: u32,
        pidx: u32,
        offset: u64,
    },
    /// Records handed to a member's application.
    Delivered(Box<Delivery>),
    /// What the timeline and the rebalance reports learn.
    Rebalance {
        group: u32,
        what: Box<RebalanceObs>,
    },
    /// What a share-partition leader did (KIP-932).
    Share(Box<ShareObs>),
}

/// A share-partition leader's report: `owner` is the member process holding
/// the records, `start` the share-partition start offset (SPSO) after the change.
#[derive(Debug, Clone)]
pub enum ShareObs {
    /// The share-partition was set up on this leader (fresh or from its persisted state).
    Init { group: u32, pidx: u32, broker: u32, start: u64, end: u64 },
    /// Records acquired for a member, locked until `deadline`.
    Acquired {
        group: u32,
        pidx: u32,
        broker: u32,
        owner: u64,
        ranges: Vec<Acquired>,
        deadline: Micros,
        start: u64,
    },
    /// Records left ACQUIRED: acknowledged, released, archived, or their locks expired.
    Unlocked {
        group: u32,
        pidx: u32,
        broker: u32,
        why: Unlock,
        ranges: Vec<(u64, u64)>,
        acknowledged: u64,
        archived: u64,
        start: u64,
    },
}

impl Obs {
    pub fn note(what: Notable) -> Obs {
        Obs::Note(Box::new(what))
    }

    pub fn note_once(what: Notable) -> Obs {
        Obs::NoteOnce(Box::new(what))
    }

    pub fn rebalance(group: u32, what: RebalanceObs) -> Obs {
        Obs::Rebalance { group, what: Box::new(what) }
    }

    pub fn share(what: ShareObs) -> Obs {
        Obs::Share(Box::new(what))
    }
}

/// A batch as appended to a replica: where, and whose records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Appended {
    pub base_offset: u64,
    pub records: u32,
    pub producer: u32,
    pub audit_seq: u64,
    /// Written with idempotence (producer id and sequence numbers).
    pub idem: bool,
    /// Records of a transaction: its producer id and epoch (protocol 2 gives
    /// every transaction its own epoch, so the pair names it).
    pub txn: Option<(u32, u16)>,
}

impl Appended {
    pub fn of(b: &Batch, base_offset: u64) -> Appended {
        Appended {
            base_offset,
            records: b.records,
            producer: b.producer,
            audit_seq: b.audit_seq,
            idem: b.idem.is_some(),
            txn: (b.txn == crate::kafka::log::TxnMark::Data).then(|| (b.pid, b.idem.map_or(0, |i| i.0))),
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct TxnEnd {
    pub txn: u32,
    pub pid: u32,
    pub data_epoch: u16,
    pub commit: bool,
    /// Ended by the coordinator itself: timeout, or a new instance of the producer.
    pub cause: Option<&'static str>,
}

/// A run of records handed to a member's application in one poll.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub group: u32,
    pub consumer: u32,
    pub pidx: u32,
    pub offset: u64,
    pub records: u64,
    /// Creation time of the run's middle record, for end-to-end latency.
    pub created: Micros,
    pub producer_instance: u32,
    pub audit_seq: u64,
    /// Creation time of the first record and of the one after the last.
    pub created_from: Micros,
    pub created_to: Micros,
    /// Records handed over earlier in the same poll (they are processed first).
    pub index_in_poll: u64,
    /// The member's processing rate, records per second.
    pub rate: u64,
    /// Share groups: the records' delivery count (1 the first time); 0 otherwise.
    pub delivery_count: u16,
}

/// A rebalance as the coordinator and the members see it.
#[derive(Debug, Clone)]
pub enum RebalanceObs {
    /// A new rebalance (classic: preparing; KIP-848: a new group epoch), with the
    /// partitions that stop being consumed now.
    Started {
        generation: i32,
        cause: &'static str,
        before: BTreeMap<String, Vec<u32>>,
        after: BTreeMap<String, Vec<u32>>,
        revoked: u32,
        pause: Vec<u32>,
    },
    /// One arrow of the sequence diagram.
    Step { kind: &'static str, member: String, partitions: Vec<u32> },
    /// The join phase completed in this generation.
    Generation { generation: i32 },
    /// The rebalance is over (with the classic assignment, if any: the report
    /// counts what moved against the owners before).
    Completed { after: Option<BTreeMap<String, Vec<u32>>> },
    /// Partitions revoked by their owners (they pause until their next owner fetches).
    Revoked { partitions: Vec<u32> },
    /// Partitions granted to a member (KIP-848 reconciliation).
    Granted { member: String, partitions: Vec<u32> },
    /// A member left or expired with these partitions (they pause); `next`: the pause
    /// belongs to the rebalance its departure starts next (KIP-848).
    MemberGone {
        member: String,
        partitions: Vec<u32>,
        next: bool,
        record_before: bool,
    },
    /// A partition's new owner fetched it for the first time: its pause ends.
    Resumed { pidx: u32 },
}
