//! KIP-848, the `consumer` group protocol: the coordinator computes the target
//! assignment with a server-side assignor (uniform or range) whenever the group
//! epoch moves; each member reconciles through its heartbeats: it first gives
//! up what it must revoke, and only then is a freed partition granted to its
//! new owner. No JoinGroup/SyncGroup, no stop-the-world barrier: members keep
//! consuming everything that does not move.

use crate::assignors::{self, ServerStrategy};
use crate::engine::{Msg, Simulation};
use crate::eventlog::Notable;
use crate::kafka::consumer::{ConsumerMsg, ConsumerState, Phase};
use crate::kafka::group::{GroupError, GroupMember, GroupRequest, GroupState, Rebalance};
use crate::sim::SortSmall;
use crate::sim::{Micros, Node, MS};
use std::collections::BTreeMap;

/// Member epoch sent to leave the group for good (dynamic) or for a while (static).
pub const LEAVE_EPOCH: i32 = -1;
pub const STATIC_LEAVE_EPOCH: i32 = -2;

impl Simulation {
    /// Coordinator: one ConsumerGroupHeartbeat.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn handle_consumer_heartbeat(
        &mut self,
        b: u32,
        consumer: u32,
        g: u32,
        member_id: String,
        member_epoch: i32,
        instance_id: Option<String>,
        owned: Vec<u32>,
    ) {
        let now = self.now;
        let grp = &mut self.groups[g as usize];
        if member_epoch == LEAVE_EPOCH || member_epoch == STATIC_LEAVE_EPOCH {
            if member_epoch == LEAVE_EPOCH {
                if let Some(m) = grp.members.remove(&member_id) {
                    grp.step(now, "leave", &member_id, m.assignment.clone());
                    self.bump_group_epoch(g, "member_left");
                }
            }
            return;
        }
        let mut member_id = member_id;
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
                    member_id = format!("{}-{}", instance_id.clone().unwrap_or_default(), grp.next_member);
                    grp.next_member += 1;
                    grp.members.insert(member_id.clone(), m);
                    let id = grp.cfg.id.clone();
                    self.note(Notable::Text(format!("group {id}: static member rejoined as {member_id}, no rebalance")));
                }
                None => {
                    member_id = format!(
                        "{}-{}",
                        instance_id.clone().unwrap_or_else(|| format!("{}-consumer", grp.cfg.id)),
                        grp.next_member
                    );
                    grp.next_member += 1;
                    let order = grp.next_join_order;
                    grp.next_join_order += 1;
                    let mut m = GroupMember::new(consumer, instance_id, order, now);
                    m.joined = true;
                    grp.members.insert(member_id.clone(), m);
                    let cause = if self.groups[g as usize].members.len() == 1 {
                        "initial_join"
                    } else {
                        "member_joined"
                    };
                    self.groups[g as usize].step(now, "join", &member_id, Vec::new());
                    self.bump_group_epoch(g, cause);
                }
            }
        }
        let grp = &mut self.groups[g as usize];
        let Some(m) = grp.members.get_mut(&member_id) else {
            self.reply_848(b, consumer, member_id, -1, None, Some(GroupError::UnknownMemberId));
            return;
        };
        m.last_heartbeat = now;
        m.owned = owned.clone();
        // Revocations the member has acknowledged (no longer in what it owns).
        let acked: Vec<u32> = m.revoking.iter().copied().filter(|p| !owned.contains(p)).collect();
        if !acked.is_empty() {
            m.revoking.retain(|p| owned.contains(p));
            m.assignment.retain(|p| !acked.contains(p));
        }
        self.reconcile(g, &member_id);
        let grp = &self.groups[g as usize];
        let m = &grp.members[&member_id];
        let (epoch, assignment) = (m.member_epoch, m.assignment.iter().copied().filter(|p| !m.revoking.contains(p)).collect());
        self.reply_848(b, consumer, member_id, epoch, Some(assignment), None);
    }

    fn reply_848(&mut self, b: u32, consumer: u32, member_id: String, member_epoch: i32, assignment: Option<Vec<u32>>, error: Option<GroupError>) {
        let done = self.service(b, 20);
        self.send_at(
            done,
            Node::Broker(b),
            Node::Consumer(consumer),
            Msg::Consumer(ConsumerMsg::ConsumerHeartbeatDone {
                member_id,
                member_epoch,
                assignment,
                error,
            }),
        );
    }

    /// Membership changed: a new group epoch and a new target assignment.
    pub(crate) fn bump_group_epoch(&mut self, g: u32, cause: &'static str) {
        let now = self.now;
        self.groups[g as usize].generation += 1;
        let grp = &self.groups[g as usize];
        let strategy = if grp.cfg.assignor_name() == "range" {
            ServerStrategy::Range
        } else {
            ServerStrategy::Uniform
        };
        // Stickiness comes from the current target: the assignor sees it as owned.
        let empty = Vec::new();
        let generation = grp.generation - 1;
        let (topics, members) = self.assignor_input(
            g,
            grp.members
                .iter()
                .map(|(id, m)| (id, &m.instance_id, grp.target.get(id).unwrap_or(&empty).as_slice(), generation)),
        );
        let result = assignors::assign_server(strategy, &topics, &members).unwrap_or_default();
        let target = self.global_assignment(result);
        let grp = &mut self.groups[g as usize];
        grp.target = target.clone();
        grp.state = if grp.members.is_empty() {
            GroupState::Empty
        } else {
            GroupState::PreparingRebalance
        };
        let before: BTreeMap<String, Vec<u32>> = crate::sim::map_from(grp.members.iter().map(|(id, m)| (id.clone(), m.assignment.clone())));
        grp.history.push(Rebalance {
            group: grp.cfg.id.clone(),
            generation: grp.generation,
            cause,
            started_us: now,
            completed_us: None,
            moved_partitions: 0,
            revoked_partitions: 0,
            paused_partition_us: 0,
            before,
            after: target,
            steps: Vec::new(),
        });
        if grp.history.len() > 200 {
            grp.history.remove(0);
            grp.history_base += 1;
        }
        grp.step(now, "target", "coordinator", Vec::new());
        let id = grp.cfg.id.clone();
        let epoch = grp.generation;
        self.note(Notable::Text(format!("group {id}: group epoch {epoch}, new target assignment ({cause})")));
    }

    /// Moves one member toward its target: revoke first; grant a partition only
    /// when no other member still owns it (invariant 4).
    fn reconcile(&mut self, g: u32, member_id: &str) {
        let now = self.now;
        let grp = &mut self.groups[g as usize];
        let target = grp.target.get(member_id).cloned().unwrap_or_default();
        let owned_elsewhere: Vec<u32> = grp
            .members
            .iter()
            .filter(|(id, _)| id.as_str() != member_id)
            .flat_map(|(_, m)| m.assignment.iter().copied())
            .collect();
        let n = grp.current_rebalance();
        let m = grp.members.get_mut(member_id).expect("caller checked");
        let revoke: Vec<u32> = m
            .assignment
            .iter()
            .copied()
            .filter(|p| !target.contains(p) && !m.revoking.contains(p))
            .collect();
        let grant: Vec<u32> = target
            .iter()
            .copied()
            .filter(|p| !m.assignment.contains(p) && !owned_elsewhere.contains(p))
            .collect();
        if !revoke.is_empty() {
            m.revoking.extend(&revoke);
        }
        if !grant.is_empty() {
            m.assignment.extend(&grant);
            m.assignment.sort_small();
        }
        // KIP-848: the member epoch moves to the group epoch once nothing is left to
        // revoke; partitions still held by others arrive later (unreleased).
        if m.revoking.is_empty() {
            m.member_epoch = grp.generation;
        }
        if !revoke.is_empty() {
            grp.step(now, "revoke", member_id, revoke.clone());
            for &p in &revoke {
                if let Some(n) = n {
                    grp.paused_since.entry(p).or_insert((now, n));
                }
            }
            if let Some(r) = n.and_then(|n| grp.rebalance_mut(n)) {
                r.revoked_partitions += revoke.len() as u32;
            }
        }
        if !grant.is_empty() {
            grp.step(now, "assign", member_id, grant.clone());
            if let Some(r) = n.and_then(|n| grp.rebalance_mut(n)) {
                let moved = grant
                    .iter()
                    .filter(|p| r.before.iter().any(|(id, ps)| id != member_id && ps.contains(p)))
                    .count();
                r.moved_partitions += moved as u32;
            }
        }
        self.invariants.checks += 1;
        let all_done = grp
            .members
            .iter()
            .all(|(id, m)| m.member_epoch == grp.generation && grp.target.get(id).is_some_and(|t| *t == m.assignment));
        if all_done && grp.state == GroupState::PreparingRebalance {
            grp.state = GroupState::Stable;
            if let Some(r) = grp.history.last_mut() {
                r.completed_us = Some(now);
            }
        }
    }

    /// Coordinator clock for KIP-848 groups: session expiry.
    pub(crate) fn expire_848_members(&mut self, g: u32) {
        let now = self.now;
        let session = self.groups[g as usize].cfg.session_timeout_ms * MS;
        let expired: Vec<String> = self.groups[g as usize]
            .members
            .iter()
            .filter(|(_, m)| now.saturating_sub(m.last_heartbeat) > session)
            .map(|(id, _)| id.clone())
            .collect();
        for id in expired {
            if let Some(m) = self.groups[g as usize].members.remove(&id) {
                let grp = &mut self.groups[g as usize];
                grp.step(now, "leave", &id, m.assignment.clone());
                if let Some(n) = grp.current_rebalance() {
                    for &p in &m.assignment {
                        grp.paused_since.entry(p).or_insert((now, n + 1));
                    }
                }
                self.bump_group_epoch(g, "session_timeout");
            }
        }
    }

    // ---- member side -------------------------------------------------------

    pub(crate) fn send_consumer_heartbeat(&mut self, c: u32) {
        let con = &self.consumers[c as usize];
        if con.state != ConsumerState::Running {
            return;
        }
        let req = GroupRequest::ConsumerHeartbeat {
            member_id: con.member_id.clone(),
            member_epoch: if con.member_id.is_empty() { 0 } else { con.generation.max(0) },
            instance_id: con.instance_id.clone(),
            owned: con.assigned.clone(),
        };
        if con.coordinator.is_none() {
            return;
        }
        self.send_group_request(c, req);
    }

    /// A heartbeat answer: adopt the member id and epoch, revoke what is no longer
    /// ours (committing it first), start fetching what is new, and say so at once.
    pub(crate) fn on_consumer_heartbeat(&mut self, c: u32, member_id: String, member_epoch: i32, assignment: Option<Vec<u32>>, error: Option<GroupError>) {
        let now = self.now;
        if let Some(e) = error {
            self.count_group_error(e);
            let con = &mut self.consumers[c as usize];
            match e {
                GroupError::NotCoordinator => con.coordinator = None,
                _ => {
                    let all = con.assigned.clone();
                    con.forget_partitions(&all);
                    con.member_id.clear();
                    con.generation = 0;
                    con.phase = Phase::Unjoined;
                }
            }
            return;
        }
        let con = &mut self.consumers[c as usize];
        con.member_id = member_id;
        con.generation = member_epoch;
        con.phase = Phase::Stable;
        let Some(target) = assignment else { return };
        let revoked: Vec<u32> = con.assigned.iter().copied().filter(|p| !target.contains(p)).collect();
        let added: Vec<u32> = target.iter().copied().filter(|p| !con.assigned.contains(p)).collect();
        if revoked.is_empty() && added.is_empty() {
            return;
        }
        let _ = now;
        let waiting = !revoked.is_empty() && self.commit_before_revoke(c, &revoked);
        let con = &mut self.consumers[c as usize];
        if !waiting {
            con.forget_partitions(&revoked);
        }
        for p in added {
            con.adopt_partition(p);
        }
        self.request_offsets_for(c);
        // Tell the coordinator right away what we own now (KIP-848 members heartbeat
        // immediately after reconciling); with a commit pending, after it.
        if !waiting {
            self.send_consumer_heartbeat(c);
        }
    }
}

/// The coordinator only counts a KIP-848 member as owning what it has not yet given back.
pub fn heartbeat_interval(ms: u64) -> Micros {
    ms * MS
}
