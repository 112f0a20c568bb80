//! The group coordinator, a part of the broker that leads the group's
//! `__consumer_offsets` partition (`crate::kafka::group` says which): its state
//! per group here, its handlers in
//!
//! - `classic.rs`: JoinGroup/SyncGroup/Heartbeat/LeaveGroup, generations, the
//!   group leader, `group.initial.rebalance.delay.ms`, `session.timeout.ms`,
//!   static membership (KIP-345);
//! - `kip848.rs`: the `consumer` protocol's heartbeats, group epochs, target
//!   assignments and reconciliation;
//! - `offsets.rs`: offset commits written to `__consumer_offsets` with acks=all,
//!   and offset fetches;
//! - `txn_offsets.rs`: offsets committed inside a producer's transaction
//!   (TxnOffsetCommit, KIP-447), applied when its marker arrives;
//! - `load.rs`: the group's state written to `__consumer_offsets` after each
//!   change, and read back by the broker that becomes the next coordinator.

mod classic;
mod kip848;
mod load;
mod offsets;
mod share;
mod txn_offsets;

pub(crate) use crate::kafka::group::{assignor_input, global_assignment, GroupState, COMMIT_WRITER};

use crate::kafka::protocol::GroupError;
use crate::kafka::share::ShareSnapshot;
use crate::kafka::types::GroupInfo;
use crate::scenario::GroupProtocol;
use crate::sim::Micros;
use std::collections::BTreeMap;
use std::rc::Rc;

/// An offset commit waiting for its write: (group, offsets).
pub type CommitPayload = (u32, Vec<(u32, u64)>);

/// A TxnOffsetCommit waiting for its write: the group, the producer id, the offsets.
#[derive(Debug, Clone)]
pub struct TxnCommitPayload {
    pub group: u32,
    pub pid: u32,
    pub offsets: Vec<(u32, u64)>,
    /// The member and generation (member epoch) it was sent for, checked again
    /// when the write is appended.
    pub member_id: String,
    pub generation: i32,
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
    /// The generation the member said it owned them in (its JoinGroup).
    pub owned_generation: i32,
    pub assignment: Vec<u32>,
    pub last_heartbeat: Micros,
    /// KIP-848: the member's epoch (equal to the group epoch once reconciled) and
    /// the partitions it was asked to revoke and has not yet given back.
    pub member_epoch: i32,
    pub revoking: Vec<u32>,
    /// KIP-848: the epoch before the last bump (a member whose answer was lost
    /// may still send it).
    pub previous_member_epoch: i32,
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
            owned_generation: -1,
            assignment: Vec::new(),
            last_heartbeat: now,
            member_epoch: 0,
            revoking: Vec::new(),
            previous_member_epoch: 0,
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
    /// `group.initial.rebalance.delay.ms` (Kafka's InitialDelayedJoin): the end of
    /// the current delay, whether a new member joined during it, and what is left
    /// of the rebalance timeout for further delays.
    pub initial_delay_until: Micros,
    pub new_member_added: bool,
    pub initial_remaining: Micros,
    /// Member ids handed out with MEMBER_ID_REQUIRED whose JoinGroup has not come
    /// back yet (Kafka's pending members), with when they were handed out.
    pub pending: crate::sim::VecMap<String, Micros>,
    pub offsets: BTreeMap<u32, u64>,
    /// The cause of the latest rebalance (a follow-up round keeps it).
    pub last_cause: Option<&'static str>,
    /// KIP-848: the target assignment for the current group epoch.
    pub target: BTreeMap<String, Vec<u32>>,
    /// Partition -> (commits accepted but not yet replicated, the latest one's
    /// deadline). An OffsetFetch for such a partition is answered UNSTABLE_OFFSET_COMMIT.
    pub pending_commits: crate::sim::VecMap<u32, (u32, Micros)>,
    /// Offsets committed in open transactions, by producer id (KIP-447): they
    /// become the group's offsets when the COMMIT marker reaches the group's
    /// partition, and hold OffsetFetch back (UNSTABLE_OFFSET_COMMIT) until then.
    pub txn_offsets: crate::sim::VecMap<u32, Vec<(u32, u64)>>,
    /// Share groups: each share-partition's persisted state (the share
    /// coordinator's part, kept by the group's coordinator here).
    pub share_state: crate::sim::VecMap<u32, ShareSnapshot>,
    /// The newest share-partition leader epoch seen per partition: older writes are fenced.
    pub share_fence: crate::sim::VecMap<u32, i32>,
}

impl Group {
    /// A TxnOffsetCommit's member check (KIP-447): an unknown member, or a
    /// generation (KIP-848: member epoch) that is not the current one, is refused;
    /// KIP-848's STALE_MEMBER_EPOCH is ILLEGAL_GENERATION in this API.
    pub fn txn_commit_refusal(&self, member_id: &str, generation: i32) -> Option<GroupError> {
        let classic = self.info.cfg.protocol == GroupProtocol::Classic;
        match self.members.get(member_id) {
            None => Some(GroupError::UnknownMemberId),
            Some(_) if classic && generation != self.generation => Some(GroupError::IllegalGeneration),
            Some(m) if !classic && generation != m.member_epoch => Some(GroupError::IllegalGeneration),
            Some(_) => None,
        }
    }

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
            new_member_added: false,
            initial_remaining: 0,
            pending: Default::default(),
            offsets: BTreeMap::new(),
            last_cause: None,
            target: BTreeMap::new(),
            pending_commits: Default::default(),
            txn_offsets: crate::sim::VecMap::default(),
            share_state: crate::sim::VecMap::default(),
            share_fence: crate::sim::VecMap::default(),
        }
    }

    /// Commits (plain or transactional) accepted for these partitions and being
    /// written until `until`: an OffsetFetch for them waits.
    pub(super) fn hold_commits(&mut self, offsets: &[(u32, u64)], until: Micros) {
        for &(p, _) in offsets {
            let e = self.pending_commits.get_or_insert_with(p, || (0, 0));
            *e = (e.0 + 1, until);
        }
    }

    /// One of those writes finished (written or not).
    pub(super) fn release_commits(&mut self, offsets: &[(u32, u64)]) {
        for (p, _) in offsets {
            if let Some(e) = self.pending_commits.get_mut(p) {
                e.0 = e.0.saturating_sub(1);
                if e.0 == 0 {
                    self.pending_commits.remove(p);
                }
            }
        }
    }

    /// Members not heard from within the session timeout (KIP-848 and share groups).
    pub(super) fn expired_members(&self, now: Micros) -> Vec<String> {
        let session = self.info.cfg.session_timeout_ms * crate::sim::MS;
        self.members
            .iter()
            .filter(|(_, m)| now.saturating_sub(m.last_heartbeat) > session)
            .map(|(id, _)| id.clone())
            .collect()
    }

    fn owner_map(&self) -> BTreeMap<String, Vec<u32>> {
        crate::sim::map_from(self.members.iter().map(|(id, m)| (id.clone(), m.assignment.clone())))
    }
}

/// The coordinator on a broker: the groups whose `__consumer_offsets`
/// partition this broker leads, loaded from that partition when it became leader.
#[derive(Debug, Clone, Default)]
pub struct Coordinator {
    pub groups: crate::sim::VecMap<u32, Group>,
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
