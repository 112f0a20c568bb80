//! The client-side `sticky` assignor (Kafka's `AbstractStickyAssignor`, without rack
//! awareness), which `cooperative-sticky` builds on.
//!
//! Like Kafka it has two paths:
//! * the constrained path (`ConstrainedAssignmentBuilder`) when every member has the same
//!   subscription: members keep owned partitions up to their quota (min or max), the rest
//!   is dealt round-robin to the members still below quota. This keeps the largest possible
//!   number of partitions with their owners while reaching a balance within one;
//! * the general path (`GeneralAssignmentBuilder`) otherwise: keep what is still valid,
//!   give each unassigned partition to the least-loaded eligible member, then move
//!   partitions from members with two or more partitions above an eligible peer until no
//!   such move is left, and undo the moves if they did not improve the balance score.
//!
//! Where Kafka iterates a Java `HashMap` (members, partitions of a movement record) this
//! module iterates in member-id or partition order, so the result is deterministic but can
//! differ from a given Kafka run in which of several equally good members gets a partition.

use crate::sim::SortSmall;
use std::collections::{BTreeMap, BTreeSet, VecDeque};

use super::group::{Flat, Group, NO_MEMBER};
use super::AssignError;

pub(crate) struct StickyResult {
    pub assignment: Vec<Vec<Flat>>,
    /// Ownership after the generation rules: who was treated as the current owner of what.
    pub resolved: Vec<Vec<Flat>>,
}

pub(crate) fn assign(g: &Group) -> Result<StickyResult, AssignError> {
    if g.all_subscriptions_equal() {
        let resolved = g.resolve_highest_generation();
        let assignment = constrained(g, &resolved)?;
        Ok(StickyResult { assignment, resolved })
    } else {
        let resolved = g.resolve_by_partition();
        let prev = previous_owners(g);
        let assignment = General::run(g, &resolved, &prev);
        Ok(StickyResult { assignment, resolved })
    }
}

/// Kafka's `prevAssignment`: for partitions claimed by members below the highest generation,
/// the claimant with the highest such generation. The general path moves a partition back to
/// it when its current owner has two or more partitions more.
fn previous_owners(g: &Group) -> BTreeMap<Flat, usize> {
    let max = g.max_generation();
    let mut prev: BTreeMap<Flat, (i32, usize)> = BTreeMap::new();
    for (m, member) in g.members.iter().enumerate() {
        if member.generation >= max {
            continue;
        }
        for &p in &member.claims {
            let e = prev.entry(p).or_insert((member.generation, m));
            if member.generation > e.0 {
                *e = (member.generation, m);
            }
        }
    }
    crate::sim::map_from(prev.into_iter().map(|(p, (_, m))| (p, m)))
}

/// Kafka's `ConstrainedAssignmentBuilder`.
fn constrained(g: &Group, owned: &[Vec<Flat>]) -> Result<Vec<Vec<Flat>>, AssignError> {
    let n = g.members.len();
    let total = g.total as usize;
    if n == 0 {
        return Ok(Vec::new());
    }
    let min_quota = total / n;
    let expected_over_min = total % n;
    let max_quota = min_quota + usize::from(expected_over_min > 0);
    let mut current_over_min = 0usize;

    let mut assignment: Vec<Vec<Flat>> = vec![Vec::new(); n];
    let mut assigned = vec![false; total];
    // Members that must still reach min quota, and members at min quota that may take one
    // more while fewer than `expected_over_min` members are above it. Both stay in member
    // order, which is the order Kafka sorts them into.
    let mut under_min: Vec<usize> = Vec::new();
    let mut exactly_min: VecDeque<usize> = VecDeque::new();

    for (m, own) in owned.iter().enumerate() {
        let mut own = own.clone();
        // KAFKA-16277: when only some owned partitions are kept, keep them spread over topics.
        own.sort_small_by_key(|&p| (g.partition_of(p), g.topic_of(p)));
        let keep = if own.len() < min_quota {
            under_min.push(m);
            own.len()
        } else if own.len() >= max_quota && current_over_min < expected_over_min {
            current_over_min += 1;
            if current_over_min == expected_over_min {
                exactly_min.clear();
            }
            max_quota
        } else {
            if current_over_min < expected_over_min {
                exactly_min.push_back(m);
            }
            min_quota
        };
        for &p in &own[..keep] {
            assigned[p as usize] = true;
            assignment[m].push(p);
        }
    }

    // Round-robin over the under-quota members with a cursor that, like Kafka's list
    // iterator, survives removals and restarts at the front when it runs off the end.
    let mut cursor = 0usize;
    for p in (0..g.total).filter(|&p| !assigned[p as usize]) {
        let (m, from_under) = if cursor < under_min.len() {
            cursor += 1;
            (under_min[cursor - 1], true)
        } else if under_min.is_empty() {
            match exactly_min.pop_front() {
                Some(m) => (m, false),
                None => return Err(AssignError::Internal("sticky: no more unfilled consumers to be assigned".to_string())),
            }
        } else {
            cursor = 1;
            (under_min[0], true)
        };
        assignment[m].push(p);
        let count = assignment[m].len();
        if count == min_quota {
            if from_under {
                cursor -= 1;
                under_min.remove(cursor);
            }
            exactly_min.push_back(m);
        } else if count == max_quota {
            current_over_min += 1;
        }
    }

    if !under_min.is_empty() && (current_over_min != expected_over_min || under_min.iter().any(|&m| assignment[m].len() != min_quota)) {
        return Err(AssignError::Internal("sticky: a member was left below its minimum quota".to_string()));
    }
    Ok(assignment)
}

/// Kafka's `PartitionMovements`: which partitions moved between which members during this
/// rebalance, so that a later move in the opposite direction moves the same partition back
/// instead of a second one (which would swap two partitions for nothing).
#[derive(Default)]
struct Movements {
    /// partition -> (original owner, current owner)
    by_partition: BTreeMap<Flat, (usize, usize)>,
    /// topic -> (source, destination) -> partitions
    by_topic: BTreeMap<usize, BTreeMap<(usize, usize), BTreeSet<Flat>>>,
}

impl Movements {
    fn remove(&mut self, p: Flat, topic: usize) -> Option<(usize, usize)> {
        let pair = self.by_partition.remove(&p)?;
        if let Some(pairs) = self.by_topic.get_mut(&topic) {
            if let Some(set) = pairs.get_mut(&pair) {
                set.remove(&p);
                if set.is_empty() {
                    pairs.remove(&pair);
                }
            }
            if pairs.is_empty() {
                self.by_topic.remove(&topic);
            }
        }
        Some(pair)
    }

    fn add(&mut self, p: Flat, topic: usize, pair: (usize, usize)) {
        self.by_partition.insert(p, pair);
        self.by_topic.entry(topic).or_default().entry(pair).or_default().insert(p);
    }

    fn record(&mut self, p: Flat, topic: usize, old: usize, new: usize) {
        match self.remove(p, topic) {
            // Moving back to where it started cancels the earlier move.
            Some((src, _)) if src == new => {}
            Some((src, _)) => self.add(p, topic, (src, new)),
            None => self.add(p, topic, (old, new)),
        }
    }

    /// Kafka's `getTheActualPartitionToBeMoved`.
    fn actual_partition(&self, p: Flat, topic: usize, old: usize, new: usize) -> Flat {
        let Some(pairs) = self.by_topic.get(&topic) else {
            return p;
        };
        let old = self.by_partition.get(&p).map_or(old, |&(src, _)| src);
        pairs.get(&(new, old)).and_then(|set| set.first().copied()).unwrap_or(p)
    }
}

/// Kafka's `GeneralAssignmentBuilder`.
struct General<'a> {
    g: &'a Group,
    prev: &'a BTreeMap<Flat, usize>,
    topic_consumers: Vec<Vec<usize>>,
    max_size: Vec<usize>,
    assignment: Vec<Vec<Flat>>,
    owner: Vec<u32>,
    /// (partition count, member) of the members taking part in reassignment, least loaded
    /// first; Kafka's `sortedCurrentSubscriptions`.
    sorted: BTreeSet<(usize, usize)>,
    participating: Vec<bool>,
    movements: Movements,
    /// Cached `is_balanced`; cleared by every move.
    balanced: Option<bool>,
    /// Safety net: Kafka's loop has no bound of its own. Every real move lowers the sum of
    /// squared counts, so this is never reached in practice.
    moves_left: usize,
}

impl<'a> General<'a> {
    fn run(g: &'a Group, resolved: &[Vec<Flat>], prev: &'a BTreeMap<Flat, usize>) -> Vec<Vec<Flat>> {
        let n = g.members.len();
        if n == 0 {
            return Vec::new();
        }
        let nt = g.topics.len();
        let mut topic_consumers = vec![Vec::new(); nt];
        for (m, member) in g.members.iter().enumerate() {
            for &t in &member.subs {
                topic_consumers[t].push(m);
            }
        }
        let mut builder = General {
            g,
            prev,
            max_size: (0..n).map(|m| g.max_assignment_size(m)).collect(),
            topic_consumers,
            assignment: vec![Vec::new(); n],
            owner: vec![NO_MEMBER; g.total as usize],
            sorted: BTreeSet::new(),
            participating: vec![true; n],
            movements: Movements::default(),
            balanced: None,
            moves_left: 16 * (g.total as usize + n) + 1024,
        };
        builder.build(resolved);
        builder.assignment
    }

    fn build(&mut self, resolved: &[Vec<Flat>]) {
        let g = self.g;
        let n = g.members.len();

        // Topics with fewer potential consumers first, so that the most constrained
        // partitions are placed while there is still room.
        let mut topic_order: Vec<usize> = (0..g.topics.len()).collect();
        topic_order.sort_small_by_key(|&t| (self.topic_consumers[t].len(), t));
        let mut sorted_all: Vec<Flat> = topic_order.iter().flat_map(|&t| g.partitions_of(t)).collect();

        let mut revocation_required = false;
        for (m, own) in resolved.iter().enumerate() {
            for &p in own {
                if g.subscribes(m, g.topic_of(p)) {
                    self.assignment[m].push(p);
                    self.owner[p as usize] = m as u32;
                } else {
                    revocation_required = true;
                }
            }
        }
        let mut unassigned: Vec<Flat> = sorted_all.iter().copied().filter(|&p| self.owner[p as usize] == NO_MEMBER).collect();
        for m in 0..n {
            self.sorted.insert((self.assignment[m].len(), m));
        }

        let initializing = self.sorted.last().is_none_or(|&(c, _)| c == 0);
        for &p in &unassigned {
            self.assign_to_least_loaded(p);
        }

        // Partitions of topics with a single consumer cannot move anywhere.
        sorted_all.retain(|&p| self.topic_consumers[g.topic_of(p)].len() >= 2);
        unassigned.retain(|&p| self.topic_consumers[g.topic_of(p)].len() >= 2);

        for m in 0..n {
            if !self.can_participate(m) {
                self.participating[m] = false;
                self.sorted.remove(&(self.assignment[m].len(), m));
            }
        }

        let pre_assignment = self.assignment.clone();
        let pre_owner = self.owner.clone();
        let pre_score = self.balance_score(&pre_assignment);

        // Without forced revocations, first try to balance by moving only new partitions.
        if !revocation_required {
            self.perform_reassignments(&unassigned);
            // Beyond Kafka: a chain of moves of new partitions can often balance what no
            // single move can, so no owned partition has to move. Cooperative-sticky
            // withholds every partition that leaves its owner; without this, the round
            // after a revocation could move owned partitions again and leave some
            // subscribed partition unassigned (unequal subscriptions, issue 14).
            self.balance_new_partitions(&unassigned);
        }
        let performed = self.perform_reassignments(&sorted_all);

        // Beyond Kafka: a balanced result is kept even when its score (the sum of count
        // differences over all pairs, blind to subscriptions) is no better.
        if !initializing && performed && !self.is_balanced() && self.balance_score(&self.assignment) >= pre_score {
            self.assignment = pre_assignment;
            self.owner = pre_owner;
        }
    }

    /// Balances by moving only `movable` partitions (the ones nobody owned), along
    /// chains: a member hands one to a subscriber, which hands another on, and so on.
    /// A chain is taken when it lowers (excess, sum of squared counts): the excess is
    /// what breaks the balance (see `excess`), the sum of squares what evens counts
    /// out. Chains from a most loaded member to one with two or more fewer come first;
    /// then chains out of a member that holds too many or into one that has too few,
    /// whatever the other end holds. Every chain taken lowers that pair, so this ends.
    fn balance_new_partitions(&mut self, movable: &[Flat]) {
        let mut is_movable = vec![false; self.g.total as usize];
        for &p in movable {
            is_movable[p as usize] = true;
        }
        while self.moves_left > 0 && !self.is_balanced() {
            let chain = self.descent_chain(&is_movable).or_else(|| self.repair_chain(&is_movable));
            let Some(moves) = chain else { return };
            for (p, to) in moves {
                self.process_movement(p, to);
            }
        }
    }

    /// What the balancing lowers, most important first: the excess (what breaks the
    /// balance) and the sum of squared counts (what evens them out).
    fn potential(&self) -> (u64, u64) {
        (self.excess(), self.sum_of_squares())
    }

    /// The potential after `moves`, which are undone again.
    fn potential_after(&mut self, moves: &[(Flat, usize)]) -> (u64, u64) {
        let undo: Vec<(Flat, usize)> = moves.iter().rev().map(|&(p, _)| (p, self.owner[p as usize] as usize)).collect();
        for &(p, to) in moves {
            self.shift(p, to);
        }
        let after = self.potential();
        for &(p, to) in &undo {
            self.shift(p, to);
        }
        after
    }

    /// Breadth-first from `s` over "u holds a movable partition whose topic v subscribes
    /// to": for each member reached, the (previous member, partition) it was reached by.
    fn chains_from(&self, s: usize, is_movable: &[bool]) -> Vec<Option<(usize, Flat)>> {
        let n = self.g.members.len();
        let mut parent: Vec<Option<(usize, Flat)>> = vec![None; n];
        let mut seen = vec![false; n];
        seen[s] = true;
        let mut queue = VecDeque::from([s]);
        while let Some(u) = queue.pop_front() {
            for &p in &self.assignment[u] {
                if !is_movable[p as usize] {
                    continue;
                }
                for &v in &self.topic_consumers[self.g.topic_of(p)] {
                    if !seen[v] && self.participating[v] && self.assignment[v].len() < self.max_size[v] {
                        seen[v] = true;
                        parent[v] = Some((u, p));
                        queue.push_back(v);
                    }
                }
            }
        }
        parent
    }

    /// The moves of the chain that ends at `v`, last hand-over first (so every member
    /// gives before it receives).
    fn chain_to(parent: &[Option<(usize, Flat)>], mut v: usize) -> Vec<(Flat, usize)> {
        let mut moves = Vec::new();
        while let Some((u, p)) = parent[v] {
            moves.push((p, v));
            v = u;
        }
        moves
    }

    /// A chain from a most loaded member to one with two or more fewer that does not
    /// add to the excess.
    fn descent_chain(&mut self, is_movable: &[bool]) -> Option<Vec<(Flat, usize)>> {
        let before = self.potential();
        let sources: Vec<(usize, usize)> = self.sorted.iter().rev().copied().collect();
        for (top, s) in sources {
            let parent = self.chains_from(s, is_movable);
            for v in 0..self.g.members.len() {
                if parent[v].is_some() && self.assignment[v].len() + 2 <= top {
                    let moves = Self::chain_to(&parent, v);
                    if self.potential_after(&moves) < before {
                        return Some(moves);
                    }
                }
            }
        }
        None
    }

    /// Total excess over the pairs that break the balance: for each topic, each
    /// member holding it and each subscriber that could take more, the count
    /// difference beyond one.
    fn excess(&self) -> u64 {
        let g = self.g;
        let mut holders: Vec<Vec<usize>> = vec![Vec::new(); g.topics.len()];
        for (m, parts) in self.assignment.iter().enumerate() {
            if !self.participating[m] {
                continue;
            }
            for &p in parts {
                let h = &mut holders[g.topic_of(p)];
                if h.last() != Some(&m) {
                    h.push(m);
                }
            }
        }
        let mut total = 0u64;
        for (t, hs) in holders.iter().enumerate() {
            for &x in hs {
                let cx = self.assignment[x].len();
                for &y in &self.topic_consumers[t] {
                    let cy = self.assignment[y].len();
                    if self.participating[y] && cy < self.max_size[y] && cx > cy + 1 {
                        total += (cx - cy - 1) as u64;
                    }
                }
            }
        }
        total
    }

    fn sum_of_squares(&self) -> u64 {
        self.assignment.iter().map(|a| (a.len() * a.len()) as u64).sum()
    }

    /// Among the chains out of a member that breaks the balance by holding too many,
    /// and into a member that has too few, the one that lowers (excess, sum of
    /// squares) the most, if any does.
    fn repair_chain(&mut self, is_movable: &[bool]) -> Option<Vec<(Flat, usize)>> {
        let g = self.g;
        let n = g.members.len();
        // The members on either side of a pair that breaks the balance.
        let (mut high, mut low) = (vec![false; n], vec![false; n]);
        for (x, parts) in self.assignment.iter().enumerate() {
            let cx = parts.len();
            for &p in parts {
                for &y in &self.topic_consumers[g.topic_of(p)] {
                    let cy = self.assignment[y].len();
                    if self.participating[x] && self.participating[y] && cy < self.max_size[y] && cx > cy + 1 {
                        high[x] = true;
                        low[y] = true;
                    }
                }
            }
        }
        let mut candidates: Vec<Vec<(Flat, usize)>> = Vec::new();
        for (s, &from_high) in high.iter().enumerate() {
            let parent = self.chains_from(s, is_movable);
            for v in 0..n {
                // Out of a member with too many, or into one with too few, whatever the
                // other end holds: a low member may have to take from an equal one.
                if parent[v].is_some() && (from_high || low[v]) {
                    candidates.push(Self::chain_to(&parent, v));
                }
            }
        }
        let before = self.potential();
        let mut best: Option<((u64, u64), usize)> = None;
        for (i, moves) in candidates.iter().enumerate() {
            let after = self.potential_after(moves);
            if after < before && best.is_none_or(|(b, _)| after < b) {
                best = Some((after, i));
            }
        }
        best.map(|(_, i)| candidates.swap_remove(i))
    }

    fn can_participate(&self, m: usize) -> bool {
        self.assignment[m].len() < self.max_size[m] || self.assignment[m].iter().any(|&p| self.topic_consumers[self.g.topic_of(p)].len() >= 2)
    }

    fn least_loaded_subscriber(&self, topic: usize) -> Option<usize> {
        self.sorted.iter().find(|&&(_, m)| self.g.subscribes(m, topic)).map(|&(_, m)| m)
    }

    fn assign_to_least_loaded(&mut self, p: Flat) {
        if let Some(m) = self.least_loaded_subscriber(self.g.topic_of(p)) {
            let count = self.assignment[m].len();
            self.sorted.remove(&(count, m));
            self.assignment[m].push(p);
            self.owner[p as usize] = m as u32;
            self.sorted.insert((count + 1, m));
            self.balanced = None;
        }
    }

    /// Sum over all pairs of participating members of the difference of their counts.
    fn balance_score(&self, assignment: &[Vec<Flat>]) -> i64 {
        let mut counts: Vec<i64> = (0..assignment.len())
            .filter(|&m| self.participating[m])
            .map(|m| assignment[m].len() as i64)
            .collect();
        counts.sort_small();
        let k = counts.len() as i64;
        counts.iter().enumerate().map(|(i, &c)| (2 * i as i64 - (k - 1)) * c).sum()
    }

    /// Kafka's `isBalanced`: counts within one, or no member could take a partition from a
    /// member with two or more partitions more. Kafka checks every partition for every
    /// member; the per-topic maximum owner count answers the same question in linear time.
    fn is_balanced(&mut self) -> bool {
        if let Some(b) = self.balanced {
            return b;
        }
        let b = self.compute_balanced();
        self.balanced = Some(b);
        b
    }

    fn compute_balanced(&self) -> bool {
        let (Some(&(min, _)), Some(&(max, _))) = (self.sorted.first(), self.sorted.last()) else {
            return true;
        };
        if min + 1 >= max {
            return true;
        }
        let g = self.g;
        let mut topic_max = vec![0usize; g.topics.len()];
        for (m, parts) in self.assignment.iter().enumerate() {
            if !self.participating[m] {
                continue;
            }
            for &p in parts {
                let t = g.topic_of(p);
                topic_max[t] = topic_max[t].max(parts.len());
            }
        }
        for &(count, m) in &self.sorted {
            if count >= self.max_size[m] {
                continue;
            }
            if g.members[m].subs.iter().any(|&t| topic_max[t] > count + 1) {
                return false;
            }
        }
        true
    }

    fn perform_reassignments(&mut self, partitions: &[Flat]) -> bool {
        let g = self.g;
        let mut performed = false;
        loop {
            let mut modified = false;
            for &p in partitions {
                if self.moves_left == 0 || self.is_balanced() {
                    break;
                }
                let current = self.owner[p as usize];
                if current == NO_MEMBER {
                    continue;
                }
                let consumer = current as usize;
                let topic = g.topic_of(p);
                let count = self.assignment[consumer].len();

                if let Some(&prev) = self.prev.get(&p) {
                    // Guarded beyond Kafka: the previous owner must still be able to take it.
                    if prev != consumer && self.participating[prev] && g.subscribes(prev, topic) && count > self.assignment[prev].len() + 1 {
                        self.reassign_to(p, prev);
                        performed = true;
                        modified = true;
                        continue;
                    }
                }

                if self.topic_consumers[topic].iter().any(|&o| count > self.assignment[o].len() + 1) {
                    if let Some(new) = self.least_loaded_subscriber(topic) {
                        self.reassign_to(p, new);
                        performed = true;
                        modified = true;
                    }
                }
            }
            if !modified || self.moves_left == 0 {
                return performed;
            }
        }
    }

    fn reassign_to(&mut self, p: Flat, new: usize) {
        let topic = self.g.topic_of(p);
        let old = self.owner[p as usize] as usize;
        let actual = self.movements.actual_partition(p, topic, old, new);
        // Beyond Kafka: the partition to move back must sit with `old`. After a chain of
        // moves it may sit elsewhere, and moving it would leave `old` as full as before
        // and could go back and forth until the move budget is spent.
        let actual = if self.owner[actual as usize] as usize == old { actual } else { p };
        self.process_movement(actual, new);
    }

    fn process_movement(&mut self, p: Flat, new: usize) {
        let current = self.owner[p as usize];
        if current == NO_MEMBER || current as usize == new {
            return;
        }
        let old = current as usize;
        let topic = self.g.topic_of(p);
        self.movements.record(p, topic, old, new);
        self.shift(p, new);
        self.moves_left = self.moves_left.saturating_sub(1);
    }

    /// Moves `p` to `new` in the assignment, the owner table and the sorted set.
    fn shift(&mut self, p: Flat, new: usize) {
        let old = self.owner[p as usize] as usize;
        let (old_count, new_count) = (self.assignment[old].len(), self.assignment[new].len());
        let old_listed = self.sorted.remove(&(old_count, old));
        let new_listed = self.sorted.remove(&(new_count, new));
        if let Some(i) = self.assignment[old].iter().position(|&q| q == p) {
            self.assignment[old].swap_remove(i);
        }
        self.assignment[new].push(p);
        self.owner[p as usize] = new as u32;
        if old_listed {
            self.sorted.insert((self.assignment[old].len(), old));
        }
        if new_listed {
            self.sorted.insert((self.assignment[new].len(), new));
        }
        self.balanced = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn movements_cancel_a_move_back_and_prefer_reversing_an_earlier_move() {
        let mut mv = Movements::default();
        mv.record(10, 0, 1, 2);
        mv.record(11, 0, 1, 2);
        // Moving 10 from member 2 to 1 would undo an earlier move; it is the partition to move.
        assert_eq!(mv.actual_partition(12, 0, 2, 1), 10);
        // Nothing moved from 3 to 2, so the partition asked for is the one that moves.
        assert_eq!(mv.actual_partition(12, 0, 2, 3), 12);
        assert_eq!(mv.actual_partition(12, 5, 2, 1), 12, "other topics are independent");
        mv.record(10, 0, 2, 1);
        assert_eq!(mv.by_partition.get(&10), None, "a move back cancels the record");
        mv.record(11, 0, 2, 3);
        assert_eq!(mv.by_partition.get(&11), Some(&(1, 3)), "a second move keeps the origin");
        mv.record(11, 0, 3, 1);
        assert!(mv.by_partition.is_empty() && mv.by_topic.is_empty());
    }

    #[test]
    fn balance_score_is_the_sum_of_pairwise_differences() {
        let topics: BTreeMap<String, u32> = BTreeMap::from([("t".to_string(), 10)]);
        let members: Vec<super::super::Member> = (0..4).map(|i| super::super::Member::new(format!("m{i}"), &["t"])).collect();
        let g = Group::build(&topics, &members).unwrap_or_else(|e| panic!("{e}"));
        let prev = BTreeMap::new();
        let general = General {
            g: &g,
            prev: &prev,
            topic_consumers: vec![vec![0, 1, 2, 3]],
            max_size: vec![10; 4],
            assignment: Vec::new(),
            owner: Vec::new(),
            sorted: BTreeSet::new(),
            participating: vec![true, true, false, true],
            movements: Movements::default(),
            balanced: None,
            moves_left: 0,
        };
        let a: Vec<Vec<Flat>> = vec![vec![0; 5], vec![0; 1], vec![0; 9], vec![0; 2]];
        // Member 2 does not take part: |5-1| + |5-2| + |1-2| = 8.
        assert_eq!(general.balance_score(&a), 8);
    }
}
