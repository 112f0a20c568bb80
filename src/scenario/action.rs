//! Actions: every fault and every user command is one of these, applied as an
//! event at its time, whether it came from a file, a button, a URL or a test.

use super::{durations, validate_producer, Acks, ActionError, Scenario, ScenarioError};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Serialized with serde (tag `action`); parsed by hand in `Action::from_map`,
/// because serde's derived parser for internally tagged enums was a fifth of
/// the page's WebAssembly.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    KillBroker {
        broker: u32,
    },
    RestartBroker {
        broker: u32,
    },
    StopBroker {
        broker: u32,
    },
    PauseBroker {
        broker: u32,
        for_ms: u64,
    },
    SlowBroker {
        broker: u32,
        extra_latency_ms: u64,
    },
    SlowDisk {
        broker: u32,
        extra_ms: u64,
    },
    KillController {
        controller: String,
    },
    RestartController {
        controller: String,
    },
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
    SetTopicConfig {
        topic: String,
        min_insync_replicas: u32,
    },
    SetClusterConfig {
        unclean_leader_election_enable: bool,
    },
    AddConsumer {
        group: String,
    },
    StopConsumer {
        group: String,
        member: u32,
    },
    KillConsumer {
        group: String,
        member: u32,
    },
    RestartConsumer {
        group: String,
        member: u32,
    },
    PauseConsumer {
        group: String,
        member: u32,
        for_ms: u64,
    },
    SetConsumerRate {
        group: String,
        member: u32,
        records_per_sec: u64,
    },
    /// The transactional producer aborts its current transaction.
    AbortTransaction {
        producer: String,
    },
    /// The producer's process dies: what it had open stays open until its
    /// transaction coordinator aborts it (`transaction.timeout.ms`).
    KillProducer {
        producer: String,
    },
    /// A new instance of the producer starts (with the same transactional id). If
    /// the old one is only paused, it keeps running and becomes a zombie.
    RestartProducer {
        producer: String,
    },
    PauseProducer {
        producer: String,
        for_ms: u64,
    },
}

/// A node named in a network cut: a broker number or a controller name ("c1").
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(untagged)]
pub enum NodeName {
    Broker(u32),
    Controller(String),
}

pub(super) const ACTION_NAMES: &[&str] = &[
    "kill_broker",
    "restart_broker",
    "stop_broker",
    "pause_broker",
    "slow_broker",
    "slow_disk",
    "kill_controller",
    "restart_controller",
    "partition_network",
    "heal_network",
    "elect_preferred_leaders",
    "set_producer",
    "set_topic_config",
    "set_cluster_config",
    "add_consumer",
    "stop_consumer",
    "kill_consumer",
    "restart_consumer",
    "pause_consumer",
    "set_consumer_rate",
    "abort_transaction",
    "kill_producer",
    "restart_producer",
    "pause_producer",
];

/// Fields of one action object, taken out one by one; what is left over is an error.
struct Fields(serde_json::Map<String, serde_json::Value>);

impl Fields {
    fn take<T: serde::de::DeserializeOwned>(&mut self, name: &'static str) -> Result<T, ActionError> {
        let v = self.0.remove(name).ok_or(ActionError::MissingField(name))?;
        serde_json::from_value(v).map_err(|e| ActionError::BadValue {
            field: name,
            message: e.to_string(),
        })
    }
    fn opt<T: serde::de::DeserializeOwned>(&mut self, name: &'static str) -> Result<Option<T>, ActionError> {
        match self.0.remove(name) {
            None | Some(serde_json::Value::Null) => Ok(None),
            Some(v) => serde_json::from_value(v).map(Some).map_err(|e| ActionError::BadValue {
                field: name,
                message: e.to_string(),
            }),
        }
    }
    fn u32(&mut self, name: &'static str) -> Result<u32, ActionError> {
        self.take::<u64>(name)?.try_into().map_err(|_| ActionError::TooLarge { field: name })
    }
    fn u64(&mut self, name: &'static str) -> Result<u64, ActionError> {
        self.take(name)
    }
    fn string(&mut self, name: &'static str) -> Result<String, ActionError> {
        self.take(name)
    }
    fn done(self, a: Action) -> Result<Action, ActionError> {
        match self.0.into_iter().next() {
            Some((field, _)) => Err(ActionError::UnknownField { field, action: a.name() }),
            None => Ok(a),
        }
    }
}

impl Action {
    /// Parses an action object (`{"action": "kill_broker", "broker": 1}`) with
    /// the same rules and messages as serde: unknown names and fields are errors.
    pub fn from_map(mut map: serde_json::Map<String, serde_json::Value>) -> Result<Action, ActionError> {
        let name = match map.remove("action") {
            Some(serde_json::Value::String(n)) => n,
            Some(other) => return Err(ActionError::NameNotAString(other.to_string())),
            None => return Err(ActionError::MissingField("action")),
        };
        let mut f = Fields(map);
        let a = match name.as_str() {
            "kill_broker" => Action::KillBroker { broker: f.u32("broker")? },
            "restart_broker" => Action::RestartBroker { broker: f.u32("broker")? },
            "stop_broker" => Action::StopBroker { broker: f.u32("broker")? },
            "pause_broker" => Action::PauseBroker {
                broker: f.u32("broker")?,
                for_ms: f.u64("for_ms")?,
            },
            "slow_broker" => Action::SlowBroker {
                broker: f.u32("broker")?,
                extra_latency_ms: f.u64("extra_latency_ms")?,
            },
            "slow_disk" => Action::SlowDisk {
                broker: f.u32("broker")?,
                extra_ms: f.u64("extra_ms")?,
            },
            "kill_controller" => Action::KillController {
                controller: f.string("controller")?,
            },
            "restart_controller" => Action::RestartController {
                controller: f.string("controller")?,
            },
            "partition_network" => Action::PartitionNetwork {
                from: f.take("from")?,
                to: f.take("to")?,
                one_way: f.opt("one_way")?.unwrap_or(false),
            },
            "heal_network" => Action::HealNetwork {},
            "elect_preferred_leaders" => Action::ElectPreferredLeaders {},
            "set_producer" => Action::SetProducer {
                producer: f.string("producer")?,
                records_per_sec: f.opt("records_per_sec")?,
                acks: f.opt("acks")?,
            },
            "set_topic_config" => Action::SetTopicConfig {
                topic: f.string("topic")?,
                min_insync_replicas: f.u32("min_insync_replicas")?,
            },
            "set_cluster_config" => Action::SetClusterConfig {
                unclean_leader_election_enable: f.take("unclean_leader_election_enable")?,
            },
            "add_consumer" => Action::AddConsumer { group: f.string("group")? },
            "stop_consumer" => Action::StopConsumer {
                group: f.string("group")?,
                member: f.u32("member")?,
            },
            "kill_consumer" => Action::KillConsumer {
                group: f.string("group")?,
                member: f.u32("member")?,
            },
            "restart_consumer" => Action::RestartConsumer {
                group: f.string("group")?,
                member: f.u32("member")?,
            },
            "pause_consumer" => Action::PauseConsumer {
                group: f.string("group")?,
                member: f.u32("member")?,
                for_ms: f.u64("for_ms")?,
            },
            "set_consumer_rate" => Action::SetConsumerRate {
                group: f.string("group")?,
                member: f.u32("member")?,
                records_per_sec: f.u64("records_per_sec")?,
            },
            "abort_transaction" => Action::AbortTransaction {
                producer: f.string("producer")?,
            },
            "kill_producer" => Action::KillProducer {
                producer: f.string("producer")?,
            },
            "restart_producer" => Action::RestartProducer {
                producer: f.string("producer")?,
            },
            "pause_producer" => Action::PauseProducer {
                producer: f.string("producer")?,
                for_ms: f.u64("for_ms")?,
            },
            _ => return Err(ActionError::UnknownAction(name)),
        };
        f.done(a)
    }

    /// Checks the action against the scenario it runs in.
    pub fn validate(&self, s: &Scenario) -> Result<(), ScenarioError> {
        use ScenarioError as E;
        let broker = |b: u32| -> Result<(), ScenarioError> {
            if b >= s.cluster.brokers {
                return Err(E::NoSuchBroker {
                    broker: b,
                    brokers: s.cluster.brokers,
                });
            }
            Ok(())
        };
        let controller = |c: &str| -> Result<(), ScenarioError> {
            match c.strip_prefix('c').and_then(|n| n.parse::<u32>().ok()) {
                Some(n) if n < s.cluster.controllers => Ok(()),
                _ => Err(E::NoSuchController {
                    controller: c.to_string(),
                    controllers: s.cluster.controllers,
                }),
            }
        };
        let name = || self.name().to_string();
        match self {
            Action::PauseBroker { for_ms: ms, .. } | Action::PauseConsumer { for_ms: ms, .. } | Action::PauseProducer { for_ms: ms, .. } => {
                durations(name, &[("for_ms", *ms)])?
            }
            Action::SlowBroker { extra_latency_ms: ms, .. } => durations(name, &[("extra_latency_ms", *ms)])?,
            Action::SlowDisk { extra_ms: ms, .. } => durations(name, &[("extra_ms", *ms)])?,
            _ => {}
        }
        match self {
            Action::KillBroker { broker: b } | Action::RestartBroker { broker: b } | Action::StopBroker { broker: b } => broker(*b),
            Action::PauseBroker { broker: b, for_ms } => {
                broker(*b)?;
                if *for_ms == 0 {
                    return Err(E::PauseZero { action: self.name() });
                }
                Ok(())
            }
            Action::SlowBroker { broker: b, .. } | Action::SlowDisk { broker: b, .. } => broker(*b),
            Action::KillController { controller: c } | Action::RestartController { controller: c } => controller(c),
            Action::PartitionNetwork { from, to, .. } => {
                if from.is_empty() || to.is_empty() {
                    return Err(E::EmptyCut);
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
            Action::SetProducer {
                producer,
                records_per_sec,
                acks,
            } => {
                let Some(p) = s.producers.iter().find(|p| &p.id == producer) else {
                    return Err(E::UnknownProducer { producer: producer.clone() });
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
            Action::AbortTransaction { producer }
            | Action::KillProducer { producer }
            | Action::RestartProducer { producer }
            | Action::PauseProducer { producer, .. } => {
                let Some(p) = s.producers.iter().find(|p| &p.id == producer) else {
                    return Err(E::UnknownProducer { producer: producer.clone() });
                };
                if let Action::AbortTransaction { .. } = self {
                    if !p.transactional() {
                        return Err(E::NotTransactional {
                            action: self.name(),
                            producer: producer.clone(),
                        });
                    }
                }
                if let Action::PauseProducer { for_ms: 0, .. } = self {
                    return Err(E::PauseZero { action: self.name() });
                }
                Ok(())
            }
            Action::SetTopicConfig { topic, min_insync_replicas } => {
                if s.topic(topic).is_none() {
                    return Err(E::UnknownTopic { topic: topic.clone() });
                }
                if *min_insync_replicas == 0 {
                    return Err(E::SetMinIsrZero { topic: topic.clone() });
                }
                Ok(())
            }
            Action::SetClusterConfig { .. } => Ok(()),
            Action::AddConsumer { group } => {
                if s.group(group).is_none() {
                    return Err(E::UnknownGroup {
                        action: self.name(),
                        group: group.clone(),
                    });
                }
                Ok(())
            }
            Action::StopConsumer { group, member }
            | Action::KillConsumer { group, member }
            | Action::RestartConsumer { group, member }
            | Action::PauseConsumer { group, member, .. }
            | Action::SetConsumerRate { group, member, .. } => {
                if s.group(group).is_none() {
                    return Err(E::UnknownGroup {
                        action: self.name(),
                        group: group.clone(),
                    });
                }
                let max = s.max_members(group);
                if *member >= max {
                    return Err(E::NoSuchMember {
                        action: self.name(),
                        group: group.clone(),
                        member: *member,
                        members: max,
                    });
                }
                if let Action::PauseConsumer { for_ms: 0, .. } = self {
                    return Err(E::PauseZero { action: self.name() });
                }
                if let Action::SetConsumerRate { records_per_sec, .. } = self {
                    if *records_per_sec > 10_000_000 {
                        return Err(E::ActionConsumerRate {
                            group: group.clone(),
                            member: *member,
                            records_per_sec: *records_per_sec,
                        });
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
            Action::AbortTransaction { .. } => "abort_transaction",
            Action::KillProducer { .. } => "kill_producer",
            Action::RestartProducer { .. } => "restart_producer",
            Action::PauseProducer { .. } => "pause_producer",
        }
    }
}

/// An action with its time. In files: `at_ms`, or `at_us` for exact replay.
#[derive(Debug, Clone, PartialEq)]
pub struct TimedAction {
    pub at_us: u64,
    pub action: Action,
}

impl<'de> Deserialize<'de> for TimedAction {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let mut value = serde_json::Map::deserialize(d)?;
        let at_ms = value.remove("at_ms");
        let at_us = value.remove("at_us");
        let bad = |field, v: &serde_json::Value| D::Error::custom(ActionError::BadTime { field, value: v.to_string() });
        let at_us = match (at_ms, at_us) {
            (Some(_), Some(_)) => return Err(D::Error::custom(ActionError::BothTimes)),
            (Some(v), None) => v.as_u64().and_then(|ms| ms.checked_mul(1_000)).ok_or_else(|| bad("at_ms", &v))?,
            (None, Some(v)) => v.as_u64().ok_or_else(|| bad("at_us", &v))?,
            (None, None) => return Err(D::Error::custom(ActionError::NoTime)),
        };
        let action = Action::from_map(value).map_err(D::Error::custom)?;
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

#[cfg(test)]
mod tests {
    use super::*;

    fn every_action() -> Vec<Action> {
        vec![
            Action::KillBroker { broker: 1 },
            Action::RestartBroker { broker: 1 },
            Action::StopBroker { broker: 2 },
            Action::PauseBroker { broker: 0, for_ms: 5 },
            Action::SlowBroker {
                broker: 0,
                extra_latency_ms: 50,
            },
            Action::SlowDisk { broker: 0, extra_ms: 20 },
            Action::KillController { controller: "c1".into() },
            Action::RestartController { controller: "c1".into() },
            Action::PartitionNetwork {
                from: vec![NodeName::Broker(0)],
                to: vec![NodeName::Controller("c0".into())],
                one_way: true,
            },
            Action::HealNetwork {},
            Action::ElectPreferredLeaders {},
            Action::SetProducer {
                producer: "p".into(),
                records_per_sec: Some(5),
                acks: Some(Acks::One),
            },
            Action::SetProducer {
                producer: "p".into(),
                records_per_sec: None,
                acks: None,
            },
            Action::SetTopicConfig {
                topic: "t".into(),
                min_insync_replicas: 2,
            },
            Action::SetClusterConfig {
                unclean_leader_election_enable: true,
            },
            Action::AddConsumer { group: "g".into() },
            Action::StopConsumer { group: "g".into(), member: 1 },
            Action::KillConsumer { group: "g".into(), member: 1 },
            Action::RestartConsumer { group: "g".into(), member: 1 },
            Action::PauseConsumer {
                group: "g".into(),
                member: 1,
                for_ms: 9,
            },
            Action::SetConsumerRate {
                group: "g".into(),
                member: 1,
                records_per_sec: 7,
            },
            Action::AbortTransaction { producer: "p".into() },
            Action::KillProducer { producer: "p".into() },
            Action::RestartProducer { producer: "p".into() },
            Action::PauseProducer {
                producer: "p".into(),
                for_ms: 9,
            },
        ]
    }

    #[test]
    fn every_action_round_trips_through_json() {
        for a in every_action() {
            let serde_json::Value::Object(map) = serde_json::to_value(&a).unwrap() else {
                panic!("not an object")
            };
            assert_eq!(Action::from_map(map).unwrap(), a);
        }
        assert_eq!(
            every_action().iter().map(|a| a.name()).collect::<std::collections::BTreeSet<_>>().len(),
            ACTION_NAMES.len()
        );
    }

    #[test]
    fn bad_actions_are_one_line_errors() {
        let parse = |j: &str| Action::from_map(serde_json::from_str(j).unwrap()).unwrap_err().to_string();
        assert!(parse(r#"{"action": "kill_broker", "broker": 1, "extra": 2}"#).contains("unknown field `extra`"));
        assert!(parse(r#"{"action": "kill_broker"}"#).contains("missing field `broker`"));
        assert!(parse(r#"{"action": "kill_broker", "broker": "one"}"#).starts_with("broker: invalid type"));
        assert!(parse(r#"{"action": "boom"}"#).starts_with("unknown variant `boom`"));
        assert!(parse(r#"{"broker": 1}"#).contains("missing field `action`"));
        assert!(parse(r#"{"action": "kill_broker", "broker": 99999999999}"#).contains("too large"));
    }
}
