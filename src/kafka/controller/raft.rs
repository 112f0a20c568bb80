//! The controllers' Raft quorum (KRaft: KIP-595, with KIP-996 pre-vote and
//! check-quorum). A follower that hears nothing from its leader for the fetch
//! timeout asks for pre-votes at its epoch, then for votes at the next epoch;
//! a voter grants only a candidate whose log is at least as complete as its own.
//! The leader appends records; followers fetch them (long poll); an entry is
//! committed once a majority holds it, and only committed metadata is acted on
//! and served. A leader that stops hearing from a majority resigns.

use super::{Controller, LeaderState, Role, ELECTION_TIMEOUT, FETCH_MAX_WAIT, FETCH_TIMEOUT};
use crate::kafka::metadata::MetaRecord;
use crate::kafka::notable::Notable;
use crate::kafka::obs::Obs;
use crate::kafka::protocol::{ControllerMsg, Msg, RaftFetchBody, RaftFetchResponse};
use crate::kafka::Ctx;
use crate::sim::{Micros, Node, MS};

/// The leader re-sends BeginQuorumEpoch to a voter silent this long.
const BEGIN_RESEND: Micros = 1_000 * MS;

impl Controller {
    fn election_timer(ctx: &mut Ctx) -> Micros {
        ctx.now + ELECTION_TIMEOUT + ctx.rng.range(0, ELECTION_TIMEOUT - 1)
    }

    fn to_others(&self, ctx: &mut Ctx, msg: impl Fn() -> ControllerMsg) {
        for v in 0..self.voters() {
            if v != self.id {
                ctx.send(Node::Controller(v), Msg::Controller(msg()));
            }
        }
    }

    pub(super) fn fresh_leader_state(&self, now: Micros, epoch_start: u64) -> LeaderState {
        let n = self.voters() as usize;
        let b = self.cluster.brokers() as usize;
        let c = &self.cluster.config;
        let mut heard = vec![false; n];
        heard[self.id as usize] = true;
        LeaderState {
            epoch_start,
            voter_end: vec![0; n],
            voter_fetch: vec![now; n],
            voter_hw: vec![0; n],
            heard,
            check_quorum_since: now,
            begin_sent: vec![0; n],
            parked_voters: Vec::new(),
            // A new active controller gives every broker a fresh session.
            heartbeats: vec![now; b],
            parked_brokers: Vec::new(),
            pending: Vec::new(),
            next_session_check: now + c.broker_session_timeout_ms * MS / 8,
            next_preferred_check: now.max(1) + c.leader_imbalance_check_interval_seconds * 1_000 * MS,
        }
    }

    fn set_epoch(&mut self, epoch: u32) {
        if epoch > self.epoch {
            self.epoch = epoch;
            self.voted_for = None;
        }
    }

    fn leave_leadership(&mut self, ctx: &mut Ctx) {
        if self.role == Role::Leader {
            ctx.observe(Obs::note(Notable::ControllerLost { controller: self.id }));
            ctx.observe(Obs::AvailabilityChanged);
        }
        self.leader = LeaderState::default();
    }

    fn become_follower(&mut self, ctx: &mut Ctx, epoch: u32, leader: u32) {
        self.leave_leadership(ctx);
        self.set_epoch(epoch);
        self.role = Role::Follower(leader);
        self.last_contact = ctx.now;
        self.fetched_this_epoch = false;
        self.fetch_sent = None;
        self.send_fetch(ctx);
    }

    pub(super) fn become_unattached(&mut self, ctx: &mut Ctx, epoch: u32) {
        self.leave_leadership(ctx);
        self.set_epoch(epoch);
        self.role = Role::Unattached;
        self.election_deadline = Self::election_timer(ctx);
    }

    fn become_prospective(&mut self, ctx: &mut Ctx) {
        self.role = Role::Prospective;
        self.votes = vec![self.id];
        self.election_deadline = Self::election_timer(ctx);
        if self.votes.len() >= self.majority() {
            return self.become_candidate(ctx);
        }
        let (epoch, candidate, last_epoch, end) = (self.epoch, self.id, self.log.last_epoch(), self.log.end());
        self.to_others(ctx, || ControllerMsg::Vote {
            epoch,
            candidate,
            last_epoch,
            end,
            pre_vote: true,
        });
    }

    fn become_candidate(&mut self, ctx: &mut Ctx) {
        self.epoch += 1;
        self.voted_for = Some(self.id);
        self.role = Role::Candidate;
        self.votes = vec![self.id];
        self.election_deadline = Self::election_timer(ctx);
        if self.votes.len() >= self.majority() {
            return self.become_leader(ctx);
        }
        let (epoch, candidate, last_epoch, end) = (self.epoch, self.id, self.log.last_epoch(), self.log.end());
        self.to_others(ctx, || ControllerMsg::Vote {
            epoch,
            candidate,
            last_epoch,
            end,
            pre_vote: false,
        });
    }

    fn become_leader(&mut self, ctx: &mut Ctx) {
        self.role = Role::Leader;
        let (id, epoch) = (self.id, self.epoch);
        let report = vec![Obs::note(Notable::ControllerElected { controller: id, epoch }), Obs::AvailabilityChanged];
        let start = self.log.append(epoch, MetaRecord::LeaderChange { leader: id }, report);
        self.leader = self.fresh_leader_state(ctx.now, start);
        self.leader.begin_sent = vec![ctx.now; self.voters() as usize];
        self.to_others(ctx, || ControllerMsg::BeginQuorumEpoch { epoch, leader: id });
    }

    fn resign(&mut self, ctx: &mut Ctx) {
        self.leave_leadership(ctx);
        self.role = Role::Resigned;
        self.election_deadline = Self::election_timer(ctx);
    }

    /// Anything carrying a newer epoch moves this node to it. Returns false when
    /// the message is from an older epoch (and should be ignored).
    fn catch_up_epoch(&mut self, ctx: &mut Ctx, epoch: u32, leader: Option<u32>) -> bool {
        if epoch < self.epoch {
            return false;
        }
        let new_leader = leader.filter(|&l| l != self.id);
        if epoch > self.epoch {
            match new_leader {
                Some(l) => self.become_follower(ctx, epoch, l),
                None => self.become_unattached(ctx, epoch),
            }
        } else if let (Some(l), None) = (new_leader, self.known_leader()) {
            self.become_follower(ctx, epoch, l);
        }
        true
    }

    pub(super) fn raft_tick(&mut self, ctx: &mut Ctx) {
        let now = ctx.now;
        match self.role {
            Role::Follower(_) => {
                if now.saturating_sub(self.last_contact) > FETCH_TIMEOUT {
                    self.become_prospective(ctx);
                } else if self.fetch_sent.is_none_or(|t| now.saturating_sub(t) > FETCH_TIMEOUT) {
                    self.send_fetch(ctx);
                }
            }
            Role::Unattached | Role::Prospective | Role::Candidate | Role::Resigned if now >= self.election_deadline => match self.role {
                Role::Resigned => self.become_unattached(ctx, self.epoch + 1),
                // A lost pre-vote round waits; a lost election tries pre-votes again.
                Role::Prospective => self.become_unattached(ctx, self.epoch),
                _ => self.become_prospective(ctx),
            },
            Role::Leader => self.leader_tick(ctx),
            _ => {}
        }
    }

    fn leader_tick(&mut self, ctx: &mut Ctx) {
        let now = ctx.now;
        // Check-quorum: a majority must have fetched within 1.5 x the fetch timeout.
        if self.leader.heard.iter().filter(|&&h| h).count() >= self.majority() {
            self.leader.heard.iter_mut().for_each(|h| *h = false);
            self.leader.heard[self.id as usize] = true;
            self.leader.check_quorum_since = now;
        } else if now.saturating_sub(self.leader.check_quorum_since) > FETCH_TIMEOUT * 3 / 2 {
            return self.resign(ctx);
        }
        let (epoch, leader) = (self.epoch, self.id);
        for v in 0..self.voters() {
            let i = v as usize;
            if v != self.id && now.saturating_sub(self.leader.voter_fetch[i]) >= BEGIN_RESEND && now.saturating_sub(self.leader.begin_sent[i]) >= BEGIN_RESEND {
                self.leader.begin_sent[i] = now;
                ctx.send(Node::Controller(v), Msg::Controller(ControllerMsg::BeginQuorumEpoch { epoch, leader }));
            }
        }
        let expired: Vec<u32> = self.leader.parked_voters.iter().filter(|p| p.1 <= now).map(|p| p.0).collect();
        self.leader.parked_voters.retain(|p| p.1 > now);
        for v in expired {
            self.answer_voter(ctx, v);
        }
    }

    pub(super) fn on_vote(&mut self, ctx: &mut Ctx, epoch: u32, candidate: u32, last_epoch: u32, end: u64, pre_vote: bool) {
        let granted = if epoch < self.epoch {
            false
        } else {
            if epoch > self.epoch {
                self.become_unattached(ctx, epoch);
            }
            let up_to_date = (last_epoch, end) >= (self.log.last_epoch(), self.log.end());
            match (pre_vote, self.role) {
                (true, Role::Leader) => false,
                (true, Role::Follower(_)) => !self.fetched_this_epoch && up_to_date,
                (true, _) => up_to_date,
                (false, Role::Unattached | Role::Prospective) => match self.voted_for {
                    Some(v) => v == candidate,
                    None => up_to_date,
                },
                (false, _) => false,
            }
        };
        if granted && !pre_vote {
            self.voted_for = Some(candidate);
            self.election_deadline = Self::election_timer(ctx);
        }
        let (epoch, leader) = (self.epoch, self.known_leader());
        ctx.send(
            Node::Controller(candidate),
            Msg::Controller(ControllerMsg::VoteResponse {
                epoch,
                leader,
                granted,
                pre_vote,
            }),
        );
    }

    pub(super) fn on_vote_response(&mut self, ctx: &mut Ctx, voter: u32, epoch: u32, leader: Option<u32>, granted: bool, pre_vote: bool) {
        // A granted vote counts; a refusal naming a leader sends this node to it.
        if epoch > self.epoch || !granted {
            self.catch_up_epoch(ctx, epoch, leader);
            return;
        }
        if epoch < self.epoch {
            return;
        }
        let waiting = if pre_vote { Role::Prospective } else { Role::Candidate };
        if self.role != waiting || self.votes.contains(&voter) {
            return;
        }
        self.votes.push(voter);
        if self.votes.len() >= self.majority() {
            if pre_vote {
                self.become_candidate(ctx);
            } else {
                self.become_leader(ctx);
            }
        }
    }

    pub(super) fn on_begin_epoch(&mut self, ctx: &mut Ctx, epoch: u32, leader: u32) {
        if epoch < self.epoch || leader == self.id || self.role == Role::Follower(leader) && epoch == self.epoch {
            return;
        }
        self.become_follower(ctx, epoch, leader);
    }

    pub(super) fn send_fetch(&mut self, ctx: &mut Ctx) {
        let Role::Follower(leader) = self.role else { return };
        self.fetch_sent = Some(ctx.now);
        let (epoch, voter, end, last_epoch) = (self.epoch, self.id, self.log.end(), self.log.last_epoch());
        ctx.send(
            Node::Controller(leader),
            Msg::Controller(ControllerMsg::Fetch { epoch, voter, end, last_epoch }),
        );
    }

    fn fetch_response(&self, body: RaftFetchBody) -> Msg {
        Msg::Controller(ControllerMsg::FetchResponse(Box::new(RaftFetchResponse {
            epoch: self.epoch,
            leader: self.known_leader(),
            hw: self.log.hw,
            body,
        })))
    }

    pub(super) fn on_fetch(&mut self, ctx: &mut Ctx, voter: u32, epoch: u32, end: u64, last_epoch: u32) {
        if epoch > self.epoch {
            self.become_unattached(ctx, epoch);
        }
        if self.role != Role::Leader {
            ctx.send(Node::Controller(voter), self.fetch_response(RaftFetchBody::NotLeader));
            return;
        }
        let i = voter as usize;
        self.leader.voter_fetch[i] = ctx.now;
        self.leader.heard[i] = true;
        self.leader.parked_voters.retain(|p| p.0 != voter);
        if end > self.log.end() || self.log.epoch_at(end).is_some_and(|e| e != last_epoch) {
            let truncate_to = end.min(self.log.end_offset_for_epoch(last_epoch));
            ctx.send(Node::Controller(voter), self.fetch_response(RaftFetchBody::Diverging { truncate_to }));
            return;
        }
        self.leader.voter_end[i] = end;
        self.update_hw(ctx);
        let nothing_new = end == self.log.end() && self.leader.voter_hw[i] == self.log.hw;
        if nothing_new {
            self.leader.parked_voters.push((voter, ctx.now + FETCH_MAX_WAIT));
        } else {
            self.answer_voter(ctx, voter);
        }
    }

    /// Sends a voter what it lacks after the end it last reported.
    fn answer_voter(&mut self, ctx: &mut Ctx, voter: u32) {
        let i = voter as usize;
        let end = self.leader.voter_end[i];
        let body = match self.log.entries_after(end) {
            Some(entries) => RaftFetchBody::Entries(entries),
            None => RaftFetchBody::Snapshot {
                image: Box::new(self.log.committed.clone()),
                offset: self.log.hw,
                epoch: self.hw_epoch(),
            },
        };
        self.leader.voter_hw[i] = self.log.hw;
        ctx.send(Node::Controller(voter), self.fetch_response(body));
    }

    fn hw_epoch(&self) -> u32 {
        self.log.epoch_at(self.log.hw).unwrap_or(self.epoch)
    }

    pub(super) fn on_fetch_response(&mut self, ctx: &mut Ctx, r: RaftFetchResponse) {
        if !self.catch_up_epoch(ctx, r.epoch, r.leader) || r.epoch != self.epoch {
            return;
        }
        let Role::Follower(_) = self.role else { return };
        self.fetch_sent = None;
        match r.body {
            RaftFetchBody::NotLeader => {
                if r.leader.is_none() {
                    self.become_unattached(ctx, self.epoch);
                }
                return;
            }
            RaftFetchBody::Diverging { truncate_to } => self.log.truncate_to(truncate_to),
            RaftFetchBody::Snapshot { image, offset, epoch } => self.log.install(*image, offset, epoch),
            RaftFetchBody::Entries(entries) => {
                self.log.extend(entries);
                let hw = r.hw.min(self.log.end());
                self.log.commit_to(hw);
            }
        }
        self.last_contact = ctx.now;
        self.fetched_this_epoch = true;
        self.send_fetch(ctx);
    }

    /// Leader: the HW is the offset a majority of voters holds, once this epoch's
    /// first record is among it. Committed records are reported and acted on.
    pub(super) fn update_hw(&mut self, ctx: &mut Ctx) {
        if self.role != Role::Leader {
            return;
        }
        self.leader.voter_end[self.id as usize] = self.log.end();
        let mut ends = self.leader.voter_end.clone();
        ends.sort_unstable_by(|a, b| b.cmp(a));
        let hw = ends[ends.len() / 2];
        if hw < self.leader.epoch_start || hw <= self.log.hw {
            return;
        }
        for e in self.log.commit_to(hw) {
            if !e.report.is_empty() {
                ctx.observe(Obs::Committed {
                    offset: e.offset,
                    reports: e.report,
                });
            }
        }
        self.on_committed(ctx);
    }

    /// At the end of every handler: the leader's own appends may commit (a single
    /// voter) and parked voters learn what is new.
    pub(super) fn flush(&mut self, ctx: &mut Ctx) {
        if self.role != Role::Leader {
            return;
        }
        self.update_hw(ctx);
        let (end, hw) = (self.log.end(), self.log.hw);
        let ready: Vec<u32> = self
            .leader
            .parked_voters
            .iter()
            .map(|p| p.0)
            .filter(|&v| self.leader.voter_end[v as usize] < end || self.leader.voter_hw[v as usize] < hw)
            .collect();
        self.leader.parked_voters.retain(|p| !ready.contains(&p.0));
        for v in ready {
            self.answer_voter(ctx, v);
        }
    }
}
