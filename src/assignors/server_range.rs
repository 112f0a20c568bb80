//! The server-side `range` assignor of KIP-848 in its sticky form (Kafka 3.7/3.8's
//! `RangeAssignor` in the group coordinator, before KAFKA-16944 made it recompute from
//! scratch).
//!
//! Per topic, over the members subscribed to it in range order (static members by
//! group.instance.id, then dynamic members by member id): each gets a quota of P / C, the
//! first P % C to claim it one more. A member keeps its lowest current partitions of the
//! topic up to its quota, so partition numbers stay aligned across topics of equal size
//! (co-partitioning, for joins); the partitions nobody kept are dealt in ascending runs to
//! the members still below quota. With no current assignment this is exactly the classic
//! range assignment.
//!
//! Simplification: Kafka iterates members in its `HashMap` order; range order is used here.
//! Conflicting current assignments (which Kafka's coordinator never produces) are resolved
//! like the client-side rule: higher generation keeps the partition, a tie drops it.

use super::group::{Flat, Group};
use super::uniform::current_target;

pub(crate) fn assign(g: &Group) -> Vec<Vec<Flat>> {
    let owned = current_target(g);
    let order = g.range_order();
    let mut out: Vec<Vec<Flat>> = vec![Vec::new(); g.members.len()];

    for t in 0..g.topics.len() {
        let members: Vec<usize> = order.iter().copied().filter(|&m| g.subscribes(m, t)).collect();
        if members.is_empty() {
            continue;
        }
        let range = g.partitions_of(t);
        let num_partitions = g.topics[t].partitions as usize;
        let min_quota = num_partitions / members.len();
        let mut extra = num_partitions % members.len();

        let mut kept = vec![false; num_partitions];
        // (member, partitions still wanted before the extra one); negative when it owned more.
        let mut unfilled: Vec<(usize, i64)> = Vec::new();
        for &m in &members {
            let current: Vec<Flat> = owned[m].iter().copied().filter(|p| range.contains(p)).collect();
            let retain = current.len().min(min_quota);
            for &p in &current[..retain] {
                kept[(p - range.start) as usize] = true;
                out[m].push(p);
            }
            let remaining = min_quota as i64 - current.len() as i64;
            if remaining < 0 && extra > 0 {
                extra -= 1;
                let p = current[min_quota];
                kept[(p - range.start) as usize] = true;
                out[m].push(p);
            } else {
                unfilled.push((m, remaining));
            }
        }

        let mut free = range.clone().filter(|&p| !kept[(p - range.start) as usize]);
        for (m, mut remaining) in unfilled {
            if extra > 0 {
                remaining += 1;
                extra -= 1;
            }
            for _ in 0..remaining.max(0) {
                match free.next() {
                    Some(p) => out[m].push(p),
                    None => break,
                }
            }
        }
    }
    out
}
