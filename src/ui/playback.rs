//! Playback controls: the animation timer, speed, play and pause, restart, one
//! event, the next notable event, rewinding and the user's actions. Each hands
//! the work to the `Session` and writes what happened in the status line; a
//! tick also measures the frame (Performance API) and takes its turn at the charts.

use super::status::{Problem, Status};
use super::{App, Msg};

use crate::scenario::Action;
use crate::session::Session;
use crate::sim::{fmt_time, MS};
use gloo_timers::callback::Interval;
use yew::prelude::*;

/// Wall-clock milliseconds between animation ticks.
const TICK_MS: u32 = 50;
/// Wall-clock milliseconds of engine work per tick at most: at high speeds the
/// simulation falls behind the requested speed rather than blocking the page.
const ENGINE_BUDGET_MS: f64 = 6.0;
/// Above 10x the engine may take most of a tick: the page still answers within
/// a tick (no task near 50 ms) and the simulation gets closer to the asked speed.
const ENGINE_BUDGET_FAST_MS: f64 = 20.0;

pub const SPEEDS: &[f64] = &[0.1, 0.5, 1.0, 5.0, 10.0, 50.0, 200.0, 1000.0];

pub enum PlayMsg {
    Tick,
    TogglePlay,
    Restart,
    SetSpeed(f64),
    /// A fault or command, applied now in both runs (the same path as scenario files and tests).
    Act(Action),
    /// One engine event.
    Step,
    /// Run until the next notable event (fault, election, ISR change, rebalance step).
    StepNotable,
    /// Back to an earlier simulated time (a checkpoint, then deterministic re-simulation).
    Rewind(u64),
}

pub fn speed_label(s: f64) -> String {
    if s < 1.0 {
        format!("{s}x")
    } else {
        format!("{s:.0}x")
    }
}

pub fn next_speed(current: f64, faster: bool) -> f64 {
    let i = SPEEDS.iter().position(|&s| s >= current).unwrap_or(0);
    if faster {
        SPEEDS[(i + 1).min(SPEEDS.len() - 1)]
    } else {
        SPEEDS[i.saturating_sub(1)]
    }
}

fn performance() -> Option<web_sys::Performance> {
    web_sys::window().and_then(|w| w.performance())
}

impl App {
    pub(super) fn on_play(&mut self, ctx: &Context<Self>, msg: PlayMsg) -> bool {
        match msg {
            PlayMsg::Tick => return self.tick(ctx),
            PlayMsg::TogglePlay => {
                let on = !self.playing;
                self.set_playing(ctx, on);
            }
            PlayMsg::Restart => {
                let s = Session::new(self.session.scenario().clone());
                self.start_session(ctx, s, self.preset);
            }
            PlayMsg::SetSpeed(s) => self.speed = s.clamp(0.1, 1000.0),
            PlayMsg::Act(action) => {
                let name = action.name().replace('_', " ");
                let now = self.session.now_us();
                self.message = Some(match self.session.act(action) {
                    Ok(_) => Status::note("{0} at {1}", &[name, fmt_time(now)]),
                    Err(error) => Problem::Action { name, error }.into(),
                });
            }
            PlayMsg::Step => {
                self.set_playing(ctx, false);
                self.session.step();
                self.message = Some(Status::note("one event: now {0}", &[fmt_time(self.session.now_us())]));
            }
            PlayMsg::StepNotable => {
                self.set_playing(ctx, false);
                self.message = Some(match self.session.step_notable() {
                    Some(e) => Status::Event(fmt_time(e.at_us), e.what),
                    None => Status::note::<&str>("nothing notable happened", &[]),
                });
            }
            PlayMsg::Rewind(t) => {
                self.set_playing(ctx, false);
                let forward = t > self.session.now_us();
                if self.session.rewind(t) {
                    self.message = Some(if forward {
                        Status::note("forward to {0}: the same run, replayed", &[fmt_time(t)])
                    } else {
                        Status::note("rewound to {0}", &[fmt_time(t)])
                    });
                }
            }
        }
        true
    }

    pub(super) fn set_playing(&mut self, ctx: &Context<Self>, on: bool) {
        self.playing = on;
        self.interval = on.then(|| {
            let link = ctx.link().clone();
            Interval::new(TICK_MS, move || link.send_message(Msg::Play(PlayMsg::Tick)))
        });
    }

    /// One animation frame: a slice of simulated time within the engine budget,
    /// then a chart or the page (they take turns). False: nothing else to render.
    fn tick(&mut self, ctx: &Context<Self>) -> bool {
        let perf = performance();
        if let Some(p) = &perf {
            let _ = p.mark("tick-start");
            self.tick_open = true;
        }
        let t0 = perf.as_ref().map_or(0.0, |p| p.now());
        let step = (f64::from(TICK_MS) * MS as f64 * self.speed) as u64;
        let budget = if self.speed > 10.0 || self.session.seeking() {
            ENGINE_BUDGET_FAST_MS
        } else {
            ENGINE_BUDGET_MS
        };
        let tick = self.session.play(step, || !perf.as_ref().is_some_and(|p| p.now() - t0 > budget));
        if tick.at_end {
            self.set_playing(ctx, false);
        }
        if tick.seek_done {
            self.set_playing(ctx, false);
            self.message = Some(Status::note(
                "The shared run is at {0}, paused: press Play to go on.",
                &[fmt_time(self.session.now_us())],
            ));
        }
        if let Some(p) = &perf {
            let _ = p.mark("engine-done");
        }
        // Ticks take turns: one redraws a chart, the next updates the page
        // (10 times a second each), so no frame does both. Charts are drawn
        // before any DOM change: drawing on a canvas after one would force
        // a style recalculation inside the frame.
        // Still playing, and no replay ended: nothing but time changed.
        let only_time_moved = self.playing && !tick.seek_done;
        self.chart_turn = !self.chart_turn;
        // A tick that stops playing (the run's end, a shared run's replay done) is
        // the last: it draws every chart at the moment it stopped at, whoever's turn it is.
        let drawn = if self.chart_turn || !self.playing { self.draw_charts() } else { 0 };
        if let Some(p) = &perf {
            let _ = p.mark("charts-done");
        }
        if drawn > 0 && only_time_moved {
            self.end_frame();
            return false;
        }
        // The view follows; rendered() draws no chart after it.
        self.charts_drawn = true;
        true
    }

    /// One frame's work, measured (Performance API): the engine's slice, then a
    /// chart or the page update (Yew's diff and the DOM changes).
    pub(super) fn end_frame(&mut self) {
        if std::mem::take(&mut self.tick_open) {
            if let Some(p) = performance() {
                let _ = p.measure_with_start_mark_and_end_mark("frame-engine", "tick-start", "engine-done");
                let _ = p.measure_with_start_mark_and_end_mark("frame-charts", "engine-done", "charts-done");
                let _ = p.measure_with_start_mark("frame-view", "charts-done");
                let _ = p.measure_with_start_mark("frame", "tick-start");
                p.clear_marks();
                p.clear_measures();
            }
        }
    }
}
