//! The browser app (Yew). It owns a `Simulation`, advances it on a timer and
//! draws what `snapshot()` and `metrics()` report; no simulation logic here.

use crate::charts::{self, Marker};
use crate::presets::{self, PRESETS};
use crate::sim::{fmt_time, MS};
use crate::{Scenario, Simulation};
use gloo_timers::callback::Interval;
use plotters::prelude::IntoDrawingArea;
use plotters_canvas::CanvasBackend;
use web_sys::HtmlCanvasElement;
use yew::prelude::*;

/// Wall-clock milliseconds between animation ticks.
const TICK_MS: u32 = 100;

pub fn start() {
    yew::Renderer::<App>::new().render();
}

pub enum Msg {
    Tick,
    TogglePlay,
    Restart,
    SetSpeed(u64),
    SetPreset(String),
}

pub struct App {
    preset: &'static str,
    sim: Result<Simulation, String>,
    playing: bool,
    speed: u64,
    interval: Option<Interval>,
    canvas: NodeRef,
}

fn load(id: &str) -> Result<Simulation, String> {
    let p = presets::find(id).ok_or_else(|| format!("unknown preset {id:?}"))?;
    let s = Scenario::from_json(p.json).map_err(|e| e.to_string())?;
    Ok(Simulation::new(&s))
}

impl App {
    fn set_playing(&mut self, ctx: &Context<Self>, on: bool) {
        self.playing = on;
        self.interval = on.then(|| {
            let link = ctx.link().clone();
            Interval::new(TICK_MS, move || link.send_message(Msg::Tick))
        });
    }

    fn draw_chart(&self) {
        let (Some(canvas), Ok(sim)) = (self.canvas.cast::<HtmlCanvasElement>(), &self.sim) else { return };
        // Draw at device resolution: the canvas's CSS width times devicePixelRatio.
        let dpr = web_sys::window().map_or(1.0, |w| w.device_pixel_ratio()).clamp(1.0, 3.0);
        let css_w = f64::from(canvas.client_width().max(280));
        let (w, h) = ((css_w * dpr) as u32, (css_w * 0.45 * dpr) as u32);
        if canvas.width() != w || canvas.height() != h {
            canvas.set_width(w);
            canvas.set_height(h);
        }
        let Some(backend) = CanvasBackend::with_canvas_object(canvas) else { return };
        let root = backend.into_drawing_area();
        let names: Vec<(f64, &str)> = sim
            .scenario()
            .actions
            .iter()
            .filter(|a| a.at_us <= sim.now_us())
            .map(|a| (a.at_us as f64 / 1e6, a.action.name()))
            .collect();
        let markers = names.iter().map(|&(t_sec, label)| Marker { t_sec, label }).collect();
        let dark = web_sys::window()
            .and_then(|w| w.match_media("(prefers-color-scheme: dark)").ok().flatten())
            .is_some_and(|m| m.matches());
        if let Err(e) = charts::draw_time_chart(&root, &charts::throughput_spec(sim, markers, dark, dpr)) {
            web_sys::console::warn_1(&format!("chart: {e}").into());
        }
    }
}

impl Component for App {
    type Message = Msg;
    type Properties = ();

    fn create(ctx: &Context<Self>) -> Self {
        let mut app = App { preset: PRESETS[0].id, sim: load(PRESETS[0].id), playing: false, speed: 5, interval: None, canvas: NodeRef::default() };
        app.set_playing(ctx, true);
        app
    }

    fn update(&mut self, ctx: &Context<Self>, msg: Msg) -> bool {
        match msg {
            Msg::Tick => {
                let Ok(sim) = &mut self.sim else { return false };
                let target = (sim.now_us() + u64::from(TICK_MS) * MS * self.speed).min(sim.end_us());
                sim.run_until(target);
                if target >= sim.end_us() {
                    self.set_playing(ctx, false);
                }
            }
            Msg::TogglePlay => {
                let on = !self.playing;
                self.set_playing(ctx, on);
            }
            Msg::Restart => {
                self.sim = load(self.preset);
                self.set_playing(ctx, true);
            }
            Msg::SetSpeed(s) => self.speed = s.clamp(1, 1000),
            Msg::SetPreset(id) => {
                if let Some(p) = presets::find(&id) {
                    self.preset = p.id;
                    self.sim = load(p.id);
                    self.set_playing(ctx, true);
                }
            }
        }
        true
    }

    fn rendered(&mut self, _ctx: &Context<Self>, _first: bool) {
        self.draw_chart();
    }

    fn view(&self, ctx: &Context<Self>) -> Html {
        let link = ctx.link();
        let on_preset = link.callback(|e: Event| {
            let v = e.target_unchecked_into::<web_sys::HtmlSelectElement>().value();
            Msg::SetPreset(v)
        });
        let on_speed = link.callback(|e: Event| {
            let v = e.target_unchecked_into::<web_sys::HtmlSelectElement>().value();
            Msg::SetSpeed(v.parse().unwrap_or(5))
        });
        let now = self.sim.as_ref().map_or(0, |s| s.now_us());
        html! {
            <div class="app" id="app" data-ready="true" data-sim-us={now.to_string()}>
                <header>
                    <h1>{ "kafka-sim" }</h1>
                    <p>{ "A Kafka cluster simulated in your browser: brokers, partitions and producers, deterministic from a seed. Break it and watch what happens." }</p>
                </header>
                <div class="toolbar" role="toolbar" aria-label="Playback">
                    <button onclick={link.callback(|_| Msg::TogglePlay)}>{ if self.playing { "Pause" } else { "Play" } }</button>
                    <button onclick={link.callback(|_| Msg::Restart)}>{ "Restart simulation" }</button>
                    <label>{ "Scenario " }
                        <select aria-label="Scenario" onchange={on_preset}>
                            { for PRESETS.iter().map(|p| html! { <option value={p.id} selected={p.id == self.preset}>{ p.title }</option> }) }
                        </select>
                    </label>
                    <label>{ "Speed " }
                        <select aria-label="Speed" onchange={on_speed}>
                            { for [1u64, 5, 10, 50].iter().map(|s| html! { <option value={s.to_string()} selected={*s == self.speed}>{ format!("{s}x") }</option> }) }
                        </select>
                    </label>
                    <span class="clock" aria-label="Simulated time">{ fmt_time(now) }</span>
                </div>
                { match &self.sim {
                    Ok(sim) => self.view_main(sim),
                    Err(e) => html! { <p class="error" role="alert">{ e }</p> },
                } }
                <footer>{ "Same seed, same actions, same run. Engine: Rust compiled to WebAssembly; chart: plotters on a canvas." }</footer>
            </div>
        }
    }
}

impl App {
    fn view_main(&self, sim: &Simulation) -> Html {
        let snap = sim.snapshot();
        html! {
            <div class="grid">
                <section class="card" aria-label="Cluster">
                    <h2>{ format!("Cluster: {} brokers, {} partitions", snap.brokers.len(), snap.partitions.len()) }</h2>
                    <div class="brokers">
                        { for snap.brokers.iter().map(|b| {
                            let down = b.state != "up";
                            html! {
                                <div class={classes!("broker", down.then_some("down"))} aria-label={format!("Broker {}", b.id)}>
                                    <h3>{ format!("Broker {}", b.id) }<span class="state">{ b.state }</span></h3>
                                    <div class="replicas">
                                        { for snap.partitions.iter().filter(|p| p.replicas.iter().any(|r| r.broker == b.id)).map(|p| {
                                            let leader = p.leader == Some(b.id);
                                            let r = p.replicas.iter().find(|r| r.broker == b.id);
                                            let title = format!("{}-{} {} LEO {} HW {}", p.topic, p.partition, if leader { "leader" } else { "follower" }, r.map_or(0, |r| r.leo), r.map_or(0, |r| r.hw));
                                            html! { <span class={classes!("replica", leader.then_some("leader"))} title={title}>{ format!("{}-{}", p.topic, p.partition) }</span> }
                                        }) }
                                    </div>
                                </div>
                            }
                        }) }
                    </div>
                    <div class="legend"><span class="replica leader">{ "leader" }</span><span class="replica">{ "follower" }</span></div>
                </section>
                <section class="card" aria-label="Charts">
                    <canvas ref={self.canvas.clone()} class="chart" width="800" height="360" role="img" aria-label="Produce throughput chart"></canvas>
                </section>
            </div>
        }
    }
}
