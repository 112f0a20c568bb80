//! The client-side `roundrobin` assignor (Kafka's `RoundRobinAssignor`).
//!
//! Every partition of every subscribed topic, sorted by topic and then partition, is dealt
//! to the members in range order (static members by group.instance.id, then dynamic members
//! by member id), cyclically; a member not subscribed to the partition's topic is skipped.
//! The cycle continues across topics rather than restarting, which is what makes the result
//! uneven for mixed subscriptions. Ownership plays no part.

use super::group::{Flat, Group};

pub(crate) fn assign(g: &Group) -> Vec<Vec<Flat>> {
    let order = g.range_order();
    let mut out = vec![Vec::new(); g.members.len()];
    if order.is_empty() {
        return out;
    }
    // Positions in the dealing order of each topic's subscribers, ascending, so that the
    // next subscriber at or after the cursor is a binary search instead of a walk past
    // every unsubscribed member.
    let mut positions: Vec<Vec<usize>> = vec![Vec::new(); g.topics.len()];
    for (pos, &m) in order.iter().enumerate() {
        for &t in &g.members[m].subs {
            positions[t].push(pos);
        }
    }
    let mut cursor = 0usize;
    // Group topics are exactly the subscribed ones, in Java string order, so walking flat
    // indices walks Kafka's sorted partition list.
    for p in 0..g.total {
        let subscribers = &positions[g.topic_of(p)];
        let at = subscribers.partition_point(|&pos| pos < cursor);
        // Wrap around to the first subscriber when none is left after the cursor.
        let Some(&pos) = subscribers.get(at).or_else(|| subscribers.first()) else {
            continue;
        };
        out[order[pos]].push(p);
        cursor = (pos + 1) % order.len();
    }
    out
}
