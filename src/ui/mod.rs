//! The browser app (Yew). One component owns a `Simulation` and a reducer over
//! `Msg`: it advances the engine on a timer, injects actions the user clicks
//! (through the same `inject` path as scenario files and tests), and draws what
//! `snapshot()`, `metrics()` and the event log report. No simulation logic here.

mod browser;
mod controls;
mod lesson;
mod setup;
mod views;

use crate::charts::{self, Marker, PlotArea, SeriesDef};
use crate::i18n::{tr, trf};
use crate::presets::{self, PRESETS};
use crate::scenario::draft::{Draft, Field};
use crate::scenario::Action;
use crate::share::SharedRun;
use crate::sim::SortSmall;
use crate::sim::{fmt_time, MS};
use crate::{Scenario, Simulation};
use gloo_timers::callback::Interval;
use plotters::prelude::IntoDrawingArea;
use plotters_canvas::CanvasBackend;
use web_sys::HtmlCanvasElement;
use yew::prelude::*;

/// Wall-clock milliseconds between animation ticks.
const TICK_MS: u32 = 50;
/// Wall-clock milliseconds of engine work per tick at most: at high speeds the
/// simulation falls behind the requested speed rather than blocking the page.
const ENGINE_BUDGET_MS: f64 = 6.0;
/// Above 10x the engine may take most of a tick: the page still answers within
/// a tick (no task near 50 ms) and the simulation gets closer to the asked speed.
const ENGINE_BUDGET_FAST_MS: f64 = 20.0;
/// Charts are redrawn when at least this much simulated time has passed (or
/// anything else they show changed), not on every tick.
const CHART_REDRAW_US: u64 = 250_000;
/// Engine events between two looks at the clock.
const EVENTS_PER_SLICE: u64 = 4_000;
/// A checkpoint (a clone of the engine) every this many simulated microseconds.
const CHECKPOINT_EVERY: u64 = 5_000_000;
/// Checkpoints kept; beyond this every other old one is dropped, so memory stays bounded.
const MAX_CHECKPOINTS: usize = 120;
/// "Step to the next interesting event" gives up after this many events.
const INTERESTING_SCAN: u64 = 2_000_000;

pub fn start() {
    yew::Renderer::<App>::new().render();
}

pub enum Msg {
    Tick,
    TogglePlay,
    Restart,
    SetSpeed(f64),
    SetPreset(String),
    /// A fault or command, applied now through `Simulation::inject`.
    Act(Action),
    Select(Option<views::Selection>),
    Filter(String),
    /// One engine event.
    Step,
    /// Run until the next notable event (fault, election, ISR change, rebalance step).
    StepInteresting,
    /// Back to an earlier simulated time: restore a checkpoint and re-simulate.
    Rewind(u64),
    Key(String),
    ToggleHelp,
    /// Scenario setup: the JSON text changed, a form field changed, run the draft.
    SetupText(String),
    SetupField(Field, String),
    ApplySetup,
    ToggleSetup,
    LoadFile(Option<web_sys::File>),
    FileLoaded(String, Result<String, String>),
    CutForm(controls::CutField, String),
    SetTheme(String),
    ToggleLarge,
    /// Pointer over a chart: (chart index, CSS x, CSS width of the canvas), or gone.
    Hover(Option<(usize, f64)>),
    SetLang(String),
    /// A language's table arrived (fetched from `i18n/<code>.json`).
    LangLoaded(String, Result<String, String>),
    /// A built-in lesson by index.
    OpenLesson(usize),
    LessonNext,
    LessonBack,
    LessonGo(usize),
    /// Leave the lesson; true: keep the state and play on from it.
    LeaveLesson(bool),
    LoadLessonFile(Option<web_sys::File>),
    LessonText(String, Result<String, String>),
    LessonsLoaded(Vec<crate::lesson::Lesson>),
    CopyLink,
    /// Side by side with a variant of the scenario ("" for none).
    SetCompare(String),
    /// The rebalance the timeline shows (group, generation); None follows the latest.
    PickRebalance(Option<(String, i32)>),
    TogglePresent,
}

/// The second run of a side-by-side comparison, kept in lockstep with the first.
struct Twin {
    sim: Simulation,
    checkpoints: Vec<Simulation>,
    /// What run A and run B are.
    a: String,
    b: String,
    /// The variant's id, or "" for a lesson's own comparison.
    variant: String,
}

#[derive(Clone, Copy)]
struct ChartDef {
    title: &'static str,
    y_label: &'static str,
    defs: &'static [SeriesDef],
    aria: &'static str,
    /// Its name in lesson highlights (`chart:lag`).
    target: &'static str,
}

/// Charts after the four cluster charts: the ML models' (issue 8), when the run has processors.
const MAX_CHARTS: usize = 7;

/// The charts this run draws: the cluster's four, then its models' on the same time axis.
fn chart_list(sim: &Simulation) -> Vec<ChartDef> {
    let mut v = CHARTS.to_vec();
    for (title, y_label, defs) in charts::model_charts(sim) {
        v.push(ChartDef {
            title,
            y_label,
            defs,
            aria: title,
            target: "model",
        });
    }
    v.truncate(MAX_CHARTS);
    v
}

/// What a chart was drawn from: (time bucket, metric points, markers, dark, layout key).
type ChartSig = (u64, usize, usize, bool, i32);

const CHARTS: &[ChartDef] = &[
    ChartDef {
        title: "Throughput",
        y_label: "records/s",
        defs: charts::THROUGHPUT,
        aria: "Throughput chart",
        target: "throughput",
    },
    ChartDef {
        title: "Latency",
        y_label: "ms",
        defs: charts::LATENCY,
        aria: "Latency chart",
        target: "latency",
    },
    ChartDef {
        title: "Consumer lag",
        y_label: "records",
        defs: charts::LAG,
        aria: "Consumer lag chart",
        target: "lag",
    },
    ChartDef {
        title: "Partitions at risk",
        y_label: "partitions",
        defs: charts::HEALTH,
        aria: "Under-replicated and offline partitions chart",
        target: "health",
    },
];

pub struct App {
    /// The preset running, or None for a scenario from the form or a file.
    preset: Option<&'static str>,
    scenario: Scenario,
    sim: Result<Simulation, String>,
    playing: bool,
    speed: f64,
    interval: Option<Interval>,
    canvases: Vec<NodeRef>,
    selected: Option<views::Selection>,
    filter: String,
    message: Option<String>,
    /// Engine clones by simulated time, for rewinding (deterministic re-simulation).
    checkpoints: Vec<Simulation>,
    help: bool,
    setup: Draft,
    cut: controls::CutForm,
    /// "auto" follows the system, or "light" / "dark".
    theme: String,
    large: bool,
    /// Where each chart's plot landed, for mapping the pointer to a time.
    plots: Vec<PlotArea>,
    /// (chart, CSS x) under the pointer.
    hover: Option<(usize, f64)>,
    /// A tick's engine work is measured together with its drawing (Performance API).
    tick_open: bool,
    /// What the charts were last drawn from; unchanged means no redraw.
    chart_sig: Vec<Option<ChartSig>>,
    /// Each canvas's CSS width, by the layout key it was measured under.
    canvas_w: Vec<Option<(i32, f64)>>,
    /// One callback for child components, made once so their props compare equal.
    send: Callback<Msg>,
    lang: String,
    /// The built-in lessons, fetched from `lessons/` after the first render.
    lessons: Vec<crate::lesson::Lesson>,
    /// A lesson asked for in the URL before the lessons arrived: (id, step).
    pending_lesson: Option<(String, usize)>,
    lesson: Option<lesson::LessonRun>,
    twin: Option<Twin>,
    /// The last link made by "Copy link", shown for copying by hand.
    link_text: Option<String>,
    /// Re-simulating up to this time (a shared link), a slice per tick, then pause.
    seek: Option<u64>,
    presenting: bool,
    scroll_pending: bool,
    /// The root element's attributes as last written (theme, language, large, presenting).
    root_attrs: Option<(String, String, bool, bool)>,
    /// The charts were drawn in this tick's update, before the view.
    charts_drawn: bool,
    /// This tick's turn is a chart's (the next one the page's).
    chart_turn: bool,
    rb_pick: Option<(String, i32)>,
    _keys: Option<gloo_events::EventListener>,
}

const SPEEDS: &[f64] = &[0.1, 0.5, 1.0, 5.0, 10.0, 50.0, 200.0, 1000.0];

fn speed_label(s: f64) -> String {
    if s < 1.0 {
        format!("{s}x")
    } else {
        format!("{s:.0}x")
    }
}

fn next_speed(current: f64, faster: bool) -> f64 {
    let i = SPEEDS.iter().position(|&s| s >= current).unwrap_or(0);
    if faster {
        SPEEDS[(i + 1).min(SPEEDS.len() - 1)]
    } else {
        SPEEDS[i.saturating_sub(1)]
    }
}

fn preset_scenario(id: &str) -> Result<Scenario, String> {
    let p = presets::find(id).ok_or_else(|| format!("unknown preset {id:?}"))?;
    Scenario::from_json(p.json).map_err(|e| e.to_string())
}

/// Thins the older half of a checkpoint list: keeps every other one.
fn thin(v: &mut Vec<Simulation>) {
    let mut i = 0;
    v.retain(|_| {
        i += 1;
        i > MAX_CHECKPOINTS / 2 || i % 2 == 0
    });
}

fn performance() -> Option<web_sys::Performance> {
    web_sys::window().and_then(|w| w.performance())
}

impl App {
    fn set_playing(&mut self, ctx: &Context<Self>, on: bool) {
        self.playing = on;
        self.interval = on.then(|| {
            let link = ctx.link().clone();
            Interval::new(TICK_MS, move || link.send_message(Msg::Tick))
        });
    }

    fn checkpoint(&mut self) {
        let Ok(sim) = &self.sim else { return };
        let due = self.checkpoints.last().is_none_or(|c| sim.now_us() >= c.now_us() + CHECKPOINT_EVERY);
        if due {
            self.checkpoints.push(sim.clone());
            if let Some(t) = &mut self.twin {
                t.checkpoints.push(t.sim.clone());
            }
            if self.checkpoints.len() > MAX_CHECKPOINTS {
                thin(&mut self.checkpoints);
                if let Some(t) = &mut self.twin {
                    thin(&mut t.checkpoints);
                }
            }
        }
    }

    /// Brings the second run of a comparison to the first one's time.
    fn sync_twin(&mut self) {
        if let (Ok(sim), Some(t)) = (&self.sim, &mut self.twin) {
            t.sim.run_until(sim.now_us());
        }
    }

    /// Restores the last checkpoint at or before `t` and re-simulates up to `t`.
    fn rewind(&mut self, t: u64) {
        let Some(idx) = self.checkpoints.iter().rposition(|c| c.now_us() <= t) else {
            return;
        };
        let mut sim = self.checkpoints[idx].clone();
        // Actions the user took between the checkpoint and `t` happen again at their times.
        if let Ok(current) = &self.sim {
            let base = sim.injected_actions().len();
            for a in current.injected_actions().iter().skip(base).filter(|a| a.at_us <= t) {
                let _ = sim.schedule(a.at_us, a.action.clone());
            }
        }
        sim.run_until(t);
        if let Some(tw) = &mut self.twin {
            if let Some(cp) = tw.checkpoints.get(idx) {
                let mut b = cp.clone();
                let base = b.injected_actions().len();
                for a in tw.sim.injected_actions().iter().skip(base).filter(|a| a.at_us <= t) {
                    let _ = b.schedule(a.at_us, a.action.clone());
                }
                b.run_until(t);
                tw.sim = b;
                tw.checkpoints.truncate(idx + 1);
            }
        }
        // Acting from here forks a new future: later checkpoints belong to the old one.
        self.checkpoints.truncate(idx + 1);
        self.message = Some(trf("rewound to {0}", &[fmt_time(t)]));
        self.sim = Ok(sim);
    }

    fn run_scenario(&mut self, ctx: &Context<Self>, scenario: Scenario, preset: Option<&'static str>) {
        self.preset = preset;
        self.sim = Ok(Simulation::new(&scenario));
        self.scenario = scenario;
        self.twin = None;
        self.lesson = None;
        self.seek = None;
        self.checkpoints.clear();
        self.checkpoint();
        self.selected = None;
        self.message = None;
        self.set_playing(ctx, true);
    }

    /// Puts a lesson step's state on screen (and its second run, side by side).
    fn show_step(&mut self, ctx: &Context<Self>, k: usize) {
        let Some(run) = &mut self.lesson else { return };
        let (a, b) = run.state_at(k);
        let labels = run
            .lesson
            .compare
            .as_ref()
            .map(|(_, la, lb)| (la.get(&self.lang).to_string(), lb.get(&self.lang).to_string()));
        let lesson_id = run.lesson.id.clone();
        self.sim = Ok(a.clone());
        self.checkpoints = vec![a];
        self.twin = match (b, labels) {
            (Some(b), Some((la, lb))) => Some(Twin {
                checkpoints: vec![b.clone()],
                sim: b,
                a: la,
                b: lb,
                variant: String::new(),
            }),
            _ => None,
        };
        self.set_playing(ctx, false);
        self.scroll_pending = true;
        self.message = None;
        if let Some(url) = browser::url_with(&[("lesson", Some(lesson_id)), ("step", Some((k + 1).to_string()))], None) {
            browser::replace_url(&url);
        }
    }

    fn open_lesson(&mut self, ctx: &Context<Self>, l: crate::lesson::Lesson, step: usize) {
        self.preset = crate::presets::PRESETS
            .iter()
            .find(|p| Scenario::from_json(p.json).ok().as_ref() == Some(&l.scenario))
            .map(|p| p.id);
        self.scenario = l.scenario.clone();
        self.setup.reset_to(&l.scenario, &l.id);
        self.selected = None;
        self.lesson = Some(lesson::LessonRun::new(l));
        self.show_step(ctx, step);
    }

    /// Opens a shared run: rebuilt from its start, re-simulated to its time a slice per tick.
    fn open_shared(&mut self, ctx: &Context<Self>, run: &SharedRun) -> Result<(), String> {
        let sim = run.build()?;
        let twin = run.build_compare()?;
        self.scenario = run.scenario()?;
        self.preset = run.preset.as_deref().and_then(presets::find).map(|p| p.id);
        self.setup.reset_to(&self.scenario, "link");
        self.twin = twin.zip(run.compare.clone()).map(|(b, id)| {
            let label = crate::scenario::draft::VARIANTS.iter().find(|v| v.0 == id).map_or("", |v| v.1);
            Twin {
                checkpoints: Vec::new(),
                sim: b,
                a: tr("this scenario"),
                b: tr(label),
                variant: id,
            }
        });
        self.sim = Ok(sim);
        self.checkpoints.clear();
        self.checkpoint();
        self.seek = Some(run.t_us);
        self.message = Some(tr("replaying the shared run…"));
        self.set_playing(ctx, true);
        Ok(())
    }

    /// One frame's work, measured (Performance API): the engine's slice, then a
    /// chart or the page update (Yew's diff and the DOM changes).
    fn end_frame(&mut self) {
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

    fn dark(&self) -> bool {
        if self.presenting {
            return true;
        }
        match self.theme.as_str() {
            "dark" => true,
            "light" => false,
            _ => web_sys::window()
                .and_then(|w| w.match_media("(prefers-color-scheme: dark)").ok().flatten())
                .is_some_and(|m| m.matches()),
        }
    }

    /// Redraws the charts that are out of date; returns how many were drawn.
    fn draw_charts(&mut self) -> usize {
        let Ok(sim) = &self.sim else { return 0 };
        let names = markers(sim, self.twin.as_ref().map(|t| &t.sim));
        let dark = self.dark();
        let width = web_sys::window().and_then(|w| w.inner_width().ok()).and_then(|v| v.as_f64()).unwrap_or(0.0) as i32;
        let lang_n = crate::i18n::LANGUAGES.iter().position(|l| l.0 == self.lang).unwrap_or(0) as i32;
        let sig = (
            sim.now_us() / CHART_REDRAW_US,
            sim.metrics().points.len(),
            names.len(),
            dark,
            width * 64 + lang_n * 4 + i32::from(self.large) * 2 + i32::from(self.twin.is_some()),
        );
        // When only time moved on, one chart is redrawn per tick, the stalest
        // first, so the drawing cost is spread over frames; any other change
        // (theme, size, a new marker) redraws every chart at once.
        let list = chart_list(sim);
        let only_time = self.chart_sig[..list.len()]
            .iter()
            .all(|c| c.is_some_and(|c| (c.2, c.3, c.4) == (sig.2, sig.3, sig.4)));
        let mut stale: Vec<usize> = (0..list.len()).filter(|&i| self.chart_sig[i] != Some(sig)).collect();
        stale.sort_small_by_key(|&i| self.chart_sig[i].map_or((0, 0), |c| (c.0, c.1)));
        // Spread over ticks only while playing up to 5x: paused (a lesson step, a
        // rewind, a single step) no tick follows, and faster a chart redrawn every
        // fourth chart turn would end seconds of simulated time behind the others.
        if only_time && self.playing && self.speed <= 5.0 {
            stale.truncate(1);
        }
        let dpr = web_sys::window().map_or(1.0, |w| w.device_pixel_ratio()).clamp(1.0, 3.0);
        self.plots.resize(MAX_CHARTS, PlotArea::default());
        let drawn = stale.len();
        for i in stale {
            let (def, node) = (&list[i], &self.canvases[i]);
            self.chart_sig[i] = Some(sig);
            let Some(canvas) = node.cast::<HtmlCanvasElement>() else { continue };
            // The moment it shows, for tests: every chart of a paused run shows the same one.
            let _ = canvas.set_attribute("data-drawn-us", &(sig.0 * CHART_REDRAW_US).to_string());
            // Draw at device resolution: the canvas's CSS width times devicePixelRatio.
            // Reading clientWidth forces a layout of the page; the width only
            // changes with the layout key (window width, type size, language), so it is kept.
            let css_w = match self.canvas_w[i] {
                Some((key, w)) if key == sig.4 => w,
                _ => {
                    let w = f64::from(canvas.client_width().max(240));
                    self.canvas_w[i] = Some((sig.4, w));
                    w
                }
            };
            let (w, h) = ((css_w * dpr) as u32, (css_w * 0.5 * dpr) as u32);
            if canvas.width() != w || canvas.height() != h {
                canvas.set_width(w);
                canvas.set_height(h);
            }
            let Some(backend) = CanvasBackend::with_canvas_object(canvas) else { continue };
            let root = backend.into_drawing_area();
            let markers = names
                .iter()
                .map(|m| Marker {
                    t_sec: m.t_sec,
                    label: &m.label,
                    rebalance: m.rebalance,
                    second: m.second,
                })
                .collect();
            let type_scale = if self.large || self.presenting { 1.3 } else { 1.0 };
            let (title, y_label, x_label) = (tr(def.title), tr(def.y_label), tr("simulated time (s)"));
            let mut spec = charts::series_spec(sim, &title, &y_label, def.defs, markers, dark, dpr * type_scale);
            spec.x_label = &x_label;
            for l in &mut spec.lines {
                l.label = tr(&l.label);
            }
            // Side by side: run B's lines over run A's, thinner and lighter, with
            // one legend entry for all of them (the legend stays readable).
            if let Some(t) = &self.twin {
                let b = charts::series_spec(&t.sim, "", "", def.defs, Vec::new(), dark, dpr);
                // Short: the setting B changes is named in the comparison table.
                let b_label = tr("run B (thin lines)");
                spec.lines.extend(b.lines.into_iter().enumerate().map(|(k, mut l)| {
                    l.label = if k == 0 { b_label.clone() } else { String::new() };
                    l.width = 1.5;
                    l.alpha = 0.6;
                    l.color = charts::lighten(l.color);
                    l
                }));
            }
            // The time axis ends on a coarse step, so charts redrawn on different
            // ticks still share one axis and a live chart does not jitter.
            spec.x_range.1 = charts::snap_end(spec.x_range.0, spec.x_range.1);
            match charts::draw_time_chart(&root, &spec) {
                Ok(area) => {
                    // Back to CSS pixels, where pointer events live.
                    self.plots[i] = PlotArea {
                        left_px: area.left_px / dpr,
                        right_px: area.right_px / dpr,
                        ..area
                    };
                }
                Err(e) => web_sys::console::warn_1(&format!("chart: {e}").into()),
            }
        }
        drawn
    }

    /// The values under the pointer, in words: what hovering a chart shows.
    fn hover_text(&self, sim: &Simulation) -> Option<String> {
        let (i, x) = self.hover?;
        let t = self.plots.get(i)?.time_at(x)?;
        let list = chart_list(sim);
        let def = list.get(i)?;
        let p = sim.metrics().points.iter().min_by_key(|p| (p.t_ms as f64 - t * 1000.0).abs() as u64)?;
        let mut values: Vec<String> = def
            .defs
            .iter()
            .map(|(label, _, f)| format!("{} {}", tr(label), charts::format_si(f(p))))
            .collect();
        // Side by side: run B's values at the same moment.
        if let Some(q) = self.twin.as_ref().and_then(|tw| tw.sim.metrics().points.iter().find(|q| q.t_ms == p.t_ms)) {
            let b: Vec<String> = def
                .defs
                .iter()
                .map(|(label, _, f)| format!("{} {}", tr(label), charts::format_si(f(q))))
                .collect();
            values = vec![format!("A: {}", values.join(" · ")), format!("B: {}", b.join(" · "))];
        }
        Some(trf(
            "{0} at {1} s: {2} ({3})",
            &[tr(def.title), format!("{:.1}", p.t_ms as f64 / 1000.0), values.join(" · "), tr(def.y_label)],
        ))
    }
}

/// A chart marker in words: when, what, a rebalance (purple) or not (red), and
/// whether it is run B's (side by side).
struct MarkerText {
    t_sec: f64,
    label: String,
    rebalance: bool,
    second: bool,
}

/// Chart markers: every action (scenario, button, replay) and every rebalance so
/// far; side by side, run B's rebalances too (B's actions are A's).
fn markers(sim: &Simulation, twin: Option<&Simulation>) -> Vec<MarkerText> {
    let now = sim.now_us();
    let mut out: Vec<MarkerText> = sim
        .actions()
        .iter()
        .filter(|a| a.at_us <= now)
        .map(|a| MarkerText {
            t_sec: a.at_us as f64 / 1e6,
            label: tr(&a.action.name().replace('_', " ")),
            rebalance: false,
            second: false,
        })
        .collect();
    for (run, second) in std::iter::once((sim, false)).chain(twin.map(|b| (b, true))) {
        for g in run.groups() {
            for r in g.history.iter().filter(|r| r.started_us <= now) {
                let label = if second {
                    trf("B: rebalance {0}", &[&g.id])
                } else {
                    trf("rebalance {0}", &[&g.id])
                };
                out.push(MarkerText {
                    t_sec: r.started_us as f64 / 1e6,
                    label,
                    rebalance: true,
                    second,
                });
            }
        }
    }
    merge_markers(out, now as f64 / 1e6)
}

/// Markers with the same label closer than 3% of the time shown become one
/// ("set consumer rate ×3"), so their labels do not print over each other.
fn merge_markers(mut m: Vec<MarkerText>, span: f64) -> Vec<MarkerText> {
    m.sort_small_by(|a, b| a.t_sec.total_cmp(&b.t_sec));
    let near = (span * 0.03).max(0.5);
    // Each kept marker with how many it stands for and the time of the last one.
    let mut out: Vec<(MarkerText, u32, f64)> = Vec::new();
    for mk in m {
        match out.iter_mut().rev().find(|o| o.0.label == mk.label && mk.t_sec - o.2 <= near) {
            Some(o) => {
                o.1 += 1;
                o.2 = mk.t_sec;
            }
            None => {
                let t = mk.t_sec;
                out.push((mk, 1, t));
            }
        }
    }
    out.into_iter()
        .map(|(mut mk, n, _)| {
            if n > 1 {
                mk.label = format!("{} ×{n}", mk.label);
            }
            mk
        })
        .collect()
}

impl Component for App {
    type Message = Msg;
    type Properties = ();

    fn create(ctx: &Context<Self>) -> Self {
        // Language: the URL's choice, else the last one used here, else English.
        let wanted = browser::query_param("lang")
            .or_else(|| browser::storage_get("kafka-sim-lang"))
            .unwrap_or_else(|| "en".into());
        let lang = "en".to_string();
        let scenario = preset_scenario(PRESETS[0].id).unwrap_or_else(|_| Scenario::from_json("{}").expect("the empty scenario is valid"));
        let mut setup = Draft::default();
        setup.reset_to(&scenario, PRESETS[0].id);
        let mut app = App {
            preset: Some(PRESETS[0].id),
            sim: Ok(Simulation::new(&scenario)),
            scenario,
            playing: false,
            speed: 5.0,
            interval: None,
            canvases: (0..MAX_CHARTS).map(|_| NodeRef::default()).collect(),
            selected: None,
            filter: String::new(),
            message: None,
            checkpoints: Vec::new(),
            help: false,
            setup,
            cut: controls::CutForm::default(),
            theme: "auto".into(),
            large: false,
            plots: Vec::new(),
            hover: None,
            tick_open: false,
            chart_sig: vec![None; MAX_CHARTS],
            canvas_w: vec![None; MAX_CHARTS],
            send: ctx.link().callback(|m: Msg| m),
            lang,
            lessons: Vec::new(),
            pending_lesson: None,
            lesson: None,
            twin: None,
            link_text: None,
            seek: None,
            presenting: false,
            scroll_pending: false,
            root_attrs: None,
            charts_drawn: false,
            chart_turn: false,
            rb_pick: None,
            _keys: None,
        };
        app.checkpoint();
        // Keyboard shortcuts anywhere on the page (except while typing in a field).
        let link = ctx.link().clone();
        app._keys = web_sys::window().and_then(|w| w.document()).map(|doc| {
            let options = gloo_events::EventListenerOptions::enable_prevent_default();
            gloo_events::EventListener::new_with_options(&doc, "keydown", options, move |e| {
                let Some(e) = wasm_bindgen::JsCast::dyn_ref::<web_sys::KeyboardEvent>(e) else {
                    return;
                };
                let typing = e
                    .target()
                    .and_then(|t| wasm_bindgen::JsCast::dyn_into::<web_sys::Element>(t).ok())
                    .is_some_and(|el| matches!(el.tag_name().as_str(), "INPUT" | "SELECT" | "TEXTAREA"));
                if typing || e.ctrl_key() || e.meta_key() || e.alt_key() {
                    return;
                }
                let key = if e.shift_key() && e.key() == "ArrowRight" {
                    "ShiftRight".to_string()
                } else {
                    e.key()
                };
                if matches!(
                    key.as_str(),
                    " " | "ArrowRight" | "ShiftRight" | "ArrowLeft" | "+" | "=" | "-" | "?" | "r" | "l" | "p" | "n" | "b" | "Escape"
                ) {
                    e.prevent_default();
                    link.send_message(Msg::Key(key));
                }
            })
        });
        app.set_playing(ctx, true);
        if wanted != "en" {
            ctx.link().send_message(Msg::SetLang(wanted));
        }
        // A shared run in the fragment, or a lesson (built-in id or a file's URL) in the query.
        match SharedRun::decode(&browser::fragment()) {
            Ok(Some(run)) => {
                if let Err(e) = app.open_shared(ctx, &run) {
                    app.message = Some(trf("This link cannot be opened ({0}); showing the default scenario.", &[tr(&e)]));
                }
            }
            Ok(None) => {}
            Err(e) => app.message = Some(trf("This link cannot be opened ({0}); showing the default scenario.", &[tr(&e)])),
        }
        if let Some(id) = browser::query_param("lesson") {
            let step = browser::query_param("step").and_then(|s| s.parse::<usize>().ok()).unwrap_or(1).max(1) - 1;
            if id.ends_with(".json") || id.contains('/') {
                let link = ctx.link().clone();
                yew::platform::spawn_local(async move {
                    let text = browser::fetch_text(&id).await;
                    link.send_message(Msg::LessonText(id, text));
                });
            } else {
                app.pending_lesson = Some((id, step));
            }
        }
        // The built-in lessons are data files next to the page (not in the WebAssembly).
        let link = ctx.link().clone();
        yew::platform::spawn_local(async move {
            let mut lessons = Vec::new();
            for name in crate::lesson::BUILT_IN_FILES {
                match browser::fetch_text(&format!("lessons/{name}"))
                    .await
                    .and_then(|t| crate::lesson::Lesson::from_json(&t))
                {
                    Ok(l) => lessons.push(l),
                    Err(e) => web_sys::console::warn_1(&format!("lessons/{name}: {e}").into()),
                }
            }
            link.send_message(Msg::LessonsLoaded(lessons));
        });
        app
    }

    fn update(&mut self, ctx: &Context<Self>, msg: Msg) -> bool {
        match msg {
            Msg::Tick => {
                let Ok(sim) = &mut self.sim else { return false };
                let perf = performance();
                if let Some(p) = &perf {
                    let _ = p.mark("tick-start");
                    self.tick_open = true;
                }
                let t0 = perf.as_ref().map_or(0.0, |p| p.now());
                let step = (f64::from(TICK_MS) * MS as f64 * self.speed) as u64;
                let mut target = (sim.now_us() + step.max(1)).min(sim.end_us());
                let seeking = self.seek.is_some();
                if let Some(t) = self.seek {
                    target = t.min(sim.end_us());
                }
                while !sim.run_for(target, EVENTS_PER_SLICE) {
                    let budget = if self.speed > 10.0 || seeking {
                        ENGINE_BUDGET_FAST_MS
                    } else {
                        ENGINE_BUDGET_MS
                    };
                    if perf.as_ref().is_some_and(|p| p.now() - t0 > budget) {
                        break;
                    }
                }
                let (now, end) = (sim.now_us(), sim.end_us());
                if let Some(t) = &mut self.twin {
                    t.sim.run_until(now);
                }
                if now >= end {
                    self.set_playing(ctx, false);
                }
                if self.seek.is_some_and(|t| now >= t.min(end)) {
                    self.seek = None;
                    self.set_playing(ctx, false);
                    self.message = Some(trf("The shared run is at {0}, paused: press Play to go on.", &[fmt_time(now)]));
                }
                self.checkpoint();
                if let Some(p) = &perf {
                    let _ = p.mark("engine-done");
                }
                // Ticks take turns: one redraws a chart, the next updates the page
                // (10 times a second each), so no frame does both. Charts are drawn
                // before any DOM change: drawing on a canvas after one would force
                // a style recalculation inside the frame.
                // Still playing, and no replay ended: nothing but time changed.
                let only_time_moved = self.playing && self.seek.is_some() == seeking;
                self.chart_turn = !self.chart_turn;
                let drawn = if self.chart_turn { self.draw_charts() } else { 0 };
                if let Some(p) = &perf {
                    let _ = p.mark("charts-done");
                }
                if drawn > 0 && only_time_moved {
                    self.end_frame();
                    return false;
                }
                // The view follows; rendered() draws no chart after it.
                self.charts_drawn = true;
            }
            Msg::Step => {
                self.set_playing(ctx, false);
                if let Ok(sim) = &mut self.sim {
                    sim.step();
                    self.message = Some(trf("one event: now {0}", &[fmt_time(sim.now_us())]));
                }
                self.sync_twin();
                self.checkpoint();
            }
            Msg::StepInteresting => {
                self.set_playing(ctx, false);
                if let Ok(sim) = &mut self.sim {
                    let before = sim.event_log().total;
                    let mut n = 0;
                    while sim.event_log().total == before && n < INTERESTING_SCAN && sim.step() {
                        n += 1;
                    }
                    self.message = Some(match sim.event_log().entries.back() {
                        Some(e) if sim.event_log().total > before => format!("{}: {}", fmt_time(e.at_us), tr(&e.what.describe())),
                        _ => tr("nothing notable happened"),
                    });
                }
                self.sync_twin();
                self.checkpoint();
            }
            Msg::Rewind(t) => {
                self.set_playing(ctx, false);
                self.rewind(t);
            }
            Msg::Key(k) => {
                // In a lesson, the arrows (and n / b) move between its steps.
                let in_lesson = self.lesson.is_some();
                let msg = match k.as_str() {
                    "ArrowRight" | "n" if in_lesson => Msg::LessonNext,
                    "ArrowLeft" | "b" if in_lesson => Msg::LessonBack,
                    "Escape" if in_lesson => Msg::LeaveLesson(false),
                    "Escape" if self.help => Msg::ToggleHelp,
                    "p" => Msg::TogglePresent,
                    " " => Msg::TogglePlay,
                    "ArrowRight" => Msg::Step,
                    "ShiftRight" => Msg::StepInteresting,
                    "ArrowLeft" => Msg::Rewind(self.sim.as_ref().map_or(0, |s| s.now_us().saturating_sub(5_000_000))),
                    "l" => Msg::ToggleLarge,
                    "+" | "=" => Msg::SetSpeed(next_speed(self.speed, true)),
                    "-" => Msg::SetSpeed(next_speed(self.speed, false)),
                    "?" => Msg::ToggleHelp,
                    "r" => Msg::Restart,
                    _ => return false,
                };
                return <Self as Component>::update(self, ctx, msg);
            }
            Msg::ToggleHelp => self.help = !self.help,
            Msg::TogglePlay => {
                let on = !self.playing;
                self.set_playing(ctx, on);
            }
            Msg::Restart => {
                let s = self.scenario.clone();
                self.run_scenario(ctx, s, self.preset);
            }
            Msg::SetSpeed(s) => self.speed = s.clamp(0.1, 1000.0),
            Msg::SetPreset(id) => match (presets::find(&id), preset_scenario(&id)) {
                (Some(p), Ok(s)) => {
                    self.setup.reset_to(&s, p.id);
                    self.run_scenario(ctx, s, Some(p.id));
                }
                (_, Err(e)) => self.message = Some(e),
                _ => {}
            },
            Msg::SetupText(t) => self.setup.set_text(t, "scenario JSON"),
            Msg::SetupField(f, v) => self.setup.set_field(f, &v),
            Msg::ToggleSetup => self.setup.open = !self.setup.open,
            Msg::ApplySetup => match self.setup.parse() {
                Ok(s) => {
                    self.message = Some(format!("running the scenario from {}", self.setup.source));
                    self.run_scenario(ctx, s, None);
                }
                Err(e) => self.setup.error = Some(format!("{}: {e}", self.setup.source)),
            },
            Msg::LoadFile(file) => {
                let Some(file) = file else { return false };
                let name = file.name();
                let link = ctx.link().clone();
                yew::platform::spawn_local(async move {
                    let text = browser::read_file(file).await;
                    link.send_message(Msg::FileLoaded(name, text));
                });
                return false;
            }
            Msg::FileLoaded(name, text) => {
                self.setup.open = true;
                match text {
                    Err(e) => self.setup.error = Some(format!("{name}: {e}")),
                    Ok(text) => {
                        self.setup.set_text(text, &name);
                        if self.setup.error.is_none() {
                            return <Self as Component>::update(self, ctx, Msg::ApplySetup);
                        }
                    }
                }
            }
            Msg::CutForm(field, v) => match field {
                controls::CutField::From => self.cut.from = v,
                controls::CutField::To => self.cut.to = v,
                controls::CutField::OneWay => self.cut.one_way = v == "true",
            },
            Msg::SetTheme(t) => self.theme = t,
            Msg::ToggleLarge => self.large = !self.large,
            Msg::Hover(h) => self.hover = h,
            Msg::SetLang(code) => {
                let Some(code) = crate::i18n::known(&code) else {
                    self.message = Some(format!("unknown language {code:?}"));
                    return true;
                };
                if !crate::i18n::set_language(code) {
                    // Fetch the table, then come back here.
                    let link = ctx.link().clone();
                    yew::platform::spawn_local(async move {
                        let text = browser::fetch_text(&format!("i18n/{code}.json")).await;
                        link.send_message(Msg::LangLoaded(code.to_string(), text));
                    });
                    return false;
                }
                self.lang = code.to_string();
                browser::storage_set("kafka-sim-lang", &self.lang);
                if let Some(url) = browser::url_with(&[("lang", Some(self.lang.clone()))], Some(&browser::fragment())) {
                    browser::replace_url(&url);
                }
                // Labels of a side-by-side lesson follow the language.
                if let (Some(run), Some(t)) = (&self.lesson, &mut self.twin) {
                    if let Some((_, la, lb)) = &run.lesson.compare {
                        t.a = la.get(&self.lang).to_string();
                        t.b = lb.get(&self.lang).to_string();
                    }
                }
            }
            Msg::LangLoaded(code, text) => match text.and_then(|t| crate::i18n::install(&code, &t)) {
                Ok(()) => return <Self as Component>::update(self, ctx, Msg::SetLang(code)),
                Err(e) => self.message = Some(format!("{code}: {e}")),
            },
            Msg::OpenLesson(i) => {
                if let Some(l) = self.lessons.get(i).cloned() {
                    self.open_lesson(ctx, l, 0);
                }
            }
            Msg::LessonNext | Msg::LessonBack | Msg::LessonGo(_) => {
                let Some(run) = &self.lesson else { return false };
                let k = match msg {
                    Msg::LessonNext => (run.step + 1).min(run.lesson.steps.len() - 1),
                    Msg::LessonBack => run.step.saturating_sub(1),
                    Msg::LessonGo(k) => k.min(run.lesson.steps.len() - 1),
                    _ => run.step,
                };
                self.show_step(ctx, k);
            }
            Msg::LeaveLesson(play) => {
                self.lesson = None;
                if let Some(url) = browser::url_with(&[("lesson", None), ("step", None)], None) {
                    browser::replace_url(&url);
                }
                if !play {
                    self.twin = None;
                }
                self.set_playing(ctx, play);
            }
            Msg::LoadLessonFile(file) => {
                let Some(file) = file else { return false };
                let name = file.name();
                let link = ctx.link().clone();
                yew::platform::spawn_local(async move {
                    let text = browser::read_file(file).await;
                    link.send_message(Msg::LessonText(name, text));
                });
                return false;
            }
            Msg::LessonText(name, text) => match text.and_then(|t| crate::lesson::Lesson::from_json(&t)) {
                Ok(l) => self.open_lesson(ctx, l, 0),
                Err(e) => self.message = Some(format!("{name}: {}", tr(&e))),
            },
            Msg::LessonsLoaded(lessons) => {
                self.lessons = lessons;
                if let Some((id, step)) = self.pending_lesson.take() {
                    match self.lessons.iter().find(|l| l.id == id).cloned() {
                        Some(l) => self.open_lesson(ctx, l, step),
                        None => self.message = Some(trf("There is no lesson {0}.", &[id])),
                    }
                }
            }
            Msg::CopyLink => {
                let Ok(sim) = &self.sim else { return false };
                let url = match &self.lesson {
                    Some(run) => browser::url_with(
                        &[
                            ("lesson", Some(run.lesson.id.clone())),
                            ("step", Some((run.step + 1).to_string())),
                            ("lang", Some(self.lang.clone())),
                        ],
                        None,
                    ),
                    None => {
                        let run = SharedRun {
                            preset: self.preset.map(str::to_string),
                            scenario: self.preset.is_none().then(|| self.scenario.clone()),
                            actions: sim.injected_actions().to_vec(),
                            t_us: sim.now_us(),
                            compare: self.twin.as_ref().map(|t| t.variant.clone()).filter(|v| !v.is_empty()),
                        };
                        browser::url_with(&[("lang", Some(self.lang.clone())), ("lesson", None), ("step", None)], Some(&run.encode()))
                    }
                };
                if let Some(url) = url {
                    browser::replace_url(&url);
                    browser::copy_to_clipboard(&url);
                    self.message = Some(tr("Link copied: it reproduces this run exactly."));
                    self.link_text = Some(url);
                }
            }
            Msg::SetCompare(id) => {
                if id.is_empty() {
                    self.twin = None;
                } else {
                    match crate::scenario::draft::variant(&self.scenario, &id) {
                        Ok(b) => {
                            // Both runs start over together, so they stay in lockstep.
                            let a = self.scenario.clone();
                            let preset = self.preset;
                            self.run_scenario(ctx, a, preset);
                            let label = crate::scenario::draft::VARIANTS.iter().find(|v| v.0 == id).map_or("", |v| v.1);
                            let sim = Simulation::new(&b);
                            self.twin = Some(Twin {
                                checkpoints: vec![sim.clone()],
                                sim,
                                a: tr("this scenario"),
                                b: tr(label),
                                variant: id,
                            });
                        }
                        Err(e) => self.message = Some(tr(&e)),
                    }
                }
            }
            Msg::TogglePresent => {
                self.presenting = !self.presenting;
                self.large = self.presenting;
            }
            Msg::Act(action) => {
                if let Ok(sim) = &mut self.sim {
                    let name = tr(&action.name().replace('_', " "));
                    let action_copy = action.clone();
                    self.message = match sim.inject(action) {
                        Ok(()) => Some(trf("{0} at {1}", &[name, fmt_time(sim.now_us())])),
                        Err(e) => Some(trf("cannot {0}: {1}", &[name, tr(&e.to_string())])),
                    };
                    // Apply it now (it is queued for the next microsecond), even while
                    // paused, so the picture answers the click.
                    let next = sim.now_us() + 1;
                    sim.run_until(next);
                    if let Some(t) = &mut self.twin {
                        let _ = t.sim.schedule(next, action_copy);
                        t.sim.run_until(next);
                    }
                }
            }
            Msg::Select(s) => self.selected = s,
            Msg::PickRebalance(p) => self.rb_pick = p,
            Msg::Filter(f) => self.filter = f,
        }
        true
    }

    fn rendered(&mut self, _ctx: &Context<Self>, _first: bool) {
        // Page-wide attributes, written only when they change: writing them on
        // every tick restyled the whole document each time (3 ms a frame).
        let wanted = (self.theme.clone(), self.lang.clone(), self.large, self.presenting);
        if self.root_attrs.as_ref() != Some(&wanted) {
            if let Some(root) = web_sys::window().and_then(|w| w.document()).and_then(|d| d.document_element()) {
                let _ = root.set_attribute("data-theme", &self.theme);
                let _ = root.set_attribute("lang", if self.lang == "zh" { "zh-Hans" } else { &self.lang });
                let _ = if self.large {
                    root.set_attribute("data-large", "true")
                } else {
                    root.remove_attribute("data-large")
                };
                let _ = if self.presenting {
                    root.set_attribute("data-present", "true")
                } else {
                    root.remove_attribute("data-present")
                };
            }
            self.root_attrs = Some(wanted);
        }
        if std::mem::take(&mut self.scroll_pending) {
            browser::scroll_to_highlight();
        }
        // A tick drew its charts before the page changed; other renders (a layout
        // change, new charts) draw here. Reading the window's width or a canvas's
        // size now would force a layout inside the frame.
        if !std::mem::take(&mut self.charts_drawn) {
            self.draw_charts();
        }
        self.end_frame();
    }

    fn view(&self, ctx: &Context<Self>) -> Html {
        let link = ctx.link();
        let on_preset = link.callback(|e: Event| Msg::SetPreset(e.target_unchecked_into::<web_sys::HtmlSelectElement>().value()));
        let on_speed = link.callback(|e: Event| Msg::SetSpeed(e.target_unchecked_into::<web_sys::HtmlSelectElement>().value().parse().unwrap_or(5.0)));
        let on_theme = link.callback(|e: Event| Msg::SetTheme(e.target_unchecked_into::<web_sys::HtmlSelectElement>().value()));
        let on_lang = link.callback(|e: Event| Msg::SetLang(e.target_unchecked_into::<web_sys::HtmlSelectElement>().value()));
        let on_lesson = link.callback(|e: Event| {
            let v = e.target_unchecked_into::<web_sys::HtmlSelectElement>().value();
            v.parse().map_or(Msg::LeaveLesson(false), Msg::OpenLesson)
        });
        let on_compare = link.callback(|e: Event| Msg::SetCompare(e.target_unchecked_into::<web_sys::HtmlSelectElement>().value()));
        let on_lesson_file = link.callback(|e: Event| {
            let input = e.target_unchecked_into::<web_sys::HtmlInputElement>();
            let file = input.files().and_then(|f| f.get(0));
            input.set_value("");
            Msg::LoadLessonFile(file)
        });
        let now = self.sim.as_ref().map_or(0, |s| s.now_us());
        let fingerprint = self.sim.as_ref().map_or(String::new(), |s| s.fingerprint());
        let lesson_idx = self.lesson.as_ref().and_then(|r| self.lessons.iter().position(|l| l.id == r.lesson.id));
        let compare_id = self.twin.as_ref().map_or("", |t| t.variant.as_str());
        let twin_fingerprint = self.twin.as_ref().map(|t| t.sim.fingerprint());
        html! {
            <div class="app" id="app" data-ready="true" data-sim-us={now.to_string()} data-fingerprint={fingerprint.clone()} data-twin-fingerprint={twin_fingerprint} data-lang={self.lang.clone()}>
                <header>
                    <h1>{ "kafka-sim" }</h1>
                    <p>{ tr("A Kafka cluster simulated in your browser: brokers, replication, producers and consumer groups, deterministic from a seed. Break it and watch what happens.") }</p>
                </header>
                <div class="toolbar" role="toolbar" aria-label={tr("Playback")}>
                    <button onclick={link.callback(|_| Msg::TogglePlay)}>{ if self.playing { tr("Pause") } else { tr("Play") } }</button>
                    <button onclick={link.callback(|_| Msg::Restart)}>{ tr("Restart simulation") }</button>
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
                    <button onclick={link.callback(|_| Msg::Step)} aria-label={tr("Step one event")} title={tr("Step one event (→)")}>{ tr("step") }</button>
                    <button onclick={link.callback(|_| Msg::StepInteresting)} aria-label={tr("Step to the next notable event")} title={tr("Next notable event (Shift+→)")}>{ tr("next event") }</button>
                    <span class="clock" aria-label={tr("Simulated time")}>{ fmt_time(now) }</span>
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
                    <button onclick={link.callback(|_| Msg::ToggleSetup)} aria-expanded={self.setup.open.to_string()}>{ tr("Set up scenario") }</button>
                    <button onclick={link.callback(|_| Msg::CopyLink)} title={tr("A link that reproduces this run exactly (or this lesson step)")}>{ tr("Copy link") }</button>
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
                    <button onclick={link.callback(|_| Msg::ToggleLarge)} aria-pressed={self.large.to_string()} title={tr("Large type for the back row (l)")}>{ tr("Large type") }</button>
                    <button onclick={link.callback(|_| Msg::TogglePresent)} aria-pressed={self.presenting.to_string()} title={tr("Presentation mode: large type, high contrast, keyboard only (p)")}>{ tr("Present") }</button>
                    <button onclick={link.callback(|_| Msg::ToggleHelp)} aria-label={tr("Keyboard shortcuts")} title={tr("Keyboard shortcuts (?)")}>{ "?" }</button>
                    if let Some(m) = &self.message { <span class="message" role="status">{ m }</span> }
                </div>
                if let Some(url) = &self.link_text {
                    <div class="linkbox"><label>{ tr("Link to this run") }<input type="text" readonly=true value={url.clone()} aria-label={tr("Link to this run")} /></label></div>
                }
                <div class="timeline">
                    <input type="range" min="0" max={now.to_string()} step="100000" value={now.to_string()} aria-label={tr("Time (drag back to rewind)")}
                        onchange={link.callback(|e: Event| Msg::Rewind(e.target_unchecked_into::<web_sys::HtmlInputElement>().value().parse().unwrap_or(0)))} />
                    <span class="hint">{ tr("drag back to rewind; acting after a rewind forks a new future") }</span>
                </div>
                if self.help {
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
                        <button onclick={link.callback(|_| Msg::ToggleHelp)}>{ tr("Close") }</button>
                    </div>
                }
                if let Some(run) = &self.lesson { { lesson::view(run, &self.lang, link) } }
                if self.setup.open {
                    <setup::SetupPanel text={AttrValue::from(self.setup.text.clone())} error={self.setup.error.clone().map(AttrValue::from)} send={self.send.clone()}
                        rejected={self.setup.rejected.clone().map(|(f, v)| (f, AttrValue::from(v)))} lang={AttrValue::from(self.lang.clone())} />
                    <div class="card lesson-file">
                        <label>{ tr("Load a lesson file…") }
                            <input type="file" accept=".json,application/json" aria-label={tr("Load lesson file")} onchange={on_lesson_file} />
                        </label>
                        <span class="muted">{ tr("A teacher's own lesson: the format is in the README.") }</span>
                    </div>
                }
                { match &self.sim {
                    Ok(sim) => self.view_main(sim, ctx),
                    Err(e) => html! { <p class="error" role="alert">{ tr(e) }</p> },
                } }
                <footer>{ tr("Same seed, same actions, same run. Engine: Rust compiled to WebAssembly; charts: plotters on a canvas.") }
                    { " " }<span class="fingerprint">{ trf("Run fingerprint {0}", &[fingerprint]) }</span></footer>
            </div>
        }
    }
}

impl App {
    fn view_main(&self, sim: &Simulation, ctx: &Context<Self>) -> Html {
        let link = ctx.link();
        let snap = sim.snapshot();
        let inv = sim.invariants();
        let audit = sim.audit_report();
        let hl = self.lesson.as_ref().map_or("", |r| r.highlight());
        let marker_list = {
            let m = markers(sim, self.twin.as_ref().map(|t| &t.sim));
            if m.is_empty() {
                tr("none")
            } else {
                m.iter()
                    .map(|m| trf("{0} at {1} s", &[m.label.clone(), format!("{:.1}", m.t_sec)]))
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        };
        let spot = |target: &str| views::spot(hl, target);
        html! {
            <>
                <div class="grid">
                    <div class="col">
                        { views::cluster(&snap, link, &self.selected, hl) }
                        { views::groups(&snap, link, &self.selected, hl) }
                        { views::rebalance_timeline(&snap, &self.rb_pick, link, hl) }
                        { controls::view(&snap, sim.unclean_leader_election_enabled(), &self.cut, link, hl) }
                    </div>
                    <div class="col">
                        if let Some(t) = &self.twin { { self.compare_table(sim, t) } }
                        <section class="card charts" aria-label={tr("Charts")}>
                            { for chart_list(sim).into_iter().zip(&self.canvases).enumerate().map(|(i, (def, node))| {
                                let on_move = link.callback(move |e: MouseEvent| Msg::Hover(Some((i, f64::from(e.offset_x())))));
                                let target = format!("chart:{}", def.target);
                                html! {
                                    <canvas ref={node.clone()} class={classes!("chart", spot(&target))} data-target={target.clone()} width="600" height="300" role="img"
                                        aria-label={format!("{}; {}", tr(def.aria), trf("markers: {0}", &[&marker_list]))}
                                        onmousemove={on_move} onmouseleave={link.callback(|_| Msg::Hover(None))}></canvas>
                                }
                            }) }
                            <p class="hover" aria-live="polite">{ self.hover_text(sim).unwrap_or_else(|| tr("Point at a chart to read its values.")) }</p>
                        </section>
                        <section class={classes!("card", spot("guarantees"))} data-target="guarantees" aria-label={tr("Guarantees")}>
                            <h2>{ tr("Guarantees") }</h2>
                            <ul class="invariants">
                                { for crate::invariants::NAMES.iter().map(|(name, text)| {
                                    let bad = inv.is_violated(name);
                                    html! { <li class={if bad { "bad" } else { "ok" }}>{ if bad { "✗ " } else { "✓ " } }{ tr(text) }</li> }
                                }) }
                            </ul>
                            <p class="losses">{ trf("Acknowledged records lost: {0}", &[audit.lost.to_string()]) }
                                { for audit.by_reason.iter().map(|(r, n)| html! { <span class="reason">{ " · " }{ trf("{0} because {1}", &[n.to_string(), tr(r.explain())]) }</span> }) }
                                { " · " }{ trf("duplicates stored: {0}", &[audit.duplicates.to_string()]) }
                                { " · " }{ trf("invariant checks: {0}", &[inv.checks.to_string()]) }</p>
                            if let Some(t) = &self.twin {
                                <p class="losses twin">{ {
                                    let ab = t.sim.audit_report();
                                    let reasons: Vec<String> = ab.by_reason.iter().map(|(r, n)| trf("{0} because {1}", &[n.to_string(), tr(r.explain())])).collect();
                                    trf("Run B ({0}): acknowledged records lost {1}{2} · duplicates stored {3}", &[
                                        t.b.clone(), ab.lost.to_string(),
                                        if reasons.is_empty() { String::new() } else { format!(" · {}", reasons.join(" · ")) },
                                        ab.duplicates.to_string()])
                                } }</p>
                            }
                        </section>
                        { views::event_log(&sim.event_log().entries, &self.filter, link, hl) }
                    </div>
                </div>
            </>
        }
    }

    /// Run A and run B of a comparison, in numbers.
    fn compare_table(&self, a: &Simulation, t: &Twin) -> Html {
        let row = |sim: &Simulation| -> Vec<String> {
            let audit = sim.audit_report();
            let snap = sim.snapshot();
            let (mut revoked, mut paused, mut rebalances) = (0u64, 0u64, 0usize);
            for g in sim.groups() {
                rebalances += g.rebalances();
                for r in &g.history {
                    revoked += u64::from(r.revoked_partitions);
                    paused += r.paused_partition_us;
                }
            }
            vec![
                sim.metrics().total_acked.to_string(),
                audit.lost.to_string(),
                audit.duplicates.to_string(),
                snap.groups.iter().map(|g| g.lag).sum::<u64>().to_string(),
                rebalances.to_string(),
                revoked.to_string(),
                format!("{:.0}", paused as f64 / 1000.0),
            ]
        };
        let heads = [
            "acknowledged records",
            "acknowledged records lost",
            "duplicates stored",
            "consumer lag",
            "rebalances",
            "partitions revoked",
            "paused partition-ms",
        ];
        let (ra, rb) = (row(a), row(&t.sim));
        html! {
            <section class="card compare" aria-label={tr("Side by side")}>
                <h2>{ tr("Side by side") }</h2>
                <table>
                    <tr><th></th><th>{ format!("A: {}", t.a) }</th><th>{ format!("B: {}", t.b) }</th></tr>
                    { for heads.iter().enumerate().map(|(i, h)| html! {
                        <tr class={(ra[i] != rb[i]).then_some("differs")}><th>{ tr(h) }</th><td>{ ra[i].clone() }</td><td>{ rb[i].clone() }</td></tr>
                    }) }
                </table>
                <p class="muted">{ tr("Both runs get the same actions at the same times; the charts draw B thinner and lighter.") }</p>
            </section>
        }
    }
}
