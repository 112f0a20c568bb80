//! The server-side `uniform` assignor of KIP-848 (Kafka's `UniformAssignor`), which the
//! group coordinator runs to compute target assignments.
//!
//! Two builders, as in Kafka:
//! * homogeneous (`UniformHomogeneousAssignmentBuilder`, formerly
//!   `OptimizedUniformAssignmentBuilder`): every member gets a quota of total / members,
//!   total % members of them one more; members keep current partitions up to their quota
//!   and the rest fills the members below quota;
//! * heterogeneous (`UniformHeterogeneousAssignmentBuilder`): members keep every current
//!   partition they are still subscribed to, unassigned partitions go to the least-loaded
//!   subscriber topic by topic (most partitions per subscriber first), then each topic
//!   moves partitions from its most-loaded to its least-loaded subscribers until they are
//!   within one, for up to 16 passes over the topics.
//!
//! Simplifications relative to Kafka, none of which changes balance:
//! * homogeneous: Kafka hands the +1 quotas to the first members in its iteration order;
//!   here they go first to members that already hold more than the minimum quota (so no
//!   partition moves only because the extra slot went to someone else), then in member
//!   order. Kept partitions are the lowest by (partition, topic); the unassigned partitions
//!   are dealt in (topic, partition) order.
//! * heterogeneous: Kafka's `MemberAssignmentBalancer` walks ranges of equally loaded
//!   members incrementally; here the least- and most-loaded members come from ordered sets
//!   keyed by (count, member), which picks among ties in member order.
//! * Kafka's coordinator never hands it conflicting current assignments; if the input has
//!   two members claiming one partition, the higher generation keeps it and a tie leaves it
//!   unassigned, as for the client-side assignors.

use crate::sim::SortSmall;
use std::collections::BTreeSet;

use super::group::{Flat, Group, NO_MEMBER};

const MAX_ITERATION_COUNT: usize = 16;

pub(crate) fn assign(g: &Group) -> Vec<Vec<Flat>> {
    let owned = current_target(g);
    if g.all_subscriptions_equal() {
        homogeneous(g, &owned)
    } else {
        heterogeneous(g, &owned)
    }
}

/// The current target assignment, reduced to partitions each member is still subscribed to.
pub(crate) fn current_target(g: &Group) -> Vec<Vec<Flat>> {
    let mut owned = g.resolve_by_partition();
    for (m, parts) in owned.iter_mut().enumerate() {
        parts.retain(|&p| g.subscribes(m, g.topic_of(p)));
    }
    owned
}

fn homogeneous(g: &Group, owned: &[Vec<Flat>]) -> Vec<Vec<Flat>> {
    let n = g.members.len();
    let total = g.total as usize;
    if n == 0 {
        return Vec::new();
    }
    let min_quota = total / n;
    let mut extra = total % n;
    let mut quota = vec![min_quota; n];
    for m in 0..n {
        if extra > 0 && owned[m].len() > min_quota {
            quota[m] += 1;
            extra -= 1;
        }
    }
    for q in quota.iter_mut() {
        if extra > 0 && *q == min_quota {
            *q += 1;
            extra -= 1;
        }
    }

    let mut assigned = vec![false; total];
    let mut out: Vec<Vec<Flat>> = vec![Vec::new(); n];
    for m in 0..n {
        let mut own = owned[m].clone();
        own.sort_small_by_key(|&p| (g.partition_of(p), g.topic_of(p)));
        for &p in own.iter().take(quota[m]) {
            assigned[p as usize] = true;
            out[m].push(p);
        }
    }
    let mut free = (0..g.total).filter(|&p| !assigned[p as usize]);
    for m in 0..n {
        while out[m].len() < quota[m] {
            match free.next() {
                Some(p) => out[m].push(p),
                None => break,
            }
        }
    }
    out
}

struct Heterogeneous<'a> {
    g: &'a Group,
    subscribers: Vec<Vec<usize>>,
    sizes: Vec<usize>,
    owner: Vec<u32>,
}

fn heterogeneous(g: &Group, owned: &[Vec<Flat>]) -> Vec<Vec<Flat>> {
    let n = g.members.len();
    let mut subscribers = vec![Vec::new(); g.topics.len()];
    for (m, member) in g.members.iter().enumerate() {
        for &t in &member.subs {
            subscribers[t].push(m);
        }
    }
    let mut h = Heterogeneous {
        g,
        subscribers,
        sizes: vec![0; n],
        owner: vec![NO_MEMBER; g.total as usize],
    };
    for (m, parts) in owned.iter().enumerate() {
        for &p in parts {
            h.owner[p as usize] = m as u32;
            h.sizes[m] += 1;
        }
    }
    h.assign_remaining();
    h.balance();

    let mut out: Vec<Vec<Flat>> = vec![Vec::new(); n];
    for p in 0..g.total {
        let m = h.owner[p as usize];
        if m != NO_MEMBER {
            out[m as usize].push(p);
        }
    }
    out
}

impl Heterogeneous<'_> {
    /// Kafka's topic order: most partitions per subscriber first, then fewer subscribers,
    /// then name. The ratio is compared by cross-multiplying instead of in floating point.
    fn sort_topics(&self, topics: &mut [usize]) {
        topics.sort_small_by(|&a, &b| {
            let pa = u64::from(self.g.topics[a].partitions);
            let pb = u64::from(self.g.topics[b].partitions);
            let sa = self.subscribers[a].len() as u64;
            let sb = self.subscribers[b].len() as u64;
            (pb * sa).cmp(&(pa * sb)).then(sa.cmp(&sb)).then(a.cmp(&b))
        });
    }

    fn assign_remaining(&mut self) {
        let mut topics: Vec<usize> = (0..self.g.topics.len()).filter(|&t| !self.subscribers[t].is_empty()).collect();
        self.sort_topics(&mut topics);
        for t in topics {
            // Kafka deals to the least-loaded range of subscribers in (size, member) order,
            // one each per round; ordering by (current size, initial position) is the same.
            let mut initial: Vec<usize> = self.subscribers[t].clone();
            initial.sort_small_by_key(|&m| (self.sizes[m], m));
            let mut queue: BTreeSet<(usize, usize, usize)> = crate::sim::set_from(initial.iter().enumerate().map(|(pos, &m)| (self.sizes[m], pos, m)));
            for p in self.g.partitions_of(t) {
                if self.owner[p as usize] != NO_MEMBER {
                    continue;
                }
                let Some((size, pos, m)) = queue.pop_first() else {
                    break;
                };
                self.owner[p as usize] = m as u32;
                self.sizes[m] += 1;
                queue.insert((size + 1, pos, m));
            }
        }
    }

    fn balance(&mut self) {
        let mut topics: Vec<usize> = (0..self.g.topics.len()).filter(|&t| self.subscribers[t].len() >= 2).collect();
        if topics.is_empty() {
            return;
        }
        self.sort_topics(&mut topics);
        // Cycle over the topics until a whole pass since the last change changed nothing.
        let mut last_rebalanced: Option<usize> = None;
        for _ in 0..MAX_ITERATION_COUNT {
            for (i, &t) in topics.iter().enumerate() {
                if last_rebalanced == Some(i) {
                    return;
                }
                let moved = self.balance_topic(t);
                if moved > 0 || last_rebalanced.is_none() {
                    last_rebalanced = Some(i);
                }
            }
        }
    }

    /// Moves partitions of one topic from its most-loaded subscribers (by total count) to
    /// its least-loaded ones until they are within one. A member only gives away partitions
    /// it held when the pass started, highest partition first, as in Kafka.
    fn balance_topic(&mut self, t: usize) -> usize {
        let subs = self.subscribers[t].clone();
        let (Some(min), Some(max)) = (subs.iter().map(|&m| self.sizes[m]).min(), subs.iter().map(|&m| self.sizes[m]).max()) else {
            return 0;
        };
        if max - min <= 1 {
            return 0;
        }
        let mut movable: Vec<Vec<Flat>> = vec![Vec::new(); self.g.members.len()];
        for p in self.g.partitions_of(t) {
            let m = self.owner[p as usize];
            if m != NO_MEMBER {
                movable[m as usize].push(p);
            }
        }
        let mut least: BTreeSet<(usize, usize)> = crate::sim::set_from(subs.iter().map(|&m| (self.sizes[m], m)));
        let mut most: BTreeSet<(usize, usize)> = crate::sim::set_from(subs.iter().filter(|&&m| !movable[m].is_empty()).map(|&m| (self.sizes[m], m)));

        let mut moved = 0;
        while let (Some(&(from_size, from)), Some(&(to_size, to))) = (most.last(), least.first()) {
            if from_size <= to_size + 1 {
                break;
            }
            let Some(p) = movable[from].pop() else {
                most.remove(&(from_size, from));
                continue;
            };
            most.remove(&(from_size, from));
            least.remove(&(from_size, from));
            least.remove(&(to_size, to));
            let to_movable = most.remove(&(to_size, to));

            self.owner[p as usize] = to as u32;
            self.sizes[from] -= 1;
            self.sizes[to] += 1;
            moved += 1;

            least.insert((self.sizes[from], from));
            least.insert((self.sizes[to], to));
            if !movable[from].is_empty() {
                most.insert((self.sizes[from], from));
            }
            if to_movable {
                most.insert((self.sizes[to], to));
            }
        }
        moved
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::super::{assign_server, Member, ServerStrategy};

    #[test]
    fn extra_quota_goes_to_the_member_that_already_has_more() {
        let topics = BTreeMap::from([("t".to_string(), 5)]);
        let own = |ps: &[u32]| BTreeMap::from([("t".to_string(), ps.to_vec())]);
        // 5 over 2: Kafka would give the larger quota to the first member in its order ("a")
        // and move a partition; "b" already has three, so here nothing moves.
        let members = [
            Member::new("a", &["t"]).with_owned(own(&[0, 1]), 1),
            Member::new("b", &["t"]).with_owned(own(&[2, 3, 4]), 1),
        ];
        let a = assign_server(ServerStrategy::Uniform, &topics, &members).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(a["a"]["t"], vec![0, 1]);
        assert_eq!(a["b"]["t"], vec![2, 3, 4]);
    }

    #[test]
    fn heterogeneous_topics_with_more_partitions_per_subscriber_go_first() {
        // t1: 6 partitions over 2 subscribers (3 each), t2: 2 over 2. t1 is placed first, so
        // the shared member "b" takes its half of t1 and t2 goes to the idle member "c".
        let topics = BTreeMap::from([("t1".to_string(), 6), ("t2".to_string(), 2)]);
        let members = [Member::new("a", &["t1"]), Member::new("b", &["t1", "t2"]), Member::new("c", &["t2"])];
        let a = assign_server(ServerStrategy::Uniform, &topics, &members).unwrap_or_else(|e| panic!("{e}"));
        let count = |m: &str| a[m].values().map(Vec::len).sum::<usize>();
        assert_eq!((count("a"), count("b"), count("c")), (3, 3, 2));
    }
}
