//! The KRaft controller quorum: one active controller among `controllers`
//! nodes, elected when a majority can talk; broker heartbeats, session timeout
//! and fencing; AlterPartition; clean, unclean and preferred elections;
//! controlled shutdown; metadata served to brokers by long poll. Without a
//! majority nothing changes: metadata is frozen, as in Kafka.

use crate::kafka::notable::{ElectionKind, Notable};
use crate::kafka::obs::Obs;
use crate::kafka::protocol::{BrokerMsg, ControllerMsg, Msg, Timer};
use crate::kafka::types::{Cluster, ErrorCode, PartMeta};
use crate::kafka::Ctx;
use crate::sim::{Micros, Network, Node, MS};
use std::rc::Rc;

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
    pub cluster: Rc<Cluster>,
    pub nodes: Vec<ControllerNode>,
    pub active: Option<u32>,
    pub epoch: u32,
    /// Metadata log offset: bumped by every committed change.
    pub offset: u64,
    pub election_at: Option<Micros>,
    pub brokers: Vec<BrokerRegistration>,
    /// The committed state of every partition, and the metadata offset of its last change.
    pub meta: Vec<PartMeta>,
    pub meta_offset: Vec<u64>,
    /// `unclean.leader.election.enable`, as set now.
    pub unclean_enabled: bool,
    /// Parked metadata fetches: (broker, offset, deadline).
    pub parked: Vec<(u32, u64, Micros)>,
    pub next_preferred_check: Micros,
    pub frozen_noted: bool,
}

impl Quorum {
    /// The cluster at time 0: controller c0 active, every broker registered and
    /// unfenced, leaders on the preferred replicas, as after a clean start.
    pub fn new(cluster: Rc<Cluster>) -> Quorum {
        let c = &cluster.config;
        let meta: Vec<PartMeta> = cluster
            .partitions
            .iter()
            .map(|p| PartMeta {
                leader: p.assignment.first().copied(),
                leader_epoch: 0,
                isr: p.assignment.clone(),
                partition_epoch: 0,
            })
            .collect();
        Quorum {
            nodes: (0..c.controllers).map(|_| ControllerNode { alive: true, incarnation: 1 }).collect(),
            active: Some(0),
            epoch: 1,
            offset: 1,
            election_at: None,
            brokers: (0..c.brokers)
                .map(|_| BrokerRegistration {
                    fenced: false,
                    incarnation: 1,
                    last_heartbeat: 0,
                    catch_up_offset: 0,
                    shutting_down: false,
                })
                .collect(),
            meta_offset: vec![1; meta.len()],
            meta,
            unclean_enabled: c.unclean_leader_election_enable,
            parked: Vec::new(),
            next_preferred_check: 0,
            frozen_noted: false,
            cluster,
        }
    }

    fn can_talk(&self, net: &Network, a: u32, b: u32) -> bool {
        let (na, nb) = (Node::Controller(a), Node::Controller(b));
        self.nodes[b as usize].alive && !net.is_cut(na, nb) && !net.is_cut(nb, na)
    }

    fn has_majority(&self, net: &Network, c: u32) -> bool {
        let n = self.nodes.len() as u32;
        let reach = (0..n).filter(|&j| j == c || self.can_talk(net, c, j)).count() as u32;
        self.nodes[c as usize].alive && reach > n / 2
    }

    /// Raft commit: one round trip among the controllers.
    fn commit_delay(&self) -> Micros {
        if self.nodes.len() > 1 {
            self.cluster.config.network_rtt_us
        } else {
            0
        }
    }

    /// Is the broker fenced in the controller's view?
    pub fn fenced(&self, b: u32) -> bool {
        self.brokers[b as usize].fenced
    }

    pub fn on_message(&mut self, ctx: &mut Ctx, c: u32, msg: ControllerMsg) {
        if self.active != Some(c) {
            return; // NOT_CONTROLLER: the sender retries with the active one
        }
        match msg {
            ControllerMsg::Heartbeat {
                broker,
                incarnation,
                meta_offset,
            } => self.handle_heartbeat(ctx, broker, incarnation, meta_offset),
            ControllerMsg::MetadataFetch { broker, incarnation, offset } => {
                if self.brokers[broker as usize].incarnation != incarnation {
                    self.handle_heartbeat(ctx, broker, incarnation, offset);
                }
                if offset < self.offset {
                    self.answer_metadata(ctx, broker, offset);
                } else {
                    let deadline = ctx.now + METADATA_POLL;
                    self.parked.retain(|p| p.0 != broker);
                    self.parked.push((broker, offset, deadline));
                }
            }
            ControllerMsg::AlterPartition {
                broker,
                pidx,
                leader_epoch,
                partition_epoch,
                isr,
            } => {
                let result = self.alter_partition(ctx, broker, pidx, leader_epoch, partition_epoch, isr);
                let depart = ctx.now + self.commit_delay();
                ctx.send_as(
                    Node::Controller(c),
                    depart,
                    Node::Broker(broker),
                    Msg::Broker(BrokerMsg::AlterPartitionResponse {
                        pidx,
                        result: Box::new(result),
                    }),
                );
                self.publish_metadata(ctx);
            }
            ControllerMsg::ControlledShutdown { broker, incarnation } => {
                if self.brokers[broker as usize].incarnation == incarnation {
                    self.controlled_shutdown(ctx, broker);
                    let depart = ctx.now + self.commit_delay();
                    ctx.send_as(
                        Node::Controller(c),
                        depart,
                        Node::Broker(broker),
                        Msg::Broker(BrokerMsg::ControlledShutdownResponse),
                    );
                }
            }
        }
    }

    pub fn on_timer(&mut self, ctx: &mut Ctx, net: &Network, timer: Timer) {
        if timer == Timer::ControllerTick {
            self.tick(ctx, net);
            ctx.timer(TICK, Timer::ControllerTick);
        }
    }

    /// The quorum's clock: leadership health, elections, fencing, long-poll timeouts.
    fn tick(&mut self, ctx: &mut Ctx, net: &Network) {
        let now = ctx.now;
        if let Some(a) = self.active {
            if !self.has_majority(net, a) {
                self.active = None;
                self.parked.clear();
                let jitter = ctx.rng.range(0, ELECTION_TIMEOUT);
                self.election_at = Some(now + ELECTION_TIMEOUT + jitter);
                ctx.observe(Obs::note(Notable::ControllerLost { controller: a }));
                ctx.observe(Obs::AvailabilityChanged);
            }
        }
        if self.active.is_none() {
            let at = *self.election_at.get_or_insert(now + ELECTION_TIMEOUT);
            if now >= at {
                let n = self.nodes.len() as u32;
                match (0..n).find(|&c| self.has_majority(net, c)) {
                    Some(c) => {
                        self.active = Some(c);
                        self.epoch += 1;
                        self.election_at = None;
                        self.frozen_noted = false;
                        // A new active controller gives every broker a fresh session.
                        for r in &mut self.brokers {
                            r.last_heartbeat = now;
                        }
                        ctx.observe(Obs::note(Notable::ControllerElected {
                            controller: c,
                            epoch: self.epoch,
                        }));
                    }
                    None => {
                        self.election_at = Some(now + ELECTION_TIMEOUT);
                        if !self.frozen_noted {
                            self.frozen_noted = true;
                            ctx.observe(Obs::note(Notable::QuorumLost));
                        }
                    }
                }
            }
            return;
        }
        let session = self.cluster.config.broker_session_timeout_ms * MS;
        for b in 0..self.brokers.len() as u32 {
            let r = &self.brokers[b as usize];
            if !r.fenced && now.saturating_sub(r.last_heartbeat) > session {
                let silent_ms = now.saturating_sub(r.last_heartbeat) / MS;
                ctx.observe(Obs::note(Notable::BrokerFenced { broker: b, silent_ms }));
                self.fence_broker(ctx, b);
            }
        }
        let expired: Vec<(u32, u64)> = self.parked.iter().filter(|p| p.2 <= now).map(|p| (p.0, p.1)).collect();
        if !expired.is_empty() {
            self.parked.retain(|p| p.2 > now);
            for (b, offset) in expired {
                self.answer_metadata(ctx, b, offset);
            }
        }
        let c = &self.cluster.config;
        if c.auto_leader_rebalance_enable {
            let interval = c.leader_imbalance_check_interval_seconds * 1_000 * MS;
            if self.next_preferred_check == 0 {
                self.next_preferred_check = interval;
            }
            if now >= self.next_preferred_check {
                self.next_preferred_check = now + interval;
                self.elect_preferred_leaders(ctx);
            }
        }
        self.publish_metadata(ctx);
    }

    fn handle_heartbeat(&mut self, ctx: &mut Ctx, b: u32, incarnation: u32, meta_offset: u64) {
        let now = ctx.now;
        let offset = self.offset;
        let reg = &mut self.brokers[b as usize];
        if reg.incarnation != incarnation {
            // A restarted broker registers anew: its old process's leaderships are void.
            let was_fenced = reg.fenced;
            reg.incarnation = incarnation;
            reg.shutting_down = false;
            if !was_fenced {
                self.fence_broker(ctx, b);
            }
            let reg = &mut self.brokers[b as usize];
            reg.catch_up_offset = self.offset;
            reg.last_heartbeat = now;
            ctx.observe(Obs::note(Notable::BrokerRegistered { broker: b }));
            self.publish_metadata(ctx);
            return;
        }
        reg.last_heartbeat = now;
        if reg.fenced && !reg.shutting_down && meta_offset >= reg.catch_up_offset && offset > 0 {
            reg.fenced = false;
            ctx.observe(Obs::note(Notable::BrokerUnfenced { broker: b }));
            self.elect_offline_partitions(ctx);
            self.publish_metadata(ctx);
            ctx.observe(Obs::AvailabilityChanged);
        }
    }

    /// Fencing (session timeout) and controlled shutdown: the broker leaves every ISR
    /// where it is not the last member, and its leaderships move.
    fn remove_broker(&mut self, ctx: &mut Ctx, b: u32, kind: ElectionKind) {
        for pidx in 0..self.meta.len() as u32 {
            let m = &self.meta[pidx as usize];
            if m.leader == Some(b) {
                self.elect_leader(ctx, pidx, Some(b), kind);
            } else if m.isr.contains(&b) && m.isr.len() > 1 {
                let mut m = m.clone();
                m.isr.retain(|&x| x != b);
                m.partition_epoch += 1;
                self.commit(ctx, pidx, m, kind);
            }
        }
        self.publish_metadata(ctx);
        ctx.observe(Obs::AvailabilityChanged);
    }

    fn fence_broker(&mut self, ctx: &mut Ctx, b: u32) {
        self.brokers[b as usize].fenced = true;
        self.brokers[b as usize].catch_up_offset = self.offset + 1;
        self.remove_broker(ctx, b, ElectionKind::Clean);
    }

    fn controlled_shutdown(&mut self, ctx: &mut Ctx, b: u32) {
        self.brokers[b as usize].shutting_down = true;
        self.brokers[b as usize].fenced = true;
        self.remove_broker(ctx, b, ElectionKind::ControlledShutdown);
    }

    fn eligible(&self, b: u32) -> bool {
        let r = &self.brokers[b as usize];
        !r.fenced && !r.shutting_down
    }

    /// Moves leadership away from `excluded` (or fills an empty leader): the first
    /// replica in assignment order that is in the ISR and eligible; otherwise unclean
    /// if enabled, otherwise offline with the last ISR member kept.
    fn elect_leader(&mut self, ctx: &mut Ctx, pidx: u32, excluded: Option<u32>, kind: ElectionKind) {
        let mut m = self.meta[pidx as usize].clone();
        let cluster = self.cluster.clone();
        let assignment = &cluster.part(pidx).assignment;
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
            self.commit(ctx, pidx, m, kind);
            return;
        }
        if self.unclean_enabled {
            if let Some(new) = assignment.iter().copied().find(|&r| Some(r) != excluded && self.eligible(r)) {
                m.leader = Some(new);
                m.isr = vec![new];
                m.leader_epoch += 1;
                m.partition_epoch += 1;
                ctx.observe(Obs::UncleanElection { pidx, leader: new });
                self.commit(ctx, pidx, m, ElectionKind::Unclean);
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
            self.commit(ctx, pidx, m, ElectionKind::Offline);
        }
    }

    pub fn elect_offline_partitions(&mut self, ctx: &mut Ctx) {
        if self.active.is_none() {
            return;
        }
        for pidx in 0..self.meta.len() as u32 {
            if self.meta[pidx as usize].leader.is_none() {
                self.elect_leader(ctx, pidx, None, ElectionKind::Clean);
            }
        }
        self.publish_metadata(ctx);
        ctx.observe(Obs::AvailabilityChanged);
    }

    /// Every partition whose leader is not its preferred replica moves back,
    /// when the preferred replica is alive and in the ISR.
    pub fn elect_preferred_leaders(&mut self, ctx: &mut Ctx) {
        if self.active.is_none() {
            return;
        }
        for pidx in 0..self.meta.len() as u32 {
            let preferred = self.cluster.part(pidx).assignment[0];
            let m = &self.meta[pidx as usize];
            if m.leader != Some(preferred) && m.leader.is_some() && m.isr.contains(&preferred) && self.eligible(preferred) {
                let mut m = m.clone();
                m.leader = Some(preferred);
                m.leader_epoch += 1;
                m.partition_epoch += 1;
                self.commit(ctx, pidx, m, ElectionKind::Preferred);
            }
        }
        self.publish_metadata(ctx);
        ctx.observe(Obs::AvailabilityChanged);
    }

    fn alter_partition(
        &mut self,
        ctx: &mut Ctx,
        broker: u32,
        pidx: u32,
        leader_epoch: i32,
        partition_epoch: i32,
        isr: Vec<u32>,
    ) -> Result<PartMeta, ErrorCode> {
        let m = &self.meta[pidx as usize];
        let part = self.cluster.part(pidx);
        if m.leader != Some(broker) || m.leader_epoch != leader_epoch {
            return Err(ErrorCode::FencedLeaderEpoch);
        }
        if m.partition_epoch != partition_epoch {
            return Err(ErrorCode::InvalidUpdateVersion);
        }
        if !isr.contains(&broker) || isr.iter().any(|r| part.slot_of(*r).is_none()) {
            return Err(ErrorCode::InvalidUpdateVersion);
        }
        if isr.iter().any(|r| !m.isr.contains(r) && !self.eligible(*r)) {
            return Err(ErrorCode::IneligibleReplica);
        }
        let mut next = m.clone();
        next.isr = isr;
        next.partition_epoch += 1;
        self.commit(ctx, pidx, next.clone(), ElectionKind::Clean);
        Ok(next)
    }

    /// Commits a partition change to the metadata log and reports what it means.
    fn commit(&mut self, ctx: &mut Ctx, pidx: u32, next: PartMeta, kind: ElectionKind) {
        let prev = self.meta[pidx as usize].clone();
        self.offset += 1;
        let topic = self.cluster.topic_name(pidx).to_string();
        let partition = self.cluster.part(pidx).index;
        if prev.leader != next.leader {
            ctx.observe(Obs::note(Notable::LeaderChange {
                topic: topic.clone(),
                partition,
                from: prev.leader,
                to: next.leader,
                epoch: next.leader_epoch,
                kind,
            }));
        }
        if prev.isr != next.isr {
            ctx.observe(Obs::note(Notable::IsrChange {
                topic,
                partition,
                from: prev.isr.clone(),
                to: next.isr.clone(),
            }));
        }
        self.meta[pidx as usize] = next.clone();
        self.meta_offset[pidx as usize] = self.offset;
        ctx.observe(Obs::PartitionChange {
            pidx,
            prev: Box::new(prev),
            next: Box::new(next),
            kind,
        });
    }

    /// Answers every parked metadata fetch that has something new.
    fn publish_metadata(&mut self, ctx: &mut Ctx) {
        let offset = self.offset;
        let ready: Vec<(u32, u64)> = self.parked.iter().filter(|p| p.1 < offset).map(|p| (p.0, p.1)).collect();
        if ready.is_empty() {
            return;
        }
        self.parked.retain(|p| p.1 >= offset);
        for (b, from) in ready {
            self.answer_metadata(ctx, b, from);
        }
    }

    fn answer_metadata(&mut self, ctx: &mut Ctx, b: u32, from: u64) {
        let Some(c) = self.active else { return };
        let changes: Vec<(u32, PartMeta)> = self
            .meta
            .iter()
            .enumerate()
            .filter(|(i, _)| self.meta_offset[*i] > from)
            .map(|(i, m)| (i as u32, m.clone()))
            .collect();
        let depart = ctx.now + self.commit_delay();
        let offset = self.offset;
        ctx.send_as(
            Node::Controller(c),
            depart,
            Node::Broker(b),
            Msg::Broker(BrokerMsg::MetadataUpdate { offset, changes }),
        );
    }

    pub fn kill(&mut self, c: u32) {
        if let Some(n) = self.nodes.get_mut(c as usize) {
            n.alive = false;
            n.incarnation += 1;
        }
    }

    pub fn restart(&mut self, c: u32) {
        if let Some(n) = self.nodes.get_mut(c as usize) {
            n.alive = true;
            n.incarnation += 1;
        }
    }
}
