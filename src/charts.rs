//! Chart drawing with plotters, generic over the backend: the browser draws on a
//! canvas, native tests draw the same chart to SVG and inspect it.

use crate::i18n::{template_error, Template};
use plotters::coord::Shift;
use plotters::prelude::*;

/// Why a chart could not be drawn: plotters' error, with its backend's message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChartError {
    /// The backend (canvas, SVG) failed to draw or to load a font: its message.
    Backend(String),
    /// The drawing area was already borrowed by another drawing.
    Sharing,
    Layout,
}

impl Template for ChartError {
    fn template(&self) -> (&'static str, Vec<String>) {
        match self {
            ChartError::Backend(m) => ("backend error: {0}", vec![m.clone()]),
            ChartError::Sharing => ("Multiple backend operation in progress", vec![]),
            ChartError::Layout => ("Bad layout", vec![]),
        }
    }
}
template_error!(ChartError);

impl<E: std::error::Error + Send + Sync> From<DrawingAreaErrorKind<E>> for ChartError {
    fn from(e: DrawingAreaErrorKind<E>) -> ChartError {
        match e {
            DrawingAreaErrorKind::BackendError(e) => ChartError::Backend(e.to_string()),
            DrawingAreaErrorKind::SharingError => ChartError::Sharing,
            DrawingAreaErrorKind::LayoutError => ChartError::Layout,
        }
    }
}

/// One line on a chart.
pub struct Line {
    pub label: String,
    pub color: RGBColor,
    /// (seconds, value)
    pub points: Vec<(f64, f64)>,
    /// Stroke width in CSS pixels and opacity, so a line under another stays visible.
    pub width: f64,
    pub alpha: f64,
}

/// 12000 -> "12k": short tick labels that fit a narrow chart.
pub fn format_si(v: f64) -> String {
    let a = v.abs();
    if a >= 1e6 {
        format!("{:.1}M", v / 1e6)
    } else if a >= 1e4 {
        format!("{:.0}k", v / 1e3)
    } else if a >= 1e3 {
        format!("{:.1}k", v / 1e3)
    } else if a >= 10.0 || a == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

/// A labelled vertical marker on the time axis (a fault, a rebalance).
pub struct Marker<'a> {
    pub t_sec: f64,
    pub label: &'a str,
    /// Rebalances are drawn in purple, faults and commands in red.
    pub rebalance: bool,
    /// Side by side: a rebalance of run B, lighter and labelled lower.
    pub second: bool,
}

/// A lighter shade of a colour, for a second run drawn over the first.
pub fn lighten(c: RGBColor) -> RGBColor {
    let l = |v: u8| v + (255 - v) / 2;
    RGBColor(l(c.0), l(c.1), l(c.2))
}

pub const PURPLE: RGBColor = RGBColor(147, 51, 234);

/// Where the plot landed on the backend: the x pixel range of the plotting area
/// and the time range it spans, so a pointer position maps back to a time.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct PlotArea {
    pub left_px: f64,
    pub right_px: f64,
    pub t0: f64,
    pub t1: f64,
}

impl PlotArea {
    /// The simulated second under a backend x pixel, if it is inside the plot.
    pub fn time_at(&self, x_px: f64) -> Option<f64> {
        let w = self.right_px - self.left_px;
        (w > 0.0 && x_px >= self.left_px && x_px <= self.right_px).then(|| self.t0 + (x_px - self.left_px) / w * (self.t1 - self.t0))
    }
}

pub struct ChartSpec<'a> {
    pub title: &'a str,
    pub y_label: &'a str,
    pub x_range: (f64, f64),
    pub lines: Vec<Line>,
    pub x_label: &'a str,
    pub markers: Vec<Marker<'a>>,
    pub dark: bool,
    /// Device pixels per CSS pixel: fonts and strokes scale with it.
    pub scale: f64,
}

pub const BLUE: RGBColor = RGBColor(37, 99, 235);
pub const ORANGE: RGBColor = RGBColor(234, 88, 12);
pub const GREEN: RGBColor = RGBColor(22, 163, 74);
pub const RED: RGBColor = RGBColor(220, 38, 38);

/// Draws a time-series chart. Errors are returned, never panics.
pub fn draw_time_chart<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, spec: &ChartSpec) -> Result<PlotArea, ChartError> {
    let e = ChartError::from;
    let px = |v: f64| (v * spec.scale.max(0.5)).round() as u32;
    let font = |size: f64| ("sans-serif", f64::from(px(size)));
    let (bg, fg) = if spec.dark {
        (RGBColor(17, 24, 39), RGBColor(229, 231, 235))
    } else {
        (WHITE, RGBColor(31, 41, 55))
    };
    root.fill(&bg).map_err(e)?;
    let y_max = spec.lines.iter().flat_map(|l| l.points.iter().map(|p| p.1)).fold(0.0f64, f64::max).max(1.0) * 1.15;
    let (x0, x1) = (spec.x_range.0, spec.x_range.1.max(spec.x_range.0 + 1.0));
    let mut chart = ChartBuilder::on(root)
        .caption(spec.title, font(17.0).into_font().color(&fg))
        .margin(px(10.0))
        .x_label_area_size(px(34.0))
        .y_label_area_size(px(64.0))
        .build_cartesian_2d(x0..x1, 0.0..y_max)
        .map_err(e)?;
    chart
        .configure_mesh()
        .x_desc(spec.x_label)
        .y_desc(spec.y_label)
        .label_style(font(13.0).into_font().color(&fg))
        .axis_desc_style(font(13.0).into_font().color(&fg))
        .y_label_formatter(&|v| format_si(*v))
        .x_labels(6)
        .y_labels(5)
        .x_label_formatter(&|v| if x1 - x0 >= 10.0 { format!("{v:.0}") } else { format!("{v:.1}") })
        .axis_style(fg.mix(0.6))
        .max_light_lines(1)
        .light_line_style(fg.mix(0.08))
        .bold_line_style(fg.mix(0.15))
        .draw()
        .map_err(e)?;
    let (xr, _) = chart.plotting_area().get_pixel_range();
    let area = PlotArea {
        left_px: f64::from(xr.start),
        right_px: f64::from(xr.end),
        t0: x0,
        t1: x1,
    };
    for m in &spec.markers {
        let colour = match (m.rebalance, m.second) {
            (true, true) => lighten(PURPLE),
            (true, false) => PURPLE,
            _ => RED,
        };
        let style = colour.mix(0.8).stroke_width(px(1.5));
        chart
            .draw_series(std::iter::once(PathElement::new(vec![(m.t_sec, 0.0), (m.t_sec, y_max)], style)))
            .map_err(e)?;
        chart
            .draw_series(std::iter::once(Text::new(
                m.label.to_string(),
                (
                    m.t_sec,
                    y_max
                        * if m.second {
                            0.75
                        } else if m.rebalance {
                            0.86
                        } else {
                            0.97
                        },
                ),
                font(13.0).into_font().color(&colour),
            )))
            .map_err(e)?;
    }
    for line in &spec.lines {
        let style = line.color.mix(line.alpha).stroke_width(px(line.width));
        let (lw, lx) = (px(line.width), px(18.0) as i32);
        let color = line.color.mix(line.alpha);
        let series = chart.draw_series(LineSeries::new(line.points.iter().copied(), style)).map_err(e)?;
        // A line without a label stays out of the legend.
        if !line.label.is_empty() {
            series
                .label(line.label.clone())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + lx, y)], color.stroke_width(lw)));
        }
    }
    if spec.lines.iter().filter(|l| !l.label.is_empty()).count() > 1 {
        chart
            .configure_series_labels()
            .background_style(bg.mix(0.85))
            .border_style(fg.mix(0.3))
            .label_font(font(13.0).into_font().color(&fg))
            .position(SeriesLabelPosition::LowerRight)
            .draw()
            .map_err(e)?;
    }
    root.present().map_err(e)?;
    Ok(area)
}

/// The end of a live chart's time axis, rounded up to a step that grows with the
/// span shown (2 s, 10 s, 1 min, 5 min), so the axis moves in visible jumps.
pub fn snap_end(start: f64, end: f64) -> f64 {
    let span = end - start;
    let step = if span < 20.0 {
        2.0
    } else if span < 100.0 {
        10.0
    } else if span < 600.0 {
        60.0
    } else {
        300.0
    };
    (end / step).ceil().max(1.0) * step
}

/// One line of a chart: label, colour, and how to read it from an interval (per second).
pub type SeriesDef = (&'static str, RGBColor, fn(&crate::metrics::Point) -> f64);

/// A time chart of some of the run's interval metrics.
pub fn series_spec<'a>(
    sim: &crate::Simulation,
    title: &'a str,
    y_label: &'a str,
    defs: &[SeriesDef],
    markers: Vec<Marker<'a>>,
    dark: bool,
    scale: f64,
) -> ChartSpec<'a> {
    let m = sim.metrics();
    let end = (sim.now_us() as f64 / 1e6).max(1.0);
    let start = m.points.front().map_or(0.0, |p| p.t_ms as f64 / 1000.0 - 1.0).max(0.0);
    ChartSpec {
        title,
        y_label,
        x_range: (start, end),
        lines: defs
            .iter()
            .enumerate()
            .map(|(i, (label, color, f))| Line {
                label: label.to_string(),
                color: *color,
                points: m.points.iter().map(|p| (p.t_ms as f64 / 1000.0, f(p))).collect(),
                width: if i == 0 && defs.len() > 1 { 5.0 } else { 2.0 },
                alpha: if i == 0 && defs.len() > 1 { 0.35 } else { 1.0 },
            })
            .collect(),
        markers: markers.into_iter().filter(|mk| mk.t_sec >= start).collect(),
        x_label: "simulated time (s)",
        dark,
        scale,
    }
}

pub const THROUGHPUT: &[SeriesDef] = &[
    ("produced", BLUE, |p| p.produced as f64),
    ("acknowledged", GREEN, |p| p.acked as f64),
    ("consumed", ORANGE, |p| p.consumed as f64),
];
pub const LATENCY: &[SeriesDef] = &[
    ("produce p99", BLUE, |p| p.produce_p99_us as f64 / 1000.0),
    ("produce p50", GREEN, |p| p.produce_p50_us as f64 / 1000.0),
    ("end-to-end p99", ORANGE, |p| p.e2e_p99_us as f64 / 1000.0),
    ("end-to-end p50", RED, |p| p.e2e_p50_us as f64 / 1000.0),
];
pub const LAG: &[SeriesDef] = &[("consumer lag", ORANGE, |p| p.lag as f64)];
pub const HEALTH: &[SeriesDef] = &[
    ("under-replicated", ORANGE, |p| f64::from(p.under_replicated)),
    ("offline", RED, |p| f64::from(p.offline)),
    ("unavailable", BLUE, |p| f64::from(p.unavailable)),
];

/// The throughput chart of a run: records/s produced and acknowledged per interval.
pub fn throughput_spec<'a>(sim: &crate::Simulation, markers: Vec<Marker<'a>>, dark: bool, scale: f64) -> ChartSpec<'a> {
    series_spec(sim, "Throughput", "records/s", THROUGHPUT, markers, dark, scale)
}

// ---- streaming ML (issue 8): the first group with a processor, on the same time axis ----

fn model0(p: &crate::metrics::Point) -> Option<&crate::ml::ModelPoint> {
    p.models.first()
}

/// Fraud model quality over a 30 s sliding window (0..1).
pub const MODEL: &[SeriesDef] = &[
    ("AUC", BLUE, |p| model0(p).and_then(|m| m.auc).unwrap_or(0.0)),
    ("precision", GREEN, |p| model0(p).and_then(|m| m.precision).unwrap_or(0.0)),
    ("recall", ORANGE, |p| model0(p).and_then(|m| m.recall).unwrap_or(0.0)),
];
/// Fraud transaction produced to alert, this interval's detections (ms).
pub const DETECTION: &[SeriesDef] = &[
    ("detection p99", RED, |p| model0(p).map_or(0.0, |m| m.detection_p99_us as f64 / 1000.0)),
    ("detection p50", BLUE, |p| model0(p).map_or(0.0, |m| m.detection_p50_us as f64 / 1000.0)),
];
/// Recommender hit rate at 10 against the most-popular baseline, 30 s window (0..1).
pub const RECOMMENDER: &[SeriesDef] = &[
    ("item_cf hit rate@10", GREEN, |p| model0(p).and_then(|m| m.hit_rate).unwrap_or(0.0)),
    ("most popular", ORANGE, |p| model0(p).and_then(|m| m.baseline_hit_rate).unwrap_or(0.0)),
];

/// The model charts that fit the run, as (title, y label, series): none without a processor.
pub fn model_charts(sim: &crate::Simulation) -> Vec<(&'static str, &'static str, &'static [SeriesDef])> {
    use crate::scenario::ProcessorKind;
    match sim.models().next().map(|(_, m)| m.kind) {
        Some(ProcessorKind::FraudLr) => vec![("Fraud model", "AUC, precision, recall", MODEL), ("Detection latency", "ms", DETECTION)],
        Some(ProcessorKind::ItemCf) => vec![("Recommender", "hit rate at 10", RECOMMENDER)],
        None => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;
    use std::rc::Rc;

    #[test]
    fn a_backend_in_use_is_an_error_not_a_panic() {
        let mut svg = String::new();
        let backend = Rc::new(RefCell::new(SVGBackend::with_string(&mut svg, (200, 100))));
        let root = DrawingArea::from(&backend);
        let spec = ChartSpec {
            title: "t",
            y_label: "y",
            x_range: (0.0, 1.0),
            lines: Vec::new(),
            x_label: "x",
            markers: Vec::new(),
            dark: false,
            scale: 1.0,
        };
        let held = backend.borrow_mut();
        let e = draw_time_chart(&root, &spec).unwrap_err();
        drop(held);
        assert_eq!(e, ChartError::Sharing);
        assert_eq!(e.to_string(), "Multiple backend operation in progress");
        assert_eq!(ChartError::Backend("x".into()).template(), ("backend error: {0}", vec!["x".to_string()]));
    }
}
