//! Kafka's share-group assignor, `simple` (`SimpleHomogeneousAssignmentBuilder`,
//! KIP-932), for members that all subscribe to the same topics: every partition
//! is shared by `desiredSharing = ceil(members / partitions)` members, the
//! members' partition counts differ by at most one, and what a member already
//! has stays with it where the balance allows (sticky).
//!
//! Partitions are the simulator's global indices; members come in id order,
//! which decides ties (Kafka's own order is its member map's).

use crate::sim::SortSmall;
use std::collections::BTreeMap;

/// The target assignment: member id -> partitions, ascending. `current` is each
/// member's assignment now (empty for a new member), in member-id order.
pub fn assign(partitions: &[u32], current: &BTreeMap<String, Vec<u32>>) -> BTreeMap<String, Vec<u32>> {
    let members: Vec<&String> = current.keys().collect();
    let (m, p) = (members.len() as u64, partitions.len() as u64);
    let mut out: BTreeMap<String, Vec<u32>> = crate::sim::map_from(members.iter().map(|id| ((*id).clone(), Vec::new())));
    if m == 0 || p == 0 {
        return out;
    }
    let sharing = m.div_ceil(p);
    let slots = sharing * p;
    // desiredAssignmentCount[i] = ceil(slots·(i+1)/m) − ceil(slots·i/m)
    let desired: Vec<u64> = (0..m).map(|i| (slots * (i + 1)).div_ceil(m) - (slots * i).div_ceil(m)).collect();
    let mut held: Vec<Vec<u32>> = members
        .iter()
        .map(|id| current[*id].iter().copied().filter(|q| partitions.contains(q)).collect())
        .collect();
    for h in &mut held {
        h.sort_small();
        h.dedup();
    }
    let sharers = |held: &Vec<Vec<u32>>, q: u32| held.iter().filter(|h| h.contains(&q)).count() as u64;
    // Partitions shared by more than desiredSharing members lose the extra ones,
    // the most overfilled members first.
    for &q in partitions {
        while sharers(&held, q) > sharing {
            let victim = (0..members.len())
                .filter(|&i| held[i].contains(&q))
                .max_by_key(|&i| (held[i].len() as i64 - desired[i] as i64, std::cmp::Reverse(i)))
                .expect("shared");
            held[victim].retain(|&x| x != q);
        }
    }
    // Overfilled members give up their most shared partitions.
    for i in 0..members.len() {
        while held[i].len() as u64 > desired[i] {
            let drop = *held[i].iter().max_by_key(|&&q| (sharers(&held, q), q)).expect("non-empty");
            held[i].retain(|&x| x != drop);
        }
    }
    // Unfilled members take the partitions with the fewest sharers they do not have.
    for i in 0..members.len() {
        while (held[i].len() as u64) < desired[i] {
            let pick = partitions
                .iter()
                .copied()
                .filter(|q| !held[i].contains(q) && sharers(&held, *q) < sharing)
                .min_by_key(|&q| (sharers(&held, q), q));
            match pick {
                Some(q) => held[i].push(q),
                None => break,
            }
        }
    }
    // Every member consumes: one left empty (every open slot was a partition it
    // has) takes the least shared partition.
    for i in 0..members.len() {
        if held[i].is_empty() {
            let q = *partitions.iter().min_by_key(|&&q| (sharers(&held, q), q)).expect("partitions");
            held[i].push(q);
        }
    }
    for (i, id) in members.iter().enumerate() {
        let mut h = std::mem::take(&mut held[i]);
        h.sort_small();
        out.insert((*id).clone(), h);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn members(n: usize) -> BTreeMap<String, Vec<u32>> {
        (0..n).map(|i| (format!("m{i}"), Vec::new())).collect()
    }

    fn sharing(a: &BTreeMap<String, Vec<u32>>, q: u32) -> usize {
        a.values().filter(|ps| ps.contains(&q)).count()
    }

    #[test]
    fn more_members_than_partitions_share_every_partition() {
        // desiredSharing = ceil(5/2) = 3: six slots, so one member (the first) gets both.
        let a = assign(&[0, 1], &members(5));
        assert_eq!((sharing(&a, 0), sharing(&a, 1)), (3, 3), "{a:?}");
        let sizes: Vec<usize> = a.values().map(Vec::len).collect();
        assert_eq!(sizes, vec![2, 1, 1, 1, 1]);
    }

    #[test]
    fn fewer_members_than_partitions_split_them_evenly() {
        let a = assign(&[0, 1, 2, 3, 4, 5, 6], &members(3));
        let mut sizes: Vec<usize> = a.values().map(Vec::len).collect();
        sizes.sort_unstable();
        assert_eq!(sizes, vec![2, 2, 3]);
        assert!((0..7).all(|q| sharing(&a, q) == 1), "{a:?}");
    }

    #[test]
    fn a_new_member_leaves_the_others_where_they_were() {
        let before = assign(&[0, 1, 2, 3], &members(2));
        let mut current = before.clone();
        current.insert("m2".into(), Vec::new());
        let after = assign(&[0, 1, 2, 3], &current);
        let kept = before.iter().map(|(id, ps)| ps.iter().filter(|q| after[id].contains(q)).count()).sum::<usize>();
        assert!(kept >= 3, "{before:?} -> {after:?}");
        assert!(!after["m2"].is_empty());
    }
}
