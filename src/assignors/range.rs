//! The client-side `range` assignor (Kafka's `RangeAssignor`, without rack awareness).
//!
//! Works topic by topic: the members subscribed to a topic, static ones first by
//! group.instance.id and then dynamic ones by member id, each get a contiguous range of
//! P / C partitions, and the first P % C of them one more. Ownership plays no part, and
//! balance across topics is not a goal: two members on two topics of three partitions get
//! four and two, exactly as Kafka does.

use super::group::{Flat, Group};

pub(crate) fn assign(g: &Group) -> Vec<Vec<Flat>> {
    let order = g.range_order();
    let mut out = vec![Vec::new(); g.members.len()];
    for t in 0..g.topics.len() {
        let consumers: Vec<usize> = order.iter().copied().filter(|&m| g.subscribes(m, t)).collect();
        if consumers.is_empty() {
            continue;
        }
        let n = g.topics[t].partitions as usize;
        let per = n / consumers.len();
        let extra = n % consumers.len();
        let mut next = g.topics[t].offset;
        for (i, &m) in consumers.iter().enumerate() {
            let count = (per + usize::from(i < extra)) as Flat;
            out[m].extend(next..next + count);
            next += count;
        }
    }
    out
}
