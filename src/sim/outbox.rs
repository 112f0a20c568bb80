//! What a node's handler gets to act with: the current time, its own random
//! stream, and an outbox. Handlers never touch another node or the engine: they
//! write sends and timers (effects, kept in the order they were made, so that
//! ties in the event queue break the same way every run) and observations (what
//! the checker, the metrics and the event log learn) into the outbox, and the
//! engine routes them when the handler returns.
//!
//! The types are generic over the domain's message `M`, timer `T` and
//! observation `O`, so this module knows nothing about Kafka.

use super::{Micros, Node, SimRng};

/// One effect of a handler, in the order it was made.
#[derive(Debug, Clone)]
pub enum Effect<M, T> {
    /// A message from `from` (the handler's node) that leaves at `depart` (not
    /// before now) for `to`.
    Send { depart: Micros, from: Node, to: Node, msg: M },
    /// A timer for the node itself, firing at `at`.
    Timer { at: Micros, timer: T },
}

/// Reused between events: the engine drains it after every handler.
#[derive(Debug, Clone)]
pub struct Outbox<M, T, O> {
    pub effects: Vec<Effect<M, T>>,
    pub observations: Vec<O>,
}

impl<M, T, O> Default for Outbox<M, T, O> {
    fn default() -> Self {
        Outbox {
            effects: Vec::new(),
            observations: Vec::new(),
        }
    }
}

impl<M, T, O> Outbox<M, T, O> {
    pub fn is_empty(&self) -> bool {
        self.effects.is_empty() && self.observations.is_empty()
    }
}

/// A handler's view of the world: its own clock reading, its random stream, its outbox.
pub struct Ctx<'a, M, T, O> {
    pub now: Micros,
    pub me: Node,
    pub rng: &'a mut SimRng,
    out: &'a mut Outbox<M, T, O>,
}

impl<'a, M, T, O> Ctx<'a, M, T, O> {
    pub fn new(now: Micros, me: Node, rng: &'a mut SimRng, out: &'a mut Outbox<M, T, O>) -> Self {
        Ctx { now, me, rng, out }
    }

    /// Sends `msg` now.
    pub fn send(&mut self, to: Node, msg: M) {
        self.out.effects.push(Effect::Send {
            depart: self.now,
            from: self.me,
            to,
            msg,
        });
    }

    /// Sends `msg` when the node is done with it (after a service or disk time).
    pub fn send_at(&mut self, depart: Micros, to: Node, msg: M) {
        self.out.effects.push(Effect::Send {
            depart: depart.max(self.now),
            from: self.me,
            to,
            msg,
        });
    }

    /// A timer for this node `after` from now.
    pub fn timer(&mut self, after: Micros, timer: T) {
        self.out.effects.push(Effect::Timer { at: self.now + after, timer });
    }

    /// Tells the observers (checker, metrics, event log) what happened.
    pub fn observe(&mut self, what: O) {
        self.out.observations.push(what);
    }
}
