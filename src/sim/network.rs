//! The network between nodes: per-message latency (half the round trip, jitter,
//! a rare tail, extra latency of a slowed broker) and directed cuts.

use super::{Micros, SimRng};
use std::collections::BTreeSet;

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

#[derive(Debug, Clone)]
pub struct Network {
    pub rtt_us: Micros,
    /// Directed: messages from .0 to .1 are dropped.
    pub cuts: BTreeSet<(Node, Node)>,
    /// Extra one-way latency per broker (slow_broker).
    pub extra_us: Vec<Micros>,
    rng: SimRng,
}

impl Network {
    pub fn new(rtt_us: Micros, brokers: u32, rng: SimRng) -> Network {
        Network {
            rtt_us,
            cuts: BTreeSet::new(),
            extra_us: vec![0; brokers as usize],
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

    /// One-way delay for one message. Clients on the same host as nothing: all links alike.
    pub fn delay(&mut self, from: Node, to: Node) -> Micros {
        let half = self.rtt_us / 2;
        let mut d = half + self.rng.range(0, half / 4);
        // A rare tail (retransmit, a busy NIC): 1 in 2000 messages waits 1-4 ms more.
        if self.rng.chance_ppm(500) {
            d += self.rng.range(1_000, 4_000);
        }
        d + self.extra(from) + self.extra(to)
    }
}
