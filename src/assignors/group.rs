//! The normalised, validated view of a consumer group that every assignor works on.
//!
//! Input validation (duplicate member ids, unknown topics, partition limits) happens once
//! here, so the assignors themselves only deal with dense indices: a topic is an index into
//! `Group::topics` (sorted the way Java sorts strings), a member is an index into
//! `Group::members` (sorted by member id), and a partition is a "flat" index, the topic's
//! offset plus the partition number. Flat indices therefore sort by (topic, partition),
//! which is the order Kafka's assignors walk partitions in.

use crate::sim::SortSmall;
use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};

use super::{AssignError, Assignment, Member};

/// A partition as one dense number: the topic's offset plus the partition number.
pub(crate) type Flat = u32;

/// Marks "no member" in dense owner tables.
pub(crate) const NO_MEMBER: u32 = u32::MAX;

/// Upper bound on the partitions of all topics together. Far above any real cluster, low
/// enough that a typo in a partition count gives an error instead of exhausting memory.
pub const MAX_TOTAL_PARTITIONS: u64 = 1_000_000;

/// Compares strings the way Java's `String.compareTo` does (by UTF-16 code units), because
/// Kafka's member and topic orderings are defined by it. It differs from Rust's byte order
/// only for characters above U+FFFF against U+E000..U+FFFF, but those orders must agree.
pub(crate) fn java_cmp(a: &str, b: &str) -> Ordering {
    if a.is_ascii() && b.is_ascii() {
        return a.cmp(b);
    }
    a.encode_utf16().cmp(b.encode_utf16())
}

#[derive(Clone)]
pub(crate) struct TopicInfo {
    pub name: String,
    pub partitions: u32,
    pub offset: Flat,
}

#[derive(Clone)]
pub(crate) struct MemberInfo {
    pub id: String,
    pub instance: Option<String>,
    /// Topic indices, ascending, without duplicates.
    pub subs: Vec<usize>,
    /// Every claimed partition that exists in a subscribed-by-someone topic, ascending,
    /// without duplicates. Claims on unknown topics or beyond a topic's partition count are
    /// dropped, as Kafka does.
    pub claims: Vec<Flat>,
    pub generation: i32,
}

#[derive(Clone)]
pub(crate) struct Group {
    /// Only topics that at least one member subscribes to: Kafka's client-side assignors
    /// never see the others (`partitionsPerTopic` is built from the subscriptions).
    pub topics: Vec<TopicInfo>,
    pub members: Vec<MemberInfo>,
    pub total: Flat,
    /// Topic index of every flat partition.
    topic_of: Vec<u32>,
}

impl Group {
    pub fn build(topics: &BTreeMap<String, u32>, members: &[Member]) -> Result<Group, AssignError> {
        let all: u64 = topics.values().map(|&n| u64::from(n)).sum();
        if all > MAX_TOTAL_PARTITIONS {
            return Err(AssignError::TooManyPartitions {
                total: all,
                limit: MAX_TOTAL_PARTITIONS,
            });
        }

        let mut seen_ids = BTreeSet::new();
        let mut seen_instances = BTreeSet::new();
        let mut subscribed: BTreeSet<&str> = BTreeSet::new();
        for m in members {
            if !seen_ids.insert(m.member_id.as_str()) {
                return Err(AssignError::DuplicateMemberId(m.member_id.clone()));
            }
            if let Some(instance) = &m.group_instance_id {
                // The coordinator fences the old member when a static member rejoins, so a
                // group never holds one instance id twice; two would make the order ambiguous.
                if !seen_instances.insert(instance.as_str()) {
                    return Err(AssignError::DuplicateGroupInstanceId(instance.clone()));
                }
            }
            for t in &m.topics {
                if !topics.contains_key(t) {
                    return Err(AssignError::UnknownTopic {
                        member_id: m.member_id.clone(),
                        topic: t.clone(),
                    });
                }
                subscribed.insert(t.as_str());
            }
        }

        let mut names: Vec<&str> = subscribed.into_iter().collect();
        names.sort_small_by(|a, b| java_cmp(a, b));
        let mut topic_infos = Vec::with_capacity(names.len());
        let mut index: BTreeMap<&str, usize> = BTreeMap::new();
        let mut offset: Flat = 0;
        for (i, name) in names.iter().enumerate() {
            let partitions = topics.get(*name).copied().unwrap_or(0);
            topic_infos.push(TopicInfo {
                name: (*name).to_string(),
                partitions,
                offset,
            });
            index.insert(name, i);
            // Cannot overflow: the sum of all counts was checked against the limit above.
            offset += partitions;
        }
        let total = offset;
        let mut topic_of = Vec::with_capacity(total as usize);
        for (i, t) in topic_infos.iter().enumerate() {
            topic_of.resize(topic_of.len() + t.partitions as usize, i as u32);
        }

        let mut member_infos: Vec<MemberInfo> = members
            .iter()
            .map(|m| {
                let mut subs: Vec<usize> = m.topics.iter().filter_map(|t| index.get(t.as_str()).copied()).collect();
                subs.sort_small();
                subs.dedup();
                let mut claims = Vec::new();
                for (t, parts) in &m.owned {
                    if let Some(&ti) = index.get(t.as_str()) {
                        let info = &topic_infos[ti];
                        claims.extend(parts.iter().filter(|&&p| p < info.partitions).map(|&p| info.offset + p));
                    }
                }
                claims.sort_small();
                claims.dedup();
                MemberInfo {
                    id: m.member_id.clone(),
                    instance: m.group_instance_id.clone(),
                    subs,
                    claims,
                    generation: m.generation,
                }
            })
            .collect();
        member_infos.sort_small_by(|a, b| java_cmp(&a.id, &b.id));

        Ok(Group {
            topics: topic_infos,
            members: member_infos,
            total,
            topic_of,
        })
    }

    /// The same group with every member claiming `claims[m]` in one generation: the
    /// input of the next rebalance if each member keeps what it was just given.
    pub fn with_claims(&self, claims: &[Vec<Flat>], generation: i32) -> Group {
        let mut next = self.clone();
        for (m, member) in next.members.iter_mut().enumerate() {
            member.claims = claims.get(m).cloned().unwrap_or_default();
            member.claims.sort_small();
            member.generation = generation;
        }
        next
    }

    pub fn topic_of(&self, p: Flat) -> usize {
        self.topic_of[p as usize] as usize
    }

    pub fn partition_of(&self, p: Flat) -> u32 {
        p - self.topics[self.topic_of(p)].offset
    }

    pub fn partitions_of(&self, t: usize) -> std::ops::Range<Flat> {
        let info = &self.topics[t];
        info.offset..info.offset + info.partitions
    }

    pub fn subscribes(&self, m: usize, t: usize) -> bool {
        self.members[m].subs.binary_search(&t).is_ok()
    }

    /// Partitions a member could be assigned at most (Kafka's `getMaxAssignmentSize`).
    pub fn max_assignment_size(&self, m: usize) -> usize {
        self.members[m].subs.iter().map(|&t| self.topics[t].partitions as usize).sum()
    }

    pub fn all_subscriptions_equal(&self) -> bool {
        match self.members.split_first() {
            None => true,
            Some((first, rest)) => rest.iter().all(|m| m.subs == first.subs),
        }
    }

    /// Member indices in the order range and roundrobin deal to them (Kafka's
    /// `MemberInfo.compareTo`): static members first by group.instance.id, then dynamic
    /// members by member id.
    pub fn range_order(&self) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.members.len()).collect();
        order.sort_small_by(|&a, &b| {
            let (ma, mb) = (&self.members[a], &self.members[b]);
            match (&ma.instance, &mb.instance) {
                (Some(x), Some(y)) => java_cmp(x, y),
                (Some(_), None) => Ordering::Less,
                (None, Some(_)) => Ordering::Greater,
                (None, None) => java_cmp(&ma.id, &mb.id),
            }
        });
        order
    }

    pub fn max_generation(&self) -> i32 {
        self.members.iter().map(|m| m.generation).max().unwrap_or(-1)
    }

    /// Ownership after the per-partition generation rule (Kafka's `allSubscriptionsEqual`
    /// since 3.5): among the members claiming a partition the highest generation keeps it;
    /// if several share that generation, none does.
    pub fn resolve_by_partition(&self) -> Vec<Vec<Flat>> {
        // partition -> (best generation, its member, whether that generation is shared)
        let mut best: BTreeMap<Flat, (i32, usize, bool)> = BTreeMap::new();
        for (m, member) in self.members.iter().enumerate() {
            for &p in &member.claims {
                best.entry(p)
                    .and_modify(|e| match member.generation.cmp(&e.0) {
                        Ordering::Greater => *e = (member.generation, m, false),
                        Ordering::Equal => e.2 = true,
                        Ordering::Less => {}
                    })
                    .or_insert((member.generation, m, false));
            }
        }
        let mut owned = vec![Vec::new(); self.members.len()];
        for (p, (_, m, tied)) in best {
            if !tied {
                owned[m].push(p);
            }
        }
        owned
    }

    /// Ownership when every member has the same subscription: only members of the highest
    /// generation keep their claims, and a partition claimed by two of them is kept by
    /// neither. (This is the rule of Kafka's `allSubscriptionsEqual` before 3.5, which the
    /// simulator specifies; Kafka 3.5+ applies the per-partition rule here as well.)
    pub fn resolve_highest_generation(&self) -> Vec<Vec<Flat>> {
        let max = self.max_generation();
        let mut claimants: BTreeMap<Flat, u32> = BTreeMap::new();
        for member in self.members.iter().filter(|m| m.generation == max) {
            for &p in &member.claims {
                *claimants.entry(p).or_insert(0) += 1;
            }
        }
        self.members
            .iter()
            .map(|member| {
                if member.generation != max {
                    return Vec::new();
                }
                member.claims.iter().copied().filter(|p| claimants.get(p) == Some(&1)).collect()
            })
            .collect()
    }

    /// Turns per-member flat partition lists into the public assignment shape: every member
    /// present, topics without partitions left out, partitions ascending.
    pub fn to_assignment(&self, per_member: &[Vec<Flat>]) -> Assignment {
        let mut out = Assignment::new();
        for (m, member) in self.members.iter().enumerate() {
            let mut topics: BTreeMap<String, Vec<u32>> = BTreeMap::new();
            if let Some(parts) = per_member.get(m) {
                for &p in parts {
                    let t = self.topic_of(p);
                    topics.entry(self.topics[t].name.clone()).or_default().push(self.partition_of(p));
                }
            }
            for parts in topics.values_mut() {
                parts.sort_small();
                parts.dedup();
            }
            out.insert(member.id.clone(), topics);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(id: &str, topics: &[&str]) -> Member {
        Member::new(id, topics)
    }

    fn ts(list: &[(&str, u32)]) -> BTreeMap<String, u32> {
        list.iter().map(|&(t, n)| (t.to_string(), n)).collect()
    }

    #[test]
    fn java_order_differs_from_byte_order_only_above_the_bmp() {
        // U+FF21 (fullwidth A) is one UTF-16 unit 0xFF21; U+1F600 is the surrogate pair
        // 0xD83D 0xDE00. Java puts the emoji first, UTF-8 byte order puts it last.
        assert_eq!(java_cmp("\u{1F600}", "\u{FF21}"), Ordering::Less);
        assert_eq!("\u{1F600}".cmp("\u{FF21}"), Ordering::Greater);
        assert_eq!(java_cmp("B", "a"), Ordering::Less);
        assert_eq!(java_cmp("t1", "t10"), Ordering::Less);
        assert_eq!(java_cmp("", "a"), Ordering::Less);
    }

    #[test]
    fn build_rejects_bad_groups() {
        let topics = ts(&[("t", 2)]);
        assert_eq!(
            Group::build(&topics, &[m("a", &[]), m("a", &[])]).err(),
            Some(AssignError::DuplicateMemberId("a".into()))
        );
        assert_eq!(
            Group::build(&topics, &[m("a", &[]).with_instance_id("i"), m("b", &[]).with_instance_id("i")]).err(),
            Some(AssignError::DuplicateGroupInstanceId("i".into()))
        );
        assert_eq!(
            Group::build(&topics, &[m("a", &["t", "u"])]).err(),
            Some(AssignError::UnknownTopic {
                member_id: "a".into(),
                topic: "u".into()
            })
        );
        let huge = ts(&[("t", u32::MAX), ("u", u32::MAX)]);
        assert!(matches!(Group::build(&huge, &[]).err(), Some(AssignError::TooManyPartitions { .. })));
    }

    #[test]
    fn build_keeps_only_subscribed_topics_and_valid_claims() {
        let topics = ts(&[("b", 2), ("a", 3), ("unused", 5)]);
        let owned = BTreeMap::from([
            ("a".to_string(), vec![2, 2, 7]),
            ("unused".to_string(), vec![0]),
            ("gone".to_string(), vec![0]),
            ("b".to_string(), vec![1]),
        ]);
        let g = Group::build(&topics, &[m("y", &["b", "a", "a"]).with_owned(owned, 4), m("x", &["a"])]).unwrap();
        assert_eq!(g.topics.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(g.total, 5);
        // Members sorted by id; duplicates in the subscription collapse.
        assert_eq!(g.members[0].id, "x");
        assert_eq!(g.members[1].subs, vec![0, 1]);
        // a-2 (flat 2) and b-1 (flat 4); a-7, unused-0 and gone-0 are dropped.
        assert_eq!(g.members[1].claims, vec![2, 4]);
        assert_eq!((g.topic_of(4), g.partition_of(4)), (1, 1));
    }

    #[test]
    fn range_order_puts_static_members_first() {
        let topics = ts(&[]);
        let g = Group::build(
            &topics,
            &[m("a", &[]), m("b", &[]).with_instance_id("z"), m("c", &[]).with_instance_id("y"), m("0", &[])],
        )
        .unwrap();
        let ids: Vec<&str> = g.range_order().into_iter().map(|i| g.members[i].id.as_str()).collect();
        assert_eq!(ids, ["c", "b", "0", "a"]);
    }

    fn claimant(id: &str, parts: &[u32], generation: i32) -> Member {
        m(id, &["t"]).with_owned(BTreeMap::from([("t".to_string(), parts.to_vec())]), generation)
    }

    #[test]
    fn per_partition_rule() {
        let topics = ts(&[("t", 4)]);
        let g = Group::build(
            &topics,
            &[
                claimant("a", &[0, 1, 3], 5),
                claimant("b", &[0, 2], 5),
                claimant("c", &[1, 2, 3], 7),
                claimant("d", &[3], 7),
            ],
        )
        .unwrap();
        // 0: a and b tie at 5 -> nobody. 1: c (7) beats a. 2: c beats b. 3: c and d tie at 7.
        assert_eq!(g.resolve_by_partition(), vec![vec![], vec![], vec![1, 2], vec![]]);
    }

    #[test]
    fn highest_generation_rule() {
        let topics = ts(&[("t", 4)]);
        let g = Group::build(&topics, &[claimant("a", &[0, 1], 5), claimant("b", &[2], 4), claimant("c", &[1, 3], 5)]).unwrap();
        // b is stale and loses everything; a and c both claim 1, so neither keeps it.
        assert_eq!(g.resolve_highest_generation(), vec![vec![0], vec![], vec![3]]);
        // Unknown generations all around: every claim counts.
        let g = Group::build(&topics, &[claimant("a", &[0], -1), claimant("b", &[1], -1)]).unwrap();
        assert_eq!(g.resolve_highest_generation(), vec![vec![0], vec![1]]);
    }
}
