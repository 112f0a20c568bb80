//! Playing a run, for any driver (the page, tests): the run and its optional
//! side-by-side twin in lockstep, checkpoints and rewind with the user's actions
//! replayed, fork after rewind, lesson steps, chart markers and the comparison
//! table's numbers. Native code over `Simulation`'s public API, tested natively;
//! the page only draws what a `Session` holds and sends it the user's clicks.

mod lesson;
mod markers;
mod playback;
mod timeline;
mod twin;

pub use lesson::LessonSteps;
pub use markers::{markers, merge_markers, MarkerText};
pub use playback::{Tick, EVENTS_PER_SLICE, NOTABLE_SCAN};
pub use timeline::{Run, CHECKPOINT_EVERY, MAX_CHECKPOINTS};
pub use twin::{comparison, differences, numbers, CompareRow, Difference, TwinOf, COMPARE_HEADINGS};

use crate::lesson::Lesson;
use crate::metrics::groups::Rebalance;
use crate::scenario::draft::DraftError;
use crate::scenario::{Scenario, TimedAction};
use crate::share::{ShareError, SharedRun};
use crate::Simulation;

/// The second run of a side-by-side comparison: the same actions at the same
/// microseconds as run A, a different scenario.
#[derive(Clone)]
struct Twin {
    run: Run,
    of: TwinOf,
}

/// Everything a driver needs to play a run. Every operation applies to run A and
/// to the twin alike, so the two stay at the same simulated time.
#[derive(Clone)]
pub struct Session {
    a: Run,
    twin: Option<Twin>,
    lesson: Option<LessonSteps>,
    /// Re-simulating up to this time (a shared link), a slice per tick, then pause.
    seek: Option<u64>,
    /// The furthest simulated time this timeline has reached: after a rewind its
    /// future stays reachable (`horizon`) until the user acts, which forks a new one.
    furthest: u64,
}

impl Session {
    /// A scenario from its start, alone.
    pub fn new(scenario: Scenario) -> Session {
        Session {
            a: Run::new(scenario),
            twin: None,
            lesson: None,
            seek: None,
            furthest: 0,
        }
    }

    /// A scenario side by side with its variant `id` (`scenario::draft::VARIANTS`), both from the start.
    pub fn side_by_side(scenario: Scenario, id: &str) -> Result<Session, DraftError> {
        let b = crate::scenario::draft::variant(&scenario, id)?;
        let mut s = Session::new(scenario);
        s.twin = Some(Twin {
            run: Run::new(b),
            of: TwinOf::Variant(id.to_string()),
        });
        Ok(s)
    }

    /// A shared run, rebuilt from its start with its actions queued; playing
    /// re-simulates it up to the link's time and stops there (`Tick::seek_done`).
    pub fn shared(link: &SharedRun) -> Result<Session, ShareError> {
        let scenario = link.scenario()?;
        let a = Run::at(scenario.clone(), link.build()?);
        let twin = match (link.build_compare()?, &link.compare) {
            (Some(b), Some(id)) => Some(Twin {
                run: Run::at(
                    crate::scenario::draft::variant(&scenario, id).map_err(|error| ShareError::Comparison { compare: id.clone(), error })?,
                    b,
                ),
                of: TwinOf::Variant(id.clone()),
            }),
            _ => None,
        };
        Ok(Session {
            a,
            twin,
            lesson: None,
            seek: Some(link.t_us),
            furthest: 0,
        })
    }

    /// A lesson, at its step `step` (one past the end is the last).
    pub fn lesson(lesson: Lesson, step: usize) -> Session {
        let mut steps = LessonSteps::new(lesson);
        let (a, twin) = steps.runs_at(step);
        Session {
            a,
            twin,
            lesson: Some(steps),
            seek: None,
            furthest: 0,
        }
    }

    /// Run A.
    pub fn sim(&self) -> &Simulation {
        self.a.sim()
    }

    /// Run B, side by side.
    pub fn twin(&self) -> Option<&Simulation> {
        self.twin.as_ref().map(|t| t.run.sim())
    }

    /// What run B is, side by side.
    pub fn twin_of(&self) -> Option<&TwinOf> {
        self.twin.as_ref().map(|t| &t.of)
    }

    /// Run B's scenario, side by side.
    pub fn twin_scenario(&self) -> Option<&Scenario> {
        self.twin.as_ref().map(|t| t.run.scenario())
    }

    /// The variant id of run B, or "" (alone, or a lesson's own comparison).
    pub fn variant(&self) -> &str {
        match self.twin_of() {
            Some(TwinOf::Variant(id)) => id,
            _ => "",
        }
    }

    /// Run A's scenario.
    pub fn scenario(&self) -> &Scenario {
        self.a.scenario()
    }

    /// The user's actions on run A's timeline (after a rewind, the ones still ahead too).
    pub fn actions(&self) -> &[TimedAction] {
        self.a.actions()
    }

    /// The user's actions on run B's timeline.
    pub fn twin_actions(&self) -> Option<&[TimedAction]> {
        self.twin.as_ref().map(|t| t.run.actions())
    }

    pub fn now_us(&self) -> u64 {
        self.a.sim().now_us()
    }

    pub fn end_us(&self) -> u64 {
        self.a.sim().end_us()
    }

    /// The end of the time slider: the furthest time this timeline has reached.
    /// After a rewind the run's future stays up to here (playing or seeking forward
    /// replays it exactly) until the user acts, which forks a new future from now.
    pub fn horizon(&self) -> u64 {
        self.furthest.max(self.now_us())
    }

    /// Ends the side-by-side comparison; run A goes on as it is.
    pub fn drop_twin(&mut self) {
        self.twin = None;
    }

    /// The lesson being taught, if any.
    pub fn lesson_steps(&self) -> Option<&LessonSteps> {
        self.lesson.as_ref()
    }

    /// Puts a lesson step's state in place (and its second run, side by side):
    /// the one kept from an earlier visit, so going back is exact.
    pub fn go_to_step(&mut self, k: usize) {
        let Some(steps) = &mut self.lesson else { return };
        (self.a, self.twin) = steps.runs_at(k);
        self.seek = None;
        self.furthest = 0;
    }

    /// Leaves the lesson: `play_on` keeps both runs as they are, else run B goes.
    pub fn leave_lesson(&mut self, play_on: bool) {
        self.lesson = None;
        if !play_on {
            self.twin = None;
        }
    }

    /// The link that reproduces this run: `preset` names the scenario, else the scenario goes whole.
    pub fn share(&self, preset: Option<&str>) -> SharedRun {
        SharedRun {
            preset: preset.map(str::to_string),
            scenario: preset.is_none().then(|| self.scenario().clone()),
            actions: self.actions().to_vec(),
            t_us: self.now_us(),
            compare: Some(self.variant().to_string()).filter(|v| !v.is_empty()),
        }
    }

    /// Both runs, A first, for applying one operation to each.
    fn runs(&mut self) -> impl Iterator<Item = &mut Run> {
        std::iter::once(&mut self.a).chain(self.twin.as_mut().map(|t| &mut t.run))
    }
}

/// A group's rebalances as the session reads them: its id, how many it has had,
/// and the recent ones the engine keeps. The one place that knows where the
/// engine keeps them (markers and the comparison table read them through it).
pub fn rebalance_history(sim: &Simulation) -> impl Iterator<Item = (&str, usize, &[Rebalance])> + '_ {
    sim.groups().iter().map(|g| (g.id.as_str(), g.rebalances(), g.history.as_slice()))
}
