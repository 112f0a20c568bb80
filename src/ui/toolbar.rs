//! The toolbar (playback, scenario, speed, lesson, side by side, sharing and view
//! preferences), the time slider, and the keyboard shortcuts dialog.

use super::playback::{speed_label, SPEEDS};
use super::{App, LessonMsg, Msg, PlayMsg, PrefMsg, SetupMsg};
use crate::i18n::{tr, trf};
use crate::presets::PRESETS;
use crate::sim::fmt_time;
use yew::html::Scope;
use yew::prelude::*;

/// A select's new value, as a message.
fn on_select(link: &Scope<App>, f: impl Fn(String) -> Msg + 'static) -> Callback<Event> {
    link.callback(move |e: Event| f(e.target_unchecked_into::<web_sys::HtmlSelectElement>().value()))
}

impl App {
    pub(super) fn toolbar(&self, link: &Scope<App>) -> Html {
        let on_preset = on_select(link, |v| Msg::Setup(SetupMsg::SetPreset(v)));
        let on_speed = on_select(link, |v| Msg::Play(PlayMsg::SetSpeed(v.parse().unwrap_or(5.0))));
        let on_theme = on_select(link, |v| Msg::Prefs(PrefMsg::SetTheme(v)));
        let on_lang = on_select(link, |v| Msg::Prefs(PrefMsg::SetLang(v)));
        let on_lesson = on_select(link, |v| Msg::Lesson(v.parse().map_or(LessonMsg::Leave(false), LessonMsg::Open)));
        let on_compare = on_select(link, |v| Msg::Setup(SetupMsg::Compare(v)));
        let lesson_idx = self.session.lesson_steps().and_then(|s| self.lessons.iter().position(|l| l.id == s.lesson.id));
        let compare_id = self.session.variant();
        let send = |m: fn() -> Msg| link.callback(move |_| m());
        html! {
            <div class="toolbar" role="toolbar" aria-label={tr("Playback")}>
                <button onclick={send(|| Msg::Play(PlayMsg::TogglePlay))}>{ if self.playing { tr("Pause") } else { tr("Play") } }</button>
                <button onclick={send(|| Msg::Play(PlayMsg::Restart))}>{ tr("Restart simulation") }</button>
                <label>{ tr("Scenario") }
                    <select aria-label={tr("Scenario")} onchange={on_preset}>
                        { for PRESETS.iter().map(|p| html! { <option value={p.id} selected={Some(p.id) == self.preset}>{ tr(p.title) }</option> }) }
                        if self.preset.is_none() { <option value="custom" selected=true>{ tr("Your scenario") }</option> }
                    </select>
                </label>
                <label>{ tr("Speed") }
                    <select aria-label={tr("Speed")} onchange={on_speed}>
                        { for SPEEDS.iter().map(|s| html! { <option value={s.to_string()} selected={*s == self.speed}>{ speed_label(*s) }</option> }) }
                    </select>
                </label>
                <button onclick={send(|| Msg::Play(PlayMsg::Step))} aria-label={tr("Step one event")} title={tr("Step one event (→)")}>{ tr("step") }</button>
                <button onclick={send(|| Msg::Play(PlayMsg::StepNotable))} aria-label={tr("Step to the next notable event")} title={tr("Next notable event (Shift+→)")}>{ tr("next event") }</button>
                <span class="clock" aria-label={tr("Simulated time")}>{ fmt_time(self.session.now_us()) }</span>
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
                        <option value="" selected={compare_id.is_empty()}>{ tr("no second run") }</option>
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
                <button onclick={send(|| Msg::Prefs(PrefMsg::TogglePresent))} aria-pressed={self.presenting.to_string()} title={tr("Presentation mode: large type, high contrast, keyboard only (p)")}>{ tr("Present") }</button>
                <button onclick={send(|| Msg::Prefs(PrefMsg::ToggleHelp))} aria-label={tr("Keyboard shortcuts")} title={tr("Keyboard shortcuts (?)")}>{ "?" }</button>
                if let Some(m) = &self.message { <span class="message" role="status">{ tr(m) }</span> }
            </div>
        }
    }
}

/// The time slider: dragging it back rewinds.
pub fn timeline(now: u64, link: &Scope<App>) -> Html {
    html! {
        <div class="timeline">
            <input type="range" min="0" max={now.to_string()} step="100000" value={now.to_string()} aria-label={tr("Time (drag back to rewind)")}
                onchange={link.callback(|e: Event| Msg::rewind(e.target_unchecked_into::<web_sys::HtmlInputElement>().value().parse().unwrap_or(0)))} />
            <span class="hint">{ tr("drag back to rewind; acting after a rewind forks a new future") }</span>
        </div>
    }
}

pub fn help(link: &Scope<App>) -> Html {
    html! {
        <div class="help card" role="dialog" aria-label={tr("Keyboard shortcuts")}>
            <h2>{ tr("Keyboard shortcuts") }</h2>
            <ul>
                <li><kbd>{ tr("Space") }</kbd>{ " " }{ tr("play / pause") }</li>
                <li><kbd>{ "→" }</kbd>{ " " }{ tr("one event; in a lesson, the next step") }</li>
                <li><kbd>{ "Shift" }</kbd>{ "+" }<kbd>{ "→" }</kbd>{ " " }{ tr("next notable event (fault, election, ISR change, rebalance step)") }</li>
                <li><kbd>{ "←" }</kbd>{ " " }{ tr("back 5 simulated seconds; in a lesson, the previous step") }</li>
                <li><kbd>{ "+" }</kbd>{ " / " }<kbd>{ "-" }</kbd>{ " " }{ tr("faster / slower") }</li>
                <li><kbd>{ "r" }</kbd>{ " " }{ tr("restart the scenario") }</li>
                <li><kbd>{ "l" }</kbd>{ " " }{ tr("large type") }</li>
                <li><kbd>{ "p" }</kbd>{ " " }{ tr("presentation mode") }</li>
                <li><kbd>{ "Esc" }</kbd>{ " " }{ tr("close the lesson or this help") }</li>
                <li><kbd>{ "?" }</kbd>{ " " }{ tr("this help") }</li>
            </ul>
            <button onclick={link.callback(|_| Msg::Prefs(PrefMsg::ToggleHelp))}>{ tr("Close") }</button>
        </div>
    }
}
