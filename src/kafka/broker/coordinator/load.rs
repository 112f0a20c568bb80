//! The coordinator's state lives in `__consumer_offsets`, like every record of
//! the group: offset commits, and the group's state written after each change
//! (Kafka's GroupMetadata record after a SyncGroup; for the consumer protocol,
//! its member and target-assignment records). A broker that becomes leader of
//! the partition loads its groups from its own replica; one that stops being
//! leader drops them. Heartbeat clocks restart on load, and a rebalance in
//! flight on the old coordinator starts over when members come back.

use super::{Group, GroupMember, COMMIT_WRITER};
use crate::kafka::broker::Broker;
use crate::kafka::log::{Batch, TxnMark};
use crate::kafka::notable::Notable;
use crate::kafka::obs::{Appended, Obs};
use crate::kafka::records::{GroupSnapshot, MemberSnapshot, Record};
use crate::kafka::share::ShareSnapshot;
use crate::kafka::types::{ErrorCode, Role};
use crate::kafka::Ctx;
use std::rc::Rc;

impl Broker {
    /// Appends a coordinator record to `pidx` if this broker leads it, and wakes
    /// the followers. Returns the log end after it.
    pub(crate) fn append_internal(&mut self, ctx: &mut Ctx, pidx: u32, record: Record, records: u32, bytes: u32) -> Result<u64, ErrorCode> {
        let broker = self.id;
        let r = self.replica_mut(pidx).ok_or(ErrorCode::NotLeaderOrFollower)?;
        if r.role != Role::Leader {
            return Err(ErrorCode::NotLeaderOrFollower);
        }
        let batch = Batch {
            base_offset: 0,
            records,
            bytes,
            epoch: r.known.leader_epoch,
            producer: COMMIT_WRITER,
            pid: COMMIT_WRITER,
            txn: TxnMark::None,
            audit_seq: 0,
            idem: None,
            created_us: ctx.now,
            created_end_us: ctx.now,
            payload: Some(Rc::new(record)),
        };
        let appended = Appended::of(&batch, r.log.leo);
        r.log.append(batch);
        let end = r.log.leo;
        ctx.observe(Obs::Appended { pidx, broker, batch: appended });
        Ok(end)
    }

    /// Writes the group's state (after a change the next coordinator must know).
    pub(super) fn persist_group(&mut self, ctx: &mut Ctx, g: u32) {
        let grp = self.coordinator.group(g);
        let members: Vec<MemberSnapshot> = grp
            .members
            .iter()
            .map(|(id, m)| MemberSnapshot {
                id: id.clone(),
                instance_id: m.instance_id.clone(),
                consumer: m.consumer,
                join_order: m.join_order,
                assignment: m.assignment.clone(),
                member_epoch: m.member_epoch,
                revoking: m.revoking.clone(),
            })
            .collect();
        let bytes = 100 + 60 * members.len() as u32;
        let snapshot = GroupSnapshot {
            group: g,
            state: grp.state,
            generation: grp.generation,
            leader: grp.leader.clone(),
            members,
            target: grp.target.clone(),
            next_member: grp.next_member,
            next_join_order: grp.next_join_order,
        };
        let pidx = grp.info.offsets_pidx;
        if self.append_internal(ctx, pidx, Record::GroupMetadata(Box::new(snapshot)), 1, bytes).is_ok() {
            self.after_leader_append(ctx, pidx);
        }
    }

    /// This broker became leader of offsets partition `pidx`: it loads the groups
    /// whose records are there.
    pub(crate) fn load_groups(&mut self, ctx: &mut Ctx, pidx: u32) {
        let Some(r) = self.replica(pidx) else { return };
        let mut snapshots: Vec<(u32, &GroupSnapshot)> = Vec::new();
        let mut offsets: Vec<(usize, u32, u32, u64)> = Vec::new();
        let mut shares: crate::sim::VecMap<(u32, u32), &ShareSnapshot> = crate::sim::VecMap::default();
        for (i, b) in r.log.batches.iter().enumerate() {
            match b.payload.as_deref() {
                Some(Record::GroupMetadata(s)) => match snapshots.iter_mut().find(|e| e.0 == s.group) {
                    Some(e) => e.1 = s,
                    None => snapshots.push((s.group, s)),
                },
                Some(Record::OffsetCommit { group, offsets: o }) => offsets.extend(o.iter().map(|&(p, off)| (i, *group, p, off))),
                Some(Record::ShareState { group, pidx, snapshot }) => {
                    shares.insert((*group, *pidx), snapshot);
                }
                Some(Record::TxnState(_) | Record::TxnOffsetCommit { .. }) | None => {}
            }
        }
        // Transactional offsets count where their COMMIT marker is, in log order.
        let (txn_committed, txn_pending) = super::txn_offsets::replay_txn_offsets(&r.log.batches);
        offsets.extend(txn_committed);
        crate::sim::SortSmall::sort_small_by_key(&mut offsets[..], |e| e.0);
        let mut loaded: Vec<Group> = Vec::new();
        for (g, info) in self.cluster.groups.iter().enumerate() {
            let g = g as u32;
            if info.offsets_pidx != pidx {
                continue;
            }
            let snapshot = snapshots.iter().find(|e| e.0 == g).map(|e| e.1);
            let commits: Vec<(u32, u64)> = offsets.iter().filter(|e| e.1 == g).map(|e| (e.2, e.3)).collect();
            let held: Vec<(u32, Vec<(u32, u64)>)> = txn_pending.iter().filter(|e| e.0 == g).map(|e| (e.1, e.2.clone())).collect();
            let mut share_state: crate::sim::VecMap<u32, ShareSnapshot> = crate::sim::VecMap::default();
            for (&(_, p), s) in shares.iter().filter(|(k, _)| k.0 == g) {
                share_state.insert(p, (*s).clone());
            }
            if snapshot.is_none() && commits.is_empty() && share_state.is_empty() && held.is_empty() {
                continue;
            }
            let mut grp = Group::new(g, info.clone());
            if let Some(s) = snapshot {
                grp.state = s.state;
                grp.generation = s.generation;
                grp.leader = s.leader.clone();
                grp.target = s.target.clone();
                grp.next_member = s.next_member;
                grp.next_join_order = s.next_join_order;
                for m in &s.members {
                    let mut member = GroupMember::new(m.consumer, m.instance_id.clone(), m.join_order, ctx.now);
                    member.assignment = m.assignment.clone();
                    member.owned = m.assignment.clone();
                    member.owned_generation = s.generation;
                    member.member_epoch = m.member_epoch;
                    member.revoking = m.revoking.clone();
                    member.joined = true;
                    grp.members.insert(m.id.clone(), member);
                }
            }
            for (p, o) in commits {
                grp.offsets.insert(p, o);
            }
            for (pid, o) in held {
                grp.txn_offsets.insert(pid, o);
            }
            grp.share_state = share_state;
            grp.last_cause = Some("coordinator_moved");
            loaded.push(grp);
        }
        for grp in loaded {
            let id = grp.info.cfg.id.clone();
            ctx.observe(Obs::note(Notable::Text(format!("group {id}: coordinator moved to broker {}", self.id))));
            self.coordinator.groups.insert(grp.index, grp);
        }
    }

    /// This broker stopped leading offsets partition `pidx`: its groups go with it.
    pub(crate) fn unload_groups(&mut self, pidx: u32) {
        self.coordinator.groups.retain(|_, g| g.info.offsets_pidx != pidx);
    }
}
