//! Moving a session through time: playing in slices, one event, the next notable
//! event, rewinding, and the user's actions. Run B follows run A to the same
//! microsecond after each, and gets each action at the same microsecond.

use super::Session;
use crate::eventlog::Entry;
use crate::scenario::Action;
use crate::ScenarioError;

/// Engine events between two looks at the driver's clock (`Session::play`'s `more`).
pub const EVENTS_PER_SLICE: u64 = 4_000;
/// "Step to the next notable event" gives up after this many events.
pub const NOTABLE_SCAN: u64 = 2_000_000;

/// What a stretch of play reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tick {
    /// The scenario's end: nothing more to play.
    pub at_end: bool,
    /// A shared run's time, replayed from its start: the driver pauses there.
    pub seek_done: bool,
}

impl Session {
    /// Whether the session is replaying a shared run up to its time.
    pub fn seeking(&self) -> bool {
        self.seek.is_some()
    }

    /// Plays run A towards `step_us` later (or towards a shared run's time), in
    /// slices of `EVENTS_PER_SLICE` events for as long as `more()` allows; then run
    /// B catches up and both take a checkpoint when one is due.
    pub fn play(&mut self, step_us: u64, mut more: impl FnMut() -> bool) -> Tick {
        let sim = self.a.sim_mut();
        let end = sim.end_us();
        let target = self.seek.unwrap_or(sim.now_us() + step_us.max(1)).min(end);
        while !sim.run_for(target, EVENTS_PER_SLICE) {
            if !more() {
                break;
            }
        }
        let now = sim.now_us();
        let seek_done = self.seek.is_some_and(|t| now >= t.min(end));
        if seek_done {
            self.seek = None;
        }
        self.follow();
        Tick { at_end: now >= end, seek_done }
    }

    /// Runs both to `t` (or the end) at once, without slicing.
    pub fn play_to(&mut self, t: u64) {
        let t = t.min(self.end_us());
        self.a.sim_mut().run_until(t);
        self.follow();
    }

    /// One engine event of run A. False when its queue is empty.
    pub fn step(&mut self) -> bool {
        let more = self.a.sim_mut().step();
        self.follow();
        more
    }

    /// Runs A event by event until the event log gets an entry (a fault, an
    /// election, an ISR change, a rebalance step), at most `NOTABLE_SCAN` events.
    /// Returns the newest entry, or None when nothing notable happened.
    pub fn step_notable(&mut self) -> Option<Entry> {
        let sim = self.a.sim_mut();
        let before = sim.event_log().total;
        let mut n = 0;
        while sim.event_log().total == before && n < NOTABLE_SCAN && sim.step() {
            n += 1;
        }
        let log = sim.event_log();
        let found = if log.total > before { log.entries.back().cloned() } else { None };
        self.follow();
        found
    }

    /// Back to the simulated time `t` in both runs (the recorded actions are
    /// replayed at their times; the first action from there forks a new future).
    /// The run's future stays on the slider (`horizon`) until then.
    /// False when no checkpoint is that old.
    pub fn rewind(&mut self, t: u64) -> bool {
        let horizon = self.horizon();
        if !self.a.rewind(t) {
            return false;
        }
        if let Some(tw) = &mut self.twin {
            tw.run.rewind(t);
        }
        self.seek = None;
        self.furthest = horizon;
        true
    }

    /// The user's action, for the next microsecond in both runs (as
    /// `Simulation::inject` queues it), applied at once even while paused so the
    /// picture answers the click. Returns that microsecond; an invalid action changes nothing.
    pub fn act(&mut self, action: Action) -> Result<u64, ScenarioError> {
        let at = self.now_us() + 1;
        self.a.act(at, action.clone())?;
        // A new future from here: the old one leaves the slider.
        self.furthest = 0;
        if let Some(tw) = &mut self.twin {
            // Run B has its own scenario; an action it cannot take is left out of it alone.
            let _ = tw.run.act(at, action);
        }
        for r in self.runs() {
            r.sim_mut().run_until(at);
        }
        Ok(at)
    }

    /// Run B to run A's time, then a checkpoint of each when one is due.
    fn follow(&mut self) {
        let now = self.now_us();
        if let Some(tw) = &mut self.twin {
            tw.run.sim_mut().run_until(now);
        }
        for r in self.runs() {
            r.checkpoint();
        }
    }
}
