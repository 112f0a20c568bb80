//! The snapshot a driver draws: cheap to build, no references into the engine.
//! The engine reads the nodes' state here for the picture only; nothing read
//! here decides what happens next.

use super::Simulation;
use crate::kafka::broker::coordinator::Group;
use crate::kafka::consumer::ConsumerState;
use crate::kafka::types::node_label;
use crate::scenario::GroupProtocol;
use crate::sim::{Micros, MS};
use serde::Serialize;

impl Simulation {
    pub fn snapshot(&self) -> Snapshot {
        // A deposed leader may not know yet: the active one has the newest epoch.
        let active = self.active_controller();
        let mut brokers: Vec<BrokerView> = self
            .brokers
            .iter()
            .enumerate()
            .map(|(i, b)| BrokerView {
                id: i as u32,
                state: b.state_name(self.now),
                fenced: self.metadata().brokers[i].fenced,
                slow_network_ms: self.net.extra_us[i] / MS,
                slow_disk_ms: b.disk_extra_us / MS,
                leaders: 0,
                replicas: 0,
            })
            .collect();
        let mut partitions = Vec::with_capacity(self.cluster.partitions.len());
        for (pidx, p) in self.cluster.partitions.iter().enumerate() {
            let meta = &self.metadata().meta[pidx];
            for &b in &p.assignment {
                brokers[b as usize].replicas += 1;
            }
            if let Some(l) = meta.leader {
                brokers[l as usize].leaders += 1;
            }
            partitions.push(PartitionView {
                topic: self.cluster.topics[p.topic as usize].name.clone(),
                partition: p.index,
                leader: meta.leader,
                leader_epoch: meta.leader_epoch,
                isr: meta.isr.clone(),
                elr: meta.elr.clone(),
                last_known_leader: meta.last_known_elr.first().copied(),
                elr_enabled: self.cluster.config.eligible_leader_replicas_enable,
                min_isr: self.min_isr[pidx],
                replicas: p
                    .assignment
                    .iter()
                    .filter_map(|&b| {
                        let r = self.brokers[b as usize].replica(pidx as u32)?;
                        Some(ReplicaView {
                            broker: b,
                            leo: r.log.leo,
                            hw: r.log.hw,
                            lso: r.log.lso(),
                            log_start: r.log.log_start,
                            role: r.role,
                            in_isr: meta.isr.contains(&b),
                            in_elr: meta.elr.contains(&b),
                        })
                    })
                    .collect(),
            });
        }

        Snapshot {
            now_us: self.now,
            brokers,
            controllers: self
                .controllers
                .iter()
                .map(|c| ControllerView {
                    id: c.id,
                    alive: c.alive,
                    active: Some(c.id) == active,
                })
                .collect(),
            quorum_epoch: self.controllers.iter().filter(|c| c.alive).map(|c| c.epoch).max().unwrap_or(0),
            partitions,
            cuts: self.net.cuts.iter().map(|&(a, b)| (node_label(a), node_label(b))).collect(),
            producers: self
                .producers
                .iter()
                .map(|p| ProducerView {
                    id: p.cfg.id.clone(),
                    acks: p.cfg.acks.as_str(),
                    records_per_sec: p.cfg.records_per_sec,
                    in_flight: p.in_flight_requests(),
                    queued_batches: p.queued_batches(),
                    output_of: p.app.as_ref().map(|a| OutputOf {
                        group: self.cluster.groups[a.group as usize].cfg.id.clone(),
                        member: self.consumers.get(a.consumer as usize).map_or(0, |c| c.number),
                        topic: p.cfg.topic.clone(),
                    }),
                    transaction: p.txn.as_ref().map(|t| TxnView {
                        transactional_id: p.cfg.transactional_id.clone().unwrap_or_default(),
                        epoch: t.epoch,
                        state: if p.alive { t.state_name() } else { "dead" },
                    }),
                })
                .collect(),
            groups: (0..self.cluster.groups.len()).map(|i| self.group_view(i)).collect(),
        }
    }

    fn group_view(&self, i: usize) -> GroupView {
        let report = &self.reports[i];
        // Before any member reached a coordinator, the group is empty everywhere.
        let fresh;
        let (host, g) = match self.coordinator_of(i as u32) {
            Some((b, g)) => (Some(b), g),
            None => {
                fresh = Group::new(i as u32, self.cluster.groups[i].clone());
                (None, &fresh)
            }
        };
        let members = self
            .consumers
            .iter()
            .filter(|c| c.group == i as u32)
            .map(|c| MemberView {
                number: c.number,
                member_id: c.member_id.clone(),
                instance_id: c.instance_id.clone(),
                state: match c.state {
                    ConsumerState::Running if c.paused_until > self.now => "paused",
                    ConsumerState::Running => "running",
                    ConsumerState::Stopped => "stopped",
                    ConsumerState::Dead => "dead",
                },
                in_group: g.members.contains_key(&c.member_id),
                assigned: c
                    .assigned
                    .iter()
                    .map(|&p| (self.cluster.topic_name(p).to_string(), self.cluster.part(p).index))
                    .collect(),
                records_per_sec: c.rate,
                acquired: if g.info.cfg.is_share() {
                    let owner = c.share_owner();
                    self.brokers.iter().filter(|b| b.is_running()).map(|b| b.share_acquired(i as u32, owner)).sum()
                } else {
                    0
                },
            })
            .collect();
        GroupView {
            id: g.info.cfg.id.clone(),
            state: g.state,
            generation: g.generation,
            protocol: match g.info.cfg.protocol {
                GroupProtocol::Classic => "classic",
                GroupProtocol::Consumer => "consumer",
                GroupProtocol::Share => "share",
            },
            assignor: g.info.cfg.assignor_name().to_string(),
            coordinator: host,
            leader: g.leader.clone(),
            lag: self.group_lag(i),
            partition_lag: self
                .partition_lag(i)
                .map(|(p, lag)| (self.cluster.topic_name(p).to_string(), self.cluster.part(p).index, lag))
                .collect(),
            members,
            rebalances: report.rebalances(),
            recent_rebalances: report.history.iter().rev().take(3).rev().cloned().collect(),
            member_numbers: g
                .members
                .iter()
                .map(|(id, m)| (id.clone(), self.consumers[m.consumer as usize].number))
                .collect(),
            model: self.model_view(i),
            share: report.share.as_ref().map(|s| ShareView {
                delivered: s.delivered,
                acknowledged: s.acknowledged,
                redelivered: s.redelivered,
                archived: s.archived,
                by_delivery_count: s.by_delivery_count.clone(),
            }),
        }
    }
}

/// The state a driver draws: cheap to build, no references into the engine.
#[derive(Debug, Clone, Serialize)]
pub struct Snapshot {
    pub now_us: Micros,
    pub brokers: Vec<BrokerView>,
    pub controllers: Vec<ControllerView>,
    pub quorum_epoch: u32,
    pub partitions: Vec<PartitionView>,
    /// Directed cuts (from, to) as "0", "c1".
    pub cuts: Vec<(String, String)>,
    pub producers: Vec<ProducerView>,
    pub groups: Vec<GroupView>,
}

#[derive(Debug, Clone, Serialize)]
pub struct GroupView {
    pub id: String,
    pub state: crate::kafka::group::GroupState,
    pub generation: i32,
    pub protocol: &'static str,
    pub assignor: String,
    /// The broker hosting the group's coordinator, if one has loaded it.
    pub coordinator: Option<u32>,
    pub leader: Option<String>,
    pub lag: u64,
    /// (topic, partition, lag): the leader's HW minus the committed offset.
    pub partition_lag: Vec<(String, u32, u64)>,
    pub members: Vec<MemberView>,
    pub rebalances: usize,
    /// The latest rebalances (at most 3), oldest first, for the timeline.
    pub recent_rebalances: Vec<crate::metrics::groups::Rebalance>,
    /// The coordinator's member ids with their consumer's number: a member is
    /// known here before the consumer itself has learnt its id (first JoinGroup).
    pub member_numbers: Vec<(String, u32)>,
    /// The group's processor (fraud_lr, item_cf) and its metrics, if it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<crate::ml::ModelView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub share: Option<ShareView>,
}

#[derive(Debug, Clone, Serialize)]
pub struct MemberView {
    pub number: u32,
    pub member_id: String,
    pub instance_id: Option<String>,
    /// running, stopped, dead, paused
    pub state: &'static str,
    /// In the coordinator's current generation.
    pub in_group: bool,
    /// (topic, partition)
    pub assigned: Vec<(String, u32)>,
    pub records_per_sec: u64,
    /// Share groups: records the member holds acquired now (locked to it).
    pub acquired: u64,
}

/// What a share group's members got: deliveries (each counts), acknowledged,
/// redelivered, archived, and how many records were delivered how many times.
#[derive(Debug, Clone, Serialize)]
pub struct ShareView {
    pub delivered: u64,
    pub acknowledged: u64,
    pub redelivered: u64,
    pub archived: u64,
    /// Index k: records delivered for the k-th time (index 0 unused).
    pub by_delivery_count: Vec<u64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct BrokerView {
    pub id: u32,
    /// up, down, stopped, paused
    pub state: &'static str,
    pub fenced: bool,
    pub slow_network_ms: u64,
    pub slow_disk_ms: u64,
    pub leaders: u32,
    pub replicas: u32,
}

#[derive(Debug, Clone, Serialize)]
pub struct ControllerView {
    pub id: u32,
    pub alive: bool,
    pub active: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct PartitionView {
    pub topic: String,
    pub partition: u32,
    pub leader: Option<u32>,
    pub leader_epoch: i32,
    pub isr: Vec<u32>,
    /// Eligible leader replicas (KIP-966), and Kafka's LastKnownElr (the last leader).
    pub elr: Vec<u32>,
    pub last_known_leader: Option<u32>,
    /// ELR on (Kafka 4.1+) or off (Kafka 4.0).
    pub elr_enabled: bool,
    pub min_isr: u32,
    pub replicas: Vec<ReplicaView>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ReplicaView {
    pub broker: u32,
    pub leo: u64,
    pub hw: u64,
    /// The last stable offset: read_committed consumers read below it.
    pub lso: u64,
    pub log_start: u64,
    pub role: crate::kafka::types::Role,
    pub in_isr: bool,
    pub in_elr: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct ProducerView {
    pub id: String,
    pub acks: &'static str,
    pub records_per_sec: u64,
    pub in_flight: u32,
    pub queued_batches: u32,
    /// A processing member's own producer: it writes what the member makes.
    pub output_of: Option<OutputOf>,
    /// A transactional producer's id, epoch and where it is in its transaction.
    pub transaction: Option<TxnView>,
}

/// Whose outputs a processing member's producer writes, and where.
#[derive(Debug, Clone, Serialize)]
pub struct OutputOf {
    pub group: String,
    pub member: u32,
    pub topic: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct TxnView {
    pub transactional_id: String,
    pub epoch: u16,
    pub state: &'static str,
}
