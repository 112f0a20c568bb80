//! The group coordinator, classic protocol: it lives on the broker leading the
//! group's `__consumer_offsets` partition (Java `String.hashCode`, `Utils.abs`,
//! 50 partitions) and moves with that leadership. JoinGroup/SyncGroup with the
//! states Empty, PreparingRebalance, CompletingRebalance, Stable; generations;
//! the group leader; `group.initial.rebalance.delay.ms`; heartbeats and
//! `session.timeout.ms`; static membership (KIP-345); offset commits written
//! to `__consumer_offsets` with acks=all. Every rebalance is recorded with its
//! cause, steps and what stopped being consumed, for the timeline.

use crate::engine::{ErrorCode, Msg, Role, Simulation};
use crate::eventlog::Notable;
use crate::kafka::broker::BrokerMsg;
use crate::kafka::consumer::ConsumerMsg;
use crate::kafka::log::Batch;
use crate::scenario::GroupConfig;
use crate::sim::SortSmall;
use crate::sim::{Micros, Node, MS};
use serde::Serialize;
use std::collections::BTreeMap;

/// `offsets.topic.num.partitions`
pub const OFFSETS_PARTITIONS: u32 = 50;
pub const OFFSETS_TOPIC: &str = "__consumer_offsets";
/// Producer instance id used for offset-commit batches in `__consumer_offsets`.
pub const COMMIT_WRITER: u32 = u32::MAX;
/// Rebalances kept per group for the timeline.
const HISTORY: usize = 200;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum GroupState {
    Empty,
    PreparingRebalance,
    CompletingRebalance,
    Stable,
    Dead,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GroupError {
    NotCoordinator,
    UnknownMemberId,
    IllegalGeneration,
    RebalanceInProgress,
    FencedInstanceId,
    /// OffsetFetch with require_stable (every Java consumer since KIP-447) while
    /// a commit for the partition is still being written: retry shortly.
    UnstableOffsetCommit,
}

impl GroupError {
    pub fn name(self) -> &'static str {
        match self {
            GroupError::NotCoordinator => "NOT_COORDINATOR",
            GroupError::UnknownMemberId => "UNKNOWN_MEMBER_ID",
            GroupError::IllegalGeneration => "ILLEGAL_GENERATION",
            GroupError::RebalanceInProgress => "REBALANCE_IN_PROGRESS",
            GroupError::FencedInstanceId => "FENCED_INSTANCE_ID",
            GroupError::UnstableOffsetCommit => "UNSTABLE_OFFSET_COMMIT",
        }
    }
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

/// One step of a rebalance, for the sequence diagram.
#[derive(Debug, Clone, Serialize)]
pub struct RebalanceStep {
    pub at_us: Micros,
    /// join, join_complete, sync, assign, revoke, leave, heartbeat
    pub kind: &'static str,
    pub member: String,
    pub partitions: Vec<u32>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Rebalance {
    pub group: String,
    pub generation: i32,
    pub cause: &'static str,
    pub started_us: Micros,
    pub completed_us: Option<Micros>,
    pub moved_partitions: u32,
    pub revoked_partitions: u32,
    pub paused_partition_us: u64,
    /// member id -> partitions (global indices), before and after.
    pub before: BTreeMap<String, Vec<u32>>,
    pub after: BTreeMap<String, Vec<u32>>,
    pub steps: Vec<RebalanceStep>,
}

#[derive(Debug, Clone)]
pub struct Group {
    pub cfg: GroupConfig,
    pub offsets_pidx: u32,
    /// Subscribed topics (global indices), by name.
    pub topics: Vec<u32>,
    /// The broker hosting the group now (the offsets partition's leader that loaded it).
    pub host: Option<u32>,
    pub state: GroupState,
    pub generation: i32,
    pub leader: Option<String>,
    pub members: BTreeMap<String, GroupMember>,
    pub next_member: u64,
    pub next_join_order: u64,
    pub join_deadline: Micros,
    pub initial_delay_until: Micros,
    pub offsets: BTreeMap<u32, u64>,
    /// Where the group first started reading each partition (lag before any commit).
    pub start_offsets: BTreeMap<u32, u64>,
    pub history: Vec<Rebalance>,
    /// Rebalances dropped from the front of `history`.
    pub history_base: usize,
    /// Partition -> (paused since, rebalance number) until its new owner's first fetch.
    pub paused_since: BTreeMap<u32, (Micros, usize)>,
    /// Per partition, the end of what was ever delivered: below it is a redelivery.
    pub delivered_upto: BTreeMap<u32, u64>,
    pub consumed: u64,
    pub redelivered: u64,
    /// Partitions whose position was reset by auto.offset.reset since their last commit.
    pub reset_partitions: std::collections::BTreeSet<u32>,
    /// KIP-848: the target assignment for the current group epoch.
    pub target: BTreeMap<String, Vec<u32>>,
    /// Partition -> (commits accepted but not yet replicated, the latest one's
    /// deadline). An OffsetFetch for such a partition is answered UNSTABLE_OFFSET_COMMIT.
    pub pending_commits: BTreeMap<u32, (u32, Micros)>,
}

impl Group {
    pub fn new(cfg: GroupConfig, offsets_pidx: u32, topics: Vec<u32>) -> Group {
        Group {
            cfg,
            offsets_pidx,
            topics,
            host: None,
            state: GroupState::Empty,
            generation: 0,
            leader: None,
            members: BTreeMap::new(),
            next_member: 0,
            next_join_order: 0,
            join_deadline: 0,
            initial_delay_until: 0,
            offsets: BTreeMap::new(),
            start_offsets: BTreeMap::new(),
            history: Vec::new(),
            history_base: 0,
            paused_since: BTreeMap::new(),
            delivered_upto: BTreeMap::new(),
            consumed: 0,
            redelivered: 0,
            reset_partitions: Default::default(),
            target: BTreeMap::new(),
            pending_commits: BTreeMap::new(),
        }
    }

    /// The rebalance in progress (or the last one), by its absolute number.
    pub fn current_rebalance(&self) -> Option<usize> {
        (!self.history.is_empty()).then(|| self.history_base + self.history.len() - 1)
    }

    pub fn rebalance_mut(&mut self, n: usize) -> Option<&mut Rebalance> {
        n.checked_sub(self.history_base).and_then(|i| self.history.get_mut(i))
    }

    fn owner_map(&self) -> BTreeMap<String, Vec<u32>> {
        crate::sim::map_from(self.members.iter().map(|(id, m)| (id.clone(), m.assignment.clone())))
    }

    pub fn step(&mut self, at_us: Micros, kind: &'static str, member: &str, partitions: Vec<u32>) {
        let last = self.history.len().checked_sub(1);
        if let Some(r) = last.and_then(|i| self.history.get_mut(i)) {
            if r.steps.len() < 2_000 {
                r.steps.push(RebalanceStep {
                    at_us,
                    kind,
                    member: member.to_string(),
                    partitions,
                });
            }
        }
    }
}

/// Requests a consumer sends to a broker about its group.
#[derive(Debug, Clone)]
pub enum GroupRequest {
    FindCoordinator {
        req_id: u64,
    },
    Join {
        member_id: String,
        instance_id: Option<String>,
        owned: Vec<u32>,
    },
    Sync {
        member_id: String,
        generation: i32,
        assignments: Option<Vec<(String, Vec<u32>)>>,
    },
    Heartbeat {
        member_id: String,
        generation: i32,
    },
    Leave {
        member_id: String,
        reason: &'static str,
    },
    OffsetCommit {
        req_id: u64,
        member_id: String,
        generation: i32,
        offsets: Vec<(u32, u64)>,
    },
    OffsetFetch {
        req_id: u64,
        partitions: Vec<u32>,
    },
    /// KIP-848: member epoch 0 joins, -1 leaves, -2 leaves for a while (static).
    ConsumerHeartbeat {
        member_id: String,
        member_epoch: i32,
        instance_id: Option<String>,
        owned: Vec<u32>,
    },
}

/// What the leader needs to run the assignor.
#[derive(Debug, Clone)]
pub struct MemberInfo {
    pub member_id: String,
    pub instance_id: Option<String>,
    pub owned: Vec<u32>,
    pub generation: i32,
}

impl Simulation {
    /// Is `b` the group's coordinator now: leader (in its own view) of the offsets partition?
    fn is_coordinator(&self, b: u32, g: u32) -> bool {
        let p = &self.partitions[self.groups[g as usize].offsets_pidx as usize];
        p.slot_of(b).is_some_and(|s| p.replicas[s].role == Role::Leader)
    }

    fn reply(&mut self, b: u32, consumer: u32, msg: ConsumerMsg) {
        let done = self.service(b, 20);
        self.send_at(done, Node::Broker(b), Node::Consumer(consumer), Msg::Consumer(msg));
    }

    pub(crate) fn handle_group_request(&mut self, b: u32, consumer: u32, g: u32, req: GroupRequest) {
        if let GroupRequest::FindCoordinator { req_id } = req {
            let pidx = self.groups[g as usize].offsets_pidx;
            let broker = self.brokers[b as usize].image.get(pidx as usize).and_then(|x| x.0);
            self.reply(b, consumer, ConsumerMsg::Coordinator { req_id, broker });
            return;
        }
        if !self.is_coordinator(b, g) {
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
            self.reply(b, consumer, msg);
            return;
        }
        if self.groups[g as usize].host != Some(b) {
            self.load_group(g, b);
        }
        match req {
            GroupRequest::FindCoordinator { .. } => {}
            GroupRequest::Join { member_id, instance_id, owned } => self.handle_join(b, consumer, g, member_id, instance_id, owned),
            GroupRequest::Sync {
                member_id,
                generation,
                assignments,
            } => self.handle_sync(b, consumer, g, member_id, generation, assignments),
            GroupRequest::Heartbeat { member_id, generation } => {
                let now = self.now;
                let grp = &mut self.groups[g as usize];
                let error = match grp.members.get_mut(&member_id) {
                    None => Some(GroupError::UnknownMemberId),
                    Some(_) if generation != grp.generation => Some(GroupError::IllegalGeneration),
                    Some(m) => {
                        m.last_heartbeat = now;
                        (grp.state == GroupState::PreparingRebalance).then_some(GroupError::RebalanceInProgress)
                    }
                };
                self.reply(b, consumer, ConsumerMsg::HeartbeatDone { generation, error });
            }
            GroupRequest::Leave { member_id, reason } => {
                let grp = &mut self.groups[g as usize];
                if let Some(m) = grp.members.remove(&member_id) {
                    let now = self.now;
                    grp.step(now, "leave", &member_id, m.assignment.clone());
                    self.member_gone(g, &member_id, m, reason);
                }
            }
            GroupRequest::OffsetCommit {
                req_id,
                member_id,
                generation,
                offsets,
            } => self.handle_commit(b, consumer, g, req_id, member_id, generation, offsets),
            GroupRequest::ConsumerHeartbeat {
                member_id,
                member_epoch,
                instance_id,
                owned,
            } => self.handle_consumer_heartbeat(b, consumer, g, member_id, member_epoch, instance_id, owned),
            GroupRequest::OffsetFetch { req_id, partitions } => {
                let now = self.now;
                let grp = &self.groups[g as usize];
                let unstable = partitions
                    .iter()
                    .any(|p| grp.pending_commits.get(p).is_some_and(|&(n, until)| n > 0 && until > now));
                let offsets = if unstable {
                    Err(GroupError::UnstableOffsetCommit)
                } else {
                    Ok(partitions.iter().map(|p| (*p, grp.offsets.get(p).copied())).collect())
                };
                self.reply(b, consumer, ConsumerMsg::Offsets { req_id, offsets });
            }
        }
    }

    /// A new coordinator loads the group from `__consumer_offsets`: members and
    /// generation survive; a rebalance in flight starts over.
    fn load_group(&mut self, g: u32, b: u32) {
        let now = self.now;
        let grp = &mut self.groups[g as usize];
        let moved = grp.host.is_some();
        grp.host = Some(b);
        // Writes in flight on the old coordinator are its to finish or fail.
        grp.pending_commits.clear();
        for m in grp.members.values_mut() {
            m.last_heartbeat = now;
            m.sync_waiting = false;
        }
        if moved {
            let id = grp.cfg.id.clone();
            self.note(Notable::Text(format!("group {id}: coordinator moved to broker {b}")));
            let grp = &self.groups[g as usize];
            if matches!(grp.state, GroupState::PreparingRebalance | GroupState::CompletingRebalance) {
                self.groups[g as usize].state = GroupState::Stable;
                self.start_rebalance(g, "coordinator_moved");
            }
        }
    }

    fn handle_join(&mut self, b: u32, consumer: u32, g: u32, member_id: String, instance_id: Option<String>, owned: Vec<u32>) {
        let now = self.now;
        let grp = &mut self.groups[g as usize];
        // Static member coming back: same instance id, new member id, old assignment,
        // and no rebalance while the group is stable (KIP-345).
        if let Some(inst) = &instance_id {
            let old = grp
                .members
                .iter()
                .find(|(_, m)| m.instance_id.as_deref() == Some(inst))
                .map(|(id, _)| id.clone());
            if let Some(old_id) = old {
                if old_id != member_id && grp.state == GroupState::Stable {
                    let mut m = grp.members.remove(&old_id).expect("present");
                    let new_id = format!("{}-{}", inst, grp.next_member);
                    grp.next_member += 1;
                    m.consumer = consumer;
                    m.last_heartbeat = now;
                    m.owned = owned;
                    if grp.leader.as_deref() == Some(old_id.as_str()) {
                        grp.leader = Some(new_id.clone());
                    }
                    grp.members.insert(new_id.clone(), m);
                    let (generation, leader) = (grp.generation, grp.leader.clone().unwrap_or_default());
                    let id = grp.cfg.id.clone();
                    self.note(Notable::Text(format!("group {id}: static member {inst} rejoined as {new_id}, no rebalance")));
                    self.reply(
                        b,
                        consumer,
                        ConsumerMsg::Joined {
                            member_id: new_id,
                            generation,
                            leader,
                            members: None,
                        },
                    );
                    return;
                }
            }
        }
        let grp = &mut self.groups[g as usize];
        let member_id = if member_id.is_empty() || !grp.members.contains_key(&member_id) {
            let prefix = instance_id.clone().unwrap_or_else(|| format!("{}-consumer", grp.cfg.id));
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
        m.last_heartbeat = now;
        let state = grp.state;
        match state {
            GroupState::PreparingRebalance => {}
            GroupState::Empty | GroupState::Dead => self.start_rebalance(g, "initial_join"),
            GroupState::Stable | GroupState::CompletingRebalance => {
                // A known member rejoining a stable group is the follow-up round of the
                // previous change (cooperative revocation): it keeps that cause.
                let cause = if is_new {
                    "member_joined"
                } else {
                    self.groups[g as usize].history.last().map_or("member_joined", |r| r.cause)
                };
                self.start_rebalance(g, cause)
            }
        }
        let grp = &mut self.groups[g as usize];
        if let Some(m) = grp.members.get_mut(&member_id) {
            m.joined = true;
        }
        grp.step(now, "join", &member_id, owned);
        self.maybe_complete_join(g);
    }

    /// PreparingRebalance: every member must rejoin; eager members stop consuming now.
    pub(crate) fn start_rebalance(&mut self, g: u32, cause: &'static str) {
        let now = self.now;
        let grp = &mut self.groups[g as usize];
        if grp.state == GroupState::PreparingRebalance {
            return;
        }
        let was_empty = grp.members.values().all(|m| m.assignment.is_empty()) && matches!(grp.state, GroupState::Empty | GroupState::Dead);
        grp.state = GroupState::PreparingRebalance;
        grp.join_deadline = now + grp.cfg.max_poll_interval_ms * MS;
        if was_empty {
            grp.initial_delay_until = now + grp.cfg.group_initial_rebalance_delay_ms * MS;
        }
        for m in grp.members.values_mut() {
            m.joined = false;
            m.sync_waiting = false;
        }
        let before = grp.owner_map();
        let eager = !grp.cfg.cooperative();
        let revoked = if eager { before.values().map(|v| v.len() as u32).sum() } else { 0 };
        grp.history.push(Rebalance {
            group: grp.cfg.id.clone(),
            generation: grp.generation + 1,
            cause,
            started_us: now,
            completed_us: None,
            moved_partitions: 0,
            revoked_partitions: revoked,
            paused_partition_us: 0,
            before: before.clone(),
            after: BTreeMap::new(),
            steps: Vec::new(),
        });
        if grp.history.len() > HISTORY {
            grp.history.remove(0);
            grp.history_base += 1;
        }
        let n = grp.current_rebalance().unwrap_or(0);
        if eager {
            // Eager: the whole group stops; every owned partition waits for its next owner.
            for parts in before.values() {
                for &p in parts {
                    grp.paused_since.entry(p).or_insert((now, n));
                }
            }
        }
        let id = grp.cfg.id.clone();
        self.note(Notable::Text(format!("group {id}: rebalance started ({cause})")));
        let grp = &mut self.groups[g as usize];
        grp.step(now, "prepare", "coordinator", Vec::new());
    }

    /// Completes the join phase when every member rejoined (or the rebalance
    /// timeout passed, dropping the laggards) and the initial delay is over.
    pub(crate) fn maybe_complete_join(&mut self, g: u32) {
        let now = self.now;
        let grp = &mut self.groups[g as usize];
        if grp.state != GroupState::PreparingRebalance || now < grp.initial_delay_until {
            return;
        }
        let all = grp.members.values().all(|m| m.joined);
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
            if let Some(r) = grp.history.last_mut() {
                r.completed_us = Some(now);
            }
            return;
        }
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
                generation: generation - 1,
            })
            .collect();
        if let Some(r) = grp.history.last_mut() {
            r.generation = generation;
        }
        grp.step(now, "join_complete", &leader, Vec::new());
        let host = grp.host.unwrap_or(0);
        let replies: Vec<(u32, String)> = grp.members.iter().map(|(id, m)| (m.consumer, id.clone())).collect();
        for (consumer, id) in replies {
            let members = (id == leader).then(|| infos.clone());
            self.reply(
                host,
                consumer,
                ConsumerMsg::Joined {
                    member_id: id,
                    generation,
                    leader: leader.clone(),
                    members,
                },
            );
        }
    }

    fn handle_sync(&mut self, b: u32, consumer: u32, g: u32, member_id: String, generation: i32, assignments: Option<Vec<(String, Vec<u32>)>>) {
        let now = self.now;
        let grp = &mut self.groups[g as usize];
        let error = match grp.members.get(&member_id) {
            None => Some(GroupError::UnknownMemberId),
            Some(_) if generation != grp.generation => Some(GroupError::IllegalGeneration),
            Some(_) if grp.state == GroupState::PreparingRebalance => Some(GroupError::RebalanceInProgress),
            Some(_) => None,
        };
        if let Some(e) = error {
            self.reply(
                b,
                consumer,
                ConsumerMsg::Synced {
                    generation,
                    assignment: Err(e),
                },
            );
            return;
        }
        if grp.state == GroupState::Stable {
            let a = grp.members[&member_id].assignment.clone();
            self.reply(b, consumer, ConsumerMsg::Synced { generation, assignment: Ok(a) });
            return;
        }
        grp.members.get_mut(&member_id).expect("checked").sync_waiting = true;
        grp.step(now, "sync", &member_id, Vec::new());
        let is_leader = grp.leader.as_deref() == Some(member_id.as_str());
        let Some(assignments) = assignments.filter(|_| is_leader) else { return };
        // Invariant 4: nothing goes to a member while another member still owns it.
        let mut violation = None;
        for (to, parts) in &assignments {
            for p in parts {
                if let Some((other, _)) = grp.members.iter().find(|(id, m)| *id != to && m.owned.contains(p)) {
                    violation = Some(format!("group {}: partition {p} assigned to {to} while {other} still owns it", grp.cfg.id));
                }
            }
        }
        for (id, m) in grp.members.iter_mut() {
            m.assignment = assignments.iter().find(|(to, _)| to == id).map(|(_, p)| p.clone()).unwrap_or_default();
            m.assignment.sort_small();
        }
        grp.state = GroupState::Stable;
        let after = grp.owner_map();
        if let Some(r) = grp.history.last_mut() {
            let owner_before: BTreeMap<u32, &String> = crate::sim::map_from(r.before.iter().flat_map(|(id, ps)| ps.iter().map(move |p| (*p, id))));
            r.moved_partitions = after
                .iter()
                .flat_map(|(id, ps)| ps.iter().map(move |p| (*p, id)))
                .filter(|(p, id)| owner_before.get(p) != Some(id))
                .count() as u32;
            r.after = after.clone();
            r.completed_us = Some(now);
        }
        for (id, parts) in &after {
            grp.step(now, "assign", id, parts.clone());
        }
        let replies: Vec<(u32, Vec<u32>)> = grp
            .members
            .values()
            .filter(|m| m.sync_waiting)
            .map(|m| (m.consumer, m.assignment.clone()))
            .collect();
        for m in grp.members.values_mut() {
            m.sync_waiting = false;
        }
        let id = grp.cfg.id.clone();
        let gen = grp.generation;
        if let Some(v) = violation {
            self.invariants.violation(now, "no_double_assignment", v);
        }
        self.invariants.checks += 1;
        self.note(Notable::Text(format!("group {id}: generation {gen} stable, {} members", after.len())));
        for (consumer, a) in replies {
            self.reply(b, consumer, ConsumerMsg::Synced { generation, assignment: Ok(a) });
        }
    }

    /// A member left (LeaveGroup) or expired: the group rebalances, or empties.
    fn member_gone(&mut self, g: u32, member_id: &str, m: GroupMember, cause: &'static str) {
        let grp = &mut self.groups[g as usize];
        let id = grp.cfg.id.clone();
        self.note(Notable::Text(format!(
            "group {id}: member {member_id} removed ({cause}), it owned {} partitions",
            m.assignment.len()
        )));
        let grp = &mut self.groups[g as usize];
        if grp.members.is_empty() {
            grp.state = GroupState::Empty;
            grp.leader = None;
            return;
        }
        // The departed member's partitions stop now, whatever the protocol.
        let now = self.now;
        if grp.state != GroupState::PreparingRebalance {
            self.start_rebalance(g, cause);
        }
        let grp = &mut self.groups[g as usize];
        if let Some(n) = grp.current_rebalance() {
            for &p in &m.assignment {
                grp.paused_since.entry(p).or_insert((now, n));
            }
            if let Some(r) = grp.rebalance_mut(n) {
                r.before.entry(member_id.to_string()).or_insert(m.assignment.clone());
            }
        }
        self.maybe_complete_join(g);
    }

    /// The coordinator's clock: session expiry and join-phase timeouts. It only
    /// runs where a live, unpaused broker hosts the group.
    pub(crate) fn group_tick(&mut self) {
        let now = self.now;
        for g in 0..self.groups.len() as u32 {
            let Some(host) = self.groups[g as usize].host else { continue };
            if !self.broker_up(host) || self.brokers[host as usize].paused_until > now || !self.is_coordinator(host, g) {
                continue;
            }
            if self.groups[g as usize].cfg.protocol == crate::scenario::GroupProtocol::Consumer {
                self.expire_848_members(g);
                continue;
            }
            let session = self.groups[g as usize].cfg.session_timeout_ms * MS;
            let expired: Vec<String> = self.groups[g as usize]
                .members
                .iter()
                .filter(|(_, m)| now.saturating_sub(m.last_heartbeat) > session)
                .map(|(id, _)| id.clone())
                .collect();
            for id in expired {
                if let Some(m) = self.groups[g as usize].members.remove(&id) {
                    self.groups[g as usize].step(now, "leave", &id, m.assignment.clone());
                    self.member_gone(g, &id, m, "session_timeout");
                }
            }
            self.maybe_complete_join(g);
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn handle_commit(&mut self, b: u32, consumer: u32, g: u32, req_id: u64, member_id: String, generation: i32, offsets: Vec<(u32, u64)>) {
        let grp = &self.groups[g as usize];
        let classic = grp.cfg.protocol == crate::scenario::GroupProtocol::Classic;
        // KIP-848: validated here, when the request is taken: only partitions the
        // member owns now. What is accepted is written in order, so a later leave
        // or a new owner's commit comes after it in __consumer_offsets.
        let offsets: Vec<(u32, u64)> = match grp.members.get(&member_id) {
            Some(m) if !classic => offsets.into_iter().filter(|(p, _)| m.assignment.contains(p)).collect(),
            _ => offsets,
        };
        let error = match grp.members.get(&member_id) {
            None => Some(GroupError::UnknownMemberId),
            // KIP-848 members commit with their member epoch, which may trail the group epoch.
            Some(_) if classic && generation != grp.generation => Some(GroupError::IllegalGeneration),
            Some(_) if classic && grp.state == GroupState::CompletingRebalance => Some(GroupError::RebalanceInProgress),
            Some(_) => None,
        };
        if let Some(e) = error {
            self.reply(b, consumer, ConsumerMsg::CommitDone { req_id, error: Some(e) });
            return;
        }
        // The commit is a write to __consumer_offsets with acks=all.
        let pidx = grp.offsets_pidx;
        let batch = Batch {
            base_offset: 0,
            records: offsets.len().max(1) as u32,
            bytes: 60 * offsets.len().max(1) as u32,
            epoch: 0,
            producer: COMMIT_WRITER,
            audit_seq: 0,
            idem: None,
            created_us: self.now,
            created_end_us: self.now,
        };
        match self.append_commit(b, pidx, batch) {
            Ok(end) => {
                let until = self.now + self.scenario.cluster.replica_lag_time_max_ms * MS;
                let pending = &mut self.groups[g as usize].pending_commits;
                for &(p, _) in &offsets {
                    let e = pending.entry(p).or_insert((0, 0));
                    *e = (e.0 + 1, until);
                }
                self.wait_for_commit(b, consumer, g, req_id, pidx, end, offsets)
            }
            Err(_) => self.reply(
                b,
                consumer,
                ConsumerMsg::CommitDone {
                    req_id,
                    error: Some(GroupError::NotCoordinator),
                },
            ),
        }
    }

    /// Applies a commit once it is replicated (invariant 5: offsets never go back).
    pub(crate) fn apply_commit(&mut self, g: u32, offsets: &[(u32, u64)]) {
        let now = self.now;
        for &(p, o) in offsets {
            let grp = &mut self.groups[g as usize];
            let old = grp.offsets.insert(p, o);
            let was_reset = grp.reset_partitions.remove(&p);
            self.invariants.checks += 1;
            if let Some(old) = old.filter(|&old| o < old && !was_reset) {
                let id = grp.cfg.id.clone();
                self.invariants.violation(
                    now,
                    "committed_offsets_monotonic",
                    format!("group {id} partition {p}: committed offset went back {old} -> {o}"),
                );
            }
        }
    }

    /// What an assignor needs: the group's topics with their partition counts, and
    /// one `Member` per (id, instance id, owned partitions, generation).
    pub(crate) fn assignor_input<'a>(
        &self,
        g: u32,
        members: impl Iterator<Item = (&'a String, &'a Option<String>, &'a [u32], i32)>,
    ) -> (BTreeMap<String, u32>, Vec<crate::assignors::Member>) {
        let grp = &self.groups[g as usize];
        let topics: BTreeMap<String, u32> = crate::sim::map_from(
            grp.topics
                .iter()
                .map(|&t| (self.topics[t as usize].name.clone(), self.topics[t as usize].partitions)),
        );
        let names: Vec<String> = topics.keys().cloned().collect();
        let members = members
            .map(|(id, instance, owned_parts, generation)| {
                let mut owned: BTreeMap<String, Vec<u32>> = BTreeMap::new();
                for &p in owned_parts {
                    let part = &self.partitions[p as usize];
                    owned.entry(self.topics[part.topic as usize].name.clone()).or_default().push(part.index);
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
        (topics, members)
    }

    /// An assignor's answer (topic name -> partition numbers) in global partition indices, ascending.
    pub(crate) fn global_assignment(&self, a: crate::assignors::Assignment) -> BTreeMap<String, Vec<u32>> {
        crate::sim::map_from(a.into_iter().map(|(member, by_topic)| {
            let mut parts: Vec<u32> = by_topic
                .into_iter()
                .flat_map(|(t, ps)| {
                    let first = self.topics.iter().find(|x| x.name == t).map_or(0, |x| x.first);
                    ps.into_iter().map(move |p| first + p)
                })
                .collect();
            parts.sort_small();
            (member, parts)
        }))
    }

    pub(crate) fn group_broker_msg(group: u32, req: GroupRequest) -> Msg {
        Msg::Broker(BrokerMsg::Group { group, req })
    }

    pub(crate) fn count_group_error(&mut self, e: GroupError) {
        *self.counters.errors.entry(e.name()).or_default() += 1;
    }
}

/// For `ErrorCode` users that need to know a commit failed on the broker side.
pub fn commit_error(_e: ErrorCode) -> GroupError {
    GroupError::NotCoordinator
}
