//! A KRaft controller node. The controllers form a Raft quorum over the
//! metadata log (`raft.rs`: votes with pre-vote, fetches, the high watermark,
//! check-quorum); the elected leader is the active controller (`active.rs`):
//! broker heartbeats, session timeout and fencing, AlterPartition, clean,
//! unclean and preferred elections, controlled shutdown, and the metadata it
//! serves to brokers by long poll, all written as records and acted on once
//! committed by a majority. Without a majority nothing commits: metadata is
//! frozen, as in Kafka. Every partition change follows Kafka's
//! PartitionChangeBuilder (`change.rs`), eligible leader replicas included.

mod active;
mod change;
mod raft;

use crate::kafka::metadata::{BrokerRegistration, Image, MetadataLog};
use crate::kafka::protocol::{ControllerMsg, Timer};
use crate::kafka::types::{Cluster, PartMeta};
use crate::kafka::Ctx;
use crate::sim::{Micros, Node, MS};
use std::rc::Rc;

/// `controller.quorum.election.timeout.ms`: election timers are random in [T, 2T).
const ELECTION_TIMEOUT: Micros = 1_000 * MS;
/// `controller.quorum.fetch.timeout.ms`: a follower that heard nothing from the
/// leader for this long starts an election; the leader resigns after 1.5 times it
/// without fetches from a majority (check-quorum).
const FETCH_TIMEOUT: Micros = 2_000 * MS;
/// The leader holds a fetch with nothing new this long (long poll).
const FETCH_MAX_WAIT: Micros = 500 * MS;
const TICK: Micros = 50 * MS;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Unattached,
    Follower(u32),
    /// Asking for pre-votes at the current epoch (KIP-996) before a real election.
    Prospective,
    Candidate,
    Leader,
    /// A leader that lost its majority, waiting out an election timeout.
    Resigned,
}

/// What only the leader keeps, in memory (lost on failover).
#[derive(Debug, Clone, Default)]
struct LeaderState {
    /// The offset of this epoch's LeaderChange record: the HW must pass it.
    epoch_start: u64,
    /// Per voter: log end from its last fetch, the time of that fetch, and the HW sent to it.
    voter_end: Vec<u64>,
    voter_fetch: Vec<Micros>,
    voter_hw: Vec<u64>,
    /// Voters heard from since the check-quorum timer last restarted.
    heard: Vec<bool>,
    check_quorum_since: Micros,
    /// BeginQuorumEpoch last sent, per voter.
    begin_sent: Vec<Micros>,
    /// Voter fetches with nothing new: (voter, deadline).
    parked_voters: Vec<(u32, Micros)>,
    /// Last heartbeat per broker.
    heartbeats: Vec<Micros>,
    /// Parked broker metadata fetches: (broker, offset, deadline).
    parked_brokers: Vec<(u32, u64, Micros)>,
    /// Answers that wait for their records to commit: (offset, broker, answer).
    pending: Vec<(u64, u32, crate::kafka::protocol::BrokerMsg)>,
    next_session_check: Micros,
    next_preferred_check: Micros,
}

#[derive(Debug, Clone)]
pub struct Controller {
    pub id: u32,
    cluster: Rc<Cluster>,
    /// The process is up (the engine kills and restarts it).
    pub alive: bool,
    pub incarnation: u32,
    /// Persisted: the quorum epoch, and whom this node voted for in it.
    pub epoch: u32,
    voted_for: Option<u32>,
    pub log: MetadataLog,
    pub role: Role,
    // Follower and observer state.
    fetch_sent: Option<Micros>,
    last_contact: Micros,
    fetched_this_epoch: bool,
    // Elections.
    election_deadline: Micros,
    votes: Vec<u32>,
    leader: LeaderState,
}

impl Controller {
    /// The cluster at time 0: controller c0 leads epoch 1; every broker is
    /// registered and unfenced; leaders on the preferred replicas.
    pub fn new(id: u32, cluster: Rc<Cluster>) -> Controller {
        let c = &cluster.config;
        let meta: Vec<PartMeta> = cluster
            .partitions
            .iter()
            .map(|p| PartMeta {
                leader: p.assignment.first().copied(),
                leader_epoch: 0,
                isr: p.assignment.clone(),
                partition_epoch: 0,
                elr: Vec::new(),
                last_known_elr: Vec::new(),
            })
            .collect();
        let image = Image {
            meta_offset: vec![1; meta.len()],
            meta,
            brokers: vec![
                BrokerRegistration {
                    fenced: false,
                    incarnation: 1,
                    catch_up_offset: 0,
                    shutting_down: false
                };
                c.brokers as usize
            ],
            unclean: c.unclean_leader_election_enable,
            min_isr: cluster.topics.iter().map(|t| t.min_isr).collect(),
        };
        let n = c.controllers as usize;
        let mut ctl = Controller {
            id,
            alive: true,
            incarnation: 1,
            epoch: 1,
            voted_for: Some(0),
            log: MetadataLog::new(image, 1, 1),
            role: if id == 0 { Role::Leader } else { Role::Follower(0) },
            fetch_sent: None,
            last_contact: 0,
            fetched_this_epoch: true,
            election_deadline: 0,
            votes: Vec::new(),
            leader: LeaderState::default(),
            cluster,
        };
        if id == 0 {
            ctl.leader = ctl.fresh_leader_state(0, 1);
        }
        let _ = n;
        ctl
    }

    fn voters(&self) -> u32 {
        self.cluster.config.controllers
    }

    fn majority(&self) -> usize {
        self.voters() as usize / 2 + 1
    }

    pub fn is_leader(&self) -> bool {
        self.alive && self.role == Role::Leader
    }

    /// The leader this node knows of in its epoch.
    pub fn known_leader(&self) -> Option<u32> {
        match self.role {
            Role::Leader => Some(self.id),
            Role::Follower(l) => Some(l),
            _ => None,
        }
    }

    /// The committed image: what brokers may learn.
    pub fn image(&self) -> &Image {
        &self.log.committed
    }

    pub fn start(&mut self, ctx: &mut Ctx) {
        ctx.timer(0, Timer::ControllerTick);
    }

    pub fn on_message(&mut self, ctx: &mut Ctx, from: Node, msg: ControllerMsg) {
        match msg {
            ControllerMsg::Vote {
                epoch,
                candidate,
                last_epoch,
                end,
                pre_vote,
            } => self.on_vote(ctx, epoch, candidate, last_epoch, end, pre_vote),
            ControllerMsg::VoteResponse {
                epoch,
                leader,
                granted,
                pre_vote,
            } => {
                if let Node::Controller(voter) = from {
                    self.on_vote_response(ctx, voter, epoch, leader, granted, pre_vote);
                }
            }
            ControllerMsg::BeginQuorumEpoch { epoch, leader } => self.on_begin_epoch(ctx, epoch, leader),
            ControllerMsg::Fetch { epoch, voter, end, last_epoch } => self.on_fetch(ctx, voter, epoch, end, last_epoch),
            ControllerMsg::FetchResponse(r) => self.on_fetch_response(ctx, *r),
            ControllerMsg::Heartbeat {
                broker,
                incarnation,
                clean_shutdown_of,
                meta_offset,
            } => self.on_heartbeat(ctx, broker, incarnation, clean_shutdown_of, meta_offset),
            ControllerMsg::MetadataFetch {
                broker,
                incarnation,
                clean_shutdown_of,
                offset,
            } => self.on_metadata_fetch(ctx, broker, incarnation, clean_shutdown_of, offset),
            ControllerMsg::AlterPartition {
                broker,
                pidx,
                leader_epoch,
                partition_epoch,
                isr,
            } => self.on_alter_partition(ctx, broker, pidx, leader_epoch, partition_epoch, isr),
            ControllerMsg::ControlledShutdown { broker, incarnation } => self.on_controlled_shutdown(ctx, broker, incarnation),
        }
        self.flush(ctx);
    }

    pub fn on_timer(&mut self, ctx: &mut Ctx, timer: Timer) {
        if timer != Timer::ControllerTick {
            return;
        }
        ctx.timer(TICK, Timer::ControllerTick);
        self.raft_tick(ctx);
        if self.role == Role::Leader {
            self.active_tick(ctx);
        }
        self.flush(ctx);
    }

    /// The process dies: its persisted epoch, vote and log survive.
    pub fn crash(&mut self) {
        self.alive = false;
        self.incarnation += 1;
        self.role = Role::Unattached;
        self.leader = LeaderState::default();
        self.fetch_sent = None;
        self.votes.clear();
    }

    pub fn restart(&mut self, ctx: &mut Ctx) {
        self.alive = true;
        self.incarnation += 1;
        self.become_unattached(ctx, self.epoch);
        self.start(ctx);
    }
}
