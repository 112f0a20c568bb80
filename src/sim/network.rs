//! The network between nodes: per-message latency (half the round trip, a seeded
//! jitter with a tail, extra latency of a slowed broker), connections that keep
//! order, and directed cuts.

use super::{Micros, SimRng};
use std::collections::{BTreeSet, HashMap};
use std::hash::{BuildHasherDefault, Hasher};

/// A node of the simulated system. Clients (producers, consumers) are never cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Node {
    Broker(u32),
    Controller(u32),
    Client(u32),
    Consumer(u32),
}

impl Node {
    pub fn code(self) -> u64 {
        match self {
            Node::Broker(b) => u64::from(b),
            Node::Controller(c) => 1 << 32 | u64::from(c),
            Node::Client(c) => 2 << 32 | u64::from(c),
            Node::Consumer(c) => 3 << 32 | u64::from(c),
        }
    }
}

impl std::fmt::Display for Node {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Node::Broker(b) => write!(f, "broker {b}"),
            Node::Controller(c) => write!(f, "controller c{c}"),
            Node::Client(c) => write!(f, "client {c}"),
            Node::Consumer(c) => write!(f, "consumer {c}"),
        }
    }
}

/// Which connection between two nodes a message travels on. Kafka opens one TCP
/// connection per (client, node id); a consumer's group coordinator has a node id
/// of its own, so the consumer reaches the same broker on a second connection.
pub type Lane = u8;

/// The latency model's settings (simulator settings, not Kafka's).
#[derive(Debug, Clone, Copy)]
pub struct Latency {
    /// Round trip between any two nodes without jitter.
    pub rtt_us: Micros,
    /// Each message waits a random extra: none for most, at least `jitter_us` for
    /// one in four, 3x for one in 16, 7x for one in 64, and so on (queues in
    /// switches and NICs). 0 gives a clockwork network.
    pub jitter_us: Micros,
}

#[derive(Debug, Clone)]
pub struct Network {
    pub latency: Latency,
    /// Directed: messages from .0 to .1 are dropped.
    pub cuts: BTreeSet<(Node, Node)>,
    /// Extra one-way latency per broker (slow_broker).
    pub extra_us: Vec<Micros>,
    /// When the last message on each connection arrives: one connection delivers
    /// in order (TCP), whatever each message's own delay.
    last_arrival: HashMap<u64, Micros, BuildHasherDefault<KeyHasher>>,
    rng: SimRng,
}

impl Network {
    pub fn new(latency: Latency, brokers: u32, rng: SimRng) -> Network {
        Network {
            latency,
            cuts: BTreeSet::new(),
            extra_us: vec![0; brokers as usize],
            last_arrival: HashMap::default(),
            rng,
        }
    }

    pub fn is_cut(&self, from: Node, to: Node) -> bool {
        !self.cuts.is_empty() && self.cuts.contains(&(from, to))
    }

    fn extra(&self, n: Node) -> Micros {
        match n {
            Node::Broker(b) => self.extra_us.get(b as usize).copied().unwrap_or(0),
            _ => 0,
        }
    }

    /// One-way delay of one message on its own: half the round trip, the jitter,
    /// a rare retransmit-like wait of 1-4 ms, and a slowed broker's extra.
    pub fn delay(&mut self, from: Node, to: Node) -> Micros {
        let mut d = self.latency.rtt_us / 2;
        let unit = self.latency.jitter_us;
        if unit > 0 {
            // Two trailing zero bits per step: P(step >= k) = 4^-k; the high bits spread within a step.
            let r = self.rng.next_u64();
            let step = (r.trailing_zeros() / 2).min(12);
            d += unit * ((1 << step) - 1) + (r >> 32) % unit;
            if self.rng.chance_ppm(500) {
                d += self.rng.range(1_000, 4_000);
            }
        }
        d + self.extra(from) + self.extra(to)
    }

    /// When a message leaving at `depart` arrives: its own delay, but never before
    /// the message sent before it on the same connection.
    pub fn arrival(&mut self, depart: Micros, from: Node, to: Node, lane: Lane) -> Micros {
        let at = depart + self.delay(from, to);
        let last = self.last_arrival.entry(connection_key(from, to, lane)).or_insert(0);
        *last = at.max(*last);
        *last
    }
}

/// 31 bits per node: 2 for its kind, 29 for its number (a connection is two nodes and a lane).
fn node_key(n: Node) -> u64 {
    let (kind, id) = match n {
        Node::Broker(b) => (0, b),
        Node::Controller(c) => (1, c),
        Node::Client(c) => (2, c),
        Node::Consumer(c) => (3, c),
    };
    kind << 29 | u64::from(id) & ((1 << 29) - 1)
}

fn connection_key(from: Node, to: Node, lane: Lane) -> u64 {
    node_key(from) << 33 | node_key(to) << 2 | u64::from(lane & 3)
}

/// Multiplicative hashing for the connection table (keys are already spread out;
/// the table is never iterated, so the order of entries cannot matter).
#[derive(Default)]
struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
    fn write_u64(&mut self, k: u64) {
        self.0 = (k ^ k >> 29).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(jitter_us: Micros) -> Network {
        Network::new(Latency { rtt_us: 500, jitter_us }, 3, SimRng::stream(1, "network"))
    }

    #[test]
    fn one_connection_delivers_in_order() {
        let mut n = net(200);
        let (a, b) = (Node::Client(0), Node::Broker(1));
        let mut last = 0;
        let mut reordered_if_independent = 0;
        for i in 0..10_000 {
            let depart = i * 10;
            let own = depart + n.delay(a, b);
            if own < last {
                reordered_if_independent += 1;
            }
            let at = n.arrival(depart, a, b, 0);
            assert!(at >= last, "message {i} overtook the one before it");
            assert!(at >= own.min(at));
            last = at;
        }
        // The jitter alone would reorder: the connection is what keeps order.
        assert!(reordered_if_independent > 100, "{reordered_if_independent}");
    }

    #[test]
    fn lanes_and_directions_are_separate_connections() {
        let mut n = net(0);
        let (a, b) = (Node::Consumer(0), Node::Broker(0));
        assert_eq!(n.arrival(10_000, a, b, 0), 10_250);
        // The coordinator lane does not wait behind the fetch lane, nor the reverse direction.
        assert_eq!(n.arrival(0, a, b, 1), 250);
        assert_eq!(n.arrival(0, b, a, 0), 250);
        assert_eq!(n.arrival(0, a, b, 0), 10_250);
    }

    #[test]
    fn jitter_has_a_tail() {
        let mut n = net(40);
        let mut d: Vec<Micros> = (0..100_000).map(|_| n.delay(Node::Broker(0), Node::Broker(1))).collect();
        d.sort_unstable();
        let q = |p: usize| d[d.len() * p / 1000];
        assert!(q(500) < 300, "p50 {}", q(500));
        assert!(q(990) >= 250 + 7 * 40, "p99 {}", q(990));
        assert!(q(999) > 2 * q(500), "p99.9 {} p50 {}", q(999), q(500));
        let mut clockwork = net(0);
        assert!((0..1000).all(|_| clockwork.delay(Node::Broker(0), Node::Broker(1)) == 250));
    }
}
