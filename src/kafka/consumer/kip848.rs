//! The member side of KIP-848: heartbeats carry what the member owns; an answer
//! carries its member epoch and its assignment. The member gives up what it no
//! longer owns (committing it first), starts fetching what is new, and tells the
//! coordinator at once.

use super::{Consumer, ConsumerState, Phase};
use crate::kafka::protocol::{GroupError, GroupRequest};
use crate::kafka::Ctx;

impl Consumer {
    pub(super) fn send_consumer_heartbeat(&mut self, ctx: &mut Ctx) {
        if self.state != ConsumerState::Running || self.coordinator.is_none() {
            return;
        }
        let (member_id, member_epoch) = self.heartbeat_member();
        let req = GroupRequest::ConsumerHeartbeat {
            member_id,
            member_epoch,
            instance_id: self.instance_id.clone(),
            owned: self.assigned.clone(),
        };
        self.send_group_request(ctx, req);
    }

    /// A heartbeat answer: adopt the member id and epoch, revoke what is no longer
    /// ours (committing it first), start fetching what is new, and say so at once.
    pub(super) fn on_consumer_heartbeat(
        &mut self,
        ctx: &mut Ctx,
        member_id: String,
        member_epoch: i32,
        assignment: Option<Vec<u32>>,
        error: Option<GroupError>,
    ) {
        if let Some(e) = error {
            Self::count_group_error(ctx, e);
            match e {
                GroupError::NotCoordinator => self.coordinator = None,
                _ => {
                    let all = self.assigned.clone();
                    self.drop_partitions(&all);
                    self.member_id.clear();
                    self.generation = 0;
                    self.phase = Phase::Unjoined;
                }
            }
            return;
        }
        self.member_id = member_id;
        self.generation = member_epoch;
        self.phase = Phase::Stable;
        let Some(target) = assignment else { return };
        let revoked: Vec<u32> = self.assigned.iter().copied().filter(|p| !target.contains(p)).collect();
        let added: Vec<u32> = target.iter().copied().filter(|p| !self.assigned.contains(p)).collect();
        if revoked.is_empty() && added.is_empty() {
            return;
        }
        let waiting = !revoked.is_empty() && self.commit_before_revoke(ctx, &revoked);
        if !waiting {
            self.drop_partitions(&revoked);
        }
        for p in added {
            self.adopt_partition(p);
        }
        self.request_offsets(ctx);
        // Tell the coordinator right away what we own now (KIP-848 members heartbeat
        // immediately after reconciling); with a commit pending, after it.
        if !waiting {
            self.send_consumer_heartbeat(ctx);
        }
    }

    /// KIP-848 revocation: commit what was consumed from these partitions, and give
    /// them back (heartbeat) only when the commit is done.
    pub(super) fn commit_before_revoke(&mut self, ctx: &mut Ctx, revoked: &[u32]) -> bool {
        let commit: Vec<(u32, u64)> = self.uncommitted().into_iter().filter(|(p, _)| revoked.contains(p)).collect();
        if !self.cfg().enable_auto_commit || commit.is_empty() {
            return false;
        }
        self.stop_fetching(revoked);
        if self.commit_in_flight.is_some() {
            // Wait for it; the revoked partitions are committed again after it if needed.
            self.revoke_after_commit = revoked.to_vec();
            return true;
        }
        let req_id = self.req();
        self.revoke_after_commit = revoked.to_vec();
        self.revoke_commit_epoch = self.generation;
        self.send_offset_commit(ctx, req_id, commit);
        true
    }
}
