//! What a consumer group's coordinator and its members share: where the group
//! lives (`__consumer_offsets`, Java `String.hashCode`, `Utils.abs`, 50
//! partitions), the group states, the member epochs that mean leaving (KIP-848),
//! and how an assignor's input and answer map to the cluster's partitions. The
//! coordinator itself is part of the broker (`broker::coordinator`), the member
//! side part of the consumer.

use crate::kafka::types::Cluster;
use crate::sim::SortSmall;
use serde::Serialize;
use std::collections::BTreeMap;

/// `offsets.topic.num.partitions`
pub const OFFSETS_PARTITIONS: u32 = 50;
pub const OFFSETS_TOPIC: &str = "__consumer_offsets";
/// Producer instance id used for the coordinator's batches in `__consumer_offsets`.
pub const COMMIT_WRITER: u32 = crate::kafka::log::INTERNAL_WRITER;

/// Member epoch sent to leave the group for good (dynamic) or for a while (static).
pub const LEAVE_EPOCH: i32 = -1;
pub const STATIC_LEAVE_EPOCH: i32 = -2;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum GroupState {
    Empty,
    PreparingRebalance,
    CompletingRebalance,
    Stable,
    Dead,
}

/// What an assignor needs: the group's topics with their partition counts, and
/// one `Member` per (id, instance id, owned partitions, generation).
pub(crate) fn assignor_input<'a>(
    cluster: &Cluster,
    topics: &[u32],
    members: impl Iterator<Item = (&'a String, &'a Option<String>, &'a [u32], i32)>,
) -> (BTreeMap<String, u32>, Vec<crate::assignors::Member>) {
    let topic_counts: BTreeMap<String, u32> = crate::sim::map_from(
        topics
            .iter()
            .map(|&t| (cluster.topics[t as usize].name.clone(), cluster.topics[t as usize].partitions)),
    );
    let names: Vec<String> = topic_counts.keys().cloned().collect();
    let members = members
        .map(|(id, instance, owned_parts, generation)| {
            let mut owned: BTreeMap<String, Vec<u32>> = BTreeMap::new();
            for &p in owned_parts {
                let part = cluster.part(p);
                owned.entry(cluster.topics[part.topic as usize].name.clone()).or_default().push(part.index);
            }
            crate::assignors::Member {
                member_id: id.clone(),
                group_instance_id: instance.clone(),
                topics: names.clone(),
                owned,
                generation,
            }
        })
        .collect();
    (topic_counts, members)
}

/// An assignor's answer (topic name -> partition numbers) in global partition indices, ascending.
pub(crate) fn global_assignment(cluster: &Cluster, a: crate::assignors::Assignment) -> BTreeMap<String, Vec<u32>> {
    crate::sim::map_from(a.into_iter().map(|(member, by_topic)| {
        let mut parts: Vec<u32> = by_topic
            .into_iter()
            .flat_map(|(t, ps)| {
                let first = cluster.topics.iter().find(|x| x.name == t).map_or(0, |x| x.first);
                ps.into_iter().map(move |p| first + p)
            })
            .collect();
        parts.sort_small();
        (member, parts)
    }))
}
