//! Links: "Copy link" (a shared run in the fragment, or a lesson step in the
//! query), and opening the page from one (the run replayed to its time, or the
//! lesson at its step).

use super::setup::{FileKind, SetupMsg};
use super::status::{Problem, Status};
use super::{browser, App, Msg};
use crate::presets;
use crate::session::Session;
use crate::share::SharedRun;
use yew::prelude::*;

impl App {
    pub(super) fn copy_link(&mut self) -> bool {
        let url = match self.session.lesson_steps() {
            Some(steps) => browser::url_with(
                &[
                    ("lesson", Some(steps.lesson.id.clone())),
                    ("step", Some((steps.step() + 1).to_string())),
                    ("lang", Some(self.lang.clone())),
                ],
                None,
            ),
            None => {
                let run = self.session.share(self.preset);
                browser::url_with(&[("lang", Some(self.lang.clone())), ("lesson", None), ("step", None)], Some(&run.encode()))
            }
        };
        if let Some(url) = url {
            browser::replace_url(&url);
            browser::copy_to_clipboard(&url);
            self.message = Some(Status::note::<&str>("Link copied: it reproduces this run exactly.", &[]));
            self.link_text = Some(url);
        }
        true
    }

    /// What the page's URL asks for: a shared run in the fragment, a lesson
    /// (a built-in id, or a file's URL) in the query.
    pub(super) fn open_link(&mut self, ctx: &Context<Self>) {
        let shared = SharedRun::decode(&browser::fragment()).and_then(|run| run.map(|run| self.open_shared(ctx, &run)).transpose());
        if let Err(e) = shared {
            self.message = Some(Problem::Link(e).into());
        }
        if let Some(id) = browser::query_param("lesson") {
            let step = browser::query_param("step").and_then(|s| s.parse::<usize>().ok()).unwrap_or(1).max(1) - 1;
            if id.ends_with(".json") || id.contains('/') {
                let link = ctx.link().clone();
                yew::platform::spawn_local(async move {
                    let text = browser::fetch_text(&id).await;
                    link.send_message(Msg::Setup(SetupMsg::FileLoaded(FileKind::Lesson, id, text)));
                });
            } else {
                self.pending_lesson = Some((id, step));
            }
        }
    }

    /// Opens a shared run: rebuilt from its start, re-simulated to its time a slice per tick.
    fn open_shared(&mut self, ctx: &Context<Self>, run: &SharedRun) -> Result<(), crate::share::ShareError> {
        let session = Session::shared(run)?;
        self.setup.reset_to(session.scenario(), "link");
        let preset = run.preset.as_deref().and_then(presets::find).map(|p| p.id);
        self.start_session(ctx, session, preset);
        self.message = Some(Status::note::<&str>("replaying the shared run…", &[]));
        Ok(())
    }
}
