//! The client-side `cooperative-sticky` assignor (Kafka's `CooperativeStickyAssignor`).
//!
//! It computes the sticky assignment and then withholds, for this round, every partition
//! that would reach a member while another member still holds it: the holder revokes it
//! when it sees its new assignment, and the follow-up rebalance that the revocation
//! triggers hands it to its new owner. So no partition is ever assigned to one member while
//! another still consumes it, and only moving partitions pause (KIP-429).
//!
//! "Still holds" is judged on the raw claims, not only on the owner the generation rules
//! picked: a member whose claim lost (a stale generation, or a tie between two members of
//! one generation) may still be consuming the partition. Kafka's constrained path withholds
//! exactly the partitions that moved away from their resolved owner plus the tied ones;
//! this is the same except that a partition claimed only by a stale member is withheld too
//! (Kafka 3.5+ does that as well, through KAFKA-14639's per-partition rule). Kafka's general
//! path compares raw claims like this, but lets a losing claimant receive the partition
//! while the winner still holds it; here that partition is withheld instead.

use std::collections::BTreeMap;

use super::group::{Flat, Group};
use super::sticky;
use super::AssignError;

/// Rounds of look-ahead for groups with unequal subscriptions.
const LOOK_AHEAD: usize = 4;

pub(crate) fn assign(g: &Group) -> Result<Vec<Vec<Flat>>, AssignError> {
    let sticky::StickyResult { assignment, resolved } = sticky::assign(g)?;
    let first = withhold(g, assignment, &resolved);
    if g.all_subscriptions_equal() {
        return Ok(first);
    }
    // Beyond Kafka: with unequal subscriptions the round after the revocation, run on
    // what this round hands out, may move owned partitions again and hold them back
    // too (Kafka's own test allows four follow-up rounds). Look ahead: if it would,
    // aim at what it would compute instead, until the round after keeps everything
    // (then it assigns every partition, balanced).
    let generation = g.max_generation().saturating_add(1);
    let mut out = first.clone();
    for _ in 0..LOOK_AHEAD {
        let next = sticky::assign(&g.with_claims(&out, generation))?.assignment;
        let keeps_all = out.iter().zip(&next).all(|(now, then)| now.iter().all(|p| then.contains(p)));
        if keeps_all {
            return Ok(out);
        }
        out = withhold(g, next, &resolved);
    }
    Ok(first)
}

/// Every partition that would reach a member while another member still holds it
/// (by its raw claim) is held back, unless the generation rules made it that member's.
fn withhold(g: &Group, mut assignment: Vec<Vec<Flat>>, resolved: &[Vec<Flat>]) -> Vec<Vec<Flat>> {
    let mut resolved_owner: BTreeMap<Flat, usize> = BTreeMap::new();
    for (m, parts) in resolved.iter().enumerate() {
        for &p in parts {
            resolved_owner.insert(p, m);
        }
    }
    let mut claimants: BTreeMap<Flat, Vec<usize>> = BTreeMap::new();
    for (m, member) in g.members.iter().enumerate() {
        for &p in &member.claims {
            claimants.entry(p).or_default().push(m);
        }
    }
    for (m, parts) in assignment.iter_mut().enumerate() {
        parts.retain(|p| resolved_owner.get(p) == Some(&m) || !claimants.get(p).is_some_and(|cs| cs.iter().any(|&c| c != m)));
    }
    assignment
}
