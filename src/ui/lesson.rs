//! A lesson being taught: its steps, the engine state at each step visited (so
//! "back" restores exactly the earlier state), and the lesson panel.

use super::Msg;
use crate::i18n::{tr, trf};
use crate::lesson::Lesson;
use crate::Simulation;
use yew::prelude::*;

pub struct LessonRun {
    pub lesson: Lesson,
    pub step: usize,
    /// The engine, and the second run of a side-by-side lesson, at each step visited.
    states: Vec<Option<(Simulation, Option<Simulation>)>>,
}

impl LessonRun {
    pub fn new(lesson: Lesson) -> LessonRun {
        let n = lesson.steps.len();
        LessonRun {
            lesson,
            step: 0,
            states: vec![None; n],
        }
    }

    /// The state at step `k`: the one kept from an earlier visit, or simulated
    /// on from the nearest earlier step (the run is deterministic, so both agree).
    pub fn state_at(&mut self, k: usize) -> (Simulation, Option<Simulation>) {
        let k = k.min(self.states.len() - 1);
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

    pub fn highlight(&self) -> &str {
        &self.lesson.steps[self.step].highlight
    }
}

pub fn view(run: &LessonRun, lang: &str, link: &yew::html::Scope<super::App>) -> Html {
    let l = &run.lesson;
    let n = l.steps.len();
    let k = run.step;
    let step = &l.steps[k];
    html! {
        <section class="card lesson" role="region" aria-label={tr("Lesson")} data-step={k.to_string()} data-highlight={step.highlight.clone()} data-lesson={l.id.clone()}>
            <div class="lesson-head">
                <h2>{ l.title.get(lang) }</h2>
                <span class="muted">{ trf("Step {0} of {1}", &[(k + 1).to_string(), n.to_string()]) }</span>
            </div>
            <h3 class="step-title">{ step.title.get(lang) }</h3>
            <p class="step-text">{ step.text.get(lang) }</p>
            <div class="lesson-nav">
                <button onclick={link.callback(|_| Msg::LessonBack)} disabled={k == 0} aria-label={tr("Previous step")}>{ format!("← {}", tr("Back")) }</button>
                <button class="primary" onclick={link.callback(|_| Msg::LessonNext)} disabled={k + 1 == n} aria-label={tr("Next step")}>{ format!("{} →", tr("Next")) }</button>
                <span class="dots">
                    { for (0..n).map(|i| html! {
                        <button class={classes!("dot", (i == k).then_some("on"))} aria-label={trf("Go to step {0}", &[(i + 1).to_string()])}
                            aria-current={(i == k).then_some("step")} onclick={link.callback(move |_| Msg::LessonGo(i))}>{ i + 1 }</button>
                    }) }
                </span>
                <button onclick={link.callback(|_| Msg::LeaveLesson(true))}>{ tr("Play freely from here") }</button>
                <button onclick={link.callback(|_| Msg::LeaveLesson(false))} aria-label={tr("Close the lesson")}>{ "✕" }</button>
            </div>
        </section>
    }
}
