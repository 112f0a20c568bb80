//! The JSON contract of `kafka-sim assign --strategy S`: a group description in, an
//! assignment out, or one line saying what is wrong with the input.
//!
//! Input: `{"topics": {"orders": 6}, "members": [{"member_id": "c1", "group_instance_id":
//! null, "topics": ["orders"], "owned": {"orders": [0, 1]}, "generation": 3}]}` where
//! `group_instance_id`, `owned` and `generation` may be left out (or null); a missing
//! generation is -1. Output: compact JSON, `{"c1": {"orders": [0, 2, 4]}}`, every member
//! present (`{}` when it gets nothing), partitions ascending.

use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;

use serde::de::{Deserializer, MapAccess, Visitor};
use serde::Deserialize;

use super::{assign, assign_server, AssignError, Member, ServerStrategy, Strategy, MAX_TOTAL_PARTITIONS};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GroupJson {
    topics: UniqueMap<i64>,
    members: Vec<MemberJson>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MemberJson {
    member_id: String,
    #[serde(default)]
    group_instance_id: Option<String>,
    topics: Vec<String>,
    #[serde(default)]
    owned: Option<UniqueMap<Vec<i64>>>,
    #[serde(default)]
    generation: Option<i32>,
}

/// A JSON object read in order and refusing repeated keys: `{"t": 3, "t": 5}` is more
/// likely a mistake than a wish for the last value to win silently.
struct UniqueMap<V>(Vec<(String, V)>);

impl<'de, V: Deserialize<'de>> Deserialize<'de> for UniqueMap<V> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct UniqueVisitor<V>(PhantomData<V>);
        impl<'de, V: Deserialize<'de>> Visitor<'de> for UniqueVisitor<V> {
            type Value = UniqueMap<V>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object keyed by topic name")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<UniqueMap<V>, A::Error> {
                let mut seen = std::collections::BTreeSet::new();
                let mut entries = Vec::new();
                while let Some((k, v)) = map.next_entry::<String, V>()? {
                    if !seen.insert(k.clone()) {
                        return Err(serde::de::Error::custom(format!("topic {k:?} is listed twice")));
                    }
                    entries.push((k, v));
                }
                Ok(UniqueMap(entries))
            }
        }
        deserializer.deserialize_map(UniqueVisitor(PhantomData))
    }
}

/// Runs a client-side assignor on the JSON contract. `strategy` is one of `range`,
/// `roundrobin`, `sticky`, `cooperative-sticky`.
pub fn assign_json(strategy: &str, input: &str) -> Result<String, AssignError> {
    let strategy: Strategy = strategy.parse()?;
    let (topics, members) = parse(input)?;
    render(&assign(strategy, &topics, &members)?)
}

/// Runs a KIP-848 server-side assignor (`uniform` or `range`) on the same JSON contract;
/// `owned` is then each member's current target assignment.
pub fn assign_server_json(strategy: &str, input: &str) -> Result<String, AssignError> {
    let strategy: ServerStrategy = strategy.parse()?;
    let (topics, members) = parse(input)?;
    render(&assign_server(strategy, &topics, &members)?)
}

fn render(assignment: &super::Assignment) -> Result<String, AssignError> {
    serde_json::to_string(assignment).map_err(|e| AssignError::Internal(e.to_string()))
}

fn parse(input: &str) -> Result<(BTreeMap<String, u32>, Vec<Member>), AssignError> {
    let group: GroupJson = serde_json::from_str(input).map_err(|e| AssignError::InvalidJson(e.to_string()))?;

    let mut topics = BTreeMap::new();
    for (name, count) in group.topics.0 {
        if count < 0 {
            return Err(AssignError::NegativePartitionCount { topic: name, count });
        }
        let count = u32::try_from(count).map_err(|_| AssignError::TooManyPartitions {
            total: count.unsigned_abs(),
            limit: MAX_TOTAL_PARTITIONS,
        })?;
        topics.insert(name, count);
    }

    let mut members = Vec::with_capacity(group.members.len());
    for m in group.members {
        let mut owned = BTreeMap::new();
        for (topic, partitions) in m.owned.map(|o| o.0).unwrap_or_default() {
            let mut list = Vec::with_capacity(partitions.len());
            for p in partitions {
                match u32::try_from(p) {
                    Ok(p) => list.push(p),
                    Err(_) => {
                        return Err(AssignError::InvalidOwnedPartition {
                            member_id: m.member_id,
                            topic,
                            partition: p,
                        })
                    }
                }
            }
            owned.insert(topic, list);
        }
        members.push(Member {
            member_id: m.member_id,
            group_instance_id: m.group_instance_id,
            topics: m.topics,
            owned,
            generation: m.generation.unwrap_or(-1),
        });
    }
    Ok((topics, members))
}
