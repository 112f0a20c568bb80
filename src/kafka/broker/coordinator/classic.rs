//! The classic group protocol on the coordinator: JoinGroup, SyncGroup,
//! Heartbeat and LeaveGroup; the states Empty, PreparingRebalance,
//! CompletingRebalance, Stable; generations; the group leader;
//! `group.initial.rebalance.delay.ms`; `session.timeout.ms`; static membership
//! (KIP-345). Every step of a rebalance is reported for the timeline.

use super::{GroupMember, GroupState};
use crate::kafka::broker::Broker;
use crate::kafka::notable::Notable;
use crate::kafka::obs::{Obs, RebalanceObs};
use crate::kafka::protocol::{ConsumerMsg, GroupError, GroupRequest, Joined, MemberInfo, Msg};
use crate::kafka::Ctx;
use crate::scenario::GroupProtocol;
use crate::sim::{Node, SortSmall, MS};
use std::collections::BTreeMap;

/// A timeline step of group `g`.
pub(super) fn step(ctx: &mut Ctx, g: u32, kind: &'static str, member: &str, partitions: Vec<u32>) {
    ctx.observe(Obs::rebalance(
        g,
        RebalanceObs::Step {
            kind,
            member: member.to_string(),
            partitions,
        },
    ));
}

impl Broker {
    /// Is this broker the group's coordinator now: leader (in its own view) of the offsets partition?
    pub(crate) fn is_coordinator(&self, g: u32) -> bool {
        self.leads(self.cluster.groups[g as usize].offsets_pidx)
    }

    pub(super) fn reply(&mut self, ctx: &mut Ctx, consumer: u32, msg: ConsumerMsg) {
        let done = self.service(ctx.now, 20);
        ctx.send_at(done, Node::Consumer(consumer), Msg::Consumer(msg));
    }

    pub(crate) fn handle_group_request(&mut self, ctx: &mut Ctx, consumer: u32, g: u32, req: GroupRequest) {
        if let GroupRequest::FindCoordinator { req_id } = req {
            let pidx = self.cluster.groups[g as usize].offsets_pidx;
            let broker = self.image.get(pidx as usize).and_then(|x| x.0);
            self.reply(ctx, consumer, ConsumerMsg::Coordinator { req_id, broker });
            return;
        }
        if !self.is_coordinator(g) {
            let msg = match &req {
                GroupRequest::OffsetCommit { req_id, .. } => ConsumerMsg::CommitDone {
                    req_id: *req_id,
                    error: Some(GroupError::NotCoordinator),
                },
                GroupRequest::OffsetFetch { req_id, .. } => ConsumerMsg::Offsets {
                    req_id: *req_id,
                    offsets: Err(GroupError::NotCoordinator),
                },
                _ => ConsumerMsg::GroupError {
                    error: GroupError::NotCoordinator,
                },
            };
            self.reply(ctx, consumer, msg);
            return;
        }
        self.ensure_group(g);
        match req {
            GroupRequest::FindCoordinator { .. } => {}
            GroupRequest::Join {
                member_id,
                instance_id,
                owned,
                generation,
            } => self.handle_join(ctx, consumer, g, member_id, instance_id, owned, generation),
            GroupRequest::Sync {
                member_id,
                generation,
                assignments,
            } => self.handle_sync(ctx, consumer, g, member_id, generation, assignments),
            GroupRequest::Heartbeat { member_id, generation } => {
                let now = ctx.now;
                let error = {
                    let grp = self.coordinator.group_mut(g);
                    match grp.members.get_mut(&member_id) {
                        None => Some(GroupError::UnknownMemberId),
                        Some(_) if generation != grp.generation => Some(GroupError::IllegalGeneration),
                        Some(m) => {
                            m.last_heartbeat = now;
                            (grp.state == GroupState::PreparingRebalance).then_some(GroupError::RebalanceInProgress)
                        }
                    }
                };
                self.reply(ctx, consumer, ConsumerMsg::HeartbeatDone { generation, error });
            }
            GroupRequest::Leave { member_id, reason } => {
                let gone = self.coordinator.group_mut(g).members.remove(&member_id);
                if let Some(m) = gone {
                    step(ctx, g, "leave", &member_id, m.assignment.clone());
                    self.member_gone(ctx, g, &member_id, m, reason);
                }
            }
            GroupRequest::OffsetCommit {
                req_id,
                member_id,
                generation,
                offsets,
            } => self.handle_commit(ctx, consumer, g, req_id, member_id, generation, offsets),
            GroupRequest::ConsumerHeartbeat {
                member_id,
                member_epoch,
                instance_id,
                owned,
            } => self.handle_consumer_heartbeat(ctx, consumer, g, member_id, member_epoch, instance_id, owned),
            GroupRequest::OffsetFetch { req_id, partitions } => self.handle_offset_fetch(ctx, consumer, g, req_id, partitions),
            GroupRequest::ShareHeartbeat { member_id, member_epoch } => self.handle_share_heartbeat(ctx, consumer, g, member_id, member_epoch),
        }
    }

    /// A group nobody wrote about yet starts empty here.
    pub(super) fn ensure_group(&mut self, g: u32) {
        if !self.coordinator.groups.contains_key(&g) {
            let info = self.cluster.groups[g as usize].clone();
            self.coordinator.groups.insert(g, super::Group::new(g, info));
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn handle_join(
        &mut self,
        ctx: &mut Ctx,
        consumer: u32,
        g: u32,
        mut member_id: String,
        instance_id: Option<String>,
        owned: Vec<u32>,
        owned_generation: i32,
    ) {
        let now = ctx.now;
        // Static member coming back: same instance id, new member id. It takes the old
        // member id's place in every state (Kafka's replaceStaticMember): while the
        // group is stable it gets its old assignment without a rebalance (KIP-345);
        // during a rebalance it counts as that member rejoining, so the join does not
        // wait for the old id's session to expire.
        if let Some(inst) = &instance_id {
            let replaced = {
                let grp = self.coordinator.group_mut(g);
                let old = grp
                    .members
                    .iter()
                    .find(|(_, m)| m.instance_id.as_deref() == Some(inst))
                    .map(|(id, _)| id.clone());
                match old {
                    Some(old_id) if old_id != member_id => {
                        let mut m = grp.members.remove(&old_id).expect("present");
                        let new_id = format!("{}-{}", inst, grp.next_member);
                        grp.next_member += 1;
                        m.consumer = consumer;
                        m.last_heartbeat = now;
                        m.owned = owned.clone();
                        m.owned_generation = owned_generation;
                        if grp.leader.as_deref() == Some(old_id.as_str()) {
                            grp.leader = Some(new_id.clone());
                        }
                        grp.members.insert(new_id.clone(), m);
                        Some((
                            grp.state,
                            grp.generation,
                            grp.leader.clone().unwrap_or_default(),
                            grp.info.cfg.id.clone(),
                            old_id,
                            new_id,
                        ))
                    }
                    _ => None,
                }
            };
            if let Some((state, generation, leader, id, old_id, new_id)) = replaced {
                if state == GroupState::Stable {
                    self.persist_group(ctx, g);
                    ctx.observe(Obs::note(Notable::Text(format!(
                        "group {id}: static member {inst} rejoined as {new_id}, no rebalance"
                    ))));
                    self.reply(
                        ctx,
                        consumer,
                        ConsumerMsg::Joined(Box::new(Joined {
                            member_id: new_id,
                            generation,
                            leader,
                            members: None,
                        })),
                    );
                    return;
                }
                ctx.observe(Obs::note(Notable::Text(format!(
                    "group {id}: static member {inst} rejoined as {new_id} during a rebalance, replacing {old_id}"
                ))));
                step(ctx, g, "replace", &new_id, Vec::new());
                member_id = new_id;
            }
        }
        // A dynamic member's first JoinGroup: the coordinator picks its id and asks it
        // to join again with it (MEMBER_ID_REQUIRED, Kafka 2.2+); until then it is a
        // pending member the join phase waits for.
        if member_id.is_empty() && instance_id.is_none() {
            let id = {
                let grp = self.coordinator.group_mut(g);
                let id = format!("{}-consumer-{}", grp.info.cfg.id, grp.next_member);
                grp.next_member += 1;
                grp.pending.insert(id.clone(), now);
                id
            };
            step(ctx, g, "member_id_required", &id, Vec::new());
            self.reply(ctx, consumer, ConsumerMsg::MemberIdRequired { member_id: id });
            return;
        }
        // A member id the group does not know (its member was removed, say after its
        // session timed out, while it did not hear): UNKNOWN_MEMBER_ID. The client then
        // gives up its partitions (onPartitionsLost) and joins again without an id, so
        // no stale claim of ownership reaches the assignor (Kafka's JoinGroup does this).
        if !member_id.is_empty() {
            let grp = self.coordinator.group(g);
            if !grp.pending.contains_key(&member_id) && !grp.members.contains_key(&member_id) {
                self.reply(
                    ctx,
                    consumer,
                    ConsumerMsg::GroupError {
                        error: GroupError::UnknownMemberId,
                    },
                );
                return;
            }
        }
        let (member_id, is_new, state) = {
            let grp = self.coordinator.group_mut(g);
            let was_pending = grp.pending.remove(&member_id).is_some();
            let member_id = if member_id.is_empty() || (!was_pending && !grp.members.contains_key(&member_id)) {
                let prefix = instance_id.clone().unwrap_or_else(|| format!("{}-consumer", grp.info.cfg.id));
                let id = format!("{prefix}-{}", grp.next_member);
                grp.next_member += 1;
                id
            } else {
                member_id
            };
            let is_new = !grp.members.contains_key(&member_id);
            let order = grp.next_join_order;
            grp.next_join_order += 1;
            let m = grp
                .members
                .entry(member_id.clone())
                .or_insert_with(|| GroupMember::new(consumer, instance_id.clone(), order, now));
            m.consumer = consumer;
            m.joined = true;
            m.join_order = order;
            m.owned = owned.clone();
            m.owned_generation = owned_generation;
            m.last_heartbeat = now;
            // A new member during the initial delay earns the group another one.
            if is_new && grp.state == GroupState::PreparingRebalance && now < grp.initial_delay_until {
                grp.new_member_added = true;
            }
            (member_id, is_new, grp.state)
        };
        match state {
            GroupState::PreparingRebalance => {}
            GroupState::Empty | GroupState::Dead => self.start_rebalance(ctx, g, "initial_join"),
            GroupState::Stable | GroupState::CompletingRebalance => {
                // A known member rejoining a stable group is the follow-up round of the
                // previous change (cooperative revocation): it keeps that cause.
                let cause = if is_new {
                    "member_joined"
                } else {
                    self.coordinator.group(g).last_cause.unwrap_or("member_joined")
                };
                self.start_rebalance(ctx, g, cause)
            }
        }
        if let Some(m) = self.coordinator.group_mut(g).members.get_mut(&member_id) {
            m.joined = true;
        }
        step(ctx, g, "join", &member_id, owned);
        self.maybe_complete_join(ctx, g);
    }

    /// PreparingRebalance: every member must rejoin; eager members stop consuming now.
    pub(super) fn start_rebalance(&mut self, ctx: &mut Ctx, g: u32, cause: &'static str) {
        let now = ctx.now;
        let grp = self.coordinator.group_mut(g);
        if grp.state == GroupState::PreparingRebalance {
            return;
        }
        let was_empty = grp.members.values().all(|m| m.assignment.is_empty()) && matches!(grp.state, GroupState::Empty | GroupState::Dead);
        grp.state = GroupState::PreparingRebalance;
        grp.join_deadline = now + grp.info.cfg.max_poll_interval_ms * MS;
        if was_empty {
            // Kafka's InitialDelayedJoin: a delay, extended while new members come,
            // within the rebalance timeout.
            let delay = grp.info.cfg.group_initial_rebalance_delay_ms * MS;
            let timeout = grp.info.cfg.max_poll_interval_ms * MS;
            grp.initial_delay_until = now + delay.min(timeout);
            grp.initial_remaining = timeout.saturating_sub(delay);
            grp.new_member_added = false;
        }
        // Members waiting for their SyncGroup answer learn that the round is over
        // (Kafka's resetAndPropagateAssignmentWithError) and join again.
        let mut sync_errors: Vec<(u32, i32)> = Vec::new();
        for m in grp.members.values_mut() {
            if m.sync_waiting {
                sync_errors.push((m.consumer, grp.generation));
            }
            m.joined = false;
            m.sync_waiting = false;
        }
        let before = grp.owner_map();
        let eager = !grp.info.cfg.cooperative();
        let revoked = if eager { before.values().map(|v| v.len() as u32).sum() } else { 0 };
        // Eager: the whole group stops; every owned partition waits for its next owner.
        let pause = if eager { before.values().flatten().copied().collect() } else { Vec::new() };
        grp.last_cause = Some(cause);
        let generation = grp.generation + 1;
        let id = grp.info.cfg.id.clone();
        ctx.observe(Obs::rebalance(
            g,
            RebalanceObs::Started {
                generation,
                cause,
                before,
                after: BTreeMap::new(),
                revoked,
                pause,
            },
        ));
        ctx.observe(Obs::note(Notable::Text(format!("group {id}: rebalance started ({cause})"))));
        step(ctx, g, "prepare", "coordinator", Vec::new());
        for (consumer, generation) in sync_errors {
            self.reply(
                ctx,
                consumer,
                ConsumerMsg::Synced {
                    generation,
                    assignment: Err(GroupError::RebalanceInProgress),
                },
            );
        }
    }

    /// Completes the join phase when every member rejoined (or the rebalance
    /// timeout passed, dropping the laggards) and the initial delay is over.
    pub(super) fn maybe_complete_join(&mut self, ctx: &mut Ctx, g: u32) {
        let now = ctx.now;
        let emptied = {
            let grp = self.coordinator.group_mut(g);
            if grp.state != GroupState::PreparingRebalance || now < grp.initial_delay_until {
                return;
            }
            if grp.new_member_added && grp.initial_remaining > 0 {
                // New members came during the delay: wait another one (at most what
                // is left of the rebalance timeout).
                let delay = (grp.info.cfg.group_initial_rebalance_delay_ms * MS).min(grp.initial_remaining);
                grp.initial_remaining -= delay;
                grp.initial_delay_until = now + delay;
                grp.new_member_added = false;
                step(ctx, g, "initial_delay", "coordinator", Vec::new());
                return;
            }
            let all = grp.members.values().all(|m| m.joined) && grp.pending.is_empty();
            if !all && now < grp.join_deadline {
                return;
            }
            let laggards: Vec<String> = grp.members.iter().filter(|(_, m)| !m.joined).map(|(id, _)| id.clone()).collect();
            for id in &laggards {
                grp.members.remove(id);
            }
            if grp.members.is_empty() {
                grp.state = GroupState::Empty;
                grp.generation += 1;
                grp.leader = None;
                ctx.observe(Obs::rebalance(g, RebalanceObs::Completed { after: None }));
                None
            } else {
                Some(())
            }
        };
        let Some(()) = emptied else {
            self.persist_group(ctx, g);
            return;
        };
        let replies = {
            let grp = self.coordinator.group_mut(g);
            grp.generation += 1;
            grp.state = GroupState::CompletingRebalance;
            let leader_ok = grp.leader.as_ref().is_some_and(|l| grp.members.contains_key(l));
            if !leader_ok {
                grp.leader = grp.members.iter().min_by_key(|(_, m)| m.join_order).map(|(id, _)| id.clone());
            }
            let generation = grp.generation;
            let leader = grp.leader.clone().unwrap_or_default();
            let infos: Vec<MemberInfo> = grp
                .members
                .iter()
                .map(|(id, m)| MemberInfo {
                    member_id: id.clone(),
                    instance_id: m.instance_id.clone(),
                    owned: m.owned.clone(),
                    generation: m.owned_generation,
                })
                .collect();
            ctx.observe(Obs::rebalance(g, RebalanceObs::Generation { generation }));
            step(ctx, g, "join_complete", &leader, Vec::new());
            let replies: Vec<(u32, ConsumerMsg)> = grp
                .members
                .iter()
                .map(|(id, m)| {
                    let members = (*id == leader).then(|| infos.clone());
                    (
                        m.consumer,
                        ConsumerMsg::Joined(Box::new(Joined {
                            member_id: id.clone(),
                            generation,
                            leader: leader.clone(),
                            members,
                        })),
                    )
                })
                .collect();
            replies
        };
        for (consumer, msg) in replies {
            self.reply(ctx, consumer, msg);
        }
    }

    fn handle_sync(&mut self, ctx: &mut Ctx, consumer: u32, g: u32, member_id: String, generation: i32, assignments: Option<Vec<(String, Vec<u32>)>>) {
        let mut persist = false;
        let replies = {
            let grp = self.coordinator.group_mut(g);
            let error = match grp.members.get(&member_id) {
                None => Some(GroupError::UnknownMemberId),
                Some(_) if generation != grp.generation => Some(GroupError::IllegalGeneration),
                Some(_) if grp.state == GroupState::PreparingRebalance => Some(GroupError::RebalanceInProgress),
                Some(_) => None,
            };
            if let Some(e) = error {
                vec![(
                    consumer,
                    ConsumerMsg::Synced {
                        generation,
                        assignment: Err(e),
                    },
                )]
            } else if grp.state == GroupState::Stable {
                let a = grp.members[&member_id].assignment.clone();
                vec![(consumer, ConsumerMsg::Synced { generation, assignment: Ok(a) })]
            } else {
                grp.members.get_mut(&member_id).expect("checked").sync_waiting = true;
                step(ctx, g, "sync", &member_id, Vec::new());
                let is_leader = grp.leader.as_deref() == Some(member_id.as_str());
                let Some(assignments) = assignments.filter(|_| is_leader) else { return };
                // Invariant 4 (checked outside): nothing goes to a member while another member still owns it.
                let owned = grp.members.iter().map(|(id, m)| (id.clone(), m.owned.clone())).collect();
                ctx.observe(Obs::Assignment {
                    group: g,
                    owned,
                    assignments: assignments.clone(),
                });
                for (id, m) in grp.members.iter_mut() {
                    m.assignment = assignments.iter().find(|(to, _)| to == id).map(|(_, p)| p.clone()).unwrap_or_default();
                    m.assignment.sort_small();
                }
                grp.state = GroupState::Stable;
                let after = grp.owner_map();
                ctx.observe(Obs::rebalance(g, RebalanceObs::Completed { after: Some(after.clone()) }));
                for (id, parts) in &after {
                    step(ctx, g, "assign", id, parts.clone());
                }
                let replies: Vec<(u32, ConsumerMsg)> = grp
                    .members
                    .values()
                    .filter(|m| m.sync_waiting)
                    .map(|m| {
                        (
                            m.consumer,
                            ConsumerMsg::Synced {
                                generation,
                                assignment: Ok(m.assignment.clone()),
                            },
                        )
                    })
                    .collect();
                for m in grp.members.values_mut() {
                    m.sync_waiting = false;
                }
                let id = grp.info.cfg.id.clone();
                let gen = grp.generation;
                ctx.observe(Obs::note(Notable::Text(format!(
                    "group {id}: generation {gen} stable, {} members",
                    after.len()
                ))));
                // Kafka writes the group's new state with the leader's SyncGroup.
                persist = true;
                replies
            }
        };
        if persist {
            self.persist_group(ctx, g);
        }
        for (consumer, msg) in replies {
            self.reply(ctx, consumer, msg);
        }
    }

    /// A member left (LeaveGroup) or expired: the group rebalances, or empties.
    pub(super) fn member_gone(&mut self, ctx: &mut Ctx, g: u32, member_id: &str, m: GroupMember, cause: &'static str) {
        let rebalance = {
            let grp = self.coordinator.group_mut(g);
            let id = grp.info.cfg.id.clone();
            ctx.observe(Obs::note(Notable::Text(format!(
                "group {id}: member {member_id} removed ({cause}), it owned {} partitions",
                m.assignment.len()
            ))));
            if grp.members.is_empty() {
                grp.state = GroupState::Empty;
                grp.leader = None;
                None
            } else {
                Some(grp.state != GroupState::PreparingRebalance)
            }
        };
        let Some(rebalance) = rebalance else {
            self.persist_group(ctx, g);
            return;
        };
        // The departed member's partitions stop now, whatever the protocol.
        if rebalance {
            self.start_rebalance(ctx, g, cause);
        }
        ctx.observe(Obs::rebalance(
            g,
            RebalanceObs::MemberGone {
                member: member_id.to_string(),
                partitions: m.assignment,
                next: false,
                record_before: true,
            },
        ));
        self.maybe_complete_join(ctx, g);
    }

    /// The coordinator's clock: session expiry and join-phase timeouts.
    pub(crate) fn group_tick(&mut self, ctx: &mut Ctx, g: u32) {
        let now = ctx.now;
        match self.coordinator.group(g).info.cfg.protocol {
            GroupProtocol::Consumer => return self.expire_848_members(ctx, g),
            GroupProtocol::Share => return self.expire_share_members(ctx, g),
            GroupProtocol::Classic => {}
        }
        let expired: Vec<String> = {
            let grp = self.coordinator.group(g);
            let session = grp.info.cfg.session_timeout_ms * MS;
            // A member whose JoinGroup or SyncGroup waits for its answer is kept alive.
            let preparing = grp.state == GroupState::PreparingRebalance;
            grp.members
                .iter()
                .filter(|(_, m)| !(m.sync_waiting || m.joined && preparing) && now.saturating_sub(m.last_heartbeat) > session)
                .map(|(id, _)| id.clone())
                .collect()
        };
        // A pending member that did not come back with its id within the session timeout.
        {
            let grp = self.coordinator.group_mut(g);
            let session = grp.info.cfg.session_timeout_ms * MS;
            grp.pending.retain(|_, since| now.saturating_sub(*since) <= session);
        }
        // One at a time: each departure may start the rebalance the next one joins.
        for id in expired {
            let gone = self.coordinator.group_mut(g).members.remove(&id);
            if let Some(m) = gone {
                step(ctx, g, "leave", &id, m.assignment.clone());
                self.member_gone(ctx, g, &id, m, "session_timeout");
            }
        }
        self.maybe_complete_join(ctx, g);
    }
}
