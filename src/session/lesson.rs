//! A lesson being taught: its steps and the engine state at each step visited,
//! so that going back restores exactly the earlier state.

use super::{Run, Twin, TwinOf};
use crate::lesson::Lesson;
use crate::Simulation;

#[derive(Clone)]
pub struct LessonSteps {
    pub lesson: Lesson,
    step: usize,
    /// Run A, and run B of a side-by-side lesson, at each step visited.
    states: Vec<Option<(Simulation, Option<Simulation>)>>,
}

impl LessonSteps {
    pub fn new(lesson: Lesson) -> LessonSteps {
        let n = lesson.steps.len();
        LessonSteps {
            lesson,
            step: 0,
            states: vec![None; n],
        }
    }

    /// The step on screen, from 0.
    pub fn step(&self) -> usize {
        self.step
    }

    /// The index of the last step.
    pub fn last(&self) -> usize {
        self.states.len().saturating_sub(1)
    }

    /// What the step on screen talks about (`broker:1`, `chart:lag`).
    pub fn highlight(&self) -> &str {
        self.lesson.steps.get(self.step).map_or("", |s| s.highlight.as_str())
    }

    /// Run A and the twin (a side-by-side lesson) at step `k`, made the step on screen.
    pub(super) fn runs_at(&mut self, k: usize) -> (Run, Option<Twin>) {
        let (a, b) = self.state_at(k);
        let twin = match (b, &self.lesson.compare) {
            (Some(b), Some((sb, la, lb))) => Some(Twin {
                run: Run::at(sb.clone(), b),
                of: TwinOf::Lesson(la.clone(), lb.clone()),
            }),
            _ => None,
        };
        (Run::at(self.lesson.scenario.clone(), a), twin)
    }

    /// The state at step `k` (made the step on screen): the one kept from an
    /// earlier visit, or simulated on from the nearest earlier step (the run is
    /// deterministic, so both agree).
    fn state_at(&mut self, k: usize) -> (Simulation, Option<Simulation>) {
        let k = k.min(self.last());
        self.step = k;
        if let Some(s) = &self.states[k] {
            return s.clone();
        }
        let (mut a, mut b) = match (0..k).rev().find_map(|i| self.states[i].clone()) {
            Some(s) => s,
            None => (
                Simulation::new(&self.lesson.scenario),
                self.lesson.compare.as_ref().map(|c| Simulation::new(&c.0)),
            ),
        };
        let t = self.lesson.steps[k].at_ms * 1000;
        a.run_until(t);
        if let Some(b) = &mut b {
            b.run_until(t);
        }
        self.states[k] = Some((a.clone(), b.clone()));
        (a, b)
    }
}
