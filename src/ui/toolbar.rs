//! The controls at the top (a play bar; scenario, speed, lesson, side by side,
//! sharing and view preferences, behind one button on a phone; in presentation
//! mode only what a presenter uses), the time slider, and the keyboard shortcuts dialog.

use super::modal::Modal;
use super::playback::{speed_label, SPEEDS};
use super::{App, LessonMsg, Msg, PlayMsg, PrefMsg, SetupMsg, ViewMsg};
use crate::i18n::{tr, trf};
use crate::presets::PRESETS;
use crate::session::TwinOf;
use crate::sim::fmt_time;
use yew::html::Scope;
use yew::prelude::*;

/// A select's new value, as a message.
fn on_select(link: &Scope<App>, f: impl Fn(String) -> Msg + 'static) -> Callback<Event> {
    link.callback(move |e: Event| f(e.target_unchecked_into::<web_sys::HtmlSelectElement>().value()))
}

impl App {
    /// The controls at the top of the page: the toolbar (a play bar, and the rest
    /// behind one button on a phone), the link box and the time slider. In
    /// presentation mode only what a presenter uses: play/pause, step, speed, exit.
    pub(super) fn controls_bar(&self, link: &Scope<App>) -> Html {
        let send = |m: fn() -> Msg| link.callback(move |_| m());
        let on_speed = on_select(link, |v| Msg::Play(PlayMsg::SetSpeed(v.parse().unwrap_or(5.0))));
        let speed = html! {
            <label>{ tr("Speed") }
                <select aria-label={tr("Speed")} onchange={on_speed}>
                    { for SPEEDS.iter().map(|s| html! { <option value={s.to_string()} selected={*s == self.speed}>{ speed_label(*s) }</option> }) }
                </select>
            </label>
        };
        let status = self.message.as_ref().map(|m| html! { <span class="message" role="status">{ tr(m) }</span> });
        let playbar = html! {
            <div class="playbar">
                <button class="play" onclick={send(|| Msg::Play(PlayMsg::TogglePlay))}>{ if self.playing { tr("Pause") } else { tr("Play") } }</button>
                <button onclick={send(|| Msg::Play(PlayMsg::Step))} aria-label={tr("Step one event")} title={tr("Step one event (→)")}>{ tr("step") }</button>
                if !self.presenting {
                    <button onclick={send(|| Msg::Play(PlayMsg::StepNotable))} title={tr("Step to the next notable event (Shift+→)")}>{ tr("next event") }</button>
                }
                <span class="clock" aria-label={tr("Simulated time")}>{ fmt_time(self.session.now_us()) }</span>
                if !self.presenting {
                    <button class="menu" onclick={send(|| Msg::View(ViewMsg::ToggleMenu))} aria-expanded={self.menu_open.to_string()} aria-controls="more-controls">{ tr("Menu") }</button>
                }
            </div>
        };
        if self.presenting {
            return html! {
                <section class="controls" aria-label={tr("Controls")}>
                    <div class="toolbar present" role="toolbar" aria-label={tr("Playback")}>
                        { playbar }
                        { speed }
                        <button onclick={send(|| Msg::Prefs(PrefMsg::TogglePresent))} title={tr("Leave presentation mode (p)")}>{ tr("Exit presentation") }</button>
                        { for status }
                    </div>
                </section>
            };
        }
        let on_preset = on_select(link, |v| Msg::Setup(SetupMsg::SetPreset(v)));
        let on_theme = on_select(link, |v| Msg::Prefs(PrefMsg::SetTheme(v)));
        let on_lang = on_select(link, |v| Msg::Prefs(PrefMsg::SetLang(v)));
        let on_lesson = on_select(link, |v| Msg::Lesson(v.parse().map_or(LessonMsg::Leave(false), LessonMsg::Open)));
        let on_compare = on_select(link, |v| Msg::Setup(SetupMsg::Compare(v)));
        let lesson_idx = self.session.lesson_steps().and_then(|s| self.lessons.iter().position(|l| l.id == s.lesson.id));
        let compare_id = self.session.variant();
        let lesson_twin = match self.session.twin_of() {
            Some(TwinOf::Lesson(_, b)) => Some(b.get(&self.lang).to_string()),
            _ => None,
        };
        let in_lesson = self.session.lesson_steps().is_some();
        html! {
            <section class="controls" aria-label={tr("Controls")}>
                <div class={classes!("toolbar", self.menu_open.then_some("open"))} role="toolbar" aria-label={tr("Playback")}>
                    { playbar }
                    <div class="more" id="more-controls">
                        { speed }
                        <button onclick={send(|| Msg::Play(PlayMsg::Restart))}>{ tr("Restart simulation") }</button>
                        <label>{ tr("Scenario") }
                            <select aria-label={tr("Scenario")} onchange={on_preset}>
                                { for PRESETS.iter().map(|p| html! { <option value={p.id} selected={Some(p.id) == self.preset}>{ tr(p.title) }</option> }) }
                                if self.preset.is_none() {
                                    <option value="custom" selected=true>{ if in_lesson { tr("this lesson's scenario") } else { tr("Your scenario") } }</option>
                                }
                            </select>
                        </label>
                        <label>{ tr("Lesson") }
                            <select aria-label={tr("Lesson")} onchange={on_lesson}>
                                <option value="" selected={lesson_idx.is_none()}>{ tr("none: play freely") }</option>
                                { for self.lessons.iter().enumerate().map(|(i, l)| html! {
                                    <option value={i.to_string()} selected={lesson_idx == Some(i)}>{ format!("{}. {}", i + 1, l.title.get(&self.lang)) }</option>
                                }) }
                            </select>
                        </label>
                        <label>{ tr("Side by side") }
                            <select aria-label={tr("Side by side")} onchange={on_compare} title={tr("Run a second simulation with one setting changed, in lockstep, charts overlaid")}>
                                <option value="" selected={compare_id.is_empty() && lesson_twin.is_none()}>{ tr("no second run") }</option>
                                if let Some(b) = &lesson_twin {
                                    <option value="lesson" selected=true disabled=true>{ trf("B: {0} (this lesson's)", &[b]) }</option>
                                }
                                { for crate::scenario::draft::VARIANTS.iter().map(|(id, label)| html! {
                                    <option value={*id} selected={compare_id == *id}>{ trf("B: {0}", &[tr(label)]) }</option>
                                }) }
                            </select>
                        </label>
                        <button onclick={send(|| Msg::Setup(SetupMsg::Toggle))} aria-expanded={self.setup.open.to_string()}>{ tr("Set up scenario") }</button>
                        <button onclick={send(|| Msg::CopyLink)} title={tr("A link that reproduces this run exactly (or this lesson step)")}>{ tr("Copy link") }</button>
                        <label>{ tr("Language") }
                            <select aria-label="Language / 语言" onchange={on_lang}>
                                { for crate::i18n::LANGUAGES.iter().map(|(code, name)| html! { <option value={*code} selected={*code == self.lang}>{ *name }</option> }) }
                            </select>
                        </label>
                        <label>{ tr("Theme") }
                            <select aria-label={tr("Theme")} onchange={on_theme}>
                                { for [("auto", "system"), ("light", "light"), ("dark", "dark")].iter().map(|(v, t)| html! { <option value={*v} selected={*v == self.theme}>{ tr(t) }</option> }) }
                            </select>
                        </label>
                        <button onclick={send(|| Msg::Prefs(PrefMsg::ToggleLarge))} aria-pressed={self.large.to_string()} title={tr("Large type for the back row (l)")}>{ tr("Large type") }</button>
                        <button onclick={send(|| Msg::Prefs(PrefMsg::TogglePresent))} aria-pressed="false" title={tr("Presentation mode: large type, high contrast, keyboard only (p)")}>{ tr("Present") }</button>
                        <button onclick={send(|| Msg::Prefs(PrefMsg::ToggleHelp))} aria-label={tr("Keyboard shortcuts")} title={tr("Keyboard shortcuts (?)")}>{ "?" }</button>
                    </div>
                    { for status }
                </div>
                if let Some(url) = &self.link_text {
                    <div class="linkbox"><label>{ tr("Link to this run") }<input type="text" readonly=true value={url.clone()} aria-label={tr("Link to this run")} /></label></div>
                }
                { timeline(self.session.now_us(), self.session.horizon(), link) }
            </section>
        }
    }
}

/// The time slider, up to `end`: the furthest time this run has reached. After a
/// rewind the run's future stays on the slider (dragging forward replays it)
/// until the user acts, which forks a new one.
pub fn timeline(now: u64, end: u64, link: &Scope<App>) -> Html {
    html! {
        <div class="timeline">
            <input type="range" min="0" max={end.max(now).to_string()} step="100000" value={now.to_string()} aria-label={tr("Time (drag back to rewind)")}
                aria-valuetext={fmt_time(now)}
                onchange={link.callback(|e: Event| Msg::rewind(e.target_unchecked_into::<web_sys::HtmlInputElement>().value().parse().unwrap_or(0)))} />
            <span class="hint">{ tr("drag back to rewind; acting after a rewind forks a new future") }</span>
        </div>
    }
}

/// The keyboard shortcuts, as a modal dialog (Escape or Close closes it).
pub fn help(link: &Scope<App>) -> Html {
    html! {
        <Modal labelled_by="help-title" class="help">
            <h2 id="help-title">{ tr("Keyboard shortcuts") }</h2>
            <ul>
                <li><kbd>{ tr("Space") }</kbd>{ " " }{ tr("play / pause") }</li>
                <li><kbd>{ "→" }</kbd>{ " " }{ tr("one event; in a lesson, the next step") }</li>
                <li><kbd>{ "Shift" }</kbd>{ "+" }<kbd>{ "→" }</kbd>{ " " }{ tr("next notable event (fault, election, ISR change, rebalance step)") }</li>
                <li><kbd>{ "←" }</kbd>{ " " }{ tr("back 5 simulated seconds; in a lesson, the previous step") }</li>
                <li><kbd>{ "+" }</kbd>{ " / " }<kbd>{ "-" }</kbd>{ " " }{ tr("faster / slower") }</li>
                <li><kbd>{ "r" }</kbd>{ " " }{ tr("restart the scenario") }</li>
                <li><kbd>{ "l" }</kbd>{ " " }{ tr("large type (always on in presentation mode)") }</li>
                <li><kbd>{ "p" }</kbd>{ " " }{ tr("presentation mode") }</li>
                <li><kbd>{ "Esc" }</kbd>{ " " }{ tr("close this help, or the lesson") }</li>
                <li><kbd>{ "?" }</kbd>{ " " }{ tr("this help") }</li>
            </ul>
            <button autofocus=true onclick={link.callback(|_| Msg::Prefs(PrefMsg::ToggleHelp))}>{ tr("Close") }</button>
        </Modal>
    }
}
