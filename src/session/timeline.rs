//! One run's timeline: its simulation, the user's actions on it, and checkpoints
//! (engine clones) to rewind to. Rewinding restores a checkpoint and replays the
//! recorded actions, those still ahead included, so playing on repeats the run;
//! acting behind the recorded end forks a new future and drops the old one.

use crate::scenario::{Action, Scenario, TimedAction};
use crate::{ScenarioError, Simulation};

/// A checkpoint every this many simulated microseconds.
pub const CHECKPOINT_EVERY: u64 = 5_000_000;
/// Checkpoints kept; beyond this every other old one is dropped, so memory stays bounded.
pub const MAX_CHECKPOINTS: usize = 120;

#[derive(Clone)]
pub struct Run {
    scenario: Scenario,
    sim: Simulation,
    /// The user's actions on this timeline, in the order given. The simulation
    /// and every checkpoint hold a prefix of them (`injected_actions`), queued or done.
    actions: Vec<TimedAction>,
    /// Engine clones by simulated time, oldest first.
    checkpoints: Vec<Simulation>,
}

impl Run {
    /// A scenario from its start.
    pub fn new(scenario: Scenario) -> Run {
        let sim = Simulation::new(&scenario);
        Run::at(scenario, sim)
    }

    /// A run from a state reached elsewhere (a lesson step, a shared link with its
    /// actions queued): its actions are the ones it holds, its first checkpoint is it.
    pub fn at(scenario: Scenario, sim: Simulation) -> Run {
        Run {
            scenario,
            actions: sim.injected_actions().to_vec(),
            checkpoints: vec![sim.clone()],
            sim,
        }
    }

    pub fn sim(&self) -> &Simulation {
        &self.sim
    }

    pub(super) fn sim_mut(&mut self) -> &mut Simulation {
        &mut self.sim
    }

    pub fn scenario(&self) -> &Scenario {
        &self.scenario
    }

    pub fn actions(&self) -> &[TimedAction] {
        &self.actions
    }

    pub fn checkpoint_count(&self) -> usize {
        self.checkpoints.len()
    }

    /// Takes a checkpoint when the last one is `CHECKPOINT_EVERY` old (or there is none).
    pub fn checkpoint(&mut self) {
        let now = self.sim.now_us();
        if self.checkpoints.last().is_none_or(|c| now >= c.now_us() + CHECKPOINT_EVERY) {
            self.checkpoints.push(self.sim.clone());
            if self.checkpoints.len() > MAX_CHECKPOINTS {
                thin(&mut self.checkpoints);
            }
        }
    }

    /// Back to `t`: the last checkpoint at or before it, with every recorded action
    /// queued again at its time. False (and nothing changes) when no checkpoint is that old.
    pub fn rewind(&mut self, t: u64) -> bool {
        let Some(idx) = self.checkpoints.iter().rposition(|c| c.now_us() <= t) else {
            return false;
        };
        // Later checkpoints go: the run is taken again from here.
        self.checkpoints.truncate(idx + 1);
        let from = self.checkpoints[idx].clone();
        self.replay(from, t);
        true
    }

    /// Queues the user's `action` at `at_us` (not before now). Recorded actions
    /// still ahead of now (after a rewind) are dropped first: acting forks a new future.
    pub fn act(&mut self, at_us: u64, action: Action) -> Result<(), ScenarioError> {
        action.validate(&self.scenario)?;
        self.fork();
        self.sim.schedule(at_us, action.clone())?;
        self.actions.push(TimedAction {
            at_us: at_us.max(self.sim.now_us()),
            action,
        });
        Ok(())
    }

    /// Drops the recorded actions after now. The simulation has them queued, so it
    /// is rebuilt without them from the last checkpoint that has none of them
    /// (or from the start), and the checkpoints that have them go.
    fn fork(&mut self) {
        let now = self.sim.now_us();
        let keep = self.actions.iter().position(|a| a.at_us > now).unwrap_or(self.actions.len());
        if keep == self.actions.len() {
            return;
        }
        self.actions.truncate(keep);
        let clean = self.checkpoints.iter().rposition(|c| c.now_us() <= now && c.injected_actions().len() <= keep);
        let from = match clean {
            Some(i) => {
                self.checkpoints.truncate(i + 1);
                self.checkpoints[i].clone()
            }
            None => {
                self.checkpoints.clear();
                Simulation::new(&self.scenario)
            }
        };
        self.replay(from, now);
    }

    /// Continues from `from` (a checkpoint, or the start) up to `t`, the recorded
    /// actions it does not hold queued at their times, taking checkpoints on the way.
    fn replay(&mut self, mut from: Simulation, t: u64) {
        let held = from.injected_actions().len();
        for a in &self.actions[held.min(self.actions.len())..] {
            // Each was valid when it was recorded, against this same scenario.
            let _ = from.schedule(a.at_us, a.action.clone());
        }
        self.sim = from;
        self.checkpoint();
        // At least once: events at the checkpoint's own time may still be queued.
        loop {
            let stride = self.checkpoints.last().map_or(t, |c| c.now_us() + CHECKPOINT_EVERY);
            self.sim.run_until(stride.max(self.sim.now_us() + 1).min(t));
            self.checkpoint();
            if self.sim.now_us() >= t {
                break;
            }
        }
    }
}

/// Thins the older half of a checkpoint list: keeps every other one.
fn thin(v: &mut Vec<Simulation>) {
    let mut i = 0;
    v.retain(|_| {
        i += 1;
        i > MAX_CHECKPOINTS / 2 || i % 2 == 0
    });
}
