//! The charts on canvases: which charts a run has, redrawing the stale ones
//! (spread over frames while playing), run B's lines over run A's side by side,
//! the markers the session names, text sized to the chart, the values under the
//! pointer or of a focused chart read out, and saving a chart as PNG or CSV.

use super::{views, App, Msg, ViewMsg};
use crate::charts::{self, Marker, PlotArea, SeriesDef};
use crate::i18n::{tr, trf};
use crate::session::markers;
use crate::sim::SortSmall;
use crate::Simulation;
use plotters::prelude::IntoDrawingArea;
use plotters_canvas::CanvasBackend;
use wasm_bindgen::JsCast;
use web_sys::HtmlCanvasElement;
use yew::prelude::*;

/// Charts are redrawn when at least this much simulated time has passed (or
/// anything else they show changed), not on every tick.
const CHART_REDRAW_US: u64 = 250_000;

#[derive(Clone, Copy)]
pub struct ChartDef {
    pub title: &'static str,
    pub y_label: &'static str,
    pub defs: &'static [SeriesDef],
    pub aria: &'static str,
    /// Its name in lesson highlights (`chart:lag`).
    pub target: &'static str,
}

/// Charts after the four cluster charts: the ML models' (issue 8), when the run has processors.
pub const MAX_CHARTS: usize = 7;

/// The charts this run draws: the cluster's four, then its models' on the same time axis.
pub fn chart_list(sim: &Simulation) -> Vec<ChartDef> {
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
pub type ChartSig = (u64, usize, usize, bool, u64);

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

impl App {
    /// What the charts' size and text depend on: the window, type size, presentation,
    /// language, a second run, and the canvases' own resizes (a panel opening beside them).
    fn layout_key(&self) -> u64 {
        let w = web_sys::window();
        let dim = |v: Option<wasm_bindgen::JsValue>| v.and_then(|v| v.as_f64()).unwrap_or(0.0) as u64 & 0xffff;
        let width = dim(w.as_ref().and_then(|w| w.inner_width().ok()));
        let height = dim(w.as_ref().and_then(|w| w.inner_height().ok()));
        let lang_n = crate::i18n::LANGUAGES.iter().position(|l| l.0 == self.lang).unwrap_or(0) as u64 & 0xf;
        let flags = u64::from(self.large) | u64::from(self.presenting) << 1 | u64::from(self.session.twin().is_some()) << 2;
        (width << 48) | (height << 32) | (u64::from(self.chart_resizes & 0xffff) << 16) | (lang_n << 4) | flags
    }

    /// Redraws the charts that are out of date; returns how many were drawn.
    pub(super) fn draw_charts(&mut self) -> usize {
        let sim = self.session.sim();
        let twin = self.session.twin();
        let names = markers(sim, twin);
        let dark = self.dark();
        let sig = (sim.now_us() / CHART_REDRAW_US, sim.metrics().points.len(), names.len(), dark, self.layout_key());
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
            // Draw at device resolution: the canvas's CSS size times devicePixelRatio.
            // Reading it forces a layout of the page; it only changes with the layout
            // key, so it is kept.
            let (css_w, css_h) = match self.canvas_w[i] {
                Some((key, w, h)) if key == sig.4 => (w, h),
                _ => {
                    let w = f64::from(canvas.client_width().max(240));
                    let h = f64::from(canvas.client_height()).max(w * 0.3);
                    self.canvas_w[i] = Some((sig.4, w, h));
                    (w, h)
                }
            };
            let (w, h) = ((css_w * dpr) as u32, (css_h * dpr) as u32);
            if canvas.width() != w || canvas.height() != h {
                canvas.set_width(w);
                canvas.set_height(h);
            }
            // The canvas measures text in the font plotters draws with.
            let ctx = canvas
                .get_context("2d")
                .ok()
                .flatten()
                .and_then(|c| c.dyn_into::<web_sys::CanvasRenderingContext2d>().ok());
            let measure = move |t: &str, px: f64| match &ctx {
                Some(ctx) => {
                    ctx.set_font(&format!("normal {px}px sans-serif"));
                    ctx.measure_text(t).map_or_else(|_| charts::estimate_width(t, px), |m| m.width())
                }
                None => charts::estimate_width(t, px),
            };
            let Some(backend) = CanvasBackend::with_canvas_object(canvas.clone()) else {
                continue;
            };
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
            let (title, y_label, x_label) = (tr(def.title), tr(def.y_label), tr("simulated time (s)"));
            let mut spec = charts::series_spec(sim, &title, &y_label, def.defs, markers, dark, dpr);
            spec.font_px = font_px(css_w, css_h, self.large || self.presenting);
            spec.x_label = &x_label;
            for l in &mut spec.lines {
                l.label = tr(&l.label);
            }
            // Side by side: run B's lines over run A's, thin and lighter, with
            // one legend entry for all of them (the legend stays readable).
            if let Some(b) = twin {
                let b = charts::series_spec(b, "", "", def.defs, Vec::new(), dark, dpr);
                // Short: the setting B changes is named in the comparison table.
                let b_label = tr("run B (thin lines)");
                spec.lines.extend(b.lines.into_iter().enumerate().map(|(k, mut l)| {
                    l.label = if k == 0 { b_label.clone() } else { String::new() };
                    l.width = 1.5;
                    l.second = true;
                    l
                }));
            }
            // The time axis ends on a coarse step, so charts redrawn on different
            // ticks still share one axis and a live chart does not jitter.
            spec.x_range.1 = charts::snap_end(spec.x_range.0, spec.x_range.1);
            match charts::draw_time_chart_measured(&root, &spec, &measure) {
                Ok(d) => {
                    // What was drawn where, for tests: label boxes, legend, text size (CSS pixels).
                    let _ = canvas.set_attribute("data-layout", &d.to_json(dpr));
                    let _ = canvas.set_attribute("data-font-px", &format!("{:.1}", d.font_px));
                    // Back to CSS pixels, where pointer events live.
                    self.plots[i] = PlotArea {
                        left_px: d.area.left_px / dpr,
                        right_px: d.area.right_px / dpr,
                        ..d.area
                    };
                }
                Err(e) => web_sys::console::warn_1(&format!("chart: {e}").into()),
            }
        }
        drawn
    }

    /// The values a chart shows in words: under the pointer, or of the chart with
    /// the keyboard focus at the moment shown (while playing, the moment it was focused,
    /// so the read-out does not chatter).
    pub(super) fn hover_text(&self, sim: &Simulation) -> Option<String> {
        let pointed = self.hover.and_then(|(i, x)| Some((i, self.plots.get(i)?.time_at(x)?)));
        let (i, t) = pointed.or_else(|| {
            let (i, at) = self.chart_focus?;
            Some((i, if self.playing { at } else { sim.now_us() } as f64 / 1e6))
        })?;
        let list = chart_list(sim);
        let def = list.get(i)?;
        let p = sim.metrics().points.iter().min_by_key(|p| (p.t_ms as f64 - t * 1000.0).abs() as u64)?;
        let mut values: Vec<String> = def
            .defs
            .iter()
            .map(|(label, _, f)| format!("{} {}", tr(label), charts::format_si(f(p))))
            .collect();
        // Side by side: run B's values at the same moment.
        if let Some(q) = self.session.twin().and_then(|b| b.metrics().points.iter().find(|q| q.t_ms == p.t_ms)) {
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

    /// The charts card: each chart a tab stop (its values read out on focus) with
    /// its own save buttons, and the read-out line under them.
    pub(super) fn charts_view(&self, link: &html::Scope<App>, sim: &Simulation, hl: &str, marker_list: &str) -> Html {
        html! {
            <section class="card charts" aria-label={tr("Charts")}>
                <div class="chart-grid">
                { for chart_list(sim).into_iter().zip(&self.canvases).enumerate().map(|(i, (def, node))| {
                    let on_move = link.callback(move |e: MouseEvent| Msg::View(ViewMsg::Hover(Some((i, f64::from(e.offset_x()))))));
                    let target = format!("chart:{}", def.target);
                    let title = tr(def.title);
                    html! {
                        <figure class="chart-fig">
                            <canvas ref={node.clone()} class={classes!("chart", views::spot(hl, &target))} data-target={target.clone()} width="600" height="300" role="img" tabindex="0"
                                aria-label={format!("{}; {}", tr(def.aria), trf("markers: {0}", &[marker_list]))}
                                onmousemove={on_move} onmouseleave={link.callback(|_| Msg::View(ViewMsg::Hover(None)))}
                                onfocus={link.callback(move |_| Msg::View(ViewMsg::ChartFocus(Some(i))))}
                                onblur={link.callback(|_| Msg::View(ViewMsg::ChartFocus(None)))}></canvas>
                            <div class="chart-actions">
                                <button class="mini" aria-label={format!("{}: {title}", tr("Save chart as PNG"))}
                                    onclick={link.callback(move |_| Msg::View(ViewMsg::SaveChart(i, false)))}>{ tr("Save chart as PNG") }</button>
                                <button class="mini" aria-label={format!("{}: {title}", tr("Download data as CSV"))}
                                    onclick={link.callback(move |_| Msg::View(ViewMsg::SaveChart(i, true)))}>{ tr("Download data as CSV") }</button>
                            </div>
                        </figure>
                    }
                }) }
                </div>
                <p class="hover" aria-live="polite">{ self.hover_text(sim).unwrap_or_else(|| tr("Point at a chart, or move to it with Tab, to read its values.")) }</p>
            </section>
        }
    }

    /// Saves chart `i` as it is drawn (PNG), or the data it draws (CSV).
    pub(super) fn save_chart(&self, i: usize, csv: bool) {
        let sim = self.session.sim();
        let Some(def) = chart_list(sim).get(i).copied() else { return };
        let slug: String = def.title.to_lowercase().split_whitespace().collect::<Vec<_>>().join("-");
        let name = format!("kafka-sim-{slug}-{}s", sim.now_us() / 1_000_000);
        if csv {
            let text = charts::chart_csv(sim, self.session.twin(), def.defs, def.y_label, &|s| tr(s));
            if let Some(url) = super::browser::blob_url(&text, "text/csv;charset=utf-8") {
                download(&url, &format!("{name}.csv"));
                // The download has its copy once the click is handled.
                gloo_timers::callback::Timeout::new(10_000, move || super::browser::revoke_url(&url)).forget();
            }
        } else if let Some(url) = self.canvases[i].cast::<HtmlCanvasElement>().and_then(|c| c.to_data_url().ok()) {
            download(&url, &format!("{name}.png"));
        }
    }

    /// Watches the canvases' sizes: a chart resized by anything (a panel opening
    /// beside it, a scrollbar) is measured and drawn again.
    pub(super) fn watch_chart_sizes(&mut self, ctx: &Context<Self>) {
        if self.chart_watch.is_none() {
            let link = ctx.link().clone();
            let cb = wasm_bindgen::closure::Closure::<dyn FnMut()>::new(move || link.send_message(Msg::View(ViewMsg::ChartsResized)));
            let Ok(observer) = web_sys::ResizeObserver::new(cb.as_ref().unchecked_ref()) else {
                return;
            };
            self.chart_watch = Some(ChartWatch {
                observer,
                _cb: cb,
                watched: Vec::new(),
            });
        }
        let Some(w) = &mut self.chart_watch else { return };
        let now: Vec<web_sys::Element> = self.canvases.iter().filter_map(|n| n.cast::<web_sys::Element>()).collect();
        if now != w.watched {
            w.observer.disconnect();
            for el in &now {
                w.observer.observe(el);
            }
            w.watched = now;
        }
    }
}

/// The canvases' resize observer and what it watches.
pub struct ChartWatch {
    observer: web_sys::ResizeObserver,
    _cb: wasm_bindgen::closure::Closure<dyn FnMut()>,
    watched: Vec<web_sys::Element>,
}

/// Tick label size in CSS pixels: 13 normally; in large type and presentation it
/// grows with the chart (a 2x2 grid on a 1920x1080 projector gets about 21 px).
fn font_px(css_w: f64, css_h: f64, large: bool) -> f64 {
    if large {
        (css_w / 44.0).min(css_h / 20.0).clamp(17.0, 28.0)
    } else {
        13.0
    }
}

/// Starts a download of `href` saved as `file`.
fn download(href: &str, file: &str) {
    let Some(a) = web_sys::window().and_then(|w| w.document()).and_then(|d| d.create_element("a").ok()) else {
        return;
    };
    let _ = a.set_attribute("href", href);
    let _ = a.set_attribute("download", file);
    if let Ok(a) = a.dyn_into::<web_sys::HtmlElement>() {
        a.click();
    }
}
