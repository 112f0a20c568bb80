//! The active controller (the quorum's leader): what it decides about brokers
//! and partitions. Every decision is a record appended to the metadata log;
//! brokers learn it, and requests are answered, only once it is committed.
//! A controller that is not active answers brokers NOT_CONTROLLER with the
//! leader it knows.

use super::change::{self, Chosen, Election, Request};
use super::{Controller, Role, FETCH_MAX_WAIT};
use crate::kafka::metadata::{BrokerRegistration, MetaRecord};
use crate::kafka::notable::{ElectionKind, Notable};
use crate::kafka::obs::Obs;
use crate::kafka::protocol::{BrokerMsg, Msg};
use crate::kafka::types::{ErrorCode, PartMeta};
use crate::kafka::Ctx;
use crate::sim::{Node, MS};

impl Controller {
    /// Brokers' requests reach only the active controller.
    fn not_controller(&self, ctx: &mut Ctx, broker: u32) -> bool {
        if self.role == Role::Leader {
            return false;
        }
        ctx.send(Node::Broker(broker), Msg::Broker(BrokerMsg::NotController { leader: self.known_leader() }));
        true
    }

    /// Appends a record in the current epoch, with what to report once committed.
    fn write(&mut self, record: MetaRecord, report: Vec<Obs>) -> u64 {
        self.log.append(self.epoch, record, report)
    }

    fn write_broker(&mut self, broker: u32, reg: BrokerRegistration, report: Vec<Obs>) {
        self.write(MetaRecord::Broker { broker, reg }, report);
    }

    fn reg(&self, b: u32) -> BrokerRegistration {
        self.log.working.brokers[b as usize]
    }

    /// `clean_shutdown_of`: the process before this one, if it stopped cleanly
    /// (Kafka's previousBrokerEpoch, read from the clean-shutdown file).
    pub(super) fn on_heartbeat(&mut self, ctx: &mut Ctx, b: u32, incarnation: u32, clean_shutdown_of: Option<u32>, meta_offset: u64) {
        if self.not_controller(ctx, b) {
            return;
        }
        self.leader.heartbeats[b as usize] = ctx.now;
        let reg = self.reg(b);
        if reg.incarnation != incarnation {
            // A restarted broker registers anew: its old process's leaderships are void.
            if !reg.fenced {
                self.fence_broker(ctx, b);
            }
            // Clean only if the previous process said so and it is the one registered
            // (Kafka's ClusterControlManager.registerBroker).
            if clean_shutdown_of != Some(reg.incarnation) {
                self.remove_after_unclean_shutdown(ctx, b);
            }
            let catch_up_offset = self.log.end() + 1;
            let reg = BrokerRegistration {
                fenced: true,
                incarnation,
                catch_up_offset,
                shutting_down: false,
            };
            self.write_broker(b, reg, vec![Obs::note(Notable::BrokerRegistered { broker: b })]);
            return;
        }
        if reg.fenced && !reg.shutting_down && meta_offset >= reg.catch_up_offset {
            let reg = BrokerRegistration { fenced: false, ..reg };
            self.write_broker(b, reg, vec![Obs::note(Notable::BrokerUnfenced { broker: b }), Obs::AvailabilityChanged]);
            self.elect_offline_partitions(ctx);
        }
    }

    pub(super) fn on_metadata_fetch(&mut self, ctx: &mut Ctx, b: u32, incarnation: u32, clean_shutdown_of: Option<u32>, offset: u64) {
        if self.not_controller(ctx, b) {
            return;
        }
        if self.reg(b).incarnation != incarnation {
            self.on_heartbeat(ctx, b, incarnation, clean_shutdown_of, offset);
        }
        self.leader.parked_brokers.retain(|p| p.0 != b);
        if offset < self.log.hw && self.can_serve(b) {
            self.answer_metadata(ctx, b, offset);
        } else {
            self.leader.parked_brokers.push((b, offset, ctx.now + FETCH_MAX_WAIT));
        }
    }

    /// Metadata goes out once it says what the broker must know: a new leader's
    /// own first record is committed (before, its high watermark may trail what
    /// others saw), and a broker registering anew sees its registration (and the
    /// fencing of its previous process) before anything else.
    fn can_serve(&self, b: u32) -> bool {
        let reg = self.reg(b);
        self.log.hw >= self.leader.epoch_start && (!reg.fenced || self.log.hw >= reg.catch_up_offset)
    }

    /// What changed in committed metadata after `from`.
    fn answer_metadata(&mut self, ctx: &mut Ctx, b: u32, from: u64) {
        let image = &self.log.committed;
        let changes: Vec<(u32, PartMeta)> = image
            .meta
            .iter()
            .enumerate()
            .filter(|(i, _)| image.meta_offset[*i] > from)
            .map(|(i, m)| (i as u32, m.clone()))
            .collect();
        let offset = self.log.hw;
        ctx.send(Node::Broker(b), Msg::Broker(BrokerMsg::MetadataUpdate { offset, changes }));
    }

    pub(super) fn on_alter_partition(&mut self, ctx: &mut Ctx, broker: u32, pidx: u32, leader_epoch: i32, partition_epoch: i32, isr: Vec<u32>) {
        if self.not_controller(ctx, broker) {
            return;
        }
        match self.alter_partition(ctx, broker, pidx, leader_epoch, partition_epoch, isr) {
            Ok(next) => {
                let offset = self.log.end();
                let answer = BrokerMsg::AlterPartitionResponse {
                    pidx,
                    result: Box::new(Ok(next)),
                };
                self.leader.pending.push((offset, broker, answer));
            }
            Err(e) => {
                let answer = BrokerMsg::AlterPartitionResponse {
                    pidx,
                    result: Box::new(Err(e)),
                };
                ctx.send(Node::Broker(broker), Msg::Broker(answer));
            }
        }
    }

    pub(super) fn on_controlled_shutdown(&mut self, ctx: &mut Ctx, broker: u32, incarnation: u32) {
        if self.not_controller(ctx, broker) || self.reg(broker).incarnation != incarnation {
            return;
        }
        let reg = BrokerRegistration {
            shutting_down: true,
            fenced: true,
            ..self.reg(broker)
        };
        self.write_broker(broker, reg, Vec::new());
        self.remove_broker(ctx, broker, ElectionKind::ControlledShutdown);
        let offset = self.log.end();
        self.leader.pending.push((offset, broker, BrokerMsg::ControlledShutdownResponse));
    }

    /// The active controller's clock: broker sessions, long-poll expiry, preferred leaders.
    pub(super) fn active_tick(&mut self, ctx: &mut Ctx) {
        let now = ctx.now;
        let c = &self.cluster.config;
        let session = c.broker_session_timeout_ms * MS;
        // Kafka checks every session/8 and fences one broker per check.
        if now >= self.leader.next_session_check {
            self.leader.next_session_check = now + session / 8;
            let stale = (0..self.cluster.brokers())
                .filter(|&b| !self.reg(b).fenced && now.saturating_sub(self.leader.heartbeats[b as usize]) > session)
                .min_by_key(|&b| self.leader.heartbeats[b as usize]);
            if let Some(b) = stale {
                let silent_ms = now.saturating_sub(self.leader.heartbeats[b as usize]) / MS;
                self.fence_broker_noted(ctx, b, Some(silent_ms));
            }
        }
        let expired: Vec<(u32, u64)> = self
            .leader
            .parked_brokers
            .iter()
            .filter(|p| p.2 <= now && self.can_serve(p.0))
            .map(|p| (p.0, p.1))
            .collect();
        self.leader.parked_brokers.retain(|p| !expired.iter().any(|e| e.0 == p.0));
        for (b, offset) in expired {
            self.answer_metadata(ctx, b, offset);
        }
        if self.cluster.config.auto_leader_rebalance_enable && now >= self.leader.next_preferred_check {
            let interval = self.cluster.config.leader_imbalance_check_interval_seconds * 1_000 * MS;
            self.leader.next_preferred_check = now + interval;
            self.elect_preferred_leaders(ctx);
        }
    }

    /// Records committed: brokers waiting for metadata get it, answers waiting for
    /// their records go out.
    pub(super) fn on_committed(&mut self, ctx: &mut Ctx) {
        let hw = self.log.hw;
        let ready: Vec<(u32, u64)> = self
            .leader
            .parked_brokers
            .iter()
            .filter(|p| p.1 < hw && self.can_serve(p.0))
            .map(|p| (p.0, p.1))
            .collect();
        self.leader.parked_brokers.retain(|p| !ready.iter().any(|r| r.0 == p.0));
        for (b, from) in ready {
            self.answer_metadata(ctx, b, from);
        }
        let (done, waiting): (Vec<_>, Vec<_>) = std::mem::take(&mut self.leader.pending).into_iter().partition(|p| p.0 <= hw);
        self.leader.pending = waiting;
        for (_, b, answer) in done {
            ctx.send(Node::Broker(b), Msg::Broker(answer));
        }
    }

    // ---- decisions -------------------------------------------------------------------

    fn fence_broker(&mut self, ctx: &mut Ctx, b: u32) {
        self.fence_broker_noted(ctx, b, None);
    }

    /// Fencing (session timeout, or a new process registering): the broker leaves
    /// every ISR (see `remove_broker`), and its leaderships move.
    fn fence_broker_noted(&mut self, ctx: &mut Ctx, b: u32, silent_ms: Option<u64>) {
        let catch_up_offset = self.log.end() + 1;
        let reg = BrokerRegistration {
            fenced: true,
            catch_up_offset,
            ..self.reg(b)
        };
        let mut report = Vec::new();
        if let Some(silent_ms) = silent_ms {
            report.push(Obs::note(Notable::BrokerFenced { broker: b, silent_ms }));
        }
        report.push(Obs::AvailabilityChanged);
        self.write_broker(b, reg, report);
        self.remove_broker(ctx, b, ElectionKind::Clean);
    }

    /// A fenced or shutting-down broker leaves every ISR (with ELR on, into the
    /// ELR while the ISR is below min ISR; with ELR off, not the last member),
    /// and its leaderships move (Kafka's handleBrokerFenced and
    /// handleBrokerInControlledShutdown).
    fn remove_broker(&mut self, ctx: &mut Ctx, b: u32, kind: ElectionKind) {
        for pidx in 0..self.log.working.meta.len() as u32 {
            let m = &self.log.working.meta[pidx as usize];
            if m.leader == Some(b) || m.isr.contains(&b) {
                let target = m.isr.iter().copied().filter(|&r| r != b).collect();
                self.change_partition(ctx, pidx, target, Election::Online, Some(b), None, kind);
            }
        }
    }

    /// A broker registered after an unclean shutdown (its previous process did not
    /// stop cleanly): with ELR on it leaves every ISR and ELR, and may not lead in
    /// this pass (Kafka's handleBrokerUncleanShutdown). Its log may lack what it
    /// had acknowledged as a follower.
    fn remove_after_unclean_shutdown(&mut self, ctx: &mut Ctx, b: u32) {
        if !self.cluster.config.eligible_leader_replicas_enable {
            return;
        }
        for pidx in 0..self.log.working.meta.len() as u32 {
            let m = &self.log.working.meta[pidx as usize];
            if m.isr.contains(&b) || m.elr.contains(&b) {
                let target = m.isr.iter().copied().filter(|&r| r != b).collect();
                self.change_partition(ctx, pidx, target, Election::Online, Some(b), Some(b), ElectionKind::Clean);
            }
        }
    }

    fn eligible(&self, b: u32) -> bool {
        let r = self.reg(b);
        !r.fenced && !r.shutting_down
    }

    /// min(min.insync.replicas of the partition's topic, replication factor), as
    /// the controller has it (Kafka's getTopicEffectiveMinIsr).
    fn effective_min_isr(&self, pidx: u32) -> usize {
        let topic = self.cluster.part(pidx).topic as usize;
        let rf = self.cluster.part(pidx).assignment.len();
        (self.log.working.min_isr[topic] as usize).min(rf)
    }

    /// Builds and writes one partition change (Kafka's PartitionChangeBuilder, in
    /// `change.rs`): the ISR becomes `target_isr`, `removed` may not lead,
    /// `unclean_shutdown` also leaves the ELR. Returns the new state, if anything changed.
    #[allow(clippy::too_many_arguments)]
    fn change_partition(
        &mut self,
        _ctx: &mut Ctx,
        pidx: u32,
        target_isr: Vec<u32>,
        election: Election,
        removed: Option<u32>,
        unclean_shutdown: Option<u32>,
        kind: ElectionKind,
    ) -> Option<PartMeta> {
        let cluster = self.cluster.clone();
        let election = match election {
            Election::Online if self.log.working.unclean => Election::Unclean,
            e => e,
        };
        let prev = &self.log.working.meta[pidx as usize];
        let req = Request {
            prev,
            assignment: &cluster.part(pidx).assignment,
            target_isr,
            min_isr: self.effective_min_isr(pidx),
            elr_enabled: cluster.config.eligible_leader_replicas_enable,
            election,
            unclean_shutdown,
        };
        let (next, chosen) = change::build(req, |r| Some(r) != removed && Some(r) != unclean_shutdown && self.eligible(r))?;
        let (kind, first) = match (chosen, next.leader) {
            (Chosen::Unclean, Some(leader)) => (ElectionKind::Unclean, vec![Obs::UncleanElection { pidx, leader }]),
            (Chosen::LastKnownLeader, _) => (ElectionKind::LastKnownLeader, Vec::new()),
            (Chosen::Elr, _) => (ElectionKind::Elr, Vec::new()),
            (Chosen::Offline, _) => (ElectionKind::Offline, Vec::new()),
            _ => (kind, Vec::new()),
        };
        self.write_partition(pidx, next.clone(), kind, first);
        Some(next)
    }

    /// Leaderless partitions get a leader if one may lead now (Kafka's
    /// handleBrokerUnfenced, and an unclean election once it is enabled).
    pub fn elect_offline_partitions(&mut self, ctx: &mut Ctx) {
        if self.role != Role::Leader {
            return;
        }
        for pidx in 0..self.log.working.meta.len() as u32 {
            let m = &self.log.working.meta[pidx as usize];
            if m.leader.is_none() {
                let target = m.isr.clone();
                self.change_partition(ctx, pidx, target, Election::Online, None, None, ElectionKind::Clean);
            }
        }
    }

    /// Every partition whose leader is not its preferred replica moves back,
    /// when the preferred replica is alive and in the ISR.
    pub fn elect_preferred_leaders(&mut self, ctx: &mut Ctx) {
        if self.role != Role::Leader {
            return;
        }
        for pidx in 0..self.log.working.meta.len() as u32 {
            let preferred = self.cluster.part(pidx).assignment[0];
            let m = &self.log.working.meta[pidx as usize];
            if m.leader != Some(preferred) && m.leader.is_some() {
                let target = m.isr.clone();
                self.change_partition(ctx, pidx, target, Election::Preferred, None, None, ElectionKind::Preferred);
            }
        }
    }

    /// `unclean.leader.election.enable` set by an operator (a config record).
    pub fn set_unclean(&mut self, ctx: &mut Ctx, on: bool) {
        if self.role != Role::Leader {
            return;
        }
        self.write(MetaRecord::Unclean(on), Vec::new());
        if on {
            self.elect_offline_partitions(ctx);
        }
    }

    /// `min.insync.replicas` of a topic set by an operator (a config record). With
    /// ELR on, Kafka then clears the ELR and the last known leader of the topic's
    /// partitions (ClearElrRecord): who is eligible was judged by the old value.
    pub fn set_min_isr(&mut self, _ctx: &mut Ctx, topic: u32, min_isr: u32) {
        if self.role != Role::Leader {
            return;
        }
        self.write(MetaRecord::TopicMinIsr { topic, min_isr }, vec![Obs::MinIsrChanged { topic, min_isr }]);
        if !self.cluster.config.eligible_leader_replicas_enable {
            return;
        }
        let t = &self.cluster.topics[topic as usize];
        for pidx in t.first..t.first + t.partitions {
            let m = &self.log.working.meta[pidx as usize];
            if !m.elr.is_empty() || !m.last_known_elr.is_empty() {
                let mut next = m.clone();
                next.elr.clear();
                next.last_known_elr.clear();
                next.partition_epoch += 1;
                self.write_partition(pidx, next, ElectionKind::Clean, Vec::new());
            }
        }
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
        let m = &self.log.working.meta[pidx as usize];
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
        let unchanged = m.clone();
        Ok(self
            .change_partition(ctx, pidx, isr, Election::Online, None, None, ElectionKind::Clean)
            .unwrap_or(unchanged))
    }

    /// Writes a partition change, with the event log lines and the checker's
    /// observation it means (`first` go before them: an unclean election's mark).
    fn write_partition(&mut self, pidx: u32, next: PartMeta, kind: ElectionKind, first: Vec<Obs>) {
        let prev = self.log.working.meta[pidx as usize].clone();
        let topic = self.cluster.topic_name(pidx).to_string();
        let partition = self.cluster.part(pidx).index;
        let mut report = first;
        if prev.leader != next.leader {
            report.push(Obs::note(Notable::LeaderChange {
                topic: topic.clone(),
                partition,
                from: prev.leader,
                to: next.leader,
                epoch: next.leader_epoch,
                kind,
            }));
        }
        if prev.isr != next.isr {
            report.push(Obs::note(Notable::IsrChange {
                topic: topic.clone(),
                partition,
                from: prev.isr.clone(),
                to: next.isr.clone(),
            }));
        }
        if prev.elr != next.elr {
            report.push(Obs::note(Notable::ElrChange {
                topic,
                partition,
                from: prev.elr.clone(),
                to: next.elr.clone(),
            }));
        }
        report.push(Obs::PartitionChange {
            pidx,
            prev: Box::new(prev),
            next: Box::new(next.clone()),
            kind,
        });
        report.push(Obs::AvailabilityChanged);
        self.write(MetaRecord::Partition { pidx, meta: next }, report);
    }
}
