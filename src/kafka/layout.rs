//! Where replicas live: Kafka's rack-unaware replica placement
//! (`AdminUtils.assignReplicasToBrokers`): a random start broker and a random
//! shift for followers, so leaders and followers spread evenly.

use crate::sim::SimRng;

/// Returns, for each partition, its replica list (the first is the preferred leader).
pub fn assign_replicas(brokers: u32, partitions: u32, replication_factor: u32, rng: &mut SimRng) -> Vec<Vec<u32>> {
    let n = brokers.max(1);
    let start = rng.range(0, u64::from(n - 1)) as u32;
    let mut shift = rng.range(0, u64::from(n - 1)) as u32;
    let mut out = Vec::with_capacity(partitions as usize);
    for p in 0..partitions {
        if p > 0 && p % n == 0 {
            shift += 1;
        }
        let first = (p + start) % n;
        let mut replicas = vec![first];
        for j in 0..replication_factor.saturating_sub(1) {
            // Kafka's replicaIndex: followers skip the leader and rotate with the shift.
            let s = 1 + (shift + j) % (n - 1).max(1);
            replicas.push((first + s) % n);
        }
        out.push(replicas);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replicas_are_distinct_and_leaders_spread() {
        let mut rng = SimRng::stream(3, "layout");
        let a = assign_replicas(6, 60, 3, &mut rng);
        let mut leaders = [0u32; 6];
        for r in &a {
            assert_eq!(r.len(), 3);
            let mut s = r.clone();
            s.sort();
            s.dedup();
            assert_eq!(s.len(), 3, "duplicate replica in {r:?}");
            leaders[r[0] as usize] += 1;
        }
        assert!(leaders.iter().all(|&c| c == 10), "{leaders:?}");
    }
}
