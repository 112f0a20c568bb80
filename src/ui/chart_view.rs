//! The charts on canvases: which charts a run has, redrawing the stale ones
//! (spread over frames while playing), run B's lines over run A's side by side,
//! the markers the session names, and the values under the pointer.

use super::App;
use crate::charts::{self, Marker, PlotArea, SeriesDef};
use crate::i18n::{tr, trf};
use crate::session::markers;
use crate::sim::SortSmall;
use crate::Simulation;
use plotters::prelude::IntoDrawingArea;
use plotters_canvas::CanvasBackend;
use web_sys::HtmlCanvasElement;

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
pub type ChartSig = (u64, usize, usize, bool, i32);

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
    /// Redraws the charts that are out of date; returns how many were drawn.
    pub(super) fn draw_charts(&mut self) -> usize {
        let sim = self.session.sim();
        let twin = self.session.twin();
        let names = markers(sim, twin);
        let dark = self.dark();
        let width = web_sys::window().and_then(|w| w.inner_width().ok()).and_then(|v| v.as_f64()).unwrap_or(0.0) as i32;
        let lang_n = crate::i18n::LANGUAGES.iter().position(|l| l.0 == self.lang).unwrap_or(0) as i32;
        let sig = (
            sim.now_us() / CHART_REDRAW_US,
            sim.metrics().points.len(),
            names.len(),
            dark,
            width * 64 + lang_n * 4 + i32::from(self.large) * 2 + i32::from(twin.is_some()),
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
            if let Some(b) = twin {
                let b = charts::series_spec(b, "", "", def.defs, Vec::new(), dark, dpr);
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
    pub(super) fn hover_text(&self, sim: &Simulation) -> Option<String> {
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
}
