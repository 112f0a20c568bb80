//! The scenario file: JSON with Kafka's config names (dots as underscores).
//! Unknown fields are errors; missing fields take Kafka 4.0's defaults.
//! Parsing and validation return `ScenarioError`, one clear line, never a panic.

mod action;
pub mod draft;

pub use action::{Action, NodeName, TimedAction};

use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScenarioError(pub String);

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for ScenarioError {}

fn err<T>(msg: impl Into<String>) -> Result<T, ScenarioError> {
    Err(ScenarioError(msg.into()))
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    #[serde(default = "d_seed")]
    pub seed: u64,
    #[serde(default = "d_duration")]
    pub duration_ms: u64,
    #[serde(default)]
    pub cluster: ClusterConfig,
    #[serde(default)]
    pub topics: Vec<TopicConfig>,
    #[serde(default)]
    pub producers: Vec<ProducerConfig>,
    #[serde(default)]
    pub groups: Vec<GroupConfig>,
    #[serde(default)]
    pub actions: Vec<TimedAction>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum GroupProtocol {
    /// JoinGroup/SyncGroup with a client-side assignor.
    Classic,
    /// KIP-848: server-side assignor, incremental reconciliation through heartbeats.
    Consumer,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum OffsetReset {
    Earliest,
    Latest,
}

/// A consumer group. Members are numbered from 0 in creation order, never reused.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct GroupConfig {
    pub id: String,
    pub topics: Vec<String>,
    #[serde(default = "d_one")]
    pub members: u32,
    #[serde(default = "d_protocol")]
    pub protocol: GroupProtocol,
    /// classic: range, roundrobin, sticky, cooperative-sticky; consumer: uniform, range.
    /// Default: range (classic, Kafka's first default), uniform (consumer).
    #[serde(default)]
    pub assignor: Option<String>,
    #[serde(default)]
    pub static_membership: bool,
    #[serde(default = "d_consumer_rate")]
    pub records_per_sec_per_member: u64,
    #[serde(default = "d_true")]
    pub enable_auto_commit: bool,
    #[serde(default = "d_reset")]
    pub auto_offset_reset: OffsetReset,
    #[serde(default = "d_session")]
    pub session_timeout_ms: u64,
    #[serde(default = "d_heartbeat")]
    pub heartbeat_interval_ms: u64,
    #[serde(default = "d_max_poll_interval")]
    pub max_poll_interval_ms: u64,
    #[serde(default = "d_max_poll_records")]
    pub max_poll_records: u32,
    #[serde(default = "d_auto_commit_interval")]
    pub auto_commit_interval_ms: u64,
    /// A broker setting in Kafka; per group here so lessons can shorten it.
    #[serde(default = "d_initial_delay")]
    pub group_initial_rebalance_delay_ms: u64,
    #[serde(default = "d_fetch_wait")]
    pub fetch_max_wait_ms: u64,
    #[serde(default = "d_consumer_heartbeat")]
    pub group_consumer_heartbeat_interval_ms: u64,
    /// The application's work per record: a streaming model (see `crate::ml`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub processor: Option<ProcessorKind>,
    /// Model cost per record in microseconds, on top of `records_per_sec_per_member`
    /// (default: 20 for fraud_lr, 100 for item_cf).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_cost_us: Option<u64>,
}

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

impl GroupConfig {
    pub fn assignor_name(&self) -> &str {
        match (&self.assignor, self.protocol) {
            (Some(a), _) => a,
            (None, GroupProtocol::Classic) => "range",
            (None, GroupProtocol::Consumer) => "uniform",
        }
    }

    /// Eager assignors revoke everything at the start of a rebalance.
    pub fn cooperative(&self) -> bool {
        self.protocol == GroupProtocol::Consumer || self.assignor_name() == "cooperative-sticky"
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ClusterConfig {
    pub brokers: u32,
    pub controllers: u32,
    pub unclean_leader_election_enable: bool,
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
            min_insync_replicas: 1,
            replica_lag_time_max_ms: 30_000,
            replica_fetch_wait_max_ms: 500,
            broker_heartbeat_interval_ms: 2_000,
            broker_session_timeout_ms: 9_000,
            auto_leader_rebalance_enable: true,
            leader_imbalance_check_interval_seconds: 300,
            network_rtt_us: 500,
            retention_batches: 500,
            retention_ms: 300_000,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TopicConfig {
    pub name: String,
    #[serde(default = "d_one")]
    pub partitions: u32,
    /// Kafka's `default.replication.factor` is 1.
    #[serde(default = "d_one")]
    pub replication_factor: u32,
    /// Falls back to the cluster's `min_insync_replicas`.
    #[serde(default)]
    pub min_insync_replicas: Option<u32>,
}

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
    #[serde(default = "d_rate")]
    pub records_per_sec: u64,
    #[serde(default = "d_record_bytes")]
    pub record_bytes: u32,
    /// Size of the key space; 0 means null keys (sticky partitioner).
    #[serde(default)]
    pub keys: u32,
    #[serde(default = "d_acks")]
    pub acks: Acks,
    /// None: Kafka's default (on with acks=all, silently off otherwise).
    #[serde(default)]
    pub enable_idempotence: Option<bool>,
    #[serde(default = "d_linger")]
    pub linger_ms: u64,
    #[serde(default = "d_batch_size")]
    pub batch_size: u32,
    #[serde(default = "d_inflight")]
    pub max_in_flight_requests_per_connection: u32,
    #[serde(default = "d_delivery_timeout")]
    pub delivery_timeout_ms: u64,
    #[serde(default = "d_request_timeout")]
    pub request_timeout_ms: u64,
    #[serde(default = "d_backoff")]
    pub retry_backoff_ms: u64,
    #[serde(default = "d_backoff_max")]
    pub retry_backoff_max_ms: u64,
    /// Generated records with a meaning (issue 8): `transactions` or `user_behavior`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workload: Option<Workload>,
    /// transactions only: labels reach `transaction_labels` this long after the transaction (default 5000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label_delay_ms: Option<u64>,
}

impl ProducerConfig {
    pub fn idempotent(&self) -> bool {
        self.enable_idempotence.unwrap_or(self.acks == Acks::All)
    }
}

fn d_protocol() -> GroupProtocol {
    GroupProtocol::Classic
}
fn d_consumer_rate() -> u64 {
    10_000
}
fn d_true() -> bool {
    true
}
fn d_reset() -> OffsetReset {
    OffsetReset::Latest
}
fn d_session() -> u64 {
    45_000
}
fn d_heartbeat() -> u64 {
    3_000
}
fn d_max_poll_interval() -> u64 {
    300_000
}
fn d_max_poll_records() -> u32 {
    500
}
fn d_auto_commit_interval() -> u64 {
    5_000
}
fn d_initial_delay() -> u64 {
    3_000
}
fn d_fetch_wait() -> u64 {
    500
}
fn d_consumer_heartbeat() -> u64 {
    5_000
}
fn d_seed() -> u64 {
    1
}
fn d_duration() -> u64 {
    60_000
}
fn d_one() -> u32 {
    1
}
fn d_rate() -> u64 {
    1_000
}
fn d_record_bytes() -> u32 {
    100
}
fn d_acks() -> Acks {
    Acks::All
}
fn d_linger() -> u64 {
    5
}
fn d_batch_size() -> u32 {
    16_384
}
fn d_inflight() -> u32 {
    5
}
fn d_delivery_timeout() -> u64 {
    120_000
}
fn d_request_timeout() -> u64 {
    30_000
}
fn d_backoff() -> u64 {
    100
}
fn d_backoff_max() -> u64 {
    1_000
}

impl Scenario {
    /// Parses and validates a scenario file.
    pub fn from_json(text: &str) -> Result<Scenario, ScenarioError> {
        let scenario: Scenario = serde_json::from_str(text).map_err(|e| ScenarioError(format!("invalid scenario: {e}")))?;
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
        let c = &self.cluster;
        if c.brokers == 0 || c.brokers > 64 {
            return err(format!("cluster.brokers must be 1..=64, got {}", c.brokers));
        }
        if c.controllers == 0 || c.controllers > 9 {
            return err(format!("cluster.controllers must be 1..=9, got {}", c.controllers));
        }
        if c.min_insync_replicas == 0 {
            return err("cluster.min_insync_replicas must be at least 1");
        }
        if c.broker_heartbeat_interval_ms == 0 || c.broker_session_timeout_ms <= c.broker_heartbeat_interval_ms {
            return err("cluster.broker_session_timeout_ms must exceed broker_heartbeat_interval_ms (> 0)");
        }
        if c.replica_lag_time_max_ms == 0 || c.replica_fetch_wait_max_ms == 0 {
            return err("cluster.replica_lag_time_max_ms and replica_fetch_wait_max_ms must be positive");
        }
        if c.retention_batches < 10 {
            return err("cluster.retention_batches must be at least 10");
        }
        if self.duration_ms == 0 || self.duration_ms > 24 * 3_600_000 {
            return err(format!("duration_ms must be 1..=86400000 (one day), got {}", self.duration_ms));
        }
        for (i, t) in self.topics.iter().enumerate() {
            if t.name.is_empty() || t.name.len() > 249 || !t.name.chars().all(|ch| ch.is_ascii_alphanumeric() || "._-".contains(ch)) {
                return err(format!("topic name {:?} is not a legal Kafka topic name", t.name));
            }
            if t.name.starts_with("__") {
                return err(format!("topic {:?}: names starting with __ are Kafka's internal topics", t.name));
            }
            if self.topics[..i].iter().any(|o| o.name == t.name) {
                return err(format!("topic {:?} is defined twice", t.name));
            }
            if t.partitions == 0 || t.partitions > 10_000 {
                return err(format!("topic {}: partitions must be 1..=10000, got {}", t.name, t.partitions));
            }
            if t.replication_factor == 0 {
                return err(format!("topic {}: replication_factor must be at least 1", t.name));
            }
            if t.replication_factor > c.brokers {
                return err(format!(
                    "topic {}: replication_factor {} is larger than the {} available brokers",
                    t.name, t.replication_factor, c.brokers
                ));
            }
            if t.min_insync_replicas == Some(0) {
                return err(format!("topic {}: min_insync_replicas must be at least 1", t.name));
            }
        }
        for (i, p) in self.producers.iter().enumerate() {
            if p.id.is_empty() {
                return err("producer id must not be empty");
            }
            if self.producers[..i].iter().any(|o| o.id == p.id) {
                return err(format!("producer {:?} is defined twice", p.id));
            }
            if self.topic(&p.topic).is_none() {
                return err(format!("producer {}: unknown topic {:?}", p.id, p.topic));
            }
            validate_producer(p)?;
        }
        for (i, g) in self.groups.iter().enumerate() {
            validate_group(self, g)?;
            if self.groups[..i].iter().any(|o| o.id == g.id) {
                return err(format!("group {:?} is defined twice", g.id));
            }
        }
        crate::ml::validate(self)?;
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
        initial + added as u32
    }
}

fn validate_group(s: &Scenario, g: &GroupConfig) -> Result<(), ScenarioError> {
    if g.id.is_empty() {
        return err("group id must not be empty");
    }
    if g.topics.is_empty() {
        return err(format!("group {}: subscribes to no topic", g.id));
    }
    for t in &g.topics {
        if s.topic(t).is_none() && !crate::ml::auto_topic(s, t) {
            return err(format!("group {}: unknown topic {t:?}", g.id));
        }
    }
    if g.members > 1_000 {
        return err(format!("group {}: at most 1000 members", g.id));
    }
    let valid: &[&str] = match g.protocol {
        GroupProtocol::Classic => &["range", "roundrobin", "sticky", "cooperative-sticky"],
        GroupProtocol::Consumer => &["uniform", "range"],
    };
    if !valid.contains(&g.assignor_name()) {
        return err(format!(
            "group {}: assignor {:?} is not available with protocol {:?} (use one of {})",
            g.id,
            g.assignor_name(),
            g.protocol,
            valid.join(", ")
        ));
    }
    if g.heartbeat_interval_ms == 0 || g.session_timeout_ms <= g.heartbeat_interval_ms {
        return err(format!("group {}: session_timeout_ms must exceed heartbeat_interval_ms (> 0)", g.id));
    }
    if g.max_poll_records == 0 || g.max_poll_interval_ms == 0 || g.auto_commit_interval_ms == 0 || g.group_consumer_heartbeat_interval_ms == 0 {
        return err(format!("group {}: max_poll_records and the intervals must be positive", g.id));
    }
    if g.records_per_sec_per_member > 10_000_000 {
        return err(format!("group {}: records_per_sec_per_member above 10000000", g.id));
    }
    Ok(())
}

pub(crate) fn validate_producer(p: &ProducerConfig) -> Result<(), ScenarioError> {
    if p.enable_idempotence == Some(true) && p.acks != Acks::All {
        return err(format!(
            "producer {}: enable_idempotence requires acks \"all\" (got acks \"{}\")",
            p.id,
            p.acks.as_str()
        ));
    }
    if p.records_per_sec > 10_000_000 {
        return err(format!("producer {}: records_per_sec above 10000000", p.id));
    }
    if p.record_bytes == 0 || p.record_bytes > 1_000_000 {
        return err(format!("producer {}: record_bytes must be 1..=1000000", p.id));
    }
    if p.batch_size < p.record_bytes.min(16_384) || p.batch_size > 1_048_576 {
        return err(format!("producer {}: batch_size must hold a record and be at most 1048576", p.id));
    }
    if p.max_in_flight_requests_per_connection == 0 || (p.idempotent() && p.max_in_flight_requests_per_connection > 5) {
        return err(format!(
            "producer {}: max_in_flight_requests_per_connection must be 1..=5 with idempotence",
            p.id
        ));
    }
    if p.request_timeout_ms == 0 || p.delivery_timeout_ms < p.linger_ms + p.request_timeout_ms {
        return err(format!(
            "producer {}: delivery_timeout_ms must be at least linger_ms + request_timeout_ms",
            p.id
        ));
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
        assert_eq!(s.actions[0].at_us(), 10_000_000);
        assert_eq!(s.actions[0].action, Action::KillBroker { broker: 1 });
    }

    fn error_of(text: &str) -> String {
        Scenario::from_json(text).unwrap_err().0
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
    fn idempotence_defaults_follow_acks() {
        let s =
            Scenario::from_json(r#"{"topics": [{"name": "t"}], "producers": [{"id": "a", "topic": "t", "acks": "1"}, {"id": "b", "topic": "t"}]}"#).unwrap();
        assert!(!s.producers[0].idempotent());
        assert!(s.producers[1].idempotent());
    }
}
