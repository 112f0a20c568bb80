//! Actions: every fault and every user command is one of these, applied as an
//! event at its time, whether it came from a file, a button, a URL or a test.

use super::{err, validate_producer, Acks, Scenario, ScenarioError};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
pub enum Action {
    KillBroker { broker: u32 },
    RestartBroker { broker: u32 },
    StopBroker { broker: u32 },
    PauseBroker { broker: u32, for_ms: u64 },
    SlowBroker { broker: u32, extra_latency_ms: u64 },
    SlowDisk { broker: u32, extra_ms: u64 },
    KillController { controller: String },
    RestartController { controller: String },
    PartitionNetwork {
        from: Vec<NodeName>,
        to: Vec<NodeName>,
        #[serde(default)]
        one_way: bool,
    },
    HealNetwork {},
    ElectPreferredLeaders {},
    SetProducer {
        producer: String,
        #[serde(default)]
        records_per_sec: Option<u64>,
        #[serde(default)]
        acks: Option<Acks>,
    },
    SetTopicConfig { topic: String, min_insync_replicas: u32 },
    SetClusterConfig { unclean_leader_election_enable: bool },
    AddConsumer { group: String },
    StopConsumer { group: String, member: u32 },
    KillConsumer { group: String, member: u32 },
    RestartConsumer { group: String, member: u32 },
    PauseConsumer { group: String, member: u32, for_ms: u64 },
    SetConsumerRate { group: String, member: u32, records_per_sec: u64 },
}

/// A node named in a network cut: a broker number or a controller name ("c1").
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(untagged)]
pub enum NodeName {
    Broker(u32),
    Controller(String),
}

impl Action {
    /// Checks the action against the scenario it runs in.
    pub fn validate(&self, s: &Scenario) -> Result<(), ScenarioError> {
        let broker = |b: u32| -> Result<(), ScenarioError> {
            if b >= s.cluster.brokers {
                return err(format!(
                    "broker {b} does not exist (brokers are 0..{})",
                    s.cluster.brokers.saturating_sub(1)
                ));
            }
            Ok(())
        };
        let controller = |c: &str| -> Result<(), ScenarioError> {
            match c.strip_prefix('c').and_then(|n| n.parse::<u32>().ok()) {
                Some(n) if n < s.cluster.controllers => Ok(()),
                _ => err(format!(
                    "controller {c:?} does not exist (controllers are c0..c{})",
                    s.cluster.controllers.saturating_sub(1)
                )),
            }
        };
        match self {
            Action::KillBroker { broker: b } | Action::RestartBroker { broker: b } | Action::StopBroker { broker: b } => broker(*b),
            Action::PauseBroker { broker: b, for_ms } => {
                broker(*b)?;
                if *for_ms == 0 {
                    return err("pause_broker needs for_ms > 0");
                }
                Ok(())
            }
            Action::SlowBroker { broker: b, .. } | Action::SlowDisk { broker: b, .. } => broker(*b),
            Action::KillController { controller: c } | Action::RestartController { controller: c } => controller(c),
            Action::PartitionNetwork { from, to, .. } => {
                if from.is_empty() || to.is_empty() {
                    return err("partition_network needs non-empty from and to lists");
                }
                for n in from.iter().chain(to) {
                    match n {
                        NodeName::Broker(b) => broker(*b)?,
                        NodeName::Controller(c) => controller(c)?,
                    }
                }
                Ok(())
            }
            Action::HealNetwork {} | Action::ElectPreferredLeaders {} => Ok(()),
            Action::SetProducer { producer, records_per_sec, acks } => {
                let Some(p) = s.producers.iter().find(|p| &p.id == producer) else {
                    return err(format!("set_producer: unknown producer {producer:?}"));
                };
                let mut next = p.clone();
                if let Some(r) = records_per_sec {
                    next.records_per_sec = *r;
                }
                if let Some(a) = acks {
                    next.acks = *a;
                    // A new acks is a new producer instance; idempotence falls back to the default.
                    if next.enable_idempotence == Some(true) && *a != Acks::All {
                        next.enable_idempotence = None;
                    }
                }
                validate_producer(&next)
            }
            Action::SetTopicConfig { topic, min_insync_replicas } => {
                if s.topic(topic).is_none() {
                    return err(format!("set_topic_config: unknown topic {topic:?}"));
                }
                if *min_insync_replicas == 0 {
                    return err("set_topic_config: min_insync_replicas must be at least 1");
                }
                Ok(())
            }
            Action::SetClusterConfig { .. } => Ok(()),
            Action::AddConsumer { group } => {
                if s.group(group).is_none() {
                    return err(format!("add_consumer: unknown group {group:?}"));
                }
                Ok(())
            }
            Action::StopConsumer { group, member }
            | Action::KillConsumer { group, member }
            | Action::RestartConsumer { group, member }
            | Action::PauseConsumer { group, member, .. }
            | Action::SetConsumerRate { group, member, .. } => {
                if s.group(group).is_none() {
                    return err(format!("{}: unknown group {group:?}", self.name()));
                }
                let max = s.max_members(group);
                if *member >= max {
                    return err(format!("{}: group {group} has no member {member} (members are 0..{})", self.name(), max.saturating_sub(1)));
                }
                if let Action::PauseConsumer { for_ms: 0, .. } = self {
                    return err("pause_consumer needs for_ms > 0");
                }
                if let Action::SetConsumerRate { records_per_sec, .. } = self {
                    if *records_per_sec > 10_000_000 {
                        return err("set_consumer_rate: records_per_sec above 10000000");
                    }
                }
                Ok(())
            }
        }
    }

    /// A short name for logs and chart markers.
    pub fn name(&self) -> &'static str {
        match self {
            Action::KillBroker { .. } => "kill_broker",
            Action::RestartBroker { .. } => "restart_broker",
            Action::StopBroker { .. } => "stop_broker",
            Action::PauseBroker { .. } => "pause_broker",
            Action::SlowBroker { .. } => "slow_broker",
            Action::SlowDisk { .. } => "slow_disk",
            Action::KillController { .. } => "kill_controller",
            Action::RestartController { .. } => "restart_controller",
            Action::PartitionNetwork { .. } => "partition_network",
            Action::HealNetwork {} => "heal_network",
            Action::ElectPreferredLeaders {} => "elect_preferred_leaders",
            Action::SetProducer { .. } => "set_producer",
            Action::SetTopicConfig { .. } => "set_topic_config",
            Action::SetClusterConfig { .. } => "set_cluster_config",
            Action::AddConsumer { .. } => "add_consumer",
            Action::StopConsumer { .. } => "stop_consumer",
            Action::KillConsumer { .. } => "kill_consumer",
            Action::RestartConsumer { .. } => "restart_consumer",
            Action::PauseConsumer { .. } => "pause_consumer",
            Action::SetConsumerRate { .. } => "set_consumer_rate",
        }
    }
}

/// An action with its time. In files: `at_ms`, or `at_us` for exact replay.
#[derive(Debug, Clone, PartialEq)]
pub struct TimedAction {
    pub at_us: u64,
    pub action: Action,
}

impl TimedAction {
    pub fn at_us(&self) -> u64 {
        self.at_us
    }
}

impl<'de> Deserialize<'de> for TimedAction {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let mut value = serde_json::Map::deserialize(d)?;
        let at_ms = value.remove("at_ms");
        let at_us = value.remove("at_us");
        let at_us = match (at_ms, at_us) {
            (Some(_), Some(_)) => return Err(D::Error::custom("an action has both at_ms and at_us")),
            (Some(v), None) => v
                .as_u64()
                .and_then(|ms| ms.checked_mul(1_000))
                .ok_or_else(|| D::Error::custom(format!("at_ms must be a non-negative integer, got {v}")))?,
            (None, Some(v)) => v
                .as_u64()
                .ok_or_else(|| D::Error::custom(format!("at_us must be a non-negative integer, got {v}")))?,
            (None, None) => return Err(D::Error::custom("an action needs at_ms or at_us")),
        };
        let action = Action::deserialize(serde_json::Value::Object(value)).map_err(D::Error::custom)?;
        Ok(TimedAction { at_us, action })
    }
}

impl Serialize for TimedAction {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::Error;
        let mut v = serde_json::to_value(&self.action).map_err(S::Error::custom)?;
        if let Some(obj) = v.as_object_mut() {
            if self.at_us % 1_000 == 0 {
                obj.insert("at_ms".into(), (self.at_us / 1_000).into());
            } else {
                obj.insert("at_us".into(), self.at_us.into());
            }
        }
        v.serialize(s)
    }
}
