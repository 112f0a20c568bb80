//! A min-heap of events keyed by (time, class, sequence number). The sequence
//! number is assigned at push time, so events scheduled for the same microsecond
//! run in the order they were scheduled, on every platform; class 0 (actions)
//! runs before class 1 (everything else) at the same time, whenever it was
//! pushed, so a replayed action lands exactly where the live one did. Payloads
//! live in a slab so the heap moves only small keys.

use super::Micros;
use std::cmp::Ordering;
use std::collections::BinaryHeap;

#[derive(Clone, Copy, PartialEq, Eq)]
struct Key {
    time: Micros,
    seq: u64,
    slot: u32,
    class: u8,
}

impl PartialOrd for Key {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Key {
    // Reversed: BinaryHeap is a max-heap and we want the earliest event first.
    fn cmp(&self, other: &Self) -> Ordering {
        (other.time, other.class, other.seq).cmp(&(self.time, self.class, self.seq))
    }
}

#[derive(Clone)]
pub struct EventQueue<E> {
    heap: BinaryHeap<Key>,
    slab: Vec<Option<E>>,
    free: Vec<u32>,
    next_seq: u64,
}

impl<E> Default for EventQueue<E> {
    fn default() -> Self {
        Self {
            heap: BinaryHeap::new(),
            slab: Vec::new(),
            free: Vec::new(),
            next_seq: 0,
        }
    }
}

impl<E> EventQueue<E> {
    pub fn push(&mut self, time: Micros, event: E) -> u64 {
        self.push_class(time, 1, event)
    }

    /// Pushes an event that runs before every ordinary event of the same time.
    pub fn push_first(&mut self, time: Micros, event: E) -> u64 {
        self.push_class(time, 0, event)
    }

    fn push_class(&mut self, time: Micros, class: u8, event: E) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        let slot = match self.free.pop() {
            Some(s) => {
                self.slab[s as usize] = Some(event);
                s
            }
            None => {
                self.slab.push(Some(event));
                (self.slab.len() - 1) as u32
            }
        };
        self.heap.push(Key { time, seq, slot, class });
        seq
    }

    pub fn pop(&mut self) -> Option<(Micros, u64, E)> {
        let k = self.heap.pop()?;
        let event = self.slab[k.slot as usize].take()?;
        self.free.push(k.slot);
        Some((k.time, k.seq, event))
    }

    pub fn peek_time(&self) -> Option<Micros> {
        self.heap.peek().map(|k| k.time)
    }

    pub fn len(&self) -> usize {
        self.heap.len()
    }

    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_by_time_then_insertion() {
        let mut q = EventQueue::default();
        q.push(5, "c");
        q.push(1, "a");
        q.push(5, "d");
        q.push(1, "b");
        let order: Vec<_> = std::iter::from_fn(|| q.pop().map(|(_, _, e)| e)).collect();
        assert_eq!(order, ["a", "b", "c", "d"]);
        q.push(3, "e");
        assert_eq!(q.pop().map(|x| x.2), Some("e"));
        assert!(q.is_empty());
        // Class 0 goes first at its time, whenever it was pushed.
        q.push(9, "late-ordinary");
        q.push_first(9, "action");
        q.push(8, "earlier");
        let order: Vec<_> = std::iter::from_fn(|| q.pop().map(|(_, _, e)| e)).collect();
        assert_eq!(order, ["earlier", "action", "late-ordinary"]);
    }
}
