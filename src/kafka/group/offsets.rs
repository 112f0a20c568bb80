//! Offsets on the coordinator: an OffsetCommit is a write to the group's
//! `__consumer_offsets` partition with acks=all, applied when it is replicated
//! (committed offsets never go backwards); an OffsetFetch answers the committed
//! offsets, or UNSTABLE_OFFSET_COMMIT while a commit for the partition is still
//! being written (require_stable, KIP-447).

use super::{CommitPayload, COMMIT_WRITER};
use crate::kafka::broker::{Broker, ProduceWait};
use crate::kafka::log::Batch;
use crate::kafka::obs::Obs;
use crate::kafka::protocol::{ConsumerMsg, GroupError, Msg};
use crate::kafka::types::{ErrorCode, Role};
use crate::kafka::Ctx;
use crate::scenario::GroupProtocol;
use crate::sim::{Micros, Node, MS};

impl Broker {
    #[allow(clippy::too_many_arguments)]
    pub(super) fn handle_commit(&mut self, ctx: &mut Ctx, consumer: u32, g: u32, req_id: u64, member_id: String, generation: i32, offsets: Vec<(u32, u64)>) {
        let now = ctx.now;
        let (offsets, error, pidx, group_generation) = {
            let groups = self.groups.borrow();
            let grp = &groups[g as usize];
            let classic = grp.cfg.protocol == GroupProtocol::Classic;
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
                Some(_) if classic && grp.state == super::GroupState::CompletingRebalance => Some(GroupError::RebalanceInProgress),
                Some(_) => None,
            };
            (offsets, error, grp.offsets_pidx, grp.generation)
        };
        if let Some(e) = error {
            self.reply(ctx, consumer, ConsumerMsg::CommitDone { req_id, error: Some(e) });
            return;
        }
        // The commit is a write to __consumer_offsets with acks=all.
        let batch = Batch {
            base_offset: 0,
            records: offsets.len().max(1) as u32,
            bytes: 60 * offsets.len().max(1) as u32,
            epoch: 0,
            producer: COMMIT_WRITER,
            audit_seq: 0,
            idem: None,
            created_us: now,
            created_end_us: now,
        };
        match self.append_commit(ctx, pidx, batch) {
            Ok(end) => {
                let until = now + self.cluster.config.replica_lag_time_max_ms * MS;
                {
                    let mut groups = self.groups.borrow_mut();
                    let pending = &mut groups[g as usize].pending_commits;
                    for &(p, _) in &offsets {
                        let e = pending.entry(p).or_insert((0, 0));
                        *e = (e.0 + 1, until);
                    }
                }
                // Waits (acks=all) for the commit batch to reach the HW, then applies it.
                let timeout = self.cluster.config.replica_lag_time_max_ms * MS;
                let wait = ProduceWait {
                    client: Node::Consumer(consumer),
                    req_id,
                    remaining: 1,
                    deadline: now + timeout,
                    results: vec![(pidx, None)],
                    commit: Some((g, group_generation, offsets)),
                };
                let (slot, gen) = self.park_wait(wait);
                if let Some(r) = self.replica_mut(pidx) {
                    r.purgatory.push_back((end, slot, gen));
                }
                self.after_leader_append(ctx, pidx);
            }
            Err(_) => self.reply(
                ctx,
                consumer,
                ConsumerMsg::CommitDone {
                    req_id,
                    error: Some(GroupError::NotCoordinator),
                },
            ),
        }
    }

    /// The coordinator appends an offset commit to its `__consumer_offsets` partition.
    fn append_commit(&mut self, ctx: &mut Ctx, pidx: u32, mut batch: Batch) -> Result<u64, ErrorCode> {
        let broker = self.id;
        let r = self.replica_mut(pidx).ok_or(ErrorCode::NotLeaderOrFollower)?;
        if r.role != Role::Leader {
            return Err(ErrorCode::NotLeaderOrFollower);
        }
        batch.epoch = r.known.leader_epoch;
        batch.base_offset = r.log.append(batch);
        ctx.observe(Obs::Appended { pidx, broker, batch });
        Ok(r.log.leo)
    }

    /// A commit's write finished (replicated, or failed): apply it and answer.
    pub(crate) fn commit_written(&mut self, ctx: &mut Ctx, at: Micros, consumer: u32, req_id: u64, commit: CommitPayload, written: bool) {
        let (g, generation, offsets) = commit;
        let current = {
            let mut groups = self.groups.borrow_mut();
            let grp = &mut groups[g as usize];
            for (p, _) in &offsets {
                if let Some(e) = grp.pending_commits.get_mut(p) {
                    e.0 = e.0.saturating_sub(1);
                    if e.0 == 0 {
                        grp.pending_commits.remove(p);
                    }
                }
            }
            // Classic: a commit from a generation the group has moved past is
            // fenced, so a late write from a previous owner cannot move an offset
            // backwards. KIP-848 commits were checked against ownership when taken
            // (GroupRequest::OffsetCommit), and are applied in log order.
            let current = match grp.cfg.protocol {
                GroupProtocol::Classic => generation >= grp.generation,
                GroupProtocol::Consumer => true,
            };
            if written && current {
                // Applied once replicated (invariant 5, checked outside: offsets never go back).
                for &(p, o) in &offsets {
                    grp.offsets.insert(p, o);
                    ctx.observe(Obs::OffsetCommitted { group: g, pidx: p, offset: o });
                }
            }
            current
        };
        let error = match (written, current) {
            (false, _) => Some(GroupError::NotCoordinator),
            (true, false) => Some(GroupError::IllegalGeneration),
            (true, true) => None,
        };
        ctx.send_at(at, Node::Consumer(consumer), Msg::Consumer(ConsumerMsg::CommitDone { req_id, error }));
    }

    pub(super) fn handle_offset_fetch(&mut self, ctx: &mut Ctx, consumer: u32, g: u32, req_id: u64, partitions: Vec<u32>) {
        let now = ctx.now;
        let offsets = {
            let groups = self.groups.borrow();
            let grp = &groups[g as usize];
            let unstable = partitions
                .iter()
                .any(|p| grp.pending_commits.get(p).is_some_and(|&(n, until)| n > 0 && until > now));
            if unstable {
                Err(GroupError::UnstableOffsetCommit)
            } else {
                Ok(partitions.iter().map(|p| (*p, grp.offsets.get(p).copied())).collect())
            }
        };
        self.reply(ctx, consumer, ConsumerMsg::Offsets { req_id, offsets });
    }
}
