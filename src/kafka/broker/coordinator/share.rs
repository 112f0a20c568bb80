//! Share groups (KIP-932) on the group coordinator: ShareGroupHeartbeat
//! membership (KIP-848's epochs without revocation: a member takes its target
//! assignment with its next heartbeat, since partitions are shared anyway), the
//! `simple` assignor, session expiry, and the share coordinator's part: each
//! share-partition's state, persisted in the group's `__consumer_offsets`
//! partition (standing for Kafka's `__share_group_state`), fenced by leader
//! epoch and handed to the next share-partition leader.

use super::classic::step;
use super::{GroupMember, GroupState};
use crate::assignors::simple;
use crate::kafka::broker::Broker;
use crate::kafka::group::LEAVE_EPOCH;
use crate::kafka::notable::Notable;
use crate::kafka::obs::{Obs, RebalanceObs};
use crate::kafka::protocol::GroupError;
use crate::kafka::records::Record;
use crate::kafka::share::ShareSnapshot;
use crate::kafka::Ctx;
use std::collections::BTreeMap;

use super::kip848::heartbeat_done as answer;

impl Broker {
    /// One ShareGroupHeartbeat.
    pub(super) fn handle_share_heartbeat(&mut self, ctx: &mut Ctx, consumer: u32, g: u32, member_id: String, member_epoch: i32) {
        let now = ctx.now;
        if member_epoch == LEAVE_EPOCH {
            let gone = self.coordinator.group_mut(g).members.remove(&member_id);
            if let Some(m) = gone {
                step(ctx, g, "leave", &member_id, m.assignment);
                self.bump_share_epoch(ctx, g, "member_left");
            }
            return;
        }
        let mut member_id = member_id;
        if member_epoch == 0 && !self.coordinator.group(g).members.contains_key(&member_id) {
            let cause = {
                let grp = self.coordinator.group_mut(g);
                if member_id.is_empty() {
                    member_id = format!("{}-share-member-{}", grp.info.cfg.id, grp.next_member);
                    grp.next_member += 1;
                }
                let order = grp.next_join_order;
                grp.next_join_order += 1;
                let mut m = GroupMember::new(consumer, None, order, now);
                m.joined = true;
                grp.members.insert(member_id.clone(), m);
                if grp.members.len() == 1 {
                    "initial_join"
                } else {
                    "member_joined"
                }
            };
            step(ctx, g, "join", &member_id, Vec::new());
            self.bump_share_epoch(ctx, g, cause);
        }
        let grp = self.coordinator.group_mut(g);
        let generation = grp.generation;
        let target = grp.target.get(&member_id).cloned().unwrap_or_default();
        let Some(m) = grp.members.get_mut(&member_id) else {
            self.reply(ctx, consumer, answer(member_id, -1, None, Some(GroupError::UnknownMemberId)));
            return;
        };
        // The member's epoch must be its current one, or the one before if the
        // answer that moved it was lost.
        if member_epoch != 0 && member_epoch != m.member_epoch && member_epoch != m.previous_member_epoch {
            let gone = grp.members.remove(&member_id).map(|m| m.assignment).unwrap_or_default();
            step(ctx, g, "leave", &member_id, gone);
            self.bump_share_epoch(ctx, g, "member_fenced");
            self.reply(ctx, consumer, answer(member_id, -1, None, Some(GroupError::FencedMemberEpoch)));
            return;
        }
        m.last_heartbeat = now;
        m.consumer = consumer;
        let moved = m.member_epoch != generation;
        if moved {
            m.previous_member_epoch = m.member_epoch;
            m.member_epoch = generation;
            m.assignment = target.clone();
        }
        let epoch = m.member_epoch;
        if moved {
            step(ctx, g, "assign", &member_id, target.clone());
            ctx.observe(Obs::Reconciled { group: g });
        }
        self.reply(ctx, consumer, answer(member_id, epoch, Some(target), None));
    }

    /// Membership changed: a new group epoch and a new target assignment (the
    /// `simple` assignor, sticky to the current target).
    pub(super) fn bump_share_epoch(&mut self, ctx: &mut Ctx, g: u32, cause: &'static str) {
        let cluster = self.cluster.clone();
        let grp = self.coordinator.group_mut(g);
        grp.generation += 1;
        let partitions: Vec<u32> = grp
            .info
            .topics
            .iter()
            .flat_map(|&t| {
                let t = &cluster.topics[t as usize];
                t.first..t.first + t.partitions
            })
            .collect();
        let current: BTreeMap<String, Vec<u32>> =
            crate::sim::map_from(grp.members.keys().map(|id| (id.clone(), grp.target.get(id).cloned().unwrap_or_default())));
        let target = simple::assign(&partitions, &current);
        grp.target = target.clone();
        grp.state = if grp.members.is_empty() { GroupState::Empty } else { GroupState::Stable };
        grp.last_cause = Some(cause);
        ctx.observe(Obs::rebalance(
            g,
            RebalanceObs::Started {
                generation: grp.generation,
                cause,
                before: current,
                after: target.clone(),
                revoked: 0,
                pause: Vec::new(),
            },
        ));
        step(ctx, g, "target", "coordinator", Vec::new());
        // No revocation: partitions are shared, members move with their next heartbeat.
        ctx.observe(Obs::rebalance(g, RebalanceObs::Completed { after: Some(target) }));
        let id = grp.info.cfg.id.clone();
        let epoch = grp.generation;
        ctx.observe(Obs::note(Notable::Text(format!(
            "group {id}: group epoch {epoch}, new target assignment ({cause})"
        ))));
        self.persist_group(ctx, g);
    }

    /// Coordinator clock for share groups: `group.share.session.timeout.ms`.
    pub(super) fn expire_share_members(&mut self, ctx: &mut Ctx, g: u32) {
        let expired = self.coordinator.group(g).expired_members(ctx.now);
        for id in expired {
            if let Some(m) = self.coordinator.group_mut(g).members.remove(&id) {
                step(ctx, g, "leave", &id, m.assignment);
                self.bump_share_epoch(ctx, g, "session_timeout");
            }
        }
    }

    /// The share coordinator's answer to a new share-partition leader: what was
    /// persisted (None: nothing yet). Its leader epoch fences older leaders' writes.
    pub(crate) fn read_share_state(&mut self, g: u32, pidx: u32, leader_epoch: i32) -> Result<Option<Box<ShareSnapshot>>, GroupError> {
        if !self.is_coordinator(g) {
            return Err(GroupError::NotCoordinator);
        }
        self.ensure_group(g);
        let grp = self.coordinator.group_mut(g);
        let fence = grp.share_fence.get_or_insert_with(pidx, || leader_epoch);
        *fence = (*fence).max(leader_epoch);
        Ok(grp.share_state.get(&pidx).cloned().map(Box::new))
    }

    /// A share-partition leader's new state (Kafka's WriteShareGroupState): kept
    /// and written to the log, unless an older leader epoch sent it.
    pub(crate) fn write_share_state(&mut self, ctx: &mut Ctx, g: u32, pidx: u32, snapshot: ShareSnapshot) {
        if !self.is_coordinator(g) {
            return;
        }
        self.ensure_group(g);
        let grp = self.coordinator.group_mut(g);
        if grp.share_fence.get(&pidx).is_some_and(|&f| snapshot.leader_epoch < f) {
            // FENCED_LEADER_EPOCH: a deposed leader's late write.
            return;
        }
        grp.share_fence.insert(pidx, snapshot.leader_epoch);
        grp.share_state.insert(pidx, snapshot.clone());
        let offsets_pidx = grp.info.offsets_pidx;
        let bytes = 60 + 20 * snapshot.runs.len() as u32;
        let record = Record::ShareState {
            group: g,
            pidx,
            snapshot: Box::new(snapshot),
        };
        if self.append_internal(ctx, offsets_pidx, record, 1, bytes).is_ok() {
            self.after_leader_append(ctx, offsets_pidx);
        }
    }
}
