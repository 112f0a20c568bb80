//! The member side of the classic group protocol: finding the coordinator,
//! JoinGroup and SyncGroup (the leader runs the assignor, client-side), the
//! background heartbeat thread with the `max.poll.interval.ms` check, eager and
//! cooperative (KIP-429) revocation, and offset commits.

use super::{Consumer, Phase, COORDINATOR_RETRY, REQUEST_TIMEOUT, RETRY_BACKOFF};
use crate::assignors::{self, Strategy};
use crate::kafka::group::{assignor_input, global_assignment, LEAVE_EPOCH};
use crate::kafka::notable::Notable;
use crate::kafka::obs::{Obs, RebalanceObs};
use crate::kafka::protocol::{BrokerMsg, GroupError, GroupRequest, MemberInfo, Msg, Timer};
use crate::kafka::Ctx;
use crate::scenario::GroupProtocol;
use crate::sim::{Node, SortSmall, MS};

impl Consumer {
    pub(super) fn find_coordinator(&mut self, ctx: &mut Ctx) {
        let now = ctx.now;
        if self.find_in_flight.is_some_and(|(_, t)| now.saturating_sub(t) < COORDINATOR_RETRY) {
            return;
        }
        let req_id = self.req();
        self.find_in_flight = Some((req_id, now));
        self.meta_target += 1;
        let target = self.meta_target % self.setup.cluster.brokers();
        ctx.send(
            Node::Broker(target),
            Msg::Broker(BrokerMsg::Group {
                group: self.group,
                req: Box::new(GroupRequest::FindCoordinator { req_id }),
            }),
        );
    }

    pub(super) fn start_join(&mut self, ctx: &mut Ctx) {
        let cooperative = self.cfg().cooperative();
        let auto_commit = self.cfg().enable_auto_commit;
        if !cooperative && !self.assigned.is_empty() {
            // Eager: commit what was consumed, then give everything up before joining.
            if auto_commit && !self.uncommitted().is_empty() && self.phase == Phase::Stable {
                self.join_after_commit = true;
                self.commit_offsets(ctx);
                return;
            }
            self.revoke_all_eager(ctx);
        }
        self.rejoin = false;
        self.phase = Phase::Joining;
        let owned = self.assigned.clone();
        let (member_id, instance_id) = (self.member_id.clone(), self.instance_id.clone());
        // The generation it owns them in (ConsumerProtocolSubscription's generationId).
        let generation = if owned.is_empty() { -1 } else { self.generation };
        self.send_group_request(
            ctx,
            GroupRequest::Join {
                member_id,
                instance_id,
                owned,
                generation,
            },
        );
    }

    /// Eager (onJoinPrepare): every owned partition is revoked before the JoinGroup;
    /// the timeline shows it (the rebalance's start already counted them).
    fn revoke_all_eager(&mut self, ctx: &mut Ctx) {
        if self.assigned.is_empty() {
            return;
        }
        let all = self.assigned.clone();
        self.drop_partitions(&all);
        ctx.observe(Obs::rebalance(
            self.group,
            RebalanceObs::Step {
                kind: "revoke",
                member: self.label(),
                partitions: all,
            },
        ));
    }

    /// MEMBER_ID_REQUIRED: join again at once, with the id the coordinator picked.
    pub(super) fn on_member_id_required(&mut self, ctx: &mut Ctx, member_id: String) {
        if self.phase != Phase::Joining || !self.member_id.is_empty() {
            return;
        }
        self.member_id = member_id;
        self.start_join(ctx);
    }

    pub(super) fn commit_offsets(&mut self, ctx: &mut Ctx) {
        if self.processing.is_some() {
            // A processing member commits with its producer (`process.rs`).
            return;
        }
        let now = ctx.now;
        self.last_commit_at = now;
        let offsets = self.uncommitted();
        if offsets.is_empty() || self.commit_in_flight.is_some() || self.member_id.is_empty() {
            if self.join_after_commit && self.commit_in_flight.is_none() {
                self.join_after_commit = false;
                self.revoke_all_eager(ctx);
                self.start_join(ctx);
            }
            return;
        }
        let req_id = self.req();
        self.send_offset_commit(ctx, req_id, offsets);
    }

    /// An OffsetCommit with the member's id and generation, as the commit in flight.
    pub(super) fn send_offset_commit(&mut self, ctx: &mut Ctx, req_id: u64, offsets: Vec<(u32, u64)>) {
        self.commit_in_flight = Some((req_id, ctx.now, offsets.clone()));
        let (member_id, generation) = (self.member_id.clone(), self.generation);
        self.send_group_request(
            ctx,
            GroupRequest::OffsetCommit {
                req_id,
                member_id,
                generation,
                offsets,
            },
        );
    }

    /// The background heartbeat thread, and the max.poll.interval.ms check.
    pub(super) fn heartbeat(&mut self, ctx: &mut Ctx) {
        let now = ctx.now;
        let cfg = self.setup.cfg.clone();
        let kip848 = cfg.protocol == GroupProtocol::Consumer;
        let share = cfg.protocol == GroupProtocol::Share;
        let interval = if kip848 || share {
            cfg.group_consumer_heartbeat_interval_ms
        } else {
            cfg.heartbeat_interval_ms
        } * MS;
        ctx.timer(interval, Timer::ConsumerHeartbeat);
        if self.member_id.is_empty() || self.phase == Phase::Unjoined || self.heartbeats_stopped {
            return;
        }
        // Commit and request timeouts are checked here too.
        if self.commit_in_flight.as_ref().is_some_and(|(_, t, _)| now.saturating_sub(*t) > REQUEST_TIMEOUT) {
            self.commit_in_flight = None;
            self.coordinator = None;
        }
        if self.meta_in_flight.is_some_and(|(_, t, _)| now.saturating_sub(t) > REQUEST_TIMEOUT) {
            self.meta_in_flight = None;
        }
        if self.fetches.values().any(|(_, t, _)| now.saturating_sub(*t) > REQUEST_TIMEOUT) {
            self.fetches.retain(|_, (_, t, _)| now.saturating_sub(*t) <= REQUEST_TIMEOUT);
            self.want_metadata = true;
        }
        if self.poll_interval_expired(ctx) {
            return;
        }
        if kip848 || share {
            if self.coordinator.is_none() {
                self.find_coordinator(ctx);
            } else if share {
                self.send_share_heartbeat(ctx);
            } else {
                self.send_consumer_heartbeat(ctx);
            }
            return;
        }
        let (member_id, generation) = (self.member_id.clone(), self.generation);
        if self.coordinator.is_none() {
            self.find_coordinator(ctx);
            return;
        }
        // The heartbeat thread is disabled while a JoinGroup waits for its answer
        // (AbstractCoordinator enables it again on the JoinGroup response).
        if self.phase == Phase::Joining {
            return;
        }
        self.send_group_request(ctx, GroupRequest::Heartbeat { member_id, generation });
    }

    /// The heartbeat thread's `max.poll.interval.ms` check: it wakes at least every
    /// `retry.backoff.ms` (AbstractCoordinator's HeartbeatThread), so a stalled poll
    /// loop is noticed within 100 ms of the deadline, not at the next heartbeat.
    /// True if the member gave up its membership (or its heartbeats) now.
    pub(super) fn poll_interval_expired(&mut self, ctx: &mut Ctx) -> bool {
        let now = ctx.now;
        let cfg = self.setup.cfg.clone();
        let kip848 = cfg.protocol == GroupProtocol::Consumer;
        let max_poll = cfg.max_poll_interval_ms * MS;
        if self.member_id.is_empty() || self.phase == Phase::Unjoined || self.heartbeats_stopped {
            return false;
        }
        if now.saturating_sub(self.last_poll) > max_poll {
            let label = self.label();
            if self.instance_id.is_some() {
                // Static members never send LeaveGroup: only the session timeout removes them.
                self.heartbeats_stopped = true;
                ctx.observe(Obs::note(Notable::Text(format!(
                    "consumer {label}: poll loop stalled past max.poll.interval.ms, heartbeats stop (static)"
                ))));
            } else {
                let member_id = std::mem::take(&mut self.member_id);
                let all = self.assigned.clone();
                self.drop_partitions(&all);
                self.phase = Phase::Unjoined;
                ctx.observe(Obs::note(Notable::Text(format!(
                    "consumer {label}: poll loop stalled past max.poll.interval.ms, leaving the group"
                ))));
                let req = if cfg.protocol == GroupProtocol::Share {
                    GroupRequest::ShareHeartbeat {
                        member_id,
                        member_epoch: LEAVE_EPOCH,
                    }
                } else if kip848 {
                    GroupRequest::ConsumerHeartbeat {
                        member_id,
                        member_epoch: LEAVE_EPOCH,
                        instance_id: None,
                        owned: Vec::new(),
                    }
                } else {
                    GroupRequest::Leave {
                        member_id,
                        reason: "poll_timeout",
                    }
                };
                self.send_group_request(ctx, req);
            }
            return true;
        }
        false
    }

    /// The next wake-up of the heartbeat thread after the poll deadline, on its
    /// `retry.backoff.ms` grid from when the process started.
    pub(super) fn schedule_poll_check(&mut self, ctx: &mut Ctx) {
        let max_poll = self.cfg().max_poll_interval_ms * MS;
        let mut deadline = self.last_poll.max(self.started_at) + max_poll;
        if deadline <= ctx.now {
            // Past it without expiring (not a member, or heartbeats already stopped):
            // only a poll makes a new deadline, at least `max_poll` from now.
            deadline = ctx.now + max_poll;
        }
        let from = self.started_at;
        let at = from + (deadline.saturating_sub(from) / RETRY_BACKOFF + 1) * RETRY_BACKOFF;
        ctx.timer(at - ctx.now, Timer::ConsumerPollCheck);
    }

    /// Loses the membership without a chance to commit (Kafka's onPartitionsLost).
    pub(super) fn lose_membership(&mut self, forget_id: bool) {
        let all = self.assigned.clone();
        self.drop_partitions(&all);
        self.phase = Phase::Unjoined;
        self.generation = -1;
        if forget_id {
            self.member_id.clear();
        }
    }

    pub(super) fn on_joined(&mut self, ctx: &mut Ctx, member_id: String, generation: i32, leader: String, members: Option<Vec<MemberInfo>>) {
        if self.phase != Phase::Joining && members.is_none() && self.phase != Phase::Unjoined {
            return;
        }
        self.member_id = member_id.clone();
        self.generation = generation;
        self.phase = Phase::Syncing;
        let assignments = match members {
            Some(infos) if leader == member_id => Some(self.run_assignor(&infos)),
            _ => None,
        };
        self.send_group_request(
            ctx,
            GroupRequest::Sync {
                member_id,
                generation,
                assignments,
            },
        );
    }

    pub(super) fn on_synced(&mut self, ctx: &mut Ctx, generation: i32, assignment: Result<Vec<u32>, GroupError>) {
        if self.phase != Phase::Syncing || generation != self.generation {
            return;
        }
        match assignment {
            Ok(parts) => self.on_assignment(ctx, parts),
            Err(e) => {
                Self::count_group_error(ctx, e);
                self.phase = Phase::Stable;
                self.rejoin = true;
                if e == GroupError::UnknownMemberId {
                    self.lose_membership(true);
                }
            }
        }
    }

    pub(super) fn on_heartbeat_done(&mut self, ctx: &mut Ctx, generation: i32, error: Option<GroupError>) {
        match error {
            None => {}
            // Rejoin only if still stable in the generation the heartbeat was
            // about: a member already joining, or already in the next
            // generation, would otherwise start one more rebalance, forever.
            Some(GroupError::RebalanceInProgress) if self.phase == Phase::Stable && self.generation == generation => self.rejoin = true,
            Some(GroupError::RebalanceInProgress) => {}
            Some(GroupError::NotCoordinator) => self.coordinator = None,
            // About a generation the member has already left behind (it rejoined
            // meanwhile): Kafka's HeartbeatResponseHandler ignores it.
            Some(GroupError::IllegalGeneration) if generation != self.generation => {}
            Some(e) => {
                Self::count_group_error(ctx, e);
                self.lose_membership(e == GroupError::UnknownMemberId);
            }
        }
    }

    pub(super) fn on_commit_done(&mut self, ctx: &mut Ctx, req_id: u64, error: Option<GroupError>) {
        if self.commit_in_flight.as_ref().map(|f| f.0) != Some(req_id) {
            return;
        }
        let (_, _, sent) = self.commit_in_flight.take().expect("checked");
        if let Some(e) = error {
            Self::count_group_error(ctx, e);
            if e == GroupError::NotCoordinator {
                self.coordinator = None;
            }
        }
        if error.is_none() {
            for (p, o) in sent {
                self.committed.insert(p, o);
            }
        }
        if !self.revoke_after_commit.is_empty() {
            let revoked = std::mem::take(&mut self.revoke_after_commit);
            // STALE_MEMBER_EPOCH: the commit before revocation retries with the
            // epoch the member knows now (CommitRequestManager).
            let retry = error.is_none() || (error == Some(GroupError::StaleMemberEpoch) && self.generation != self.revoke_commit_epoch);
            if retry && self.commit_before_revoke(ctx, &revoked) {
                return;
            }
            self.drop_partitions(&revoked);
            self.send_consumer_heartbeat(ctx);
            return;
        }
        if self.join_after_commit {
            // Revocation commits what was consumed up to now, then joins.
            if error.is_none() && !self.uncommitted().is_empty() && !self.member_id.is_empty() {
                self.commit_offsets(ctx);
            } else {
                self.join_after_commit = false;
                self.revoke_all_eager(ctx);
                self.start_join(ctx);
            }
        }
    }

    /// The group leader runs the assignor (client-side, as in the classic protocol).
    fn run_assignor(&self, infos: &[MemberInfo]) -> Vec<(String, Vec<u32>)> {
        let strategy: Strategy = self.cfg().assignor_name().parse().unwrap_or(Strategy::Range);
        let cluster = &self.setup.cluster;
        let (topics, members) = assignor_input(
            cluster,
            &self.setup.topics,
            infos.iter().map(|m| (&m.member_id, &m.instance_id, m.owned.as_slice(), m.generation)),
        );
        let result = assignors::assign(strategy, &topics, &members).unwrap_or_default();
        global_assignment(cluster, result).into_iter().collect()
    }

    fn on_assignment(&mut self, ctx: &mut Ctx, parts: Vec<u32>) {
        let cooperative = self.cfg().cooperative();
        self.phase = Phase::Stable;
        let revoked: Vec<u32> = self.assigned.iter().copied().filter(|p| !parts.contains(p)).collect();
        let added: Vec<u32> = parts.iter().copied().filter(|p| !self.assigned.contains(p)).collect();
        if cooperative && !revoked.is_empty() {
            // KIP-429: give up only what moves (after committing it), then rejoin so
            // the next round can hand it to its new owner.
            let label = self.label();
            let commit: Vec<(u32, u64)> = self.uncommitted().into_iter().filter(|(p, _)| revoked.contains(p)).collect();
            self.drop_partitions(&revoked);
            self.rejoin = true;
            if self.cfg().enable_auto_commit && !commit.is_empty() {
                let req_id = self.req();
                if self.commit_in_flight.is_none() {
                    self.send_offset_commit(ctx, req_id, commit);
                }
            }
            ctx.observe(Obs::rebalance(self.group, RebalanceObs::Revoked { partitions: revoked.clone() }));
            ctx.observe(Obs::rebalance(
                self.group,
                RebalanceObs::Step {
                    kind: "revoke",
                    member: label,
                    partitions: revoked.clone(),
                },
            ));
        }
        for &p in &added {
            self.adopt_partition(p);
        }
        self.assigned.sort_small();
        if !added.is_empty() {
            self.request_offsets(ctx);
        }
        self.schedule_poll(ctx, 0);
    }
}
