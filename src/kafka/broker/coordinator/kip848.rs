//! KIP-848, the `consumer` group protocol, on the coordinator: it computes the
//! target assignment with a server-side assignor (uniform or range) whenever the
//! group epoch moves; each member reconciles through its heartbeats: it first
//! gives up what it must revoke, and only then is a freed partition granted to
//! its new owner. No JoinGroup/SyncGroup, no stop-the-world barrier.

use super::classic::step;
use super::{assignor_input, global_assignment, GroupMember, GroupState};
use crate::assignors::{self, ServerStrategy};
use crate::kafka::broker::Broker;
use crate::kafka::group::{LEAVE_EPOCH, STATIC_LEAVE_EPOCH};
use crate::kafka::notable::Notable;
use crate::kafka::obs::{Obs, RebalanceObs};
use crate::kafka::protocol::{ConsumerHeartbeatDone, ConsumerMsg, GroupError};
use crate::kafka::Ctx;
use crate::sim::SortSmall;
use std::collections::BTreeMap;

pub(super) fn heartbeat_done(member_id: String, member_epoch: i32, assignment: Option<Vec<u32>>, error: Option<GroupError>) -> ConsumerMsg {
    ConsumerMsg::ConsumerHeartbeatDone(Box::new(ConsumerHeartbeatDone {
        member_id,
        member_epoch,
        assignment,
        error,
    }))
}

impl Broker {
    /// One ConsumerGroupHeartbeat.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn handle_consumer_heartbeat(
        &mut self,
        ctx: &mut Ctx,
        consumer: u32,
        g: u32,
        member_id: String,
        member_epoch: i32,
        instance_id: Option<String>,
        owned: Vec<u32>,
    ) {
        let now = ctx.now;
        if member_epoch == LEAVE_EPOCH || member_epoch == STATIC_LEAVE_EPOCH {
            if member_epoch == LEAVE_EPOCH {
                let gone = self.coordinator.group_mut(g).members.remove(&member_id);
                if let Some(m) = gone {
                    step(ctx, g, "leave", &member_id, m.assignment.clone());
                    self.bump_group_epoch(ctx, g, "member_left");
                }
            }
            return;
        }
        let mut member_id = member_id;
        let mut rejoined = false;
        let joined_cause = {
            let grp = self.coordinator.group_mut(g);
            if member_epoch == 0 && !grp.members.contains_key(&member_id) {
                // Joining (or a static member coming back with its instance id).
                let back = instance_id
                    .as_ref()
                    .and_then(|inst| grp.members.iter().find(|(_, m)| m.instance_id.as_ref() == Some(inst)).map(|(id, _)| id.clone()));
                match back {
                    Some(old) => {
                        let mut m = grp.members.remove(&old).expect("present");
                        m.consumer = consumer;
                        m.last_heartbeat = now;
                        if member_id.is_empty() {
                            member_id = format!("{}-{}", instance_id.clone().unwrap_or_default(), grp.next_member);
                            grp.next_member += 1;
                        }
                        grp.members.insert(member_id.clone(), m);
                        let id = grp.info.cfg.id.clone();
                        ctx.observe(Obs::note(Notable::Text(format!(
                            "group {id}: static member rejoined as {member_id}, no rebalance"
                        ))));
                        rejoined = true;
                        None
                    }
                    None => {
                        // Kafka 4's members choose their id (KIP-1082); an empty one gets a
                        // new id, of another shape than the ids members choose.
                        if member_id.is_empty() {
                            member_id = format!(
                                "{}-{}",
                                instance_id.clone().unwrap_or_else(|| format!("{}-member", grp.info.cfg.id)),
                                grp.next_member
                            );
                            grp.next_member += 1;
                        }
                        let order = grp.next_join_order;
                        grp.next_join_order += 1;
                        let mut m = GroupMember::new(consumer, instance_id, order, now);
                        m.joined = true;
                        grp.members.insert(member_id.clone(), m);
                        Some(if grp.members.len() == 1 { "initial_join" } else { "member_joined" })
                    }
                }
            } else {
                None
            }
        };
        if let Some(cause) = joined_cause {
            step(ctx, g, "join", &member_id, Vec::new());
            self.bump_group_epoch(ctx, g, cause);
        }
        // The member epoch check (throwIfConsumerGroupMemberEpochIsInvalid): ahead of
        // the coordinator's, or behind it unless it is the previous epoch and the member
        // owns nothing it was not assigned (the answer with the bump was lost).
        let fenced = {
            let grp = self.coordinator.group(g);
            grp.members.get(&member_id).is_some_and(|m| {
                member_epoch > m.member_epoch
                    || (member_epoch < m.member_epoch && !(member_epoch == m.previous_member_epoch && owned.iter().all(|p| m.assignment.contains(p))))
            }) && joined_cause.is_none()
                && !rejoined
        };
        if fenced {
            // The member loses everything and rejoins at epoch 0; its old entry goes.
            let gone = self.coordinator.group_mut(g).members.remove(&member_id);
            if let Some(m) = gone {
                step(ctx, g, "leave", &member_id, m.assignment.clone());
                ctx.observe(Obs::rebalance(
                    g,
                    RebalanceObs::MemberGone {
                        member: member_id.clone(),
                        partitions: m.assignment,
                        next: true,
                        record_before: false,
                    },
                ));
                self.bump_group_epoch(ctx, g, "member_fenced");
            }
            self.reply(ctx, consumer, heartbeat_done(member_id, -1, None, Some(GroupError::FencedMemberEpoch)));
            return;
        }
        let known = {
            let grp = self.coordinator.group_mut(g);
            match grp.members.get_mut(&member_id) {
                None => None,
                Some(m) => {
                    m.last_heartbeat = now;
                    m.owned = owned.clone();
                    // Revocations the member has acknowledged (no longer in what it owns).
                    let acked: Vec<u32> = m.revoking.iter().copied().filter(|p| !owned.contains(p)).collect();
                    if !acked.is_empty() {
                        m.revoking.retain(|p| owned.contains(p));
                        m.assignment.retain(|p| !acked.contains(p));
                    }
                    Some(!acked.is_empty())
                }
            }
        };
        let Some(acked) = known else {
            self.reply(ctx, consumer, heartbeat_done(member_id, -1, None, Some(GroupError::UnknownMemberId)));
            return;
        };
        if self.reconcile(ctx, g, &member_id) || acked || rejoined {
            self.persist_group(ctx, g);
        }
        let (member_epoch, assignment) = {
            let m = &self.coordinator.group(g).members[&member_id];
            (m.member_epoch, m.assignment.iter().copied().filter(|p| !m.revoking.contains(p)).collect())
        };
        self.reply(ctx, consumer, heartbeat_done(member_id, member_epoch, Some(assignment), None));
    }

    /// Membership changed: a new group epoch and a new target assignment.
    pub(super) fn bump_group_epoch(&mut self, ctx: &mut Ctx, g: u32, cause: &'static str) {
        let cluster = self.cluster.clone();
        let grp = self.coordinator.group_mut(g);
        grp.generation += 1;
        let strategy = if grp.info.cfg.assignor_name() == "range" {
            ServerStrategy::Range
        } else {
            ServerStrategy::Uniform
        };
        // Stickiness comes from the current target: the assignor sees it as owned.
        let empty = Vec::new();
        let generation = grp.generation - 1;
        let (topics, members) = assignor_input(
            &cluster,
            &grp.info.topics,
            grp.members
                .iter()
                .map(|(id, m)| (id, &m.instance_id, grp.target.get(id).unwrap_or(&empty).as_slice(), generation)),
        );
        let result = assignors::assign_server(strategy, &topics, &members).unwrap_or_default();
        let target = global_assignment(&cluster, result);
        grp.target = target.clone();
        grp.state = if grp.members.is_empty() {
            GroupState::Empty
        } else {
            GroupState::PreparingRebalance
        };
        grp.last_cause = Some(cause);
        let before: BTreeMap<String, Vec<u32>> = crate::sim::map_from(grp.members.iter().map(|(id, m)| (id.clone(), m.assignment.clone())));
        ctx.observe(Obs::rebalance(
            g,
            RebalanceObs::Started {
                generation: grp.generation,
                cause,
                before,
                after: target,
                revoked: 0,
                pause: Vec::new(),
            },
        ));
        step(ctx, g, "target", "coordinator", Vec::new());
        let id = grp.info.cfg.id.clone();
        let epoch = grp.generation;
        ctx.observe(Obs::note(Notable::Text(format!(
            "group {id}: group epoch {epoch}, new target assignment ({cause})"
        ))));
        self.persist_group(ctx, g);
    }

    /// Moves one member toward its target: revoke first; grant a partition only
    /// when no other member still owns it (invariant 4).
    /// Returns whether the member's assignment, epoch or the group's state changed.
    fn reconcile(&mut self, ctx: &mut Ctx, g: u32, member_id: &str) -> bool {
        let grp = self.coordinator.group_mut(g);
        let target = grp.target.get(member_id).cloned().unwrap_or_default();
        let owned_elsewhere: Vec<u32> = grp
            .members
            .iter()
            .filter(|(id, _)| id.as_str() != member_id)
            .flat_map(|(_, m)| m.assignment.iter().copied())
            .collect();
        let generation = grp.generation;
        let m = grp.members.get_mut(member_id).expect("caller checked");
        let revoke: Vec<u32> = m
            .assignment
            .iter()
            .copied()
            .filter(|p| !target.contains(p) && !m.revoking.contains(p))
            .collect();
        if !revoke.is_empty() {
            m.revoking.extend(&revoke);
        }
        // A member with partitions to revoke stays at its epoch and gets nothing new
        // until it has acknowledged the revocation (UNREVOKED_PARTITIONS).
        let grant: Vec<u32> = if m.revoking.is_empty() {
            target
                .iter()
                .copied()
                .filter(|p| !m.assignment.contains(p) && !owned_elsewhere.contains(p))
                .collect()
        } else {
            Vec::new()
        };
        if !grant.is_empty() {
            m.assignment.extend(&grant);
            m.assignment.sort_small();
        }
        let epoch_before = m.member_epoch;
        // KIP-848: the member epoch moves to the group epoch once nothing is left to
        // revoke; partitions still held by others arrive later (unreleased).
        if m.revoking.is_empty() && m.member_epoch != generation {
            m.previous_member_epoch = m.member_epoch;
            m.member_epoch = generation;
        }
        let mut changed = !revoke.is_empty() || !grant.is_empty() || m.member_epoch != epoch_before;
        if !revoke.is_empty() {
            step(ctx, g, "revoke", member_id, revoke.clone());
            ctx.observe(Obs::rebalance(g, RebalanceObs::Revoked { partitions: revoke }));
        }
        if !grant.is_empty() {
            step(ctx, g, "assign", member_id, grant.clone());
            ctx.observe(Obs::rebalance(
                g,
                RebalanceObs::Granted {
                    member: member_id.to_string(),
                    partitions: grant,
                },
            ));
        }
        ctx.observe(Obs::Reconciled { group: g });
        let all_done = grp
            .members
            .iter()
            .all(|(id, m)| m.member_epoch == grp.generation && grp.target.get(id).is_some_and(|t| *t == m.assignment));
        if all_done && grp.state == GroupState::PreparingRebalance {
            grp.state = GroupState::Stable;
            ctx.observe(Obs::rebalance(g, RebalanceObs::Completed { after: None }));
            changed = true;
        }
        changed
    }

    /// Coordinator clock for KIP-848 groups: session expiry.
    pub(super) fn expire_848_members(&mut self, ctx: &mut Ctx, g: u32) {
        let expired = self.coordinator.group(g).expired_members(ctx.now);
        for id in expired {
            let gone = self.coordinator.group_mut(g).members.remove(&id);
            if let Some(m) = gone {
                step(ctx, g, "leave", &id, m.assignment.clone());
                ctx.observe(Obs::rebalance(
                    g,
                    RebalanceObs::MemberGone {
                        member: id.clone(),
                        partitions: m.assignment,
                        next: true,
                        record_before: false,
                    },
                ));
                self.bump_group_epoch(ctx, g, "session_timeout");
            }
        }
    }
}
