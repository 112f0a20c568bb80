//! The group coordinator, as a part of the broker that leads the group's
//! `__consumer_offsets` partition (Java `String.hashCode`, `Utils.abs`, 50
//! partitions): its state per group here, its handlers in
//!
//! - `classic.rs`: JoinGroup/SyncGroup/Heartbeat/LeaveGroup, generations, the
//!   group leader, `group.initial.rebalance.delay.ms`, `session.timeout.ms`,
//!   static membership (KIP-345);
//! - `kip848.rs`: the `consumer` protocol's heartbeats, group epochs, target
//!   assignments and reconciliation;
//! - `offsets.rs`: offset commits written to `__consumer_offsets` with acks=all,
//!   and offset fetches;
//! - `load.rs`: the group's state written to `__consumer_offsets` after each
//!   change, and read back by the broker that becomes the next coordinator.

mod classic;
mod kip848;
mod load;
mod offsets;

pub use kip848::{LEAVE_EPOCH, STATIC_LEAVE_EPOCH};

use crate::kafka::types::{Cluster, GroupInfo};
use crate::sim::{Micros, SortSmall};
use serde::Serialize;
use std::collections::BTreeMap;
use std::rc::Rc;

/// `offsets.topic.num.partitions`
pub const OFFSETS_PARTITIONS: u32 = 50;
pub const OFFSETS_TOPIC: &str = "__consumer_offsets";
/// Producer instance id used for the coordinator's batches in `__consumer_offsets`.
pub const COMMIT_WRITER: u32 = crate::kafka::log::INTERNAL_WRITER;

/// An offset commit waiting for its write: (group, offsets).
pub type CommitPayload = (u32, Vec<(u32, u64)>);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum GroupState {
    Empty,
    PreparingRebalance,
    CompletingRebalance,
    Stable,
    Dead,
}

#[derive(Debug, Clone)]
pub struct GroupMember {
    pub consumer: u32,
    pub instance_id: Option<String>,
    /// Joined the current join round.
    pub joined: bool,
    pub join_order: u64,
    pub sync_waiting: bool,
    /// Partitions the member said it owns when it joined: the coordinator's view.
    pub owned: Vec<u32>,
    pub assignment: Vec<u32>,
    pub last_heartbeat: Micros,
    /// KIP-848: the member's epoch (equal to the group epoch once reconciled) and
    /// the partitions it was asked to revoke and has not yet given back.
    pub member_epoch: i32,
    pub revoking: Vec<u32>,
}

impl GroupMember {
    pub fn new(consumer: u32, instance_id: Option<String>, join_order: u64, now: Micros) -> GroupMember {
        GroupMember {
            consumer,
            instance_id,
            joined: false,
            join_order,
            sync_waiting: false,
            owned: Vec::new(),
            assignment: Vec::new(),
            last_heartbeat: now,
            member_epoch: 0,
            revoking: Vec::new(),
        }
    }
}

/// One group as its coordinator knows it.
#[derive(Debug, Clone)]
pub struct Group {
    pub index: u32,
    pub info: Rc<GroupInfo>,
    pub state: GroupState,
    pub generation: i32,
    pub leader: Option<String>,
    pub members: BTreeMap<String, GroupMember>,
    pub next_member: u64,
    pub next_join_order: u64,
    pub join_deadline: Micros,
    pub initial_delay_until: Micros,
    pub offsets: BTreeMap<u32, u64>,
    /// The cause of the latest rebalance (a follow-up round keeps it).
    pub last_cause: Option<&'static str>,
    /// KIP-848: the target assignment for the current group epoch.
    pub target: BTreeMap<String, Vec<u32>>,
    /// Partition -> (commits accepted but not yet replicated, the latest one's
    /// deadline). An OffsetFetch for such a partition is answered UNSTABLE_OFFSET_COMMIT.
    pub pending_commits: BTreeMap<u32, (u32, Micros)>,
}

impl Group {
    pub fn new(index: u32, info: Rc<GroupInfo>) -> Group {
        Group {
            index,
            info,
            state: GroupState::Empty,
            generation: 0,
            leader: None,
            members: BTreeMap::new(),
            next_member: 0,
            next_join_order: 0,
            join_deadline: 0,
            initial_delay_until: 0,
            offsets: BTreeMap::new(),
            last_cause: None,
            target: BTreeMap::new(),
            pending_commits: BTreeMap::new(),
        }
    }

    fn owner_map(&self) -> BTreeMap<String, Vec<u32>> {
        crate::sim::map_from(self.members.iter().map(|(id, m)| (id.clone(), m.assignment.clone())))
    }
}

/// The coordinator on a broker: the groups whose `__consumer_offsets`
/// partition this broker leads, loaded from that partition when it became leader.
#[derive(Debug, Clone, Default)]
pub struct Coordinator {
    pub groups: BTreeMap<u32, Group>,
}

impl Coordinator {
    /// A loaded group (callers checked that it is).
    pub fn group(&self, g: u32) -> &Group {
        &self.groups[&g]
    }

    pub fn group_mut(&mut self, g: u32) -> &mut Group {
        self.groups.get_mut(&g).expect("the group is loaded")
    }
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
