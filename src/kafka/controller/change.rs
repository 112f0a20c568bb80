//! Kafka's PartitionChangeBuilder as a pure function: a wanted change of one
//! partition (a new ISR from AlterPartition, a broker fenced, shutting down or
//! back after an unclean shutdown, a leaderless partition to fill, a preferred
//! leader to restore) becomes the partition's next leader, ISR, eligible leader
//! replicas (KIP-966) and last known leader, by Kafka's rules:
//!
//! - With ELR on, if the new ISR reaches the effective min ISR (min of
//!   `min.insync.replicas` and the replication factor) the ELR and the last known
//!   leader are cleared; otherwise ELR = (old ELR ∪ old ISR) − new ISR − a broker
//!   with an unclean shutdown. The ISR may then become empty.
//! - With ELR off the ISR never becomes empty: its last member stays, leaderless.
//! - The leader: the current one if still valid; else the first acceptable ISR
//!   replica in assignment order; else, with an empty ISR, the first acceptable
//!   ELR replica (the ISR becomes it alone); else, with ISR and ELR empty, the
//!   last known leader if acceptable (counted as unclean); else, with
//!   `unclean.leader.election.enable`, any acceptable replica (unclean: ELR
//!   cleared); else none.
//! - The last known leader is set to the previous leader when the ISR becomes
//!   empty, and cleared once the partition has a leader.

use crate::kafka::types::PartMeta;
use crate::sim::SortSmall;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Election {
    /// Keep the partition online: ISR, then ELR, then the last known leader.
    Online,
    /// As `Online`, then any acceptable replica (`unclean.leader.election.enable`).
    Unclean,
    /// The preferred replica (the first of the assignment) if it may lead, else as `Online`.
    Preferred,
}

/// How the leader of the result was chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Chosen {
    /// The leader did not change.
    Kept,
    /// A replica of the ISR.
    Isr,
    /// An eligible leader replica, the ISR being empty: a clean election.
    Elr,
    /// The last known leader, ISR and ELR being empty: Kafka marks it unclean
    /// (LeaderRecoveryState RECOVERING) though it needs no unclean setting.
    LastKnownLeader,
    /// Any acceptable replica, out of the ISR: an unclean election.
    Unclean,
    /// No replica may lead: the partition is offline.
    Offline,
}

/// What is asked of one partition.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    pub prev: &'a PartMeta,
    /// The replicas, preferred first.
    pub assignment: &'a [u32],
    pub target_isr: Vec<u32>,
    /// min(min.insync.replicas, replication factor).
    pub min_isr: usize,
    pub elr_enabled: bool,
    pub election: Election,
    /// A broker that registered after an unclean shutdown: it leaves the ISR and the ELR.
    pub unclean_shutdown: Option<u32>,
}

/// The partition's next state (epochs bumped) and how its leader was chosen, or
/// None when nothing changes. `acceptable`: may this broker lead now (registered,
/// unfenced, not shutting down, not the broker being removed)?
pub fn build(req: Request, acceptable: impl Fn(u32) -> bool) -> Option<(PartMeta, Chosen)> {
    let prev = req.prev;
    let mut isr = req.target_isr;
    let mut elr = prev.elr.clone();
    if req.elr_enabled {
        if isr.len() >= req.min_isr {
            elr.clear();
        } else {
            for &r in &prev.isr {
                if !elr.contains(&r) {
                    elr.push(r);
                }
            }
            elr.retain(|r| !isr.contains(r) && Some(*r) != req.unclean_shutdown);
            elr.sort_small();
        }
    }

    // The election (Kafka's electAnyLeader / electPreferredLeader).
    let valid = |r: u32| (isr.contains(&r) || isr.is_empty() && elr.contains(&r)) && acceptable(r);
    let first_valid = |skip: usize| req.assignment.iter().skip(skip).copied().find(|&r| valid(r));
    let last_known = match prev.last_known_elr.as_slice() {
        &[l] if req.elr_enabled && isr.is_empty() && elr.is_empty() && acceptable(l) => Some(l),
        _ => None,
    };
    let current = prev.leader.filter(|&l| valid(l));
    let (leader, unclean) = match req.election {
        Election::Preferred => {
            let preferred = req.assignment.first().copied().filter(|&p| valid(p));
            match preferred.or(current).or_else(|| first_valid(1)) {
                Some(l) => (Some(l), false),
                None => (last_known, last_known.is_some()),
            }
        }
        Election::Online | Election::Unclean => match current.or_else(|| first_valid(0)) {
            Some(l) => (Some(l), false),
            None if last_known.is_some() => (last_known, true),
            None if req.election == Election::Unclean => {
                let any = req.assignment.iter().copied().find(|&r| acceptable(r));
                (any, any.is_some())
            }
            None => (None, false),
        },
    };

    let mut chosen = Chosen::Kept;
    let mut forced_isr = None;
    if leader != prev.leader {
        chosen = match leader {
            None => Chosen::Offline,
            Some(l) => {
                let from_elr = elr.contains(&l);
                if from_elr {
                    isr = vec![l];
                    elr.retain(|&r| r != l);
                }
                if unclean {
                    // The ISR is forced to the new leader alone: records only others had are lost.
                    forced_isr = Some(vec![l]);
                    if last_known == Some(l) {
                        Chosen::LastKnownLeader
                    } else {
                        Chosen::Unclean
                    }
                } else if from_elr {
                    Chosen::Elr
                } else {
                    Chosen::Isr
                }
            }
        };
    }
    // An unclean choice (or ELR off) leaves no eligible leader replicas.
    if forced_isr.is_some() || !req.elr_enabled {
        elr.clear();
    }
    let isr = match forced_isr {
        Some(f) => f,
        // Without ELR the last ISR member stays, the partition leaderless.
        None if isr.is_empty() && !req.elr_enabled => prev.isr.clone(),
        None => isr,
    };
    let mut last_known_elr = prev.last_known_elr.clone();
    if req.elr_enabled {
        let emptied = isr.is_empty() && !prev.isr.is_empty();
        if emptied && prev.last_known_elr != prev.leader.into_iter().collect::<Vec<_>>() {
            last_known_elr = prev.leader.into_iter().collect();
        } else if leader.is_some() {
            last_known_elr.clear();
        }
    }
    let mut next = PartMeta {
        leader,
        leader_epoch: prev.leader_epoch,
        isr,
        partition_epoch: prev.partition_epoch,
        elr,
        last_known_elr,
    };
    if next == *prev {
        return None;
    }
    if next.leader != prev.leader {
        next.leader_epoch += 1;
    }
    next.partition_epoch += 1;
    Some((next, chosen))
}

#[cfg(test)]
mod tests {
    use super::*;

    const RF3: &[u32] = &[0, 1, 2];

    fn meta(leader: Option<u32>, isr: &[u32], elr: &[u32], lke: &[u32]) -> PartMeta {
        PartMeta {
            leader,
            leader_epoch: 5,
            isr: isr.to_vec(),
            partition_epoch: 9,
            elr: elr.to_vec(),
            last_known_elr: lke.to_vec(),
        }
    }

    /// Removes `gone` from the ISR, as fencing or a controlled shutdown does.
    fn remove(prev: &PartMeta, gone: u32, elr: bool, election: Election, up: &[u32]) -> Option<(PartMeta, Chosen)> {
        let req = Request {
            prev,
            assignment: RF3,
            target_isr: prev.isr.iter().copied().filter(|&r| r != gone).collect(),
            min_isr: 2,
            elr_enabled: elr,
            election,
            unclean_shutdown: None,
        };
        build(req, |r| r != gone && up.contains(&r))
    }

    fn elect(prev: &PartMeta, elr: bool, up: &[u32]) -> Option<(PartMeta, Chosen)> {
        let req = Request {
            prev,
            assignment: RF3,
            target_isr: prev.isr.clone(),
            min_isr: 2,
            elr_enabled: elr,
            election: Election::Online,
            unclean_shutdown: None,
        };
        build(req, |r| up.contains(&r))
    }

    #[test]
    fn a_shrink_below_min_isr_keeps_the_removed_replica_eligible() {
        let (next, chosen) = remove(&meta(Some(0), &[0, 1], &[], &[]), 1, true, Election::Online, &[0, 2]).unwrap();
        assert_eq!((next.leader, next.isr.clone(), next.elr.clone()), (Some(0), vec![0], vec![1]));
        assert_eq!((chosen, next.leader_epoch, next.partition_epoch), (Chosen::Kept, 5, 10));
        // Without ELR: the same shrink, no ELR.
        let (off, _) = remove(&meta(Some(0), &[0, 1], &[], &[]), 1, false, Election::Online, &[0, 2]).unwrap();
        assert!(off.elr.is_empty());
    }

    #[test]
    fn the_isr_empties_only_with_elr() {
        let prev = meta(Some(0), &[0], &[1], &[]);
        let (on, chosen) = remove(&prev, 0, true, Election::Online, &[2]).unwrap();
        assert_eq!(
            (on.leader, on.isr.clone(), on.elr.clone(), on.last_known_elr.clone()),
            (None, vec![], vec![0, 1], vec![0])
        );
        assert_eq!((chosen, on.leader_epoch), (Chosen::Offline, 6));
        let (off, _) = remove(&meta(Some(0), &[0], &[], &[]), 0, false, Election::Online, &[1, 2]).unwrap();
        assert_eq!((off.leader, off.isr, off.last_known_elr), (None, vec![0], vec![]));
    }

    #[test]
    fn an_empty_isr_elects_the_first_acceptable_elr_member() {
        let prev = meta(None, &[], &[0, 1], &[0]);
        let (next, chosen) = elect(&prev, true, &[1, 2]).unwrap();
        assert_eq!(chosen, Chosen::Elr);
        assert_eq!((next.leader, next.isr, next.elr, next.last_known_elr), (Some(1), vec![1], vec![0], vec![]));
        // Nobody eligible is up: nothing changes.
        assert!(elect(&prev, true, &[2]).is_none());
    }

    #[test]
    fn the_last_known_leader_is_elected_when_isr_and_elr_are_empty() {
        let prev = meta(None, &[], &[], &[0]);
        let (next, chosen) = elect(&prev, true, &[0, 1, 2]).unwrap();
        assert_eq!(chosen, Chosen::LastKnownLeader);
        assert_eq!((next.leader, next.isr, next.last_known_elr), (Some(0), vec![0], vec![]));
        // Only if it may lead (Kafka 4.1, KAFKA-19522), and never with ELR off.
        assert!(elect(&prev, true, &[1, 2]).is_none());
        assert!(elect(&prev, false, &[0, 1, 2]).is_none());
    }

    #[test]
    fn reaching_min_isr_clears_the_elr() {
        let prev = meta(Some(1), &[1], &[0], &[]);
        let req = Request {
            prev: &prev,
            assignment: RF3,
            target_isr: vec![1, 2],
            min_isr: 2,
            elr_enabled: true,
            election: Election::Online,
            unclean_shutdown: None,
        };
        let (next, chosen) = build(req, |_| true).unwrap();
        assert_eq!((next.isr, next.elr, chosen), (vec![1, 2], vec![], Chosen::Kept));
    }

    #[test]
    fn an_unclean_shutdown_leaves_isr_and_elr() {
        let prev = meta(None, &[], &[0, 1], &[0]);
        let req = Request {
            prev: &prev,
            assignment: RF3,
            target_isr: vec![],
            min_isr: 2,
            elr_enabled: true,
            election: Election::Online,
            unclean_shutdown: Some(0),
        };
        let (next, chosen) = build(req, |r| r != 0 && r != 1).unwrap();
        assert_eq!((next.elr, next.last_known_elr, chosen), (vec![1], vec![0], Chosen::Kept));
    }

    #[test]
    fn an_unclean_election_clears_the_elr() {
        let prev = meta(None, &[], &[0], &[]);
        let (next, chosen) = remove(&prev, 9, true, Election::Unclean, &[2]).unwrap();
        assert_eq!(chosen, Chosen::Unclean);
        assert_eq!((next.leader, next.isr, next.elr), (Some(2), vec![2], vec![]));
    }
}
