//! Kafka's partition assignors as pure, deterministic functions.
//!
//! Client-side (classic protocol, computed by the group leader): `range`, `roundrobin`,
//! `sticky` and `cooperative-sticky`, following the Apache Kafka Java client. Server-side
//! (KIP-848, computed by the coordinator): `uniform` and `range`.
//!
//! Nothing here simulates anything or depends on hash-map iteration order: the same input
//! always gives the same assignment, on every platform. Where Kafka's own choice depends on
//! Java `HashMap` iteration order, these functions use member-id order instead.

mod cooperative;
mod group;
mod json;
mod range;
mod roundrobin;
mod server_range;
pub mod simple;
mod sticky;
mod uniform;

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

pub use group::MAX_TOTAL_PARTITIONS;
pub use json::{assign_json, assign_server_json};

use group::Group;

/// member id -> topic -> partitions (ascending). Every member of the input is present,
/// with an empty map if it gets nothing.
pub type Assignment = BTreeMap<String, BTreeMap<String, Vec<u32>>>;

/// One group member as the assignor sees it. Its serde form is the member object of the
/// `kafka-sim assign` input, with the same optional fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Member {
    pub member_id: String,
    /// `group.instance.id` of a static member (KIP-345).
    #[serde(default)]
    pub group_instance_id: Option<String>,
    /// Subscribed topics.
    pub topics: Vec<String>,
    /// Partitions the member reports as owned (classic protocol), or its current target
    /// assignment (server-side assignors).
    #[serde(default)]
    pub owned: BTreeMap<String, Vec<u32>>,
    /// Generation the owned partitions belong to; -1 when unknown.
    #[serde(default = "unknown_generation")]
    pub generation: i32,
}

fn unknown_generation() -> i32 {
    -1
}

impl Member {
    /// A dynamic member that owns nothing and has no known generation.
    pub fn new(member_id: impl Into<String>, topics: &[&str]) -> Member {
        Member {
            member_id: member_id.into(),
            group_instance_id: None,
            topics: topics.iter().map(|t| t.to_string()).collect(),
            owned: BTreeMap::new(),
            generation: -1,
        }
    }

    pub fn with_instance_id(mut self, group_instance_id: impl Into<String>) -> Member {
        self.group_instance_id = Some(group_instance_id.into());
        self
    }

    pub fn with_owned(mut self, owned: BTreeMap<String, Vec<u32>>, generation: i32) -> Member {
        self.owned = owned;
        self.generation = generation;
        self
    }
}

/// Client-side assignors of the classic group protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Strategy {
    #[serde(rename = "range")]
    Range,
    #[serde(rename = "roundrobin")]
    RoundRobin,
    #[serde(rename = "sticky")]
    Sticky,
    #[serde(rename = "cooperative-sticky")]
    CooperativeSticky,
}

impl Strategy {
    pub const ALL: [Strategy; 4] = [Strategy::Range, Strategy::RoundRobin, Strategy::Sticky, Strategy::CooperativeSticky];

    /// The name Kafka gives the assignor (`partition.assignment.strategy`).
    pub fn name(self) -> &'static str {
        match self {
            Strategy::Range => "range",
            Strategy::RoundRobin => "roundrobin",
            Strategy::Sticky => "sticky",
            Strategy::CooperativeSticky => "cooperative-sticky",
        }
    }
}

impl fmt::Display for Strategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Strategy {
    type Err = AssignError;
    fn from_str(s: &str) -> Result<Strategy, AssignError> {
        Strategy::ALL
            .into_iter()
            .find(|st| st.name() == s)
            .ok_or_else(|| AssignError::UnknownStrategy(s.to_string()))
    }
}

/// Server-side assignors of the KIP-848 consumer group protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum ServerStrategy {
    #[serde(rename = "uniform")]
    Uniform,
    #[serde(rename = "range")]
    Range,
}

impl ServerStrategy {
    pub const ALL: [ServerStrategy; 2] = [ServerStrategy::Uniform, ServerStrategy::Range];

    /// The name Kafka gives the assignor (`group.consumer.assignors`).
    pub fn name(self) -> &'static str {
        match self {
            ServerStrategy::Uniform => "uniform",
            ServerStrategy::Range => "range",
        }
    }
}

impl fmt::Display for ServerStrategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for ServerStrategy {
    type Err = AssignError;
    fn from_str(s: &str) -> Result<ServerStrategy, AssignError> {
        ServerStrategy::ALL
            .into_iter()
            .find(|st| st.name() == s)
            .ok_or_else(|| AssignError::UnknownServerStrategy(s.to_string()))
    }
}

/// Why an assignment could not be computed. `Display` gives one line; names from the input
/// are quoted and escaped so that a stray newline cannot break that line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AssignError {
    /// The input is not valid JSON or does not have the expected shape.
    InvalidJson(String),
    UnknownStrategy(String),
    UnknownServerStrategy(String),
    UnknownTopic {
        member_id: String,
        topic: String,
    },
    DuplicateMemberId(String),
    DuplicateGroupInstanceId(String),
    NegativePartitionCount {
        topic: String,
        count: i64,
    },
    TooManyPartitions {
        total: u64,
        limit: u64,
    },
    InvalidOwnedPartition {
        member_id: String,
        topic: String,
        partition: i64,
    },
    /// A broken internal invariant: a bug in this module, never the caller's fault.
    Internal(String),
}

impl fmt::Display for AssignError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AssignError::InvalidJson(msg) => write!(f, "invalid input: {}", one_line(msg)),
            AssignError::UnknownStrategy(s) => write!(f, "unknown strategy {s:?} (expected range, roundrobin, sticky or cooperative-sticky)"),
            AssignError::UnknownServerStrategy(s) => {
                write!(f, "unknown server-side strategy {s:?} (expected uniform or range)")
            }
            AssignError::UnknownTopic { member_id, topic } => {
                write!(f, "member {member_id:?} subscribes to unknown topic {topic:?}")
            }
            AssignError::DuplicateMemberId(id) => write!(f, "duplicate member id {id:?}"),
            AssignError::DuplicateGroupInstanceId(id) => {
                write!(f, "duplicate group_instance_id {id:?}")
            }
            AssignError::NegativePartitionCount { topic, count } => {
                write!(f, "topic {topic:?} has a negative partition count ({count})")
            }
            AssignError::TooManyPartitions { total, limit } => {
                write!(f, "too many partitions: {total} in total (the limit is {limit})")
            }
            AssignError::InvalidOwnedPartition { member_id, topic, partition } => write!(
                f,
                "member {member_id:?} owns partition {partition} of topic {topic:?}, which is not a valid partition number"
            ),
            AssignError::Internal(msg) => {
                write!(f, "internal assignor error (a bug): {}", one_line(msg))
            }
        }
    }
}

impl std::error::Error for AssignError {}

/// Keeps a message on one line: control characters (a newline inside a JSON key quoted by
/// serde_json, say) are escaped.
fn one_line(msg: &str) -> String {
    msg.chars()
        .flat_map(|c| if c.is_control() { c.escape_default().collect::<Vec<_>>() } else { vec![c] })
        .collect()
}

/// Computes a classic-protocol (client-side) assignment.
///
/// `topics` maps every topic to its partition count; subscribing to a topic missing from it
/// is an error. Owned partitions of unknown topics or beyond a topic's partition count are
/// ignored. Range and roundrobin ignore ownership altogether.
pub fn assign(strategy: Strategy, topics: &BTreeMap<String, u32>, members: &[Member]) -> Result<Assignment, AssignError> {
    let group = Group::build(topics, members)?;
    let per_member = match strategy {
        Strategy::Range => range::assign(&group),
        Strategy::RoundRobin => roundrobin::assign(&group),
        Strategy::Sticky => sticky::assign(&group)?.assignment,
        Strategy::CooperativeSticky => cooperative::assign(&group)?,
    };
    Ok(group.to_assignment(&per_member))
}

/// Computes a KIP-848 (server-side) target assignment. Each member's `owned` is its current
/// target assignment, which the assignor sticks to where balance allows.
pub fn assign_server(strategy: ServerStrategy, topics: &BTreeMap<String, u32>, members: &[Member]) -> Result<Assignment, AssignError> {
    let group = Group::build(topics, members)?;
    let per_member = match strategy {
        ServerStrategy::Uniform => uniform::assign(&group),
        ServerStrategy::Range => server_range::assign(&group),
    };
    Ok(group.to_assignment(&per_member))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strategy_names_round_trip() {
        for s in Strategy::ALL {
            assert_eq!(s.name().parse::<Strategy>(), Ok(s));
            assert_eq!(serde_json::to_string(&s).ok(), Some(format!("{:?}", s.name())));
        }
        for s in ServerStrategy::ALL {
            assert_eq!(s.name().parse::<ServerStrategy>(), Ok(s));
        }
        assert_eq!("Range".parse::<Strategy>(), Err(AssignError::UnknownStrategy("Range".into())));
    }

    #[test]
    fn errors_display_on_one_line() {
        let errors = [
            AssignError::InvalidJson("expected value\nat line 2".into()),
            AssignError::UnknownStrategy("a\nb".into()),
            AssignError::UnknownTopic {
                member_id: "m\r".into(),
                topic: "t\n".into(),
            },
            AssignError::Internal("x\ty".into()),
        ];
        for e in errors {
            let line = e.to_string();
            assert!(!line.contains('\n') && !line.contains('\r'), "{line:?}");
        }
        assert_eq!(
            AssignError::UnknownStrategy("foo".into()).to_string(),
            r#"unknown strategy "foo" (expected range, roundrobin, sticky or cooperative-sticky)"#
        );
    }

    #[test]
    fn member_serde_defaults_match_the_json_contract() {
        let m: Member = serde_json::from_str(r#"{"member_id": "c", "topics": ["t"]}"#).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(m, Member::new("c", &["t"]));
        assert!(serde_json::from_str::<Member>(r#"{"member_id": "c", "topics": [], "x": 1}"#).is_err());
    }

    #[test]
    fn empty_group_gives_empty_assignment() {
        let topics = BTreeMap::from([("t".to_string(), 3)]);
        for s in Strategy::ALL {
            assert_eq!(assign(s, &topics, &[]), Ok(Assignment::new()));
        }
        for s in ServerStrategy::ALL {
            assert_eq!(assign_server(s, &topics, &[]), Ok(Assignment::new()));
        }
    }
}
