//! The event log: notable events (`kafka::notable`) in a bounded buffer.

pub use crate::kafka::notable::{ElectionKind, Notable};
use crate::sim::Micros;
use std::collections::VecDeque;

#[derive(Debug, Clone)]
pub struct Entry {
    pub at_us: Micros,
    pub what: Notable,
}

#[derive(Debug, Clone)]
pub struct EventLog {
    pub entries: VecDeque<Entry>,
    pub capacity: usize,
    /// Entries ever written, including the ones that rolled off.
    pub total: u64,
}

impl EventLog {
    pub fn new(capacity: usize) -> EventLog {
        EventLog {
            entries: VecDeque::new(),
            capacity,
            total: 0,
        }
    }

    pub fn push(&mut self, at_us: Micros, what: Notable) {
        if self.entries.len() == self.capacity {
            self.entries.pop_front();
        }
        self.entries.push_back(Entry { at_us, what });
        self.total += 1;
    }
}
