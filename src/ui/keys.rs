//! Keyboard shortcuts: one listener on the document (ignoring keys typed into a
//! field), and what each key means, which depends on whether a lesson is open.

use super::{App, LessonMsg, Msg, PlayMsg, PrefMsg};
use yew::prelude::*;

/// The keys the app answers; the browser's own action for them is prevented.
const KEYS: &[&str] = &[
    " ",
    "ArrowRight",
    "ShiftRight",
    "ArrowLeft",
    "+",
    "=",
    "-",
    "?",
    "r",
    "l",
    "p",
    "n",
    "b",
    "Escape",
];

/// Listens for shortcuts anywhere on the page and sends them as `Msg::Key`.
pub fn listen(ctx: &Context<App>) -> Option<gloo_events::EventListener> {
    let link = ctx.link().clone();
    let doc = web_sys::window().and_then(|w| w.document())?;
    let options = gloo_events::EventListenerOptions::enable_prevent_default();
    Some(gloo_events::EventListener::new_with_options(&doc, "keydown", options, move |e| {
        let Some(e) = wasm_bindgen::JsCast::dyn_ref::<web_sys::KeyboardEvent>(e) else {
            return;
        };
        let target = e.target().and_then(|t| wasm_bindgen::JsCast::dyn_into::<web_sys::Element>(t).ok());
        let typing = target
            .as_ref()
            .is_some_and(|el| matches!(el.tag_name().as_str(), "INPUT" | "SELECT" | "TEXTAREA"));
        if typing || e.ctrl_key() || e.meta_key() || e.alt_key() {
            return;
        }
        let key = if e.shift_key() && e.key() == "ArrowRight" {
            "ShiftRight".to_string()
        } else {
            e.key()
        };
        // Inside a dialog only Escape (and ? for the help) is the app's: Space
        // and the arrows press and move between its buttons.
        let in_dialog = target.and_then(|el| el.closest("dialog").ok().flatten()).is_some();
        if in_dialog && key != "Escape" && key != "?" {
            return;
        }
        if KEYS.contains(&key.as_str()) {
            e.prevent_default();
            link.send_message(Msg::Key(key));
        }
    }))
}

impl App {
    /// What a shortcut does now. A dialog open takes Escape (and ? the help) and
    /// nothing else; in a lesson, the arrows (and n / b) move between its steps.
    pub(super) fn key_msg(&self, key: &str) -> Option<Msg> {
        if self.help {
            return matches!(key, "Escape" | "?").then_some(Msg::Prefs(PrefMsg::ToggleHelp));
        }
        if self.welcome {
            return (key == "Escape").then_some(Msg::Welcome(super::welcome::Welcome::Close));
        }
        let in_lesson = self.session.lesson_steps().is_some();
        Some(match key {
            "ArrowRight" | "n" if in_lesson => Msg::Lesson(LessonMsg::Next),
            "ArrowLeft" | "b" if in_lesson => Msg::Lesson(LessonMsg::Back),
            "Escape" if in_lesson => Msg::Lesson(LessonMsg::Leave(false)),
            "p" => Msg::Prefs(PrefMsg::TogglePresent),
            " " => Msg::Play(PlayMsg::TogglePlay),
            "ArrowRight" => Msg::Play(PlayMsg::Step),
            "ShiftRight" => Msg::Play(PlayMsg::StepNotable),
            "ArrowLeft" => Msg::rewind(self.session.now_us().saturating_sub(5_000_000)),
            "l" => Msg::Prefs(PrefMsg::ToggleLarge),
            "+" | "=" => Msg::Play(PlayMsg::SetSpeed(super::playback::next_speed(self.speed, true))),
            "-" => Msg::Play(PlayMsg::SetSpeed(super::playback::next_speed(self.speed, false))),
            "?" => Msg::Prefs(PrefMsg::ToggleHelp),
            "r" => Msg::Play(PlayMsg::Restart),
            _ => return None,
        })
    }
}
