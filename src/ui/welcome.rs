//! A first visit: the page starts paused with a short card saying what this is,
//! offering the first lesson or free play, and naming three things to look at.
//! Once dismissed (either way, or Escape) it does not come back: local storage
//! remembers it. A link (a shared run, a lesson) skips it, and so does
//! `?welcome=0` (the browser tests use it, or the storage key, for a running page).

use super::modal::Modal;
use super::{browser, App, LessonMsg, Msg};
use crate::i18n::tr;
use yew::prelude::*;

/// The local-storage key that marks the card as seen.
pub const SEEN_KEY: &str = "kafka-sim-seen";

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Welcome {
    /// "Start lesson 1".
    Lesson,
    /// "Play freely".
    Play,
    /// Escape: the card goes, the page stays paused.
    Close,
}

/// Whether this is a first visit: nothing of ours in local storage, no link, no `?welcome=0`.
pub fn first_visit() -> bool {
    let linked = !browser::fragment().is_empty() || browser::query_param("lesson").is_some();
    let seen = browser::storage_get(SEEN_KEY).is_some() || browser::storage_get("kafka-sim-lang").is_some();
    !linked && !seen && browser::query_param("welcome").as_deref() != Some("0")
}

impl App {
    pub(super) fn on_welcome(&mut self, ctx: &Context<Self>, choice: Welcome) -> bool {
        self.welcome = false;
        browser::storage_set(SEEN_KEY, "1");
        match choice {
            Welcome::Lesson if self.lessons.is_empty() => self.pending_first_lesson = true,
            Welcome::Lesson => return self.on_lesson(ctx, LessonMsg::Open(0)),
            Welcome::Play => self.set_playing(ctx, true),
            Welcome::Close => {}
        }
        true
    }

    pub(super) fn welcome_view(&self, link: &yew::html::Scope<App>) -> Html {
        let pick = |w: Welcome| link.callback(move |_| Msg::Welcome(w));
        html! {
            <Modal labelled_by="welcome-title" class="welcome">
                <h2 id="welcome-title">{ tr("Welcome to kafka-sim") }</h2>
                <p>{ tr("This is a Kafka cluster simulated in your browser: brokers keep replicas of a topic's partitions, a producer writes to them and a consumer group reads. Break it (kill a broker, cut the network) and watch what Kafka does. It is paused until you choose.") }</p>
                <h3>{ tr("Three things to look at") }</h3>
                <ol>
                    <li>{ tr("The brokers and their replicas: a solid chip is its partition's leader; the bar under it is the log, green where committed.") }</li>
                    <li>{ tr("The charts: records produced, acknowledged and consumed, latency and consumer lag over simulated time.") }</li>
                    <li>{ tr("The fault buttons on each broker (kill, pause, isolate): press one, then read the event log and the guarantees.") }</li>
                </ol>
                <div class="welcome-actions">
                    <button class="primary" autofocus=true onclick={pick(Welcome::Lesson)}>{ tr("Start lesson 1") }</button>
                    <button onclick={pick(Welcome::Play)}>{ tr("Play freely") }</button>
                </div>
            </Modal>
        }
    }
}
