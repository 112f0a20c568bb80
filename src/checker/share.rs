//! The checker's view of share-partitions (KIP-932), from what their leaders
//! report: per (group, partition, leader broker), the offset ranges handed to a
//! member and not yet taken back (acknowledged, released, expired, or the
//! share-partition set up anew). Invariant `share_acquisition_exclusive`: a
//! leader never hands out a record another acquisition still holds, and never
//! with a delivery count above the group's limit.

use super::invariants::Invariants;
use crate::kafka::obs::ShareObs;
use crate::kafka::types::Cluster;
use crate::sim::Micros;
use std::collections::BTreeMap;

/// first offset -> (end, holder)
type Held = BTreeMap<u64, (u64, u64)>;

#[derive(Debug, Clone, Default)]
pub struct ShareLocks {
    held: crate::sim::VecMap<(u32, u32, u32), Held>,
}

/// Takes `first..end` out of the held ranges (splitting those it cuts).
fn take_back(held: &mut Held, first: u64, end: u64) {
    let cut: Vec<(u64, u64, u64)> = held.range(..end).filter(|(_, (e, _))| *e > first).map(|(&f, &(e, o))| (f, e, o)).collect();
    for (f, e, o) in cut {
        held.remove(&f);
        if f < first {
            held.insert(f, (first, o));
        }
        if e > end {
            held.insert(end, (e, o));
        }
    }
}

impl ShareLocks {
    pub fn observe(&mut self, now: Micros, what: &ShareObs, cluster: &Cluster, inv: &mut Invariants) {
        match what {
            ShareObs::Init { group, pidx, broker, .. } => {
                self.held.remove(&(*group, *pidx, *broker));
            }
            ShareObs::Acquired {
                group,
                pidx,
                broker,
                owner,
                ranges,
                ..
            } => {
                inv.checks += 1;
                let cfg = &cluster.groups[*group as usize].cfg;
                let limit = cfg.share_delivery_limit();
                let held = self.held.get_or_insert_with((*group, *pidx, *broker), Held::new);
                let (topic, partition) = (cluster.topic_name(*pidx), cluster.part(*pidx).index);
                for &(first, end, count) in ranges {
                    if u32::from(count) > limit {
                        let detail = format!(
                            "share group {} {topic}-{partition}: offsets {first}..{end} delivered a {count}th time (limit {limit})",
                            cfg.id
                        );
                        inv.violation(now, "share_acquisition_exclusive", detail);
                    }
                    if let Some((&f, &(e, other))) = held.range(..end).find(|(_, (e, _))| *e > first) {
                        let detail = format!(
                            "share group {} {topic}-{partition}: offsets {first}..{end} acquired by {owner:#x} while {other:#x} holds {f}..{e} on broker {broker}",
                            cfg.id
                        );
                        inv.violation(now, "share_acquisition_exclusive", detail);
                        take_back(held, first, end);
                    }
                    held.insert(first, (end, *owner));
                }
            }
            ShareObs::Unlocked {
                group, pidx, broker, ranges, ..
            } => {
                if let Some(held) = self.held.get_mut(&(*group, *pidx, *broker)) {
                    for &(first, end) in ranges {
                        take_back(held, first, end);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::kafka::types::{GroupInfo, PartInfo, TopicInfo};
    use crate::scenario::{ClusterConfig, GroupConfig, GroupProtocol};
    use std::rc::Rc;

    fn cluster() -> Cluster {
        let cfg = GroupConfig {
            id: "w".into(),
            topics: vec!["t".into()],
            protocol: GroupProtocol::Share,
            ..GroupConfig::default()
        };
        Cluster {
            txn_ids: Vec::new(),
            config: ClusterConfig::default(),
            topics: vec![TopicInfo {
                name: "t".into(),
                first: 0,
                partitions: 1,
                replication_factor: 1,
                min_isr: 1,
            }],
            partitions: vec![PartInfo {
                topic: 0,
                index: 0,
                assignment: vec![0],
            }],
            groups: vec![Rc::new(GroupInfo {
                cfg,
                offsets_pidx: 0,
                topics: vec![0],
            })],
            seed: 1,
        }
    }

    fn acquired(owner: u64, first: u64, end: u64, count: u16) -> ShareObs {
        ShareObs::Acquired {
            group: 0,
            pidx: 0,
            broker: 0,
            owner,
            ranges: vec![(first, end, count)],
            deadline: 30,
            start: 0,
        }
    }

    #[test]
    fn a_record_held_by_one_member_cannot_go_to_another_until_it_comes_back() {
        let (c, mut inv, mut locks) = (cluster(), Invariants::new(1), ShareLocks::default());
        locks.observe(1, &acquired(1, 0, 10, 1), &c, &mut inv);
        locks.observe(
            2,
            &ShareObs::Unlocked {
                group: 0,
                pidx: 0,
                broker: 0,
                why: crate::kafka::share::Unlock::Acknowledged,
                ranges: vec![(0, 5)],
                acknowledged: 5,
                archived: 0,
                start: 5,
            },
            &c,
            &mut inv,
        );
        locks.observe(3, &acquired(2, 0, 5, 2), &c, &mut inv);
        assert!(inv.violations.is_empty(), "{:?}", inv.violations);
        locks.observe(4, &acquired(2, 8, 12, 2), &c, &mut inv);
        assert_eq!(inv.violations.len(), 1);
        // A violation is reported once per partition: a fresh checker for the limit.
        let mut inv = Invariants::new(1);
        locks.observe(5, &acquired(3, 20, 21, 6), &c, &mut inv);
        assert!(inv.violations[0].detail.contains("6th time"), "{:?}", inv.violations);
    }

    #[test]
    fn taking_back_splits_what_it_cuts() {
        let mut h: Held = BTreeMap::new();
        h.insert(10, (20, 1));
        h.insert(20, (30, 2));
        take_back(&mut h, 15, 25);
        assert_eq!(h.into_iter().collect::<Vec<_>>(), vec![(10, (15, 1)), (25, (30, 2))]);
    }
}
