//! The KRaft controller quorum: one active controller among `controllers`
//! nodes, elected when a majority can talk; broker heartbeats, session timeout
//! and fencing; AlterPartition; clean, unclean and preferred elections;
//! controlled shutdown; metadata served to brokers by long poll. Without a
//! majority nothing changes: metadata is frozen, as in Kafka.

use crate::engine::{ErrorCode, Msg, PartMeta, Simulation, Timer};
use crate::eventlog::{ElectionKind, Notable};
use crate::kafka::broker::BrokerMsg;
use crate::sim::{Micros, Node, MS};

/// `controller.quorum.election.timeout.ms`
const ELECTION_TIMEOUT: Micros = 1_000 * MS;
/// A parked metadata fetch is answered empty after this (long-poll timeout).
const METADATA_POLL: Micros = 500 * MS;
const TICK: Micros = 250 * MS;

#[derive(Debug, Clone)]
pub struct ControllerNode {
    pub alive: bool,
    pub incarnation: u32,
}

/// What the controller knows of a broker.
#[derive(Debug, Clone)]
pub struct BrokerRegistration {
    pub fenced: bool,
    pub incarnation: u32,
    pub last_heartbeat: Micros,
    /// Metadata offset the broker must reach before it is unfenced.
    pub catch_up_offset: u64,
    pub shutting_down: bool,
}

#[derive(Debug, Clone)]
pub struct Quorum {
    pub nodes: Vec<ControllerNode>,
    pub active: Option<u32>,
    pub epoch: u32,
    /// Metadata log offset: bumped by every committed change.
    pub offset: u64,
    pub election_at: Option<Micros>,
    pub brokers: Vec<BrokerRegistration>,
    /// Parked metadata fetches: (broker, offset, deadline).
    pub parked: Vec<(u32, u64, Micros)>,
    pub next_preferred_check: Micros,
    pub frozen_noted: bool,
}

impl Quorum {
    pub fn new(brokers: u32, controllers: u32) -> Quorum {
        Quorum {
            nodes: (0..controllers).map(|_| ControllerNode { alive: true, incarnation: 1 }).collect(),
            active: None,
            epoch: 0,
            offset: 0,
            election_at: None,
            brokers: (0..brokers)
                .map(|_| BrokerRegistration {
                    fenced: false,
                    incarnation: 1,
                    last_heartbeat: 0,
                    catch_up_offset: 0,
                    shutting_down: false,
                })
                .collect(),
            parked: Vec::new(),
            next_preferred_check: 0,
            frozen_noted: false,
        }
    }
}

#[derive(Debug, Clone)]
pub enum ControllerMsg {
    Heartbeat {
        broker: u32,
        incarnation: u32,
        meta_offset: u64,
    },
    MetadataFetch {
        broker: u32,
        incarnation: u32,
        offset: u64,
    },
    AlterPartition {
        broker: u32,
        pidx: u32,
        leader_epoch: i32,
        partition_epoch: i32,
        isr: Vec<u32>,
    },
    ControlledShutdown {
        broker: u32,
        incarnation: u32,
    },
}

impl Simulation {
    fn can_talk(&self, a: u32, b: u32) -> bool {
        let (na, nb) = (Node::Controller(a), Node::Controller(b));
        self.quorum.nodes[b as usize].alive && !self.net.is_cut(na, nb) && !self.net.is_cut(nb, na)
    }

    fn has_majority(&self, c: u32) -> bool {
        let n = self.quorum.nodes.len() as u32;
        let reach = (0..n).filter(|&j| j == c || self.can_talk(c, j)).count() as u32;
        self.quorum.nodes[c as usize].alive && reach > n / 2
    }

    /// Raft commit: one round trip among the controllers.
    fn commit_delay(&self) -> Micros {
        if self.quorum.nodes.len() > 1 {
            self.scenario.cluster.network_rtt_us
        } else {
            0
        }
    }

    pub(crate) fn controller_receive(&mut self, c: u32, msg: ControllerMsg) {
        if self.quorum.active != Some(c) {
            return; // NOT_CONTROLLER: the sender retries with the active one
        }
        match msg {
            ControllerMsg::Heartbeat {
                broker,
                incarnation,
                meta_offset,
            } => self.handle_heartbeat(broker, incarnation, meta_offset),
            ControllerMsg::MetadataFetch { broker, incarnation, offset } => {
                if self.quorum.brokers[broker as usize].incarnation != incarnation {
                    self.handle_heartbeat(broker, incarnation, offset);
                }
                if offset < self.quorum.offset {
                    self.answer_metadata(broker, offset);
                } else {
                    let deadline = self.now + METADATA_POLL;
                    self.quorum.parked.retain(|p| p.0 != broker);
                    self.quorum.parked.push((broker, offset, deadline));
                }
            }
            ControllerMsg::AlterPartition {
                broker,
                pidx,
                leader_epoch,
                partition_epoch,
                isr,
            } => {
                let result = self.alter_partition(broker, pidx, leader_epoch, partition_epoch, isr);
                let depart = self.now + self.commit_delay();
                self.send_at(
                    depart,
                    Node::Controller(c),
                    Node::Broker(broker),
                    Msg::Broker(BrokerMsg::AlterPartitionResponse { pidx, result }),
                );
                self.publish_metadata();
            }
            ControllerMsg::ControlledShutdown { broker, incarnation } => {
                if self.quorum.brokers[broker as usize].incarnation == incarnation {
                    self.controlled_shutdown(broker);
                    let depart = self.now + self.commit_delay();
                    self.send_at(
                        depart,
                        Node::Controller(c),
                        Node::Broker(broker),
                        Msg::Broker(BrokerMsg::ControlledShutdownResponse),
                    );
                }
            }
        }
    }

    pub(crate) fn controller_timer(&mut self, _c: u32, timer: Timer) {
        if timer == Timer::ControllerTick {
            self.controller_tick();
            self.timer(Node::Controller(0), TICK, Timer::ControllerTick);
        }
    }

    /// The quorum's clock: leadership health, elections, fencing, long-poll timeouts.
    fn controller_tick(&mut self) {
        let now = self.now;
        if let Some(a) = self.quorum.active {
            if !self.has_majority(a) {
                self.quorum.active = None;
                self.quorum.parked.clear();
                let jitter = self.rng.range(0, ELECTION_TIMEOUT);
                self.quorum.election_at = Some(now + ELECTION_TIMEOUT + jitter);
                self.note(Notable::ControllerLost { controller: a });
                self.refresh_availability();
            }
        }
        if self.quorum.active.is_none() {
            let at = *self.quorum.election_at.get_or_insert(now + ELECTION_TIMEOUT);
            if now >= at {
                let n = self.quorum.nodes.len() as u32;
                match (0..n).find(|&c| self.has_majority(c)) {
                    Some(c) => {
                        self.quorum.active = Some(c);
                        self.quorum.epoch += 1;
                        self.quorum.election_at = None;
                        self.quorum.frozen_noted = false;
                        // A new active controller gives every broker a fresh session.
                        for r in &mut self.quorum.brokers {
                            r.last_heartbeat = now;
                        }
                        let epoch = self.quorum.epoch;
                        self.note(Notable::ControllerElected { controller: c, epoch });
                    }
                    None => {
                        self.quorum.election_at = Some(now + ELECTION_TIMEOUT);
                        if !self.quorum.frozen_noted {
                            self.quorum.frozen_noted = true;
                            self.note(Notable::QuorumLost);
                        }
                    }
                }
            }
            return;
        }
        let session = self.scenario.cluster.broker_session_timeout_ms * MS;
        for b in 0..self.quorum.brokers.len() as u32 {
            let r = &self.quorum.brokers[b as usize];
            if !r.fenced && now.saturating_sub(r.last_heartbeat) > session {
                let silent_ms = now.saturating_sub(r.last_heartbeat) / MS;
                self.note(Notable::BrokerFenced { broker: b, silent_ms });
                self.fence_broker(b);
            }
        }
        let expired: Vec<(u32, u64)> = self.quorum.parked.iter().filter(|p| p.2 <= now).map(|p| (p.0, p.1)).collect();
        if !expired.is_empty() {
            self.quorum.parked.retain(|p| p.2 > now);
            for (b, offset) in expired {
                self.answer_metadata(b, offset);
            }
        }
        let c = &self.scenario.cluster;
        if c.auto_leader_rebalance_enable {
            let interval = c.leader_imbalance_check_interval_seconds * 1_000 * MS;
            if self.quorum.next_preferred_check == 0 {
                self.quorum.next_preferred_check = interval;
            }
            if now >= self.quorum.next_preferred_check {
                self.quorum.next_preferred_check = now + interval;
                self.elect_preferred_leaders();
            }
        }
        self.publish_metadata();
    }

    fn handle_heartbeat(&mut self, b: u32, incarnation: u32, meta_offset: u64) {
        let now = self.now;
        let offset = self.quorum.offset;
        let reg = &mut self.quorum.brokers[b as usize];
        if reg.incarnation != incarnation {
            // A restarted broker registers anew: its old process's leaderships are void.
            let was_fenced = reg.fenced;
            reg.incarnation = incarnation;
            reg.shutting_down = false;
            if !was_fenced {
                self.fence_broker(b);
            }
            let reg = &mut self.quorum.brokers[b as usize];
            reg.catch_up_offset = self.quorum.offset;
            reg.last_heartbeat = now;
            self.note(Notable::BrokerRegistered { broker: b });
            self.publish_metadata();
            return;
        }
        reg.last_heartbeat = now;
        if reg.fenced && !reg.shutting_down && meta_offset >= reg.catch_up_offset && offset > 0 {
            reg.fenced = false;
            self.note(Notable::BrokerUnfenced { broker: b });
            self.elect_offline_partitions();
            self.publish_metadata();
            self.refresh_availability();
        }
    }

    /// Fencing: out of every ISR where it is not the last member, leaderships moved.
    fn fence_broker(&mut self, b: u32) {
        self.quorum.brokers[b as usize].fenced = true;
        self.quorum.brokers[b as usize].catch_up_offset = self.quorum.offset + 1;
        for pidx in 0..self.partitions.len() as u32 {
            let ctrl = &self.partitions[pidx as usize].ctrl;
            if ctrl.leader == Some(b) {
                self.elect_leader(pidx, Some(b), ElectionKind::Clean);
            } else if ctrl.isr.contains(&b) && ctrl.isr.len() > 1 {
                let mut m = ctrl.clone();
                m.isr.retain(|&x| x != b);
                m.partition_epoch += 1;
                self.commit(pidx, m, ElectionKind::Clean);
            }
        }
        self.publish_metadata();
        self.refresh_availability();
    }

    fn eligible(&self, b: u32) -> bool {
        let r = &self.quorum.brokers[b as usize];
        !r.fenced && !r.shutting_down
    }

    /// Moves leadership away from `excluded` (or fills an empty leader): the first
    /// replica in assignment order that is in the ISR and eligible; otherwise unclean
    /// if enabled, otherwise offline with the last ISR member kept.
    fn elect_leader(&mut self, pidx: u32, excluded: Option<u32>, kind: ElectionKind) {
        let p = &self.partitions[pidx as usize];
        let mut m = p.ctrl.clone();
        let assignment: Vec<u32> = p.assignment().collect();
        let clean = assignment
            .iter()
            .copied()
            .find(|&r| Some(r) != excluded && m.isr.contains(&r) && self.eligible(r));
        if let Some(new) = clean {
            if let Some(x) = excluded {
                m.isr.retain(|&r| r != x);
            }
            m.leader = Some(new);
            m.leader_epoch += 1;
            m.partition_epoch += 1;
            self.commit(pidx, m, kind);
            return;
        }
        if self.unclean_enabled {
            if let Some(new) = assignment.iter().copied().find(|&r| Some(r) != excluded && self.eligible(r)) {
                m.leader = Some(new);
                m.isr = vec![new];
                m.leader_epoch += 1;
                m.partition_epoch += 1;
                self.counters.unclean_elections += 1;
                let p = &self.partitions[pidx as usize];
                let log_start = p.slot_of(new).map_or(0, |s| p.replicas[s].log.log_start);
                self.audit.mark_unclean(pidx, log_start);
                self.commit(pidx, m, ElectionKind::Unclean);
                return;
            }
        }
        if m.leader.is_some() {
            if let Some(x) = excluded {
                if m.isr.len() > 1 {
                    m.isr.retain(|&r| r != x);
                }
            }
            m.leader = None;
            m.leader_epoch += 1;
            m.partition_epoch += 1;
            self.commit(pidx, m, ElectionKind::Offline);
        }
    }

    pub(crate) fn elect_offline_partitions(&mut self) {
        if self.quorum.active.is_none() {
            return;
        }
        for pidx in 0..self.partitions.len() as u32 {
            if self.partitions[pidx as usize].ctrl.leader.is_none() {
                self.elect_leader(pidx, None, ElectionKind::Clean);
            }
        }
        self.publish_metadata();
        self.refresh_availability();
    }

    /// Every partition whose leader is not its preferred replica moves back,
    /// when the preferred replica is alive and in the ISR.
    pub(crate) fn elect_preferred_leaders(&mut self) {
        if self.quorum.active.is_none() {
            return;
        }
        for pidx in 0..self.partitions.len() as u32 {
            let p = &self.partitions[pidx as usize];
            let preferred = p.replicas[0].broker;
            if p.ctrl.leader != Some(preferred) && p.ctrl.leader.is_some() && p.ctrl.isr.contains(&preferred) && self.eligible(preferred) {
                let mut m = p.ctrl.clone();
                m.leader = Some(preferred);
                m.leader_epoch += 1;
                m.partition_epoch += 1;
                self.commit(pidx, m, ElectionKind::Preferred);
            }
        }
        self.publish_metadata();
        self.refresh_availability();
    }

    fn controlled_shutdown(&mut self, b: u32) {
        self.quorum.brokers[b as usize].shutting_down = true;
        self.quorum.brokers[b as usize].fenced = true;
        for pidx in 0..self.partitions.len() as u32 {
            let ctrl = &self.partitions[pidx as usize].ctrl;
            if ctrl.leader == Some(b) {
                self.elect_leader(pidx, Some(b), ElectionKind::ControlledShutdown);
            } else if ctrl.isr.contains(&b) && ctrl.isr.len() > 1 {
                let mut m = ctrl.clone();
                m.isr.retain(|&x| x != b);
                m.partition_epoch += 1;
                self.commit(pidx, m, ElectionKind::ControlledShutdown);
            }
        }
        self.publish_metadata();
        self.refresh_availability();
    }

    fn alter_partition(&mut self, broker: u32, pidx: u32, leader_epoch: i32, partition_epoch: i32, isr: Vec<u32>) -> Result<PartMeta, ErrorCode> {
        let p = &self.partitions[pidx as usize];
        let m = &p.ctrl;
        if m.leader != Some(broker) || m.leader_epoch != leader_epoch {
            return Err(ErrorCode::FencedLeaderEpoch);
        }
        if m.partition_epoch != partition_epoch {
            return Err(ErrorCode::InvalidUpdateVersion);
        }
        if !isr.contains(&broker) || isr.iter().any(|r| p.slot_of(*r).is_none()) {
            return Err(ErrorCode::InvalidUpdateVersion);
        }
        if isr.iter().any(|r| !m.isr.contains(r) && !self.eligible(*r)) {
            return Err(ErrorCode::IneligibleReplica);
        }
        let mut next = m.clone();
        next.isr = isr;
        next.partition_epoch += 1;
        self.commit(pidx, next.clone(), ElectionKind::Clean);
        Ok(next)
    }

    /// Commits a partition change to the metadata log and records what it means.
    fn commit(&mut self, pidx: u32, next: PartMeta, kind: ElectionKind) {
        let prev = self.partitions[pidx as usize].ctrl.clone();
        self.quorum.offset += 1;
        let offset = self.quorum.offset;
        let topic = self.topic_name(pidx).to_string();
        let partition = self.partitions[pidx as usize].index;
        if prev.leader != next.leader {
            self.counters.leader_elections += 1;
            self.note(Notable::LeaderChange {
                topic: topic.clone(),
                partition,
                from: prev.leader,
                to: next.leader,
                epoch: next.leader_epoch,
                kind,
            });
        }
        if prev.isr != next.isr {
            self.note(Notable::IsrChange {
                topic,
                partition,
                from: prev.isr.clone(),
                to: next.isr.clone(),
            });
        }
        self.invariants.on_controller_commit(self.now, pidx, &prev, &next);
        let p = &mut self.partitions[pidx as usize];
        p.ctrl = next.clone();
        p.ctrl_offset = offset;
        // Invariant 3 at a clean leader change: the new leader's log must hold every
        // acknowledged record that no rule allowed to be lost.
        if prev.leader != next.leader && kind != ElectionKind::Unclean {
            if let Some(slot) = next.leader.and_then(|l| p.slot_of(l)) {
                let missing = self.audit.unexplained_missing(pidx, &p.replicas[slot].log);
                if missing > 0 {
                    self.invariants.violation(
                        self.now,
                        "no_acked_write_lost",
                        format!(
                            "{topic_name}-{partition}: new leader {l:?} lacks {missing} acknowledged records",
                            topic_name = self.topics[p.topic as usize].name,
                            l = next.leader
                        ),
                    );
                }
            }
        }
    }

    /// Answers every parked metadata fetch that has something new.
    pub(crate) fn publish_metadata(&mut self) {
        let offset = self.quorum.offset;
        let ready: Vec<(u32, u64)> = self.quorum.parked.iter().filter(|p| p.1 < offset).map(|p| (p.0, p.1)).collect();
        if ready.is_empty() {
            return;
        }
        self.quorum.parked.retain(|p| p.1 >= offset);
        for (b, from) in ready {
            self.answer_metadata(b, from);
        }
    }

    fn answer_metadata(&mut self, b: u32, from: u64) {
        let Some(c) = self.quorum.active else { return };
        let changes: Vec<(u32, PartMeta)> = self
            .partitions
            .iter()
            .enumerate()
            .filter(|(_, p)| p.ctrl_offset > from)
            .map(|(i, p)| (i as u32, p.ctrl.clone()))
            .collect();
        let depart = self.now + self.commit_delay();
        let offset = self.quorum.offset;
        self.send_at(
            depart,
            Node::Controller(c),
            Node::Broker(b),
            Msg::Broker(BrokerMsg::MetadataUpdate { offset, changes }),
        );
    }

    pub(crate) fn kill_controller(&mut self, c: u32) {
        if let Some(n) = self.quorum.nodes.get_mut(c as usize) {
            n.alive = false;
            n.incarnation += 1;
        }
    }

    pub(crate) fn restart_controller(&mut self, c: u32) {
        if let Some(n) = self.quorum.nodes.get_mut(c as usize) {
            n.alive = true;
            n.incarnation += 1;
        }
    }
}
