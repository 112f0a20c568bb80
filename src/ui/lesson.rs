//! Lessons on the page: the built-in ones fetched after the first render, opening
//! one at a step, moving between steps (the `Session` keeps each step's state, so
//! going back is exact), leaving, and the lesson panel.

use super::status::Problem;
use super::{browser, App, Msg};
use crate::i18n::{tr, trf};
use crate::lesson::Lesson;
use crate::presets::PRESETS;
use crate::session::{LessonSteps, Session};
use crate::Scenario;
use yew::prelude::*;

pub enum LessonMsg {
    /// A built-in lesson by index.
    Open(usize),
    Next,
    Back,
    Go(usize),
    /// Leave the lesson; true: keep the state and play on from it.
    Leave(bool),
    /// The built-in lessons arrived.
    Loaded(Vec<Lesson>),
    /// Fold the step text away (or back), where the panel is pinned above the page.
    Fold,
}

/// The built-in lessons are data files next to the page (not in the WebAssembly).
pub fn load_built_in(ctx: &Context<App>) {
    let link = ctx.link().clone();
    yew::platform::spawn_local(async move {
        let mut lessons = Vec::new();
        for name in crate::lesson::BUILT_IN_FILES {
            let problem = match browser::fetch_text(&format!("lessons/{name}")).await {
                Ok(t) => match Lesson::parse(&t) {
                    Ok(l) => {
                        lessons.push(l);
                        continue;
                    }
                    Err(e) => e.to_string(),
                },
                Err(e) => e.to_string(),
            };
            // A built-in lesson that does not load is the build's problem: the console says which.
            web_sys::console::warn_1(&format!("lessons/{name}: {problem}").into());
        }
        link.send_message(Msg::Lesson(LessonMsg::Loaded(lessons)));
    });
}

impl App {
    pub(super) fn on_lesson(&mut self, ctx: &Context<Self>, msg: LessonMsg) -> bool {
        match msg {
            LessonMsg::Open(i) => {
                if let Some(l) = self.lessons.get(i).cloned() {
                    self.open_lesson(ctx, l, 0);
                }
            }
            LessonMsg::Next | LessonMsg::Back | LessonMsg::Go(_) => {
                let Some(steps) = self.session.lesson_steps() else { return false };
                let k = match msg {
                    LessonMsg::Next => (steps.step() + 1).min(steps.last()),
                    LessonMsg::Back => steps.step().saturating_sub(1),
                    LessonMsg::Go(k) => k.min(steps.last()),
                    _ => steps.step(),
                };
                self.session.go_to_step(k);
                self.step_shown(ctx);
            }
            LessonMsg::Leave(play) => {
                self.session.leave_lesson(play);
                self.relayout();
                if let Some(url) = browser::url_with(&[("lesson", None), ("step", None)], None) {
                    browser::replace_url(&url);
                }
                self.set_playing(ctx, play);
            }
            LessonMsg::Fold => {
                self.lesson_folded = !self.lesson_folded;
                self.scroll_pending = true;
            }
            LessonMsg::Loaded(lessons) => {
                self.lessons = lessons;
                if std::mem::take(&mut self.pending_first_lesson) {
                    return self.on_lesson(ctx, LessonMsg::Open(0));
                }
                if let Some((id, step)) = self.pending_lesson.take() {
                    match self.lessons.iter().find(|l| l.id == id).cloned() {
                        Some(l) => self.open_lesson(ctx, l, step),
                        None => self.message = Some(Problem::NoLesson(id).into()),
                    }
                }
            }
        }
        true
    }

    pub(super) fn open_lesson(&mut self, ctx: &Context<Self>, l: Lesson, step: usize) {
        self.preset = PRESETS
            .iter()
            .find(|p| Scenario::from_json(p.json).ok().as_ref() == Some(&l.scenario))
            .map(|p| p.id);
        self.setup.reset_to(&l.scenario, &l.id);
        self.selected = None;
        self.relayout();
        self.session = Session::lesson(l, step);
        self.step_shown(ctx);
    }

    /// A lesson step's state is on screen: paused there, scrolled to what it talks about.
    fn step_shown(&mut self, ctx: &Context<Self>) {
        self.set_playing(ctx, false);
        self.scroll_pending = true;
        self.message = None;
        let Some(steps) = self.session.lesson_steps() else { return };
        let params = [("lesson", Some(steps.lesson.id.clone())), ("step", Some((steps.step() + 1).to_string()))];
        if let Some(url) = browser::url_with(&params, None) {
            browser::replace_url(&url);
        }
    }
}

/// The lesson panel: a side rail on wide screens, a panel pinned at the top
/// otherwise whose text folds away (the highlighted element is scrolled to just
/// below it, so both are on screen). In presentation mode only back and next.
pub fn view(steps: &LessonSteps, lang: &str, presenting: bool, folded: bool, link: &yew::html::Scope<App>) -> Html {
    let l = &steps.lesson;
    let n = l.steps.len();
    let k = steps.step();
    let step = &l.steps[k];
    let go = |m: fn() -> LessonMsg| link.callback(move |_| Msg::Lesson(m()));
    html! {
        <section class={classes!("card", "lesson", folded.then_some("folded"))} role="region" aria-label={tr("Lesson")} data-step={k.to_string()}
            data-highlight={step.highlight.clone()} data-lesson={l.id.clone()}>
            <div class="lesson-head">
                <h2>{ l.title.get(lang) }</h2>
                <span class="muted step-count">{ trf("Step {0} of {1}", &[(k + 1).to_string(), n.to_string()]) }</span>
                if !presenting {
                    <button class="fold" onclick={go(|| LessonMsg::Fold)} aria-expanded={(!folded).to_string()} aria-controls="lesson-text">
                        { if folded { tr("Show text") } else { tr("Hide text") } }</button>
                    <button class="close" onclick={go(|| LessonMsg::Leave(false))} aria-label={tr("Close the lesson")} title={tr("Close the lesson")}>{ "✕" }</button>
                }
            </div>
            <h3 class="step-title">{ step.title.get(lang) }</h3>
            <p class="step-text" id="lesson-text">{ step.text.get(lang) }</p>
            <div class="lesson-nav">
                <button onclick={go(|| LessonMsg::Back)} disabled={k == 0} aria-label={tr("Back to the previous step")}>{ format!("← {}", tr("Back")) }</button>
                <button class="primary" onclick={go(|| LessonMsg::Next)} disabled={k + 1 == n} aria-label={tr("Next step")}>{ format!("{} →", tr("Next")) }</button>
                if !presenting {
                    <span class="dots">
                        { for (0..n).map(|i| html! {
                            <button class={classes!("dot", (i == k).then_some("on"))} aria-label={trf("Go to step {0}", &[(i + 1).to_string()])}
                                aria-current={(i == k).then_some("step")} onclick={link.callback(move |_| Msg::Lesson(LessonMsg::Go(i)))}>{ i + 1 }</button>
                        }) }
                    </span>
                    <button onclick={go(|| LessonMsg::Leave(true))}>{ tr("Play freely from here") }</button>
                }
            </div>
        </section>
    }
}
