//! What is wrong with a scenario: one variant per rule, carrying the values
//! that broke it. The English text is the template filled in (`i18n::Template`),
//! one line, the same text the page and the CLI have always shown.

use super::{Acks, GroupProtocol, ProcessorKind};
use crate::i18n::{template_error, Template};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScenarioError {
    /// Not a scenario: JSON syntax, an unknown or missing field, a value of the
    /// wrong type, a bad action line. serde's message, with its line and column.
    Json {
        message: String,
        line: usize,
        column: usize,
    },
    /// `cluster.brokers` outside 1..=64.
    Brokers(u32),
    /// `cluster.controllers` outside 1..=9.
    Controllers(u32),
    ClusterMinIsrZero,
    /// The broker session timeout must exceed a positive heartbeat interval.
    BrokerSessionTimeout {
        heartbeat_ms: u64,
        session_ms: u64,
    },
    ReplicaTimesZero {
        lag_time_max_ms: u64,
        fetch_wait_max_ms: u64,
    },
    /// `cluster.retention_batches` below 10.
    RetentionBatches(u32),
    /// `duration_ms` outside one millisecond to one day.
    Duration(u64),
    TopicName(String),
    InternalTopic(String),
    DuplicateTopic(String),
    Partitions {
        topic: String,
        partitions: u32,
    },
    ReplicationFactorZero {
        topic: String,
    },
    ReplicationFactor {
        topic: String,
        replication_factor: u32,
        brokers: u32,
    },
    TopicMinIsrZero {
        topic: String,
    },
    EmptyProducerId,
    DuplicateProducer(String),
    ProducerTopic {
        producer: String,
        topic: String,
    },
    IdempotenceNeedsAcksAll {
        producer: String,
        acks: Acks,
    },
    TransactionalNeedsIdempotence {
        producer: String,
    },
    EmptyTransactionalId {
        producer: String,
    },
    TransactionTimes {
        producer: String,
    },
    /// An action names a producer that is not transactional.
    NotTransactional {
        action: &'static str,
        producer: String,
    },
    ProducerRate {
        producer: String,
        records_per_sec: u64,
    },
    RecordBytes {
        producer: String,
        record_bytes: u32,
    },
    BatchSize {
        producer: String,
        batch_size: u32,
        record_bytes: u32,
    },
    MaxInFlight {
        producer: String,
        max_in_flight: u32,
    },
    DeliveryTimeout {
        producer: String,
        delivery_timeout_ms: u64,
        linger_ms: u64,
        request_timeout_ms: u64,
    },
    EmptyGroupId,
    DuplicateGroup(String),
    NoGroupTopics {
        group: String,
    },
    GroupTopic {
        group: String,
        topic: String,
    },
    Members {
        group: String,
        members: u32,
    },
    Assignor {
        group: String,
        assignor: String,
        protocol: GroupProtocol,
        valid: &'static [&'static str],
    },
    GroupSessionTimeout {
        group: String,
        heartbeat_ms: u64,
        session_ms: u64,
    },
    GroupIntervalsZero {
        group: String,
    },
    ConsumerRate {
        group: String,
        records_per_sec: u64,
    },
    /// A `share_*` setting on a group whose protocol is not `share`.
    ShareFieldNeedsShare {
        group: String,
        field: &'static str,
    },
    /// A setting share groups do not have (static membership, a processor).
    NotForShareGroups {
        group: String,
        field: &'static str,
    },
    /// output_topic or commit_interval_ms without processing_guarantee.
    ProcessingFieldNeedsGuarantee {
        group: String,
        field: &'static str,
    },
    ProcessingNeedsOutput {
        group: String,
        guarantee: &'static str,
    },
    /// A processing group writing to a topic it reads.
    ProcessingLoop {
        group: String,
        topic: String,
    },
    /// Share-group settings outside their ranges.
    ShareSettings {
        group: String,
        lock_duration_ms: u64,
        delivery_count_limit: u32,
        max_record_locks: u32,
    },
    PoisonPerMille {
        producer: String,
        poison_per_mille: u32,
    },
    /// A duration the engine turns into microseconds, above `MAX_DURATION`
    /// (Kafka's int maximum): `owner` is "cluster", "producer p", "group g" or an action.
    TooLong {
        owner: String,
        field: &'static str,
        value: u64,
    },
    // Actions, checked against the scenario they run in.
    NoSuchBroker {
        broker: u32,
        brokers: u32,
    },
    NoSuchController {
        controller: String,
        controllers: u32,
    },
    /// `pause_broker` or `pause_consumer` for 0 ms.
    PauseZero {
        action: &'static str,
    },
    EmptyCut,
    UnknownProducer {
        producer: String,
    },
    UnknownTopic {
        topic: String,
    },
    SetMinIsrZero {
        topic: String,
    },
    UnknownGroup {
        action: &'static str,
        group: String,
    },
    NoSuchMember {
        action: &'static str,
        group: String,
        member: u32,
        members: u32,
    },
    ActionConsumerRate {
        group: String,
        member: u32,
        records_per_sec: u64,
    },
    // Streaming ML (`workloads::validate`): workloads and processors.
    WorkloadNeedsKeys {
        producer: String,
        workload: &'static str,
    },
    TransactionsTopics {
        producer: String,
        topic: String,
    },
    InternalWorkload {
        producer: String,
        workload: &'static str,
    },
    LabelDelayWorkload {
        producer: String,
    },
    LabelDelay {
        producer: String,
        label_delay_ms: u64,
    },
    LabelsIdTaken {
        producer: String,
        id: String,
    },
    LabelsPartitions {
        topic: String,
        partitions: u32,
        labels_partitions: u32,
    },
    ModelCostNeedsProcessor {
        group: String,
    },
    ModelCost {
        group: String,
        model_cost_us: u64,
    },
    ProcessorNotFed {
        group: String,
        processor: ProcessorKind,
        workload: &'static str,
    },
    AlertsIdTaken {
        group: String,
        id: String,
    },
}

fn q(s: &str) -> String {
    format!("{s:?}")
}

impl Template for ScenarioError {
    fn template(&self) -> (&'static str, Vec<String>) {
        use ScenarioError::*;
        let s = |v: &dyn ToString| v.to_string();
        match self {
            Json { message, .. } => ("invalid scenario: {0}", vec![message.clone()]),
            Brokers(n) => ("cluster.brokers must be 1..=64, got {0}", vec![s(n)]),
            Controllers(n) => ("cluster.controllers must be 1..=9, got {0}", vec![s(n)]),
            ClusterMinIsrZero => ("cluster.min_insync_replicas must be at least 1", vec![]),
            BrokerSessionTimeout { .. } => ("cluster.broker_session_timeout_ms must exceed broker_heartbeat_interval_ms (> 0)", vec![]),
            ReplicaTimesZero { .. } => ("cluster.replica_lag_time_max_ms and replica_fetch_wait_max_ms must be positive", vec![]),
            RetentionBatches(_) => ("cluster.retention_batches must be at least 10", vec![]),
            Duration(ms) => ("duration_ms must be 1..=86400000 (one day), got {0}", vec![s(ms)]),
            TopicName(t) => ("topic name {0} is not a legal Kafka topic name", vec![q(t)]),
            InternalTopic(t) => ("topic {0}: names starting with __ are Kafka's internal topics", vec![q(t)]),
            DuplicateTopic(t) => ("topic {0} is defined twice", vec![q(t)]),
            Partitions { topic, partitions } => ("topic {0}: partitions must be 1..=10000, got {1}", vec![s(topic), s(partitions)]),
            ReplicationFactorZero { topic } => ("topic {0}: replication_factor must be at least 1", vec![s(topic)]),
            ReplicationFactor {
                topic,
                replication_factor,
                brokers,
            } => (
                "topic {0}: replication_factor {1} is larger than the {2} available brokers",
                vec![s(topic), s(replication_factor), s(brokers)],
            ),
            TopicMinIsrZero { topic } => ("topic {0}: min_insync_replicas must be at least 1", vec![s(topic)]),
            EmptyProducerId => ("producer id must not be empty", vec![]),
            DuplicateProducer(p) => ("producer {0} is defined twice", vec![q(p)]),
            ProducerTopic { producer, topic } => ("producer {0}: unknown topic {1}", vec![s(producer), q(topic)]),
            IdempotenceNeedsAcksAll { producer, acks } => (
                "producer {0}: enable_idempotence requires acks \"all\" (got acks \"{1}\")",
                vec![s(producer), s(&acks.as_str())],
            ),
            TransactionalNeedsIdempotence { producer } => ("producer {0}: a transactional_id needs acks \"all\" and idempotence", vec![s(producer)]),
            EmptyTransactionalId { producer } => ("producer {0}: transactional_id must not be empty", vec![s(producer)]),
            TransactionTimes { producer } => (
                "producer {0}: transaction_ms must be at least 1 and transaction_timeout_ms 1..=900000 (transaction.max.timeout.ms)",
                vec![s(producer)],
            ),
            NotTransactional { action, producer } => ("{0}: producer {1} has no transactional_id", vec![s(action), s(producer)]),
            ProducerRate { producer, .. } => ("producer {0}: records_per_sec above 10000000", vec![s(producer)]),
            RecordBytes { producer, .. } => ("producer {0}: record_bytes must be 1..=1000000", vec![s(producer)]),
            BatchSize { producer, .. } => ("producer {0}: batch_size must hold a record and be at most 1048576", vec![s(producer)]),
            MaxInFlight { producer, .. } => (
                "producer {0}: max_in_flight_requests_per_connection must be 1..=5 with idempotence",
                vec![s(producer)],
            ),
            DeliveryTimeout { producer, .. } => (
                "producer {0}: delivery_timeout_ms must be at least linger_ms + request_timeout_ms",
                vec![s(producer)],
            ),
            EmptyGroupId => ("group id must not be empty", vec![]),
            DuplicateGroup(g) => ("group {0} is defined twice", vec![q(g)]),
            NoGroupTopics { group } => ("group {0}: subscribes to no topic", vec![s(group)]),
            GroupTopic { group, topic } => ("group {0}: unknown topic {1}", vec![s(group), q(topic)]),
            Members { group, .. } => ("group {0}: at most 1000 members", vec![s(group)]),
            Assignor {
                group,
                assignor,
                protocol,
                valid,
            } => (
                "group {0}: assignor {1} is not available with protocol {2} (use one of {3})",
                vec![s(group), q(assignor), format!("{protocol:?}"), valid.join(", ")],
            ),
            GroupSessionTimeout { group, .. } => ("group {0}: session_timeout_ms must exceed heartbeat_interval_ms (> 0)", vec![s(group)]),
            GroupIntervalsZero { group } => ("group {0}: max_poll_records and the intervals must be positive", vec![s(group)]),
            ConsumerRate { group, .. } => ("group {0}: records_per_sec_per_member above 10000000", vec![s(group)]),
            ShareFieldNeedsShare { group, field } => ("group {0}: {1} needs protocol \"share\"", vec![s(group), s(field)]),
            NotForShareGroups { group, field } => ("group {0}: share groups do not support {1}", vec![s(group), s(field)]),
            ProcessingFieldNeedsGuarantee { group, field } => (
                "group {0}: {1} needs processing_guarantee (at_least_once or exactly_once_v2)",
                vec![s(group), s(field)],
            ),
            ProcessingNeedsOutput { group, guarantee } => ("group {0}: processing_guarantee {1} needs output_topic", vec![s(group), q(guarantee)]),
            ProcessingLoop { group, topic } => ("group {0}: output_topic {1} is also one of its input topics", vec![s(group), q(topic)]),
            ShareSettings {
                group,
                lock_duration_ms,
                delivery_count_limit,
                max_record_locks,
            } => (
                "group {0}: share_record_lock_duration_ms must be 1000..=3600000 (got {1}), share_delivery_count_limit 2..=10 (got {2}), share_partition_max_record_locks 100..=10000 (got {3})",
                vec![s(group), s(lock_duration_ms), s(delivery_count_limit), s(max_record_locks)],
            ),
            PoisonPerMille { producer, poison_per_mille } => (
                "producer {0}: poison_per_mille must be at most 1000 (got {1})",
                vec![s(producer), s(poison_per_mille)],
            ),
            TooLong { owner, field, value } => ("{0}: {1} must be at most 2147483647, got {2}", vec![s(owner), s(field), s(value)]),
            NoSuchBroker { broker, brokers } => ("broker {0} does not exist (brokers are 0..{1})", vec![s(broker), s(&brokers.saturating_sub(1))]),
            NoSuchController { controller, controllers } => (
                "controller {0} does not exist (controllers are c0..c{1})",
                vec![q(controller), s(&controllers.saturating_sub(1))],
            ),
            PauseZero { action } => ("{0} needs for_ms > 0", vec![s(action)]),
            EmptyCut => ("partition_network needs non-empty from and to lists", vec![]),
            UnknownProducer { producer } => ("set_producer: unknown producer {0}", vec![q(producer)]),
            UnknownTopic { topic } => ("set_topic_config: unknown topic {0}", vec![q(topic)]),
            SetMinIsrZero { .. } => ("set_topic_config: min_insync_replicas must be at least 1", vec![]),
            UnknownGroup { action, group } => ("{0}: unknown group {1}", vec![s(action), q(group)]),
            NoSuchMember {
                action,
                group,
                member,
                members,
            } => (
                "{0}: group {1} has no member {2} (members are 0..{3})",
                vec![s(action), s(group), s(member), s(&members.saturating_sub(1))],
            ),
            ActionConsumerRate { .. } => ("set_consumer_rate: records_per_sec above 10000000", vec![]),
            WorkloadNeedsKeys { producer, workload } => (
                "producer {0}: workload \"{1}\" is keyed by user: set keys (the number of users) above 0",
                vec![s(producer), s(workload)],
            ),
            TransactionsTopics { producer, topic } => (
                "producer {0}: every \"transactions\" workload must write to one topic ({1})",
                vec![s(producer), q(topic)],
            ),
            InternalWorkload { producer, workload } => (
                "producer {0}: workload \"{1}\" is internal (use \"transactions\" or \"user_behavior\")",
                vec![s(producer), s(workload)],
            ),
            LabelDelayWorkload { producer } => ("producer {0}: label_delay_ms needs workload \"transactions\"", vec![s(producer)]),
            LabelDelay { producer, .. } => ("producer {0}: label_delay_ms must be at most 3600000", vec![s(producer)]),
            LabelsIdTaken { producer, id } => (
                "producer {0}: the id {1} is taken by another producer, and the labels producer needs it",
                vec![s(producer), q(id)],
            ),
            LabelsPartitions {
                topic,
                partitions,
                labels_partitions,
            } => (
                "topic transaction_labels: needs as many partitions as {0} ({1}), got {2}",
                vec![s(topic), s(partitions), s(labels_partitions)],
            ),
            ModelCostNeedsProcessor { group } => ("group {0}: model_cost_us needs a processor (\"fraud_lr\" or \"item_cf\")", vec![s(group)]),
            ModelCost { group, .. } => ("group {0}: model_cost_us must be at most 1000000", vec![s(group)]),
            ProcessorNotFed { group, processor, workload } => (
                "group {0}: processor \"{1}\" needs a subscribed topic written by a producer with workload \"{2}\"",
                vec![s(group), s(&processor.as_str()), s(workload)],
            ),
            AlertsIdTaken { group, id } => (
                "group {0}: the id {1} is taken by another producer, and the alerts producer needs it",
                vec![s(group), q(id)],
            ),
        }
    }
}
template_error!(ScenarioError);

impl From<serde_json::Error> for ScenarioError {
    fn from(e: serde_json::Error) -> ScenarioError {
        ScenarioError::Json {
            message: e.to_string(),
            line: e.line(),
            column: e.column(),
        }
    }
}

/// Why an action object is not an action (`Action::from_map`, and the time of a
/// scenario's action line). Inside a scenario file it reaches the user as
/// serde's message, within `ScenarioError::Json`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActionError {
    /// `action` is there but not a string: the JSON value as written.
    NameNotAString(String),
    MissingField(&'static str),
    /// A field of the wrong type: serde's message.
    BadValue {
        field: &'static str,
        message: String,
    },
    /// A broker or member number above `u32::MAX`.
    TooLarge {
        field: &'static str,
    },
    UnknownField {
        field: String,
        action: &'static str,
    },
    UnknownAction(String),
    BothTimes,
    NoTime,
    /// `at_ms` or `at_us` that is not a non-negative integer (or overflows microseconds): the JSON value.
    BadTime {
        field: &'static str,
        value: String,
    },
}

impl Template for ActionError {
    fn template(&self) -> (&'static str, Vec<String>) {
        use ActionError::*;
        match self {
            NameNotAString(v) => ("action must be a string, got {0}", vec![v.clone()]),
            MissingField(f) => ("missing field `{0}`", vec![f.to_string()]),
            BadValue { field, message } => ("{0}: {1}", vec![field.to_string(), message.clone()]),
            TooLarge { field } => ("{0}: too large", vec![field.to_string()]),
            UnknownField { field, action } => ("unknown field `{0}` for action `{1}`", vec![field.clone(), action.to_string()]),
            UnknownAction(name) => (
                "unknown variant `{0}`, expected one of {1}",
                vec![
                    name.clone(),
                    super::action::ACTION_NAMES.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", "),
                ],
            ),
            BothTimes => ("an action has both at_ms and at_us", vec![]),
            NoTime => ("an action needs at_ms or at_us", vec![]),
            BadTime { field, value } => ("{0} must be a non-negative integer, got {1}", vec![field.to_string(), value.clone()]),
        }
    }
}
template_error!(ActionError);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Scenario;

    /// The English text of every variant is its template filled in, in one line.
    #[test]
    fn display_is_the_template_filled_in() {
        let cases = [
            ScenarioError::NoSuchBroker { broker: 3, brokers: 3 },
            ScenarioError::Assignor {
                group: "g".into(),
                assignor: "sticky".into(),
                protocol: GroupProtocol::Consumer,
                valid: &["uniform", "range"],
            },
        ];
        assert_eq!(cases[0].to_string(), "broker 3 does not exist (brokers are 0..2)");
        assert_eq!(
            cases[1].to_string(),
            "group g: assignor \"sticky\" is not available with protocol Consumer (use one of uniform, range)"
        );
        assert_eq!(
            cases[0].template(),
            ("broker {0} does not exist (brokers are 0..{1})", vec!["3".to_string(), "2".to_string()])
        );
    }

    #[test]
    fn bad_scenarios_name_the_rule_and_its_values() {
        let e = |j: &str| Scenario::from_json(j).unwrap_err();
        assert_eq!(e(r#"{"cluster": {"brokers": 65}}"#), ScenarioError::Brokers(65));
        assert_eq!(
            e(r#"{"cluster": {"brokers": 2}, "topics": [{"name": "t", "replication_factor": 3}]}"#),
            ScenarioError::ReplicationFactor {
                topic: "t".into(),
                replication_factor: 3,
                brokers: 2
            }
        );
        assert_eq!(
            e(r#"{"actions": [{"at_ms": 1, "action": "kill_broker", "broker": 3}]}"#),
            ScenarioError::NoSuchBroker { broker: 3, brokers: 3 }
        );
        assert_eq!(
            e(r#"{"topics": [{"name": "t"}], "producers": [{"id": "p", "topic": "t", "acks": "1", "enable_idempotence": true}]}"#),
            ScenarioError::IdempotenceNeedsAcksAll {
                producer: "p".into(),
                acks: Acks::One
            }
        );
        match e("{\n \"sed\": 1}") {
            ScenarioError::Json { message, line, column } => {
                assert!(message.starts_with("unknown field `sed`"), "{message}");
                assert_eq!((line, column), (2, 6));
            }
            other => panic!("{other:?}"),
        }
        // The producer's own id is in the error, with the limit it broke.
        assert_eq!(
            e(r#"{"topics": [{"name": "t"}], "producers": [{"id": "p", "topic": "t", "records_per_sec": 10000001}]}"#),
            ScenarioError::ProducerRate {
                producer: "p".into(),
                records_per_sec: 10_000_001
            }
        );
    }

    /// Durations become microseconds in the engine: past Kafka's int maximum
    /// they are refused, and at it the engine runs without overflowing.
    #[test]
    fn durations_are_bounded_so_the_engine_cannot_overflow() {
        let max = crate::scenario::MAX_DURATION;
        let big = format!(
            r#"{{"duration_ms": 3000, "cluster": {{"replica_lag_time_max_ms": {max}, "replica_fetch_wait_max_ms": {max},
                "broker_session_timeout_ms": {max}, "leader_imbalance_check_interval_seconds": {max}, "retention_ms": {max}}},
              "topics": [{{"name": "t", "partitions": 2, "replication_factor": 3}}],
              "producers": [{{"id": "p", "topic": "t", "linger_ms": {max}, "request_timeout_ms": {max}, "delivery_timeout_ms": {max},
                "retry_backoff_ms": {max}, "retry_backoff_max_ms": {max}}}],
              "groups": [{{"id": "g", "topics": ["t"], "session_timeout_ms": {max}, "max_poll_interval_ms": {max},
                "auto_commit_interval_ms": {max}, "group_initial_rebalance_delay_ms": {max}, "fetch_max_wait_ms": {max},
                "group_consumer_heartbeat_interval_ms": {max}}}],
              "actions": [{{"at_ms": 1000, "action": "slow_broker", "broker": 0, "extra_latency_ms": {max}}},
                          {{"at_ms": 1000, "action": "slow_disk", "broker": 1, "extra_ms": {max}}},
                          {{"at_ms": 1500, "action": "pause_broker", "broker": 2, "for_ms": {max}}},
                          {{"at_ms": 2000, "action": "pause_consumer", "group": "g", "member": 0, "for_ms": {max}}}]}}"#
        );
        // delivery_timeout_ms must cover linger + request: shorten linger for this one.
        let big = big.replacen(&format!(r#""linger_ms": {max}"#), r#""linger_ms": 0"#, 1);
        let s = Scenario::from_json(&big).unwrap_or_else(|e| panic!("{e}"));
        let mut sim = crate::Simulation::new(&s);
        sim.run_until(sim.end_us());
        let over = big.replacen(&format!(r#""fetch_max_wait_ms": {max}"#), &format!(r#""fetch_max_wait_ms": {}"#, max + 1), 1);
        let e = Scenario::from_json(&over).unwrap_err();
        assert_eq!(
            e,
            ScenarioError::TooLong {
                owner: "group g".into(),
                field: "fetch_max_wait_ms",
                value: max + 1
            }
        );
        assert_eq!(e.to_string(), "group g: fetch_max_wait_ms must be at most 2147483647, got 2147483648");
        let over = big.replacen("\"for_ms\": 2147483647", "\"for_ms\": 18446744073709551615", 1);
        assert!(matches!(
            Scenario::from_json(&over),
            Err(ScenarioError::TooLong {
                field: "for_ms",
                value: u64::MAX,
                ..
            })
        ));
    }

    #[test]
    fn bad_actions_name_the_field() {
        let parse = |j: &str| super::super::Action::from_map(serde_json::from_str(j).unwrap()).unwrap_err();
        assert_eq!(
            parse(r#"{"action": "kill_broker", "broker": 1, "extra": 2}"#),
            ActionError::UnknownField {
                field: "extra".into(),
                action: "kill_broker"
            }
        );
        assert_eq!(parse(r#"{"action": "kill_broker"}"#), ActionError::MissingField("broker"));
        assert_eq!(parse(r#"{"action": 5}"#), ActionError::NameNotAString("5".into()));
        assert_eq!(
            parse(r#"{"action": "kill_broker", "broker": 99999999999}"#),
            ActionError::TooLarge { field: "broker" }
        );
        assert!(matches!(parse(r#"{"action": "boom"}"#), ActionError::UnknownAction(n) if n == "boom"));
    }
}
