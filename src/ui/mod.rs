//! The browser app (Yew). One component owns a `Simulation` and a reducer over
//! `Msg`: it advances the engine on a timer, injects actions the user clicks
//! (through the same `inject` path as scenario files and tests), and draws what
//! `snapshot()`, `metrics()` and the event log report. No simulation logic here.

mod controls;
mod setup;
mod views;

use crate::charts::{self, Marker, PlotArea, SeriesDef};
use crate::scenario::draft::{Draft, Field};
use crate::presets::{self, PRESETS};
use crate::scenario::Action;
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
}

struct ChartDef {
    title: &'static str,
    y_label: &'static str,
    defs: &'static [SeriesDef],
    aria: &'static str,
}

const CHARTS: &[ChartDef] = &[
    ChartDef { title: "Throughput", y_label: "records/s", defs: charts::THROUGHPUT, aria: "Throughput chart" },
    ChartDef { title: "Latency", y_label: "ms", defs: charts::LATENCY, aria: "Latency chart" },
    ChartDef { title: "Consumer lag", y_label: "records", defs: charts::LAG, aria: "Consumer lag chart" },
    ChartDef { title: "Partitions at risk", y_label: "partitions", defs: charts::HEALTH, aria: "Under-replicated and offline partitions chart" },
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
    chart_sig: Vec<Option<(u64, usize, usize, bool, i32)>>,
    /// One callback for child components, made once so their props compare equal.
    send: Callback<Msg>,
    _keys: Option<gloo_events::EventListener>,
}

const SPEEDS: &[f64] = &[0.1, 0.5, 1.0, 5.0, 10.0, 50.0, 200.0, 1000.0];

fn speed_label(s: f64) -> String {
    if s < 1.0 { format!("{s}x") } else { format!("{s:.0}x") }
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
            if self.checkpoints.len() > MAX_CHECKPOINTS {
                // Thin the older half: keep every other one.
                let mut i = 0;
                self.checkpoints.retain(|_| {
                    i += 1;
                    i > MAX_CHECKPOINTS / 2 || i % 2 == 0
                });
            }
        }
    }

    /// Restores the last checkpoint at or before `t` and re-simulates up to `t`.
    fn rewind(&mut self, t: u64) {
        let Some(idx) = self.checkpoints.iter().rposition(|c| c.now_us() <= t) else { return };
        let mut sim = self.checkpoints[idx].clone();
        // Actions the user took between the checkpoint and `t` happen again at their times.
        if let Ok(current) = &self.sim {
            let base = sim.injected_actions().len();
            for a in current.injected_actions().iter().skip(base).filter(|a| a.at_us <= t) {
                let _ = sim.schedule(a.at_us, a.action.clone());
            }
        }
        sim.run_until(t);
        // Acting from here forks a new future: later checkpoints belong to the old one.
        self.checkpoints.truncate(idx + 1);
        self.message = Some(format!("rewound to {}", fmt_time(t)));
        self.sim = Ok(sim);
    }

    fn run_scenario(&mut self, ctx: &Context<Self>, scenario: Scenario, preset: Option<&'static str>) {
        self.preset = preset;
        self.sim = Ok(Simulation::new(&scenario));
        self.scenario = scenario;
        self.checkpoints.clear();
        self.checkpoint();
        self.selected = None;
        self.message = None;
        self.set_playing(ctx, true);
    }

    fn dark(&self) -> bool {
        match self.theme.as_str() {
            "dark" => true,
            "light" => false,
            _ => web_sys::window()
                .and_then(|w| w.match_media("(prefers-color-scheme: dark)").ok().flatten())
                .is_some_and(|m| m.matches()),
        }
    }

    fn draw_charts(&mut self) {
        let Ok(sim) = &self.sim else { return };
        let names = markers(sim);
        let dark = self.dark();
        let width = web_sys::window().and_then(|w| w.inner_width().ok()).and_then(|v| v.as_f64()).unwrap_or(0.0) as i32;
        let sig = (sim.now_us() / CHART_REDRAW_US, sim.metrics().points.len(), names.len(), dark, width + i32::from(self.large));
        // When only time moved on, one chart is redrawn per tick, the stalest
        // first, so the drawing cost is spread over frames; any other change
        // (theme, size, a new marker) redraws every chart at once.
        let only_time = self.chart_sig.iter().all(|c| c.is_some_and(|c| (c.2, c.3, c.4) == (sig.2, sig.3, sig.4)));
        let mut stale: Vec<usize> = (0..CHARTS.len()).filter(|&i| self.chart_sig[i] != Some(sig)).collect();
        stale.sort_by_key(|&i| self.chart_sig[i].map_or((0, 0), |c| (c.0, c.1)));
        if only_time {
            stale.truncate(1);
        }
        let dpr = web_sys::window().map_or(1.0, |w| w.device_pixel_ratio()).clamp(1.0, 3.0);
        self.plots.resize(CHARTS.len(), PlotArea::default());
        for i in stale {
            let (def, node) = (&CHARTS[i], &self.canvases[i]);
            self.chart_sig[i] = Some(sig);
            let Some(canvas) = node.cast::<HtmlCanvasElement>() else { continue };
            // Draw at device resolution: the canvas's CSS width times devicePixelRatio.
            let css_w = f64::from(canvas.client_width().max(240));
            let (w, h) = ((css_w * dpr) as u32, (css_w * 0.5 * dpr) as u32);
            if canvas.width() != w || canvas.height() != h {
                canvas.set_width(w);
                canvas.set_height(h);
            }
            let Some(backend) = CanvasBackend::with_canvas_object(canvas) else { continue };
            let root = backend.into_drawing_area();
            let markers = names.iter().map(|(t_sec, label, rebalance)| Marker { t_sec: *t_sec, label, rebalance: *rebalance }).collect();
            let type_scale = if self.large { 1.3 } else { 1.0 };
            let mut spec = charts::series_spec(sim, def.title, def.y_label, def.defs, markers, dark, dpr * type_scale);
            // The time axis ends on a coarse step, so charts redrawn on different
            // ticks still share one axis and a live chart does not jitter.
            spec.x_range.1 = charts::snap_end(spec.x_range.0, spec.x_range.1);
            match charts::draw_time_chart(&root, &spec) {
                Ok(area) => {
                    // Back to CSS pixels, where pointer events live.
                    self.plots[i] = PlotArea { left_px: area.left_px / dpr, right_px: area.right_px / dpr, ..area };
                }
                Err(e) => web_sys::console::warn_1(&format!("chart: {e}").into()),
            }
        }
    }

    /// The values under the pointer, in words: what hovering a chart shows.
    fn hover_text(&self, sim: &Simulation) -> Option<String> {
        let (i, x) = self.hover?;
        let t = self.plots.get(i)?.time_at(x)?;
        let def = CHARTS.get(i)?;
        let p = sim.metrics().points.iter().min_by_key(|p| (p.t_ms as f64 - t * 1000.0).abs() as u64)?;
        let values: Vec<String> = def.defs.iter().map(|(label, _, f)| format!("{label} {}", charts::format_si(f(p)))).collect();
        Some(format!("{} at {:.1} s: {} ({})", def.title, p.t_ms as f64 / 1000.0, values.join(" · "), def.y_label))
    }
}

/// Chart markers: every action (scenario, button, replay) and every rebalance so far.
fn markers(sim: &Simulation) -> Vec<(f64, String, bool)> {
    let now = sim.now_us();
    let mut out: Vec<(f64, String, bool)> = sim
        .actions()
        .iter()
        .filter(|a| a.at_us <= now)
        .map(|a| (a.at_us as f64 / 1e6, a.action.name().replace('_', " "), false))
        .collect();
    for g in sim.groups() {
        for r in g.history.iter().filter(|r| r.started_us <= now) {
            out.push((r.started_us as f64 / 1e6, format!("rebalance {}", g.cfg.id), true));
        }
    }
    merge_markers(out, now as f64 / 1e6)
}

/// Markers with the same label closer than 3% of the time shown become one
/// ("set consumer rate ×3"), so their labels do not print over each other.
fn merge_markers(mut m: Vec<(f64, String, bool)>, span: f64) -> Vec<(f64, String, bool)> {
    m.sort_by(|a, b| a.0.total_cmp(&b.0));
    let near = (span * 0.03).max(0.5);
    let mut out: Vec<(f64, String, bool, u32, f64)> = Vec::new();
    for (t, label, rb) in m {
        match out.iter_mut().rev().find(|o| o.1 == label && t - o.4 <= near) {
            Some(o) => {
                o.3 += 1;
                o.4 = t;
            }
            None => out.push((t, label, rb, 1, t)),
        }
    }
    out.into_iter().map(|(t, l, rb, n, _)| (t, if n > 1 { format!("{l} ×{n}") } else { l }, rb)).collect()
}

impl Component for App {
    type Message = Msg;
    type Properties = ();

    fn create(ctx: &Context<Self>) -> Self {
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
            canvases: CHARTS.iter().map(|_| NodeRef::default()).collect(),
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
            chart_sig: vec![None; CHARTS.len()],
            send: ctx.link().callback(|m: Msg| m),
            _keys: None,
        };
        app.checkpoint();
        // Keyboard shortcuts anywhere on the page (except while typing in a field).
        let link = ctx.link().clone();
        app._keys = web_sys::window().and_then(|w| w.document()).map(|doc| {
            let options = gloo_events::EventListenerOptions::enable_prevent_default();
            gloo_events::EventListener::new_with_options(&doc, "keydown", options, move |e| {
                let Some(e) = wasm_bindgen::JsCast::dyn_ref::<web_sys::KeyboardEvent>(e) else { return };
                let typing = e
                    .target()
                    .and_then(|t| wasm_bindgen::JsCast::dyn_into::<web_sys::Element>(t).ok())
                    .is_some_and(|el| matches!(el.tag_name().as_str(), "INPUT" | "SELECT" | "TEXTAREA"));
                if typing || e.ctrl_key() || e.meta_key() || e.alt_key() {
                    return;
                }
                let key = if e.shift_key() && e.key() == "ArrowRight" { "ShiftRight".to_string() } else { e.key() };
                if matches!(key.as_str(), " " | "ArrowRight" | "ShiftRight" | "ArrowLeft" | "+" | "=" | "-" | "?" | "r" | "l") {
                    e.prevent_default();
                    link.send_message(Msg::Key(key));
                }
            })
        });
        app.set_playing(ctx, true);
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
                let target = (sim.now_us() + step.max(1)).min(sim.end_us());
                while !sim.run_for(target, EVENTS_PER_SLICE) {
                    let budget = if self.speed > 10.0 { ENGINE_BUDGET_FAST_MS } else { ENGINE_BUDGET_MS };
                    if perf.as_ref().is_some_and(|p| p.now() - t0 > budget) {
                        break;
                    }
                }
                if sim.now_us() >= sim.end_us() {
                    self.set_playing(ctx, false);
                }
                self.checkpoint();
            }
            Msg::Step => {
                self.set_playing(ctx, false);
                if let Ok(sim) = &mut self.sim {
                    sim.step();
                    self.message = Some(format!("one event: now {}", fmt_time(sim.now_us())));
                }
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
                        Some(e) if sim.event_log().total > before => format!("{}: {}", fmt_time(e.at_us), e.what.describe()),
                        _ => "nothing notable happened".to_string(),
                    });
                }
                self.checkpoint();
            }
            Msg::Rewind(t) => {
                self.set_playing(ctx, false);
                self.rewind(t);
            }
            Msg::Key(k) => {
                let msg = match k.as_str() {
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
                if file.size() > 2_000_000.0 {
                    self.setup.error = Some(format!("{name}: {} bytes is too large for a scenario file (2 MB at most)", file.size()));
                    return true;
                }
                let link = ctx.link().clone();
                yew::platform::spawn_local(async move {
                    let text = wasm_bindgen_futures::JsFuture::from(file.text())
                        .await
                        .map(|v| v.as_string().unwrap_or_default())
                        .map_err(|e| e.as_string().unwrap_or_else(|| "could not read the file".into()));
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
            Msg::Act(action) => {
                if let Ok(sim) = &mut self.sim {
                    let name = action.name();
                    self.message = match sim.inject(action) {
                        Ok(()) => Some(format!("{} at {}", name.replace('_', " "), fmt_time(sim.now_us()))),
                        Err(e) => Some(format!("cannot {}: {e}", name.replace('_', " "))),
                    };
                    // Apply it now (it is queued for the next microsecond), even while
                    // paused, so the picture answers the click.
                    let next = sim.now_us() + 1;
                    sim.run_until(next);
                }
            }
            Msg::Select(s) => self.selected = s,
            Msg::Filter(f) => self.filter = f,
        }
        true
    }

    fn rendered(&mut self, _ctx: &Context<Self>, _first: bool) {
        if let Some(root) = web_sys::window().and_then(|w| w.document()).and_then(|d| d.document_element()) {
            let _ = root.set_attribute("data-theme", &self.theme);
            let _ = if self.large { root.set_attribute("data-large", "true") } else { root.remove_attribute("data-large") };
        }
        self.draw_charts();
        // One frame's work: the engine's slice and the drawing that follows it.
        if std::mem::take(&mut self.tick_open) {
            if let Some(p) = performance() {
                let _ = p.measure_with_start_mark("frame", "tick-start");
                p.clear_marks();
                p.clear_measures();
            }
        }
    }

    fn view(&self, ctx: &Context<Self>) -> Html {
        let link = ctx.link();
        let on_preset = link.callback(|e: Event| Msg::SetPreset(e.target_unchecked_into::<web_sys::HtmlSelectElement>().value()));
        let on_speed = link.callback(|e: Event| Msg::SetSpeed(e.target_unchecked_into::<web_sys::HtmlSelectElement>().value().parse().unwrap_or(5.0)));
        let on_theme = link.callback(|e: Event| Msg::SetTheme(e.target_unchecked_into::<web_sys::HtmlSelectElement>().value()));
        let now = self.sim.as_ref().map_or(0, |s| s.now_us());
        html! {
            <div class="app" id="app" data-ready="true" data-sim-us={now.to_string()}>
                <header>
                    <h1>{ "kafka-sim" }</h1>
                    <p>{ "A Kafka cluster simulated in your browser: brokers, replication, producers and consumer groups, deterministic from a seed. Break it and watch what happens." }</p>
                </header>
                <div class="toolbar" role="toolbar" aria-label="Playback">
                    <button onclick={link.callback(|_| Msg::TogglePlay)}>{ if self.playing { "Pause" } else { "Play" } }</button>
                    <button onclick={link.callback(|_| Msg::Restart)}>{ "Restart simulation" }</button>
                    <label>{ "Scenario " }
                        <select aria-label="Scenario" onchange={on_preset}>
                            { for PRESETS.iter().map(|p| html! { <option value={p.id} selected={Some(p.id) == self.preset}>{ p.title }</option> }) }
                            if self.preset.is_none() { <option value="custom" selected=true>{ "Your scenario" }</option> }
                        </select>
                    </label>
                    <label>{ "Speed " }
                        <select aria-label="Speed" onchange={on_speed}>
                            { for SPEEDS.iter().map(|s| html! { <option value={s.to_string()} selected={*s == self.speed}>{ speed_label(*s) }</option> }) }
                        </select>
                    </label>
                    <button onclick={link.callback(|_| Msg::Step)} aria-label="Step one event" title="Step one event (→)">{ "step" }</button>
                    <button onclick={link.callback(|_| Msg::StepInteresting)} aria-label="Step to the next notable event" title="Next notable event (Shift+→)">{ "next event" }</button>
                    <span class="clock" aria-label="Simulated time">{ fmt_time(now) }</span>
                    <button onclick={link.callback(|_| Msg::ToggleSetup)} aria-expanded={self.setup.open.to_string()}>{ "Set up scenario" }</button>
                    <label>{ "Theme " }
                        <select aria-label="Theme" onchange={on_theme}>
                            { for [("auto", "system"), ("light", "light"), ("dark", "dark")].iter().map(|(v, t)| html! { <option value={*v} selected={*v == self.theme}>{ *t }</option> }) }
                        </select>
                    </label>
                    <button onclick={link.callback(|_| Msg::ToggleLarge)} aria-pressed={self.large.to_string()} title="Large type for the back row (l)">{ "Large type" }</button>
                    <button onclick={link.callback(|_| Msg::ToggleHelp)} aria-label="Keyboard shortcuts" title="Keyboard shortcuts (?)">{ "?" }</button>
                    if let Some(m) = &self.message { <span class="message" role="status">{ m }</span> }
                </div>
                <div class="timeline">
                    <input type="range" min="0" max={now.to_string()} step="100000" value={now.to_string()} aria-label="Time (drag back to rewind)"
                        onchange={link.callback(|e: Event| Msg::Rewind(e.target_unchecked_into::<web_sys::HtmlInputElement>().value().parse().unwrap_or(0)))} />
                    <span class="hint">{ "drag back to rewind; acting after a rewind forks a new future" }</span>
                </div>
                if self.help {
                    <div class="help card" role="dialog" aria-label="Keyboard shortcuts">
                        <h2>{ "Keyboard shortcuts" }</h2>
                        <ul>
                            <li><kbd>{ "Space" }</kbd>{ " play / pause" }</li>
                            <li><kbd>{ "→" }</kbd>{ " one event" }</li>
                            <li><kbd>{ "Shift" }</kbd>{ "+" }<kbd>{ "→" }</kbd>{ " next notable event (fault, election, ISR change, rebalance step)" }</li>
                            <li><kbd>{ "←" }</kbd>{ " back 5 simulated seconds" }</li>
                            <li><kbd>{ "+" }</kbd>{ " / " }<kbd>{ "-" }</kbd>{ " faster / slower" }</li>
                            <li><kbd>{ "r" }</kbd>{ " restart the scenario" }</li>
                            <li><kbd>{ "l" }</kbd>{ " large type" }</li>
                            <li><kbd>{ "?" }</kbd>{ " this help" }</li>
                        </ul>
                        <button onclick={link.callback(|_| Msg::ToggleHelp)}>{ "Close" }</button>
                    </div>
                }
                if self.setup.open {
                    <setup::SetupPanel text={AttrValue::from(self.setup.text.clone())} error={self.setup.error.clone().map(AttrValue::from)} send={self.send.clone()}
                        rejected={self.setup.rejected.clone().map(|(f, v)| (f, AttrValue::from(v)))} />
                }
                { match &self.sim {
                    Ok(sim) => self.view_main(sim, ctx),
                    Err(e) => html! { <p class="error" role="alert">{ e }</p> },
                } }
                <footer>{ "Same seed, same actions, same run. Engine: Rust compiled to WebAssembly; charts: plotters on a canvas." }</footer>
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
        let marker_list = {
            let m = markers(sim);
            if m.is_empty() { "none".to_string() } else { m.iter().map(|(t, l, _)| format!("{l} at {t:.1} s")).collect::<Vec<_>>().join(", ") }
        };
        html! {
            <>
                <div class="grid">
                    <div class="col">
                        { views::cluster(&snap, link, &self.selected) }
                        { views::groups(&snap, link, &self.selected) }
                        { views::rebalance_timeline(&snap) }
                        { controls::view(&snap, sim.unclean_leader_election_enabled(), &self.cut, link) }
                    </div>
                    <div class="col">
                        <section class="card charts" aria-label="Charts">
                            { for CHARTS.iter().zip(&self.canvases).enumerate().map(|(i, (def, node))| {
                                let on_move = link.callback(move |e: MouseEvent| Msg::Hover(Some((i, f64::from(e.offset_x())))));
                                html! {
                                    <canvas ref={node.clone()} class="chart" width="600" height="300" role="img" aria-label={format!("{}; markers: {}", def.aria, marker_list)}
                                        onmousemove={on_move} onmouseleave={link.callback(|_| Msg::Hover(None))}></canvas>
                                }
                            }) }
                            <p class="hover" aria-live="polite">{ self.hover_text(sim).unwrap_or_else(|| "Point at a chart to read its values.".into()) }</p>
                        </section>
                        <section class="card" aria-label="Guarantees">
                            <h2>{ "Guarantees" }</h2>
                            <ul class="invariants">
                                { for crate::invariants::NAMES.iter().map(|(name, text)| {
                                    let bad = inv.is_violated(name);
                                    html! { <li class={if bad { "bad" } else { "ok" }}>{ if bad { "✗ " } else { "✓ " } }{ *text }</li> }
                                }) }
                            </ul>
                            <p class="losses">{ format!("Acknowledged records lost: {}", audit.lost) }
                                { for audit.by_reason.iter().map(|(r, n)| html! { <span class="reason">{ format!(" · {n} because {}", r.explain()) }</span> }) }
                                { format!(" · duplicates stored: {} · invariant checks: {}", audit.duplicates, inv.checks) }</p>
                        </section>
                        { views::event_log(&sim.event_log().entries, &self.filter, link) }
                    </div>
                </div>
            </>
        }
    }
}
