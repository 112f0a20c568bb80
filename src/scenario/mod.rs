//! The scenario file: JSON with Kafka's config names (dots as underscores).
//! Unknown fields are errors; missing fields take Kafka 4.0's defaults.
//! Parsing and validation return `ScenarioError`, one clear line, never a panic.

mod action;
pub mod draft;
mod error;
pub mod workloads;

pub use action::{Action, NodeName, TimedAction};
pub use error::{ActionError, ScenarioError};

use serde::{Deserialize, Serialize};

/// Missing fields take the values of each struct's `Default` impl, the one
/// place a default is written. A struct with required fields (an id, a name)
/// cannot take `#[serde(default)]` as a whole: that would make those optional
/// too. Its other fields name a function made here, which reads `Default`.
macro_rules! field_defaults {
    ($module:ident for $ty:ident: $($field:ident: $t:ty),+ $(,)?) => {
        mod $module {
            use super::*;
            $(pub(super) fn $field() -> $t {
                $ty::default().$field
            })+
        }
    };
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Scenario {
    pub seed: u64,
    pub duration_ms: u64,
    pub cluster: ClusterConfig,
    pub topics: Vec<TopicConfig>,
    pub producers: Vec<ProducerConfig>,
    pub groups: Vec<GroupConfig>,
    pub actions: Vec<TimedAction>,
}

impl Default for Scenario {
    fn default() -> Self {
        Scenario {
            seed: 1,
            duration_ms: 60_000,
            cluster: ClusterConfig::default(),
            topics: Vec::new(),
            producers: Vec::new(),
            groups: Vec::new(),
            actions: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum GroupProtocol {
    /// JoinGroup/SyncGroup with a client-side assignor.
    Classic,
    /// KIP-848: server-side assignor, incremental reconciliation through heartbeats.
    Consumer,
    /// KIP-932 share group ("queues for Kafka"): members share partitions and
    /// acknowledge records one by one; no offsets, no order.
    Share,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum OffsetReset {
    Earliest,
    Latest,
}

/// `isolation.level`: what a consumer reads of transactional records.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum IsolationLevel {
    /// Up to the high watermark, aborted records and all (Kafka's default).
    #[default]
    ReadUncommitted,
    /// Up to the last stable offset, without aborted transactions' records.
    ReadCommitted,
}

impl IsolationLevel {
    fn is_default(&self) -> bool {
        *self == IsolationLevel::ReadUncommitted
    }
}

/// A consumer group. Members are numbered from 0 in creation order, never reused.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct GroupConfig {
    pub id: String,
    pub topics: Vec<String>,
    #[serde(default = "group_default::members")]
    pub members: u32,
    #[serde(default = "group_default::protocol")]
    pub protocol: GroupProtocol,
    /// classic: range, roundrobin, sticky, cooperative-sticky; consumer: uniform, range.
    /// Default: range (classic, Kafka's first default), uniform (consumer).
    #[serde(default)]
    pub assignor: Option<String>,
    #[serde(default)]
    pub static_membership: bool,
    #[serde(default = "group_default::records_per_sec_per_member")]
    pub records_per_sec_per_member: u64,
    #[serde(default = "group_default::enable_auto_commit")]
    pub enable_auto_commit: bool,
    #[serde(default = "group_default::auto_offset_reset")]
    pub auto_offset_reset: OffsetReset,
    #[serde(default = "group_default::session_timeout_ms")]
    pub session_timeout_ms: u64,
    #[serde(default = "group_default::heartbeat_interval_ms")]
    pub heartbeat_interval_ms: u64,
    #[serde(default = "group_default::max_poll_interval_ms")]
    pub max_poll_interval_ms: u64,
    #[serde(default = "group_default::max_poll_records")]
    pub max_poll_records: u32,
    #[serde(default = "group_default::auto_commit_interval_ms")]
    pub auto_commit_interval_ms: u64,
    /// A broker setting in Kafka; per group here so lessons can shorten it.
    #[serde(default = "group_default::group_initial_rebalance_delay_ms")]
    pub group_initial_rebalance_delay_ms: u64,
    #[serde(default = "group_default::fetch_max_wait_ms")]
    pub fetch_max_wait_ms: u64,
    #[serde(default = "group_default::group_consumer_heartbeat_interval_ms")]
    pub group_consumer_heartbeat_interval_ms: u64,
    /// The application's work per record: a streaming model (see `crate::ml`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub processor: Option<ProcessorKind>,
    /// Model cost per record in microseconds, on top of `records_per_sec_per_member`
    /// (default: 20 for fraud_lr, 100 for item_cf).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_cost_us: Option<u64>,
    #[serde(default, skip_serializing_if = "IsolationLevel::is_default")]
    pub isolation_level: IsolationLevel,
    /// Share groups: the group's `share.record.lock.duration.ms` (Kafka's broker
    /// default `group.share.record.lock.duration.ms`, 30000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub share_record_lock_duration_ms: Option<u64>,
    /// Share groups: `share.delivery.count.limit` (default 5, Kafka's range 2..=10).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub share_delivery_count_limit: Option<u32>,
    /// Share groups: `share.partition.max.record.locks` (default 2000, Kafka's range 100..=10000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub share_partition_max_record_locks: Option<u32>,
    /// Consume-transform-produce: each member writes one record to this topic
    /// per record it processes (Kafka Streams' shape). Default with a
    /// `processing_guarantee` and a processor: the processor's output topic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_topic: Option<String>,
    /// `processing.guarantee` (Kafka Streams' names): at_least_once, or
    /// exactly_once_v2 (alias exactly_once), where each member's output and its
    /// input offsets commit in one transaction.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub processing_guarantee: Option<ProcessingGuarantee>,
    /// `commit.interval.ms`: Kafka Streams' default is 100 with exactly_once_v2
    /// and 30000 with at_least_once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit_interval_ms: Option<u64>,
}

/// The transactional id of a processing member's producer (Kafka Streams
/// names its thread producers `<application.id>-<process>-<thread>`).
pub fn member_txn_id(group: &str, member: u32) -> String {
    format!("{group}-{member}")
}

/// Transactional ids registered per exactly-once group beyond its `members`
/// (for members added later).
pub const SPARE_MEMBER_TXN_IDS: u32 = 64;

/// Kafka Streams' `processing.guarantee`.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ProcessingGuarantee {
    AtLeastOnce,
    #[serde(alias = "exactly_once")]
    ExactlyOnceV2,
}

impl ProcessingGuarantee {
    pub fn as_str(self) -> &'static str {
        match self {
            ProcessingGuarantee::AtLeastOnce => "at_least_once",
            ProcessingGuarantee::ExactlyOnceV2 => "exactly_once_v2",
        }
    }
}

/// Kafka's share-group defaults (`ShareGroupConfig`, 4.2).
pub const SHARE_RECORD_LOCK_DURATION_MS: u64 = 30_000;
pub const SHARE_DELIVERY_COUNT_LIMIT: u32 = 5;
pub const SHARE_PARTITION_MAX_RECORD_LOCKS: u32 = 2_000;

/// What a group's members do with each record (issue 8: ML on the cluster).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ProcessorKind {
    /// Online logistic regression scoring `transactions`, trained from `transaction_labels`.
    FraudLr,
    /// Online item-to-item collaborative filtering over `user_behavior`.
    ItemCf,
}

impl ProcessorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ProcessorKind::FraudLr => "fraud_lr",
            ProcessorKind::ItemCf => "item_cf",
        }
    }
}

/// What a producer's records mean (issue 8): generated from the seed, keyed by user.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Workload {
    Transactions,
    UserBehavior,
    /// Internal: fraud labels mirrored from a transactions producer.
    Labels,
    /// Internal: alerts written by a fraud_lr group.
    Alerts,
}

/// Kafka's consumer defaults; `id` and `topics` are required in a file.
impl Default for GroupConfig {
    fn default() -> Self {
        GroupConfig {
            id: String::new(),
            topics: Vec::new(),
            members: 1,
            protocol: GroupProtocol::Classic,
            assignor: None,
            static_membership: false,
            records_per_sec_per_member: 10_000,
            enable_auto_commit: true,
            auto_offset_reset: OffsetReset::Latest,
            session_timeout_ms: 45_000,
            heartbeat_interval_ms: 3_000,
            max_poll_interval_ms: 300_000,
            max_poll_records: 500,
            auto_commit_interval_ms: 5_000,
            group_initial_rebalance_delay_ms: 3_000,
            fetch_max_wait_ms: 500,
            group_consumer_heartbeat_interval_ms: 5_000,
            processor: None,
            model_cost_us: None,
            isolation_level: IsolationLevel::ReadUncommitted,
            share_record_lock_duration_ms: None,
            share_delivery_count_limit: None,
            share_partition_max_record_locks: None,
            output_topic: None,
            processing_guarantee: None,
            commit_interval_ms: None,
        }
    }
}

field_defaults!(group_default for GroupConfig:
    members: u32,
    protocol: GroupProtocol,
    records_per_sec_per_member: u64,
    enable_auto_commit: bool,
    auto_offset_reset: OffsetReset,
    session_timeout_ms: u64,
    heartbeat_interval_ms: u64,
    max_poll_interval_ms: u64,
    max_poll_records: u32,
    auto_commit_interval_ms: u64,
    group_initial_rebalance_delay_ms: u64,
    fetch_max_wait_ms: u64,
    group_consumer_heartbeat_interval_ms: u64,
);

impl GroupConfig {
    pub fn assignor_name(&self) -> &str {
        match (&self.assignor, self.protocol) {
            (Some(a), _) => a,
            (None, GroupProtocol::Classic) => "range",
            (None, GroupProtocol::Consumer) => "uniform",
            (None, GroupProtocol::Share) => "simple",
        }
    }

    pub fn is_share(&self) -> bool {
        self.protocol == GroupProtocol::Share
    }

    pub fn share_lock_duration_ms(&self) -> u64 {
        self.share_record_lock_duration_ms.unwrap_or(SHARE_RECORD_LOCK_DURATION_MS)
    }

    pub fn share_delivery_limit(&self) -> u32 {
        self.share_delivery_count_limit.unwrap_or(SHARE_DELIVERY_COUNT_LIMIT)
    }

    /// The topic a processing group writes to (None: the group only consumes).
    pub fn output(&self) -> Option<&str> {
        self.processing_guarantee?;
        match (&self.output_topic, self.processor) {
            (Some(t), _) => Some(t),
            (None, Some(ProcessorKind::FraudLr)) => Some(workloads::ALERTS_TOPIC),
            (None, Some(ProcessorKind::ItemCf)) => Some(workloads::RECOMMENDATIONS_TOPIC),
            (None, None) => None,
        }
    }

    /// The group as its members run it: a processing group's consumers take
    /// Kafka Streams' overrides (no auto commit, `auto.offset.reset` earliest,
    /// read_committed with exactly_once_v2).
    pub fn as_run(&self) -> GroupConfig {
        let mut g = self.clone();
        if g.processing_guarantee.is_some() {
            g.enable_auto_commit = false;
            g.auto_offset_reset = OffsetReset::Earliest;
            if g.exactly_once() {
                g.isolation_level = IsolationLevel::ReadCommitted;
            }
        }
        g
    }

    pub fn exactly_once(&self) -> bool {
        self.processing_guarantee == Some(ProcessingGuarantee::ExactlyOnceV2)
    }

    /// `commit.interval.ms` with Kafka Streams' defaults.
    pub fn commit_interval(&self) -> u64 {
        self.commit_interval_ms.unwrap_or(if self.exactly_once() { 100 } else { 30_000 })
    }

    pub fn share_max_record_locks(&self) -> u32 {
        self.share_partition_max_record_locks.unwrap_or(SHARE_PARTITION_MAX_RECORD_LOCKS)
    }

    /// Eager assignors revoke everything at the start of a rebalance.
    pub fn cooperative(&self) -> bool {
        self.protocol != GroupProtocol::Classic || self.assignor_name() == "cooperative-sticky"
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ClusterConfig {
    pub brokers: u32,
    pub controllers: u32,
    pub unclean_leader_election_enable: bool,
    /// Simulator switch for Kafka's feature level `eligible.leader.replicas.version`
    /// (KIP-966): true (the default) is a cluster formatted with Kafka 4.1 or later
    /// (level 1), false is Kafka 4.0 (level 0).
    pub eligible_leader_replicas_enable: bool,
    /// Broker-wide default for topics that do not set their own.
    pub min_insync_replicas: u32,
    pub replica_lag_time_max_ms: u64,
    pub replica_fetch_wait_max_ms: u64,
    pub broker_heartbeat_interval_ms: u64,
    pub broker_session_timeout_ms: u64,
    pub auto_leader_rebalance_enable: bool,
    pub leader_imbalance_check_interval_seconds: u64,
    /// Simulator setting, not Kafka's: network round trip between any two nodes.
    pub network_rtt_us: u64,
    /// Simulator setting: the scale of each message's random extra delay. Most
    /// messages wait less than this, one in four at least this, one in 64 at least
    /// 7 times this (and one in 2,000 waits 1-4 ms more, like a retransmit); order
    /// on a connection is kept. 0 gives a clockwork network.
    pub network_jitter_us: u64,
    /// Simulator setting: per million log appends, how many find the page cache
    /// busy and take 0.5-4 ms; one in 20 of those is a writeback stall of 5-25 ms.
    /// 0 gives a clockwork disk.
    pub disk_slow_write_ppm: u32,
    /// Simulator setting: the log keeps at most this many batches per replica
    /// (old ones roll off, like retention), so memory stays flat.
    pub retention_batches: u32,
    /// Simulator setting: committed batches younger than this stay even past
    /// `retention_batches` (up to 20 times that many), so consumers that fall a
    /// little behind are not reset when several producers make small batches.
    pub retention_ms: u64,
}

impl Default for ClusterConfig {
    fn default() -> Self {
        ClusterConfig {
            brokers: 3,
            controllers: 3,
            unclean_leader_election_enable: false,
            eligible_leader_replicas_enable: true,
            min_insync_replicas: 1,
            replica_lag_time_max_ms: 30_000,
            replica_fetch_wait_max_ms: 500,
            broker_heartbeat_interval_ms: 2_000,
            broker_session_timeout_ms: 9_000,
            auto_leader_rebalance_enable: true,
            leader_imbalance_check_interval_seconds: 300,
            network_rtt_us: 500,
            network_jitter_us: 40,
            disk_slow_write_ppm: 2_000,
            retention_batches: 500,
            retention_ms: 300_000,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TopicConfig {
    pub name: String,
    #[serde(default = "topic_default::partitions")]
    pub partitions: u32,
    /// Kafka's `default.replication.factor` is 1.
    #[serde(default = "topic_default::replication_factor")]
    pub replication_factor: u32,
    /// Falls back to the cluster's `min_insync_replicas`.
    #[serde(default)]
    pub min_insync_replicas: Option<u32>,
}

/// `name` is required in a file.
impl Default for TopicConfig {
    fn default() -> Self {
        TopicConfig {
            name: String::new(),
            partitions: 1,
            replication_factor: 1,
            min_insync_replicas: None,
        }
    }
}

field_defaults!(topic_default for TopicConfig: partitions: u32, replication_factor: u32);

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub enum Acks {
    #[serde(rename = "0")]
    Zero,
    #[serde(rename = "1")]
    One,
    #[serde(rename = "all", alias = "-1")]
    All,
}

impl Acks {
    pub fn as_str(self) -> &'static str {
        match self {
            Acks::Zero => "0",
            Acks::One => "1",
            Acks::All => "all",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ProducerConfig {
    pub id: String,
    pub topic: String,
    #[serde(default = "producer_default::records_per_sec")]
    pub records_per_sec: u64,
    #[serde(default = "producer_default::record_bytes")]
    pub record_bytes: u32,
    /// Size of the key space; 0 means null keys (sticky partitioner).
    #[serde(default)]
    pub keys: u32,
    #[serde(default = "producer_default::acks")]
    pub acks: Acks,
    /// None: Kafka's default (on with acks=all, silently off otherwise).
    #[serde(default)]
    pub enable_idempotence: Option<bool>,
    #[serde(default = "producer_default::linger_ms")]
    pub linger_ms: u64,
    #[serde(default = "producer_default::batch_size")]
    pub batch_size: u32,
    #[serde(default = "producer_default::max_in_flight_requests_per_connection")]
    pub max_in_flight_requests_per_connection: u32,
    #[serde(default = "producer_default::delivery_timeout_ms")]
    pub delivery_timeout_ms: u64,
    #[serde(default = "producer_default::request_timeout_ms")]
    pub request_timeout_ms: u64,
    #[serde(default = "producer_default::retry_backoff_ms")]
    pub retry_backoff_ms: u64,
    #[serde(default = "producer_default::retry_backoff_max_ms")]
    pub retry_backoff_max_ms: u64,
    /// Null keys: the next sticky partition is drawn with weights against each
    /// partition's queued batches (KIP-794's adaptive partitioning), not uniformly.
    #[serde(default = "producer_default::partitioner_adaptive_partitioning_enable")]
    pub partitioner_adaptive_partitioning_enable: bool,
    /// Generated records with a meaning (issue 8): `transactions` or `user_behavior`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workload: Option<Workload>,
    /// transactions only: labels reach `transaction_labels` this long after the transaction (default 5000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label_delay_ms: Option<u64>,
    /// Kafka's `transactional.id`: the producer writes in transactions (it
    /// implies idempotence and acks=all).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transactional_id: Option<String>,
    /// How long each transaction stays open before the producer commits it (simulator setting).
    #[serde(default = "producer_default::transaction_ms", skip_serializing_if = "is_default_transaction_ms")]
    pub transaction_ms: u64,
    /// `transaction.timeout.ms`: the coordinator aborts a transaction open longer.
    #[serde(default = "producer_default::transaction_timeout_ms", skip_serializing_if = "is_default_transaction_timeout_ms")]
    pub transaction_timeout_ms: u64,
    /// Per mille of records a share group's processor always fails on: it
    /// acknowledges them RELEASE, so they come back until the delivery count
    /// limit archives them (`crate::kafka::share::is_poison` picks which).
    /// Other groups read them like any record.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub poison_per_mille: u32,
}

fn is_zero(v: &u32) -> bool {
    *v == 0
}

/// Kafka 4.0's producer defaults; `id` and `topic` are required in a file.
impl Default for ProducerConfig {
    fn default() -> Self {
        ProducerConfig {
            id: String::new(),
            topic: String::new(),
            records_per_sec: 1_000,
            record_bytes: 100,
            keys: 0,
            acks: Acks::All,
            enable_idempotence: None,
            linger_ms: 5,
            batch_size: 16_384,
            max_in_flight_requests_per_connection: 5,
            delivery_timeout_ms: 120_000,
            request_timeout_ms: 30_000,
            retry_backoff_ms: 100,
            retry_backoff_max_ms: 1_000,
            partitioner_adaptive_partitioning_enable: true,
            workload: None,
            label_delay_ms: None,
            transactional_id: None,
            transaction_ms: 100,
            transaction_timeout_ms: 60_000,
            poison_per_mille: 0,
        }
    }
}

field_defaults!(producer_default for ProducerConfig:
    records_per_sec: u64,
    record_bytes: u32,
    acks: Acks,
    linger_ms: u64,
    batch_size: u32,
    max_in_flight_requests_per_connection: u32,
    delivery_timeout_ms: u64,
    request_timeout_ms: u64,
    retry_backoff_ms: u64,
    retry_backoff_max_ms: u64,
    partitioner_adaptive_partitioning_enable: bool,
    transaction_ms: u64,
    transaction_timeout_ms: u64,
);

fn is_default_transaction_ms(v: &u64) -> bool {
    *v == producer_default::transaction_ms()
}

fn is_default_transaction_timeout_ms(v: &u64) -> bool {
    *v == producer_default::transaction_timeout_ms()
}

impl ProducerConfig {
    pub fn idempotent(&self) -> bool {
        self.transactional() || self.enable_idempotence.unwrap_or(self.acks == Acks::All)
    }

    pub fn transactional(&self) -> bool {
        self.transactional_id.is_some()
    }
}

/// The longest duration a setting may hold (in its unit: ms, µs, s): Kafka's
/// int maximum, so that turned into microseconds and added to the clock it
/// cannot overflow.
pub const MAX_DURATION: u64 = i32::MAX as u64;

/// Each (field, value) at most `MAX_DURATION`.
pub(crate) fn durations(owner: impl Fn() -> String, fields: &[(&'static str, u64)]) -> Result<(), ScenarioError> {
    match fields.iter().find(|(_, v)| *v > MAX_DURATION) {
        Some(&(field, value)) => Err(ScenarioError::TooLong { owner: owner(), field, value }),
        None => Ok(()),
    }
}

impl Scenario {
    /// Parses and validates a scenario file.
    pub fn from_json(text: &str) -> Result<Scenario, ScenarioError> {
        let scenario: Scenario = serde_json::from_str(text)?;
        scenario.validate()?;
        Ok(scenario)
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    pub fn topic(&self, name: &str) -> Option<&TopicConfig> {
        self.topics.iter().find(|t| t.name == name)
    }

    pub fn min_isr(&self, topic: &TopicConfig) -> u32 {
        topic.min_insync_replicas.unwrap_or(self.cluster.min_insync_replicas)
    }

    pub fn validate(&self) -> Result<(), ScenarioError> {
        use ScenarioError as E;
        let c = &self.cluster;
        if c.brokers == 0 || c.brokers > 64 {
            return Err(E::Brokers(c.brokers));
        }
        if c.controllers == 0 || c.controllers > 9 {
            return Err(E::Controllers(c.controllers));
        }
        if c.min_insync_replicas == 0 {
            return Err(E::ClusterMinIsrZero);
        }
        if c.broker_heartbeat_interval_ms == 0 || c.broker_session_timeout_ms <= c.broker_heartbeat_interval_ms {
            return Err(E::BrokerSessionTimeout {
                heartbeat_ms: c.broker_heartbeat_interval_ms,
                session_ms: c.broker_session_timeout_ms,
            });
        }
        if c.replica_lag_time_max_ms == 0 || c.replica_fetch_wait_max_ms == 0 {
            return Err(E::ReplicaTimesZero {
                lag_time_max_ms: c.replica_lag_time_max_ms,
                fetch_wait_max_ms: c.replica_fetch_wait_max_ms,
            });
        }
        if c.retention_batches < 10 {
            return Err(E::RetentionBatches(c.retention_batches));
        }
        durations(
            || "cluster".to_string(),
            &[
                ("replica_lag_time_max_ms", c.replica_lag_time_max_ms),
                ("replica_fetch_wait_max_ms", c.replica_fetch_wait_max_ms),
                ("broker_heartbeat_interval_ms", c.broker_heartbeat_interval_ms),
                ("broker_session_timeout_ms", c.broker_session_timeout_ms),
                ("leader_imbalance_check_interval_seconds", c.leader_imbalance_check_interval_seconds),
                ("network_rtt_us", c.network_rtt_us),
                ("retention_ms", c.retention_ms),
            ],
        )?;
        if self.duration_ms == 0 || self.duration_ms > 24 * 3_600_000 {
            return Err(E::Duration(self.duration_ms));
        }
        for (i, t) in self.topics.iter().enumerate() {
            let topic = || t.name.clone();
            if t.name.is_empty() || t.name.len() > 249 || !t.name.chars().all(|ch| ch.is_ascii_alphanumeric() || "._-".contains(ch)) {
                return Err(E::TopicName(topic()));
            }
            if t.name.starts_with("__") {
                return Err(E::InternalTopic(topic()));
            }
            if self.topics[..i].iter().any(|o| o.name == t.name) {
                return Err(E::DuplicateTopic(topic()));
            }
            if t.partitions == 0 || t.partitions > 10_000 {
                return Err(E::Partitions {
                    topic: topic(),
                    partitions: t.partitions,
                });
            }
            if t.replication_factor == 0 {
                return Err(E::ReplicationFactorZero { topic: topic() });
            }
            if t.replication_factor > c.brokers {
                return Err(E::ReplicationFactor {
                    topic: topic(),
                    replication_factor: t.replication_factor,
                    brokers: c.brokers,
                });
            }
            if t.min_insync_replicas == Some(0) {
                return Err(E::TopicMinIsrZero { topic: topic() });
            }
        }
        for (i, p) in self.producers.iter().enumerate() {
            if p.id.is_empty() {
                return Err(E::EmptyProducerId);
            }
            if self.producers[..i].iter().any(|o| o.id == p.id) {
                return Err(E::DuplicateProducer(p.id.clone()));
            }
            if self.topic(&p.topic).is_none() {
                return Err(E::ProducerTopic {
                    producer: p.id.clone(),
                    topic: p.topic.clone(),
                });
            }
            validate_producer(p)?;
        }
        for (i, g) in self.groups.iter().enumerate() {
            validate_group(self, g)?;
            if self.groups[..i].iter().any(|o| o.id == g.id) {
                return Err(E::DuplicateGroup(g.id.clone()));
            }
        }
        workloads::validate(self)?;
        for a in &self.actions {
            a.action.validate(self)?;
        }
        Ok(())
    }

    pub fn group(&self, id: &str) -> Option<&GroupConfig> {
        self.groups.iter().find(|g| g.id == id)
    }

    /// Members a group can ever have in this scenario: the initial ones plus one per `add_consumer`.
    pub fn max_members(&self, group: &str) -> u32 {
        let initial = self.group(group).map_or(0, |g| g.members);
        let added = self
            .actions
            .iter()
            .filter(|a| matches!(&a.action, Action::AddConsumer { group: g } if g == group))
            .count();
        initial.saturating_add(u32::try_from(added).unwrap_or(u32::MAX))
    }
}

fn validate_group(s: &Scenario, g: &GroupConfig) -> Result<(), ScenarioError> {
    use ScenarioError as E;
    let group = || g.id.clone();
    if g.id.is_empty() {
        return Err(E::EmptyGroupId);
    }
    if g.topics.is_empty() {
        return Err(E::NoGroupTopics { group: group() });
    }
    for t in &g.topics {
        if s.topic(t).is_none() && !workloads::auto_topic(s, t) {
            return Err(E::GroupTopic {
                group: group(),
                topic: t.clone(),
            });
        }
    }
    if g.members > 1_000 {
        return Err(E::Members {
            group: group(),
            members: g.members,
        });
    }
    let valid: &'static [&'static str] = match g.protocol {
        GroupProtocol::Classic => &["range", "roundrobin", "sticky", "cooperative-sticky"],
        GroupProtocol::Consumer => &["uniform", "range"],
        GroupProtocol::Share => &["simple"],
    };
    if !valid.contains(&g.assignor_name()) {
        return Err(E::Assignor {
            group: group(),
            assignor: g.assignor_name().to_string(),
            protocol: g.protocol,
            valid,
        });
    }
    if g.heartbeat_interval_ms == 0 || g.session_timeout_ms <= g.heartbeat_interval_ms {
        return Err(E::GroupSessionTimeout {
            group: group(),
            heartbeat_ms: g.heartbeat_interval_ms,
            session_ms: g.session_timeout_ms,
        });
    }
    if g.max_poll_records == 0 || g.max_poll_interval_ms == 0 || g.auto_commit_interval_ms == 0 || g.group_consumer_heartbeat_interval_ms == 0 {
        return Err(E::GroupIntervalsZero { group: group() });
    }
    validate_share_settings(g)?;
    validate_processing(s, g)?;
    if g.records_per_sec_per_member > 10_000_000 {
        return Err(E::ConsumerRate {
            group: group(),
            records_per_sec: g.records_per_sec_per_member,
        });
    }
    durations(
        || format!("group {}", g.id),
        &[
            ("session_timeout_ms", g.session_timeout_ms),
            ("heartbeat_interval_ms", g.heartbeat_interval_ms),
            ("max_poll_interval_ms", g.max_poll_interval_ms),
            ("auto_commit_interval_ms", g.auto_commit_interval_ms),
            ("group_initial_rebalance_delay_ms", g.group_initial_rebalance_delay_ms),
            ("fetch_max_wait_ms", g.fetch_max_wait_ms),
            ("group_consumer_heartbeat_interval_ms", g.group_consumer_heartbeat_interval_ms),
        ],
    )
}

/// Consume-transform-produce: an output topic that exists (or that the engine
/// creates), a guarantee to go with it, not on share groups (no offsets to
/// commit in a transaction), and a commit interval Kafka Streams would take.
fn validate_processing(s: &Scenario, g: &GroupConfig) -> Result<(), ScenarioError> {
    use ScenarioError as E;
    let group = || g.id.clone();
    let Some(guarantee) = g.processing_guarantee else {
        let field = match (&g.output_topic, g.commit_interval_ms) {
            (Some(_), _) => "output_topic",
            (None, Some(_)) => "commit_interval_ms",
            (None, None) => return Ok(()),
        };
        return Err(E::ProcessingFieldNeedsGuarantee { group: group(), field });
    };
    if g.is_share() {
        return Err(E::NotForShareGroups {
            group: group(),
            field: "processing_guarantee",
        });
    }
    let Some(out) = g.output() else {
        return Err(E::ProcessingNeedsOutput {
            group: group(),
            guarantee: guarantee.as_str(),
        });
    };
    if s.topic(out).is_none() && !workloads::auto_topic(s, out) {
        return Err(E::GroupTopic {
            group: group(),
            topic: out.to_string(),
        });
    }
    if g.topics.iter().any(|t| t == out) {
        return Err(E::ProcessingLoop {
            group: group(),
            topic: out.to_string(),
        });
    }
    durations(|| format!("group {}", g.id), &[("commit_interval_ms", g.commit_interval())])?;
    if g.commit_interval() == 0 {
        return Err(E::GroupIntervalsZero { group: group() });
    }
    Ok(())
}

/// Share-group settings: only on share groups, within Kafka's ranges (the lock
/// duration may be shorter than Kafka's 15 s minimum, so lessons can show expiry).
fn validate_share_settings(g: &GroupConfig) -> Result<(), ScenarioError> {
    use ScenarioError as E;
    let group = || g.id.clone();
    let share_fields = [
        ("share_record_lock_duration_ms", g.share_record_lock_duration_ms.is_some()),
        ("share_delivery_count_limit", g.share_delivery_count_limit.is_some()),
        ("share_partition_max_record_locks", g.share_partition_max_record_locks.is_some()),
    ];
    if !g.is_share() {
        if let Some(&(field, _)) = share_fields.iter().find(|f| f.1) {
            return Err(E::ShareFieldNeedsShare { group: group(), field });
        }
        return Ok(());
    }
    if g.static_membership || g.processor.is_some() {
        let field = if g.static_membership { "static_membership" } else { "processor" };
        return Err(E::NotForShareGroups { group: group(), field });
    }
    let lock = g.share_lock_duration_ms();
    let limit = g.share_delivery_limit();
    let locks = g.share_max_record_locks();
    if !(1_000..=3_600_000).contains(&lock) || !(2..=10).contains(&limit) || !(100..=10_000).contains(&locks) {
        return Err(E::ShareSettings {
            group: group(),
            lock_duration_ms: lock,
            delivery_count_limit: limit,
            max_record_locks: locks,
        });
    }
    Ok(())
}

pub(crate) fn validate_producer(p: &ProducerConfig) -> Result<(), ScenarioError> {
    use ScenarioError as E;
    let producer = || p.id.clone();
    if p.transactional() && (p.acks != Acks::All || p.enable_idempotence == Some(false)) {
        return Err(E::TransactionalNeedsIdempotence { producer: producer() });
    }
    if p.transactional_id.as_deref() == Some("") {
        return Err(E::EmptyTransactionalId { producer: producer() });
    }
    if p.transaction_ms == 0 || p.transaction_ms > MAX_DURATION || p.transaction_timeout_ms == 0 || p.transaction_timeout_ms > 900_000 {
        return Err(E::TransactionTimes { producer: producer() });
    }
    if p.enable_idempotence == Some(true) && p.acks != Acks::All {
        return Err(E::IdempotenceNeedsAcksAll {
            producer: producer(),
            acks: p.acks,
        });
    }
    if p.poison_per_mille > 1_000 {
        return Err(E::PoisonPerMille {
            producer: producer(),
            poison_per_mille: p.poison_per_mille,
        });
    }
    if p.records_per_sec > 10_000_000 {
        return Err(E::ProducerRate {
            producer: producer(),
            records_per_sec: p.records_per_sec,
        });
    }
    if p.record_bytes == 0 || p.record_bytes > 1_000_000 {
        return Err(E::RecordBytes {
            producer: producer(),
            record_bytes: p.record_bytes,
        });
    }
    if p.batch_size < p.record_bytes.min(16_384) || p.batch_size > 1_048_576 {
        return Err(E::BatchSize {
            producer: producer(),
            batch_size: p.batch_size,
            record_bytes: p.record_bytes,
        });
    }
    if p.max_in_flight_requests_per_connection == 0 || (p.idempotent() && p.max_in_flight_requests_per_connection > 5) {
        return Err(E::MaxInFlight {
            producer: producer(),
            max_in_flight: p.max_in_flight_requests_per_connection,
        });
    }
    durations(
        || format!("producer {}", p.id),
        &[
            ("linger_ms", p.linger_ms),
            ("delivery_timeout_ms", p.delivery_timeout_ms),
            ("request_timeout_ms", p.request_timeout_ms),
            ("retry_backoff_ms", p.retry_backoff_ms),
            ("retry_backoff_max_ms", p.retry_backoff_max_ms),
        ],
    )?;
    if p.request_timeout_ms == 0 || p.delivery_timeout_ms < p.linger_ms + p.request_timeout_ms {
        return Err(E::DeliveryTimeout {
            producer: producer(),
            delivery_timeout_ms: p.delivery_timeout_ms,
            linger_ms: p.linger_ms,
            request_timeout_ms: p.request_timeout_ms,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = r#"{"seed": 7, "duration_ms": 60000,
 "cluster": {"brokers": 3, "controllers": 3, "unclean_leader_election_enable": false},
 "topics": [{"name": "transactions", "partitions": 6, "replication_factor": 3, "min_insync_replicas": 2}],
 "producers": [{"id": "p1", "topic": "transactions", "records_per_sec": 2000, "record_bytes": 200, "keys": 1000,
                "acks": "all", "enable_idempotence": true, "linger_ms": 5, "batch_size": 16384}],
 "actions": [{"at_ms": 10000, "action": "kill_broker", "broker": 1}]}"#;

    #[test]
    fn parses_the_issue_example() {
        let s = Scenario::from_json(EXAMPLE).unwrap();
        assert_eq!(s.seed, 7);
        assert_eq!(s.topics[0].partitions, 6);
        assert_eq!(s.min_isr(&s.topics[0]), 2);
        assert_eq!(s.producers[0].acks, Acks::All);
        assert_eq!(s.actions[0].at_us, 10_000_000);
        assert_eq!(s.actions[0].action, Action::KillBroker { broker: 1 });
    }

    fn error_of(text: &str) -> String {
        Scenario::from_json(text).unwrap_err().to_string()
    }

    #[test]
    fn rejects_bad_input_with_one_line() {
        let cases = [
            ("not json", "invalid scenario"),
            (r#"{"sed": 1}"#, "unknown field `sed`"),
            (
                r#"{"cluster": {"brokers": 2}, "topics": [{"name": "t", "replication_factor": 3}]}"#,
                "larger than the 2",
            ),
            (
                r#"{"topics": [{"name": "t"}], "producers": [{"id": "p", "topic": "t", "records_per_sec": -5}]}"#,
                "invalid value",
            ),
            (
                r#"{"topics": [{"name": "t"}], "producers": [{"id": "p", "topic": "t", "acks": "1", "enable_idempotence": true}]}"#,
                "requires acks",
            ),
            (
                r#"{"actions": [{"at_ms": 1, "action": "kill_broker", "broker": 3}]}"#,
                "broker 3 does not exist",
            ),
            (r#"{"actions": [{"at_ms": 1, "action": "explode"}]}"#, "unknown variant `explode`"),
            (r#"{"topics": [{"name": "t"}], "producers": [{"id": "p", "topic": "u"}]}"#, "unknown topic"),
        ];
        for (input, expected) in cases {
            let e = error_of(input);
            assert!(e.contains(expected), "{input}: got {e:?}, expected it to contain {expected:?}");
            assert!(!e.contains('\n'), "{input}: error spans lines: {e:?}");
        }
    }

    #[test]
    fn missing_fields_take_the_default_impls_and_required_ones_stay_required() {
        assert_eq!(Scenario::from_json("{}").unwrap(), Scenario::default());
        let s =
            Scenario::from_json(r#"{"topics": [{"name": "t"}], "producers": [{"id": "p", "topic": "t"}], "groups": [{"id": "g", "topics": ["t"]}]}"#).unwrap();
        assert_eq!(
            s.topics[0],
            TopicConfig {
                name: "t".into(),
                ..TopicConfig::default()
            }
        );
        assert_eq!(
            s.producers[0],
            ProducerConfig {
                id: "p".into(),
                topic: "t".into(),
                ..ProducerConfig::default()
            }
        );
        assert_eq!(
            s.groups[0],
            GroupConfig {
                id: "g".into(),
                topics: vec!["t".into()],
                ..GroupConfig::default()
            }
        );
        // Kafka's values, as the serde default functions had them.
        let (p, g) = (&s.producers[0], &s.groups[0]);
        assert_eq!(
            (s.seed, s.duration_ms, s.topics[0].partitions, s.topics[0].replication_factor),
            (1, 60_000, 1, 1)
        );
        assert_eq!(
            (p.records_per_sec, p.record_bytes, p.acks, p.linger_ms, p.batch_size),
            (1_000, 100, Acks::All, 5, 16_384)
        );
        assert_eq!(
            (
                p.max_in_flight_requests_per_connection,
                p.delivery_timeout_ms,
                p.request_timeout_ms,
                p.retry_backoff_ms,
                p.retry_backoff_max_ms
            ),
            (5, 120_000, 30_000, 100, 1_000)
        );
        assert_eq!(
            (g.members, g.protocol, g.records_per_sec_per_member, g.enable_auto_commit),
            (1, GroupProtocol::Classic, 10_000, true)
        );
        assert_eq!(
            (
                g.auto_offset_reset,
                g.session_timeout_ms,
                g.heartbeat_interval_ms,
                g.max_poll_interval_ms,
                g.max_poll_records
            ),
            (OffsetReset::Latest, 45_000, 3_000, 300_000, 500)
        );
        assert_eq!(
            (
                g.auto_commit_interval_ms,
                g.group_initial_rebalance_delay_ms,
                g.fetch_max_wait_ms,
                g.group_consumer_heartbeat_interval_ms
            ),
            (5_000, 3_000, 500, 5_000)
        );
        for (json, field) in [
            (r#"{"topics": [{"partitions": 2}]}"#, "name"),
            (r#"{"topics": [{"name": "t"}], "producers": [{"topic": "t"}]}"#, "id"),
            (r#"{"topics": [{"name": "t"}], "producers": [{"id": "p"}]}"#, "topic"),
            (r#"{"topics": [{"name": "t"}], "groups": [{"topics": ["t"]}]}"#, "id"),
            (r#"{"topics": [{"name": "t"}], "groups": [{"id": "g"}]}"#, "topics"),
        ] {
            match Scenario::from_json(json) {
                Err(ScenarioError::Json { message, .. }) => assert!(message.starts_with(&format!("missing field `{field}`")), "{json}: {message}"),
                other => panic!("{json}: {other:?}"),
            }
        }
    }

    #[test]
    fn idempotence_defaults_follow_acks() {
        let s =
            Scenario::from_json(r#"{"topics": [{"name": "t"}], "producers": [{"id": "a", "topic": "t", "acks": "1"}, {"id": "b", "topic": "t"}]}"#).unwrap();
        assert!(!s.producers[0].idempotent());
        assert!(s.producers[1].idempotent());
    }
}
