//! Offsets on the coordinator: an OffsetCommit is checked when it arrives
//! (member, generation, ownership), then written to the group's
//! `__consumer_offsets` partition with acks=all and applied when it is
//! replicated, in log order (as a new coordinator replays them); an OffsetFetch
//! answers the committed offsets, or UNSTABLE_OFFSET_COMMIT while a commit for
//! the partition is still being written (require_stable, KIP-447).

use super::CommitPayload;
use crate::kafka::broker::{Broker, ProduceWait, WaitThen};
use crate::kafka::obs::Obs;
use crate::kafka::protocol::{ConsumerMsg, GroupError, Msg};
use crate::kafka::records::Record;
use crate::kafka::Ctx;
use crate::scenario::GroupProtocol;
use crate::sim::{Micros, Node, MS};

/// `offsets.commit.timeout.ms`: how long a commit waits for its write to be
/// replicated before the coordinator answers with an error (the client retries).
pub const OFFSETS_COMMIT_TIMEOUT: Micros = 5_000 * MS;

impl Broker {
    #[allow(clippy::too_many_arguments)]
    pub(super) fn handle_commit(&mut self, ctx: &mut Ctx, consumer: u32, g: u32, req_id: u64, member_id: String, generation: i32, offsets: Vec<(u32, u64)>) {
        let now = ctx.now;
        let (offsets, error, pidx) = {
            let grp = self.coordinator.group(g);
            let classic = grp.info.cfg.protocol == GroupProtocol::Classic;
            // KIP-848: only partitions the member owns now.
            let offsets: Vec<(u32, u64)> = match grp.members.get(&member_id) {
                Some(m) if !classic => offsets.into_iter().filter(|(p, _)| m.assignment.contains(p)).collect(),
                _ => offsets,
            };
            let error = match grp.members.get(&member_id) {
                None => Some(GroupError::UnknownMemberId),
                Some(_) if classic && generation != grp.generation => Some(GroupError::IllegalGeneration),
                // KIP-848 members commit with exactly their current member epoch (which
                // may trail the group epoch).
                Some(m) if !classic && generation != m.member_epoch => Some(GroupError::StaleMemberEpoch),
                Some(_) if classic && grp.state == super::GroupState::CompletingRebalance => Some(GroupError::RebalanceInProgress),
                Some(_) => None,
            };
            (offsets, error, grp.info.offsets_pidx)
        };
        if let Some(e) = error {
            self.reply(ctx, consumer, ConsumerMsg::CommitDone { req_id, error: Some(e) });
            return;
        }
        // The commit is a write to __consumer_offsets with acks=all: what is accepted
        // is written in order, so a later leave or a new owner's commit comes after it.
        let n = offsets.len().max(1) as u32;
        let record = Record::OffsetCommit {
            group: g,
            offsets: offsets.clone(),
        };
        match self.append_internal(ctx, pidx, record, n, 60 * n) {
            Ok(end) => {
                // Pending until its record is replicated or lost, whatever the
                // client hears (a new owner's OffsetFetch waits, as require_stable
                // waits in Kafka for what the coordinator has written).
                self.coordinator.group_mut(g).hold_commits(&offsets, Micros::MAX);
                // Waits (acks=all) for the commit batch to reach the HW, then applies it.
                let timeout = OFFSETS_COMMIT_TIMEOUT;
                let wait = ProduceWait {
                    client: Node::Consumer(consumer),
                    req_id,
                    remaining: 1,
                    deadline: now + timeout,
                    results: vec![(pidx, None)],
                    then: WaitThen::OffsetCommit((g, offsets)),
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

    /// A commit's write finished (replicated, or failed): apply it and answer
    /// (unless the consumer was answered when it timed out).
    pub(crate) fn commit_written(&mut self, ctx: &mut Ctx, at: Micros, answer: Option<(u32, u64)>, commit: CommitPayload, written: bool) {
        let (g, offsets) = commit;
        // The group went with the partition's leadership: the client asks the new coordinator.
        let applied = match self.coordinator.groups.get_mut(&g) {
            Some(grp) => {
                grp.release_commits(&offsets);
                if written {
                    // Applied once replicated, in log order (invariant 5, checked outside:
                    // offsets never go back).
                    for &(p, o) in &offsets {
                        grp.offsets.insert(p, o);
                        ctx.observe(Obs::OffsetCommitted { group: g, pidx: p, offset: o });
                    }
                }
                written
            }
            None => false,
        };
        if let Some((consumer, req_id)) = answer {
            let error = (!applied).then_some(GroupError::NotCoordinator);
            ctx.send_at(at, Node::Consumer(consumer), Msg::Consumer(ConsumerMsg::CommitDone { req_id, error }));
        }
    }

    pub(super) fn handle_offset_fetch(&mut self, ctx: &mut Ctx, consumer: u32, g: u32, req_id: u64, partitions: Vec<u32>) {
        let now = ctx.now;
        let offsets = {
            let grp = self.coordinator.group(g);
            let in_txn = |p: &u32| grp.txn_offsets.values().any(|o| o.iter().any(|e| e.0 == *p));
            let unstable = partitions
                .iter()
                .any(|p| grp.pending_commits.get(p).is_some_and(|&(n, until)| n > 0 && until > now) || in_txn(p));
            if unstable {
                Err(GroupError::UnstableOffsetCommit)
            } else {
                Ok(partitions.iter().map(|p| (*p, grp.offsets.get(p).copied())).collect())
            }
        };
        self.reply(ctx, consumer, ConsumerMsg::Offsets { req_id, offsets });
    }
}
