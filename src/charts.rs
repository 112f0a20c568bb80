//! Chart drawing with plotters, generic over the backend: the browser draws on a
//! canvas, native tests draw the same chart to SVG and inspect it.

use crate::i18n::{template_error, Template};
use crate::sim::SortSmall;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

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
    /// Its colour in the light palette; `series_color` gives the one drawn on each theme.
    pub color: RGBColor,
    /// (seconds, value)
    pub points: Vec<(f64, f64)>,
    /// Stroke width in CSS pixels. Lines that often coincide (produced, acknowledged,
    /// consumed) are drawn nested, widest first, so each stays visible.
    pub width: f64,
    /// Side by side: run B's line, drawn thin in a lighter shade.
    pub second: bool,
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
    } else if a >= 10.0 || v.fract() == 0.0 {
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
    /// Side by side: a rebalance of run B, in a lighter purple.
    pub second: bool,
}

// The light palette (Tailwind's 600 shades, green 700): each at least 3.5:1 on white.
pub const BLUE: RGBColor = RGBColor(37, 99, 235);
pub const GREEN: RGBColor = RGBColor(21, 128, 61);
pub const ORANGE: RGBColor = RGBColor(234, 88, 12);
pub const RED: RGBColor = RGBColor(220, 38, 38);
pub const PURPLE: RGBColor = RGBColor(147, 51, 234);

/// Each light colour's counterpart on the dark background (the 400 shades): a navy
/// line on a navy chart is invisible, so the dark theme does not reuse the light colours.
const DARK_PALETTE: &[(RGBColor, RGBColor)] = &[
    (BLUE, RGBColor(96, 165, 250)),
    (GREEN, RGBColor(74, 222, 128)),
    (ORANGE, RGBColor(251, 146, 60)),
    (RED, RGBColor(248, 113, 113)),
    (PURPLE, RGBColor(192, 132, 252)),
];

/// A chart's background on each theme (presentation mode is dark).
pub fn background(dark: bool) -> RGBColor {
    if dark {
        RGBColor(17, 24, 39)
    } else {
        WHITE
    }
}

fn foreground(dark: bool) -> RGBColor {
    if dark {
        RGBColor(229, 231, 235)
    } else {
        RGBColor(31, 41, 55)
    }
}

/// WCAG relative luminance.
fn luminance(c: RGBColor) -> f64 {
    let ch = |v: u8| {
        let s = f64::from(v) / 255.0;
        if s <= 0.03928 {
            s / 12.92
        } else {
            ((s + 0.055) / 1.055).powf(2.4)
        }
    };
    0.2126 * ch(c.0) + 0.7152 * ch(c.1) + 0.0722 * ch(c.2)
}

/// WCAG contrast ratio of two colours (1 to 21).
pub fn contrast(a: RGBColor, b: RGBColor) -> f64 {
    let (la, lb) = (luminance(a), luminance(b));
    (la.max(lb) + 0.05) / (la.min(lb) + 0.05)
}

/// `c` moved a fraction `t` of the way to `to`.
fn mix(c: RGBColor, to: RGBColor, t: f64) -> RGBColor {
    let m = |a: u8, b: u8| (f64::from(a) + (f64::from(b) - f64::from(a)) * t).round() as u8;
    RGBColor(m(c.0, to.0), m(c.1, to.1), m(c.2, to.2))
}

/// `c` moved toward `to` as far as it goes (in steps, up to `most`) while keeping `min` contrast on `bg`.
fn fade(c: RGBColor, to: RGBColor, most: f64, bg: RGBColor, min: f64) -> RGBColor {
    (0..=10)
        .rev()
        .map(|k| mix(c, to, most * f64::from(k) / 10.0))
        .find(|m| contrast(*m, bg) >= min)
        .unwrap_or(c)
}

/// The colour a series is drawn in on a theme: the light palette as given, its
/// lighter counterpart on the dark background.
pub fn series_color(c: RGBColor, dark: bool) -> RGBColor {
    if !dark {
        return c;
    }
    match DARK_PALETTE.iter().find(|p| p.0 == c) {
        Some(p) => p.1,
        // Any other colour: lightened until it reads on the dark background.
        None => (0..=10)
            .map(|k| mix(c, WHITE, f64::from(k) / 10.0))
            .find(|m| contrast(*m, background(true)) >= 4.5)
            .unwrap_or(WHITE),
    }
}

/// Run B's shade of a series colour, side by side: lighter, but never under 3:1
/// against the chart's background (on white, "lighter" has little room).
pub fn second_run_color(c: RGBColor, dark: bool) -> RGBColor {
    let c = series_color(c, dark);
    if dark {
        mix(c, WHITE, 0.45)
    } else {
        fade(c, WHITE, 0.5, WHITE, 3.2)
    }
}

/// A marker's colour: faults red, rebalances purple, run B's rebalances a lighter
/// purple; readable as text (4.5:1) on either theme.
pub fn marker_color(rebalance: bool, second: bool, dark: bool) -> RGBColor {
    match (rebalance, second, dark) {
        (true, true, true) => mix(series_color(PURPLE, true), WHITE, 0.45),
        (true, true, false) => fade(PURPLE, WHITE, 0.5, WHITE, 4.5),
        (true, false, _) => series_color(PURPLE, dark),
        _ => series_color(RED, dark),
    }
}

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
    /// The time axis's name (the CSV's first column; on the chart the ticks say "s").
    pub x_label: &'a str,
    pub markers: Vec<Marker<'a>>,
    pub dark: bool,
    /// Device pixels per CSS pixel: fonts and strokes scale with it.
    pub scale: f64,
    /// Tick labels' size in CSS pixels; the title, legend and labels follow it.
    pub font_px: f64,
}

/// A box on the backend, in its pixels.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Rect {
    pub x0: f64,
    pub y0: f64,
    pub x1: f64,
    pub y1: f64,
}

impl Rect {
    pub fn overlaps(&self, o: &Rect) -> bool {
        self.x0 < o.x1 && o.x0 < self.x1 && self.y0 < o.y1 && o.y0 < self.y1
    }

    pub fn inside(&self, o: &Rect) -> bool {
        self.x0 >= o.x0 && self.x1 <= o.x1 && self.y0 >= o.y0 && self.y1 <= o.y1
    }

    fn css(&self, k: f64) -> [f64; 4] {
        let r = |v: f64| (v / k * 10.0).round() / 10.0;
        [r(self.x0), r(self.y0), r(self.x1), r(self.y1)]
    }
}

/// What a chart drew where: the pointer maps x to time with it, and the page
/// reports it for tests (no label over another or outside the plot, the legend
/// outside the plot, the text size).
#[derive(Clone, Debug, Default)]
pub struct Drawn {
    pub area: PlotArea,
    /// The plot: the band of marker labels above the axes, and the axes' area.
    pub plot: Rect,
    /// Marker and spike labels as drawn: their text and box.
    pub labels: Vec<(String, Rect)>,
    pub legend: Option<Rect>,
    /// The key to numbered markers, under the plot.
    pub key: Option<Rect>,
    /// Tick labels' size in CSS pixels.
    pub font_px: f64,
    /// The top of the value axis, and the level spikes were cut at, if they were.
    pub y_top: f64,
    pub clipped_at: Option<f64>,
}

impl Drawn {
    /// The layout in CSS pixels (`scale` device pixels each), as JSON.
    pub fn to_json(&self, scale: f64) -> String {
        let k = scale.max(0.1);
        serde_json::json!({
            "font_px": (self.font_px * 10.0).round() / 10.0,
            "plot": self.plot.css(k),
            "labels": self.labels.iter().map(|(t, r)| serde_json::json!({"text": t, "box": r.css(k)})).collect::<Vec<_>>(),
            "legend": self.legend.map(|r| r.css(k)),
            "key": self.key.map(|r| r.css(k)),
            "y_top": self.y_top,
            "clipped_at": self.clipped_at,
        })
        .to_string()
    }
}

/// How wide a text is in pixels at a font size in pixels: the browser measures it
/// on the canvas, natively `estimate_width` guesses.
pub type Measure<'m> = &'m dyn Fn(&str, f64) -> f64;

/// A guess at a sans-serif text's width, for backends that cannot measure (SVG in tests).
pub fn estimate_width(text: &str, px: f64) -> f64 {
    text.chars()
        .map(|c| match c {
            c if u32::from(c) >= 0x2E80 => 1.0,
            'i' | 'l' | 'j' | 't' | 'f' | 'r' | '.' | ',' | ':' | ';' | '\'' | '|' | '!' | ' ' | '(' | ')' => 0.34,
            'm' | 'w' | 'M' | 'W' => 0.86,
            c if c.is_ascii_uppercase() => 0.68,
            _ => 0.56,
        })
        .sum::<f64>()
        * px
}

/// Where to cut spikes, if anywhere: a few points (3, or one in 30) of a line
/// above the rest must not flatten everything else. When the highest point is more
/// than twice what all but those few points reach, the axis stops a quarter above
/// that level; the quiet stretch keeps the height, and each cut spike is drawn up
/// to the top with a mark and its real value.
pub fn spike_clip(lines: &[Line]) -> Option<f64> {
    let (mut base, mut max) = (0.0f64, 0.0f64);
    for l in lines {
        let mut v: Vec<f64> = l.points.iter().map(|p| p.1).filter(|v| v.is_finite()).collect();
        if v.len() < 12 {
            return None;
        }
        v.sort_small_by(|a, b| b.total_cmp(a));
        max = max.max(v[0]);
        base = base.max(v[(3 + v.len() / 30).min(v.len() - 1)]);
    }
    (base > 0.0 && max > 2.0 * base).then_some(base * 1.25)
}

/// Each cut spike: (seconds, peak value, line index) at the highest point of each
/// run of points above `clip`.
fn spikes(lines: &[Line], clip: f64) -> Vec<(f64, f64, usize)> {
    let mut out = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        let mut run: Option<(f64, f64)> = None;
        for &(t, v) in l.points.iter().chain(std::iter::once(&(f64::NAN, f64::NAN))) {
            if v > clip {
                if run.is_none_or(|r| v > r.1) {
                    run = Some((t, v));
                }
            } else if let Some((t, v)) = run.take() {
                out.push((t, v, i));
            }
        }
    }
    out
}

/// Rows of labels above the plot: each label touches its line (beside it or over
/// it), stays between the plot's ends, and keeps a gap to the others in its row.
struct Band {
    rows: Vec<Vec<(f64, f64)>>,
    lo: f64,
    hi: f64,
    gap: f64,
}

impl Band {
    fn fits(&self, row: usize, x0: f64, w: f64) -> bool {
        x0 >= self.lo
            && x0 + w <= self.hi
            && self
                .rows
                .get(row)
                .is_none_or(|r| r.iter().all(|&(a, b)| x0 + w + self.gap <= a || b + self.gap <= x0))
    }

    /// A place in the first `max_rows` rows for a label `w` wide at line `x`: (row, left).
    fn place(&mut self, x: f64, w: f64, max_rows: usize) -> Option<(usize, f64)> {
        let g = self.gap * 0.6;
        let clamped = (x - w / 2.0).clamp(self.lo, (self.hi - w).max(self.lo));
        let candidates = [x + g, x - g - w, x - w / 2.0, clamped];
        for row in 0..max_rows {
            for &x0 in &candidates {
                if x0 <= x + g && x0 + w >= x - g && self.fits(row, x0, w) {
                    if self.rows.len() <= row {
                        self.rows.resize(row + 1, Vec::new());
                    }
                    self.rows[row].push((x0, x0 + w));
                    return Some((row, x0));
                }
            }
        }
        None
    }

    fn remove(&mut self, row: usize, x0: f64) {
        if let Some(r) = self.rows.get_mut(row) {
            r.retain(|b| b.0 != x0);
        }
    }
}

/// A label in the band: its text, colour, row and left edge.
struct Placed {
    text: String,
    color: RGBColor,
    row: usize,
    x0: f64,
    w: f64,
}

/// Numbered markers shown as "1–3" when they share a label.
fn numbers_text(first: usize, last: usize) -> String {
    if first == last {
        first.to_string()
    } else if last == first + 1 {
        format!("{first},{last}")
    } else {
        format!("{first}–{last}")
    }
}

/// "1,4,5" or "2–4": the numbers of markers that share a label.
fn number_list(nums: &[usize]) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut i = 0;
    while i < nums.len() {
        let mut j = i;
        while j + 1 < nums.len() && nums[j + 1] == nums[j] + 1 {
            j += 1;
        }
        parts.push(numbers_text(nums[i], nums[j]));
        i = j + 1;
    }
    parts.join(",")
}

/// Rows of entries (each `w` wide) wrapped into `width`; returns the row of each.
fn wrap(widths: &[f64], width: f64) -> Vec<usize> {
    let (mut row, mut x) = (0, 0.0);
    widths
        .iter()
        .map(|&w| {
            if x > 0.0 && x + w > width {
                row += 1;
                x = 0.0;
            }
            x += w;
            row
        })
        .collect()
}

/// Draws a time-series chart with the canvas's or a guessed text measure. Errors are returned, never panics.
pub fn draw_time_chart<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, spec: &ChartSpec) -> Result<Drawn, ChartError> {
    draw_time_chart_measured(root, spec, &estimate_width)
}

/// Draws a time-series chart: title, legend outside the plot (beside the title
/// when it fits, else under it), a band of marker labels above the axes (full
/// labels in up to two rows, else numbers with a key under the chart), spikes cut
/// with a mark, and text sized from `spec.font_px`.
pub fn draw_time_chart_measured<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, spec: &ChartSpec, measure: Measure) -> Result<Drawn, ChartError> {
    let e = ChartError::from;
    let s = spec.scale.max(0.5);
    let f = (spec.font_px * s).max(6.0);
    let font = |size: f64| ("sans-serif", size);
    let (bg, fg) = (background(spec.dark), foreground(spec.dark));
    let (w_px, h_px) = root.dim_in_pixel();
    let (w_px, h_px) = (f64::from(w_px), f64::from(h_px));
    let base = root.get_base_pixel();
    let (bx, by) = (f64::from(base.0), f64::from(base.1));
    root.fill(&bg).map_err(e)?;
    let m = (0.6 * f).round();
    let text = |t: &str, x: f64, y: f64, size: f64, color: RGBColor, pos: Pos| {
        root.draw(&Text::new(
            t.to_string(),
            ((x - bx) as i32, (y - by) as i32),
            font(size).into_font().color(&color).pos(pos),
        ))
    };
    let (left, top_v) = (Pos::new(HPos::Left, VPos::Top), Pos::new(HPos::Left, VPos::Center));

    // Title, and the legend beside it or in rows under it: never over the data.
    let title_f = (1.2 * f).round();
    root.draw(&Text::new(
        spec.title.to_string(),
        ((m) as i32, (m) as i32),
        font(title_f).into_font().style(FontStyle::Bold).color(&fg).pos(left),
    ))
    .map_err(e)?;
    let mut top = by + m + (1.3 * title_f).round();
    let legend: Vec<&Line> = spec.lines.iter().filter(|l| !l.label.is_empty()).collect();
    let mut legend_box = None;
    if legend.len() > 1 {
        let swatch = 1.5 * f;
        let widths: Vec<f64> = legend.iter().map(|l| swatch + 0.4 * f + measure(&l.label, f) + 1.0 * f).collect();
        let total: f64 = widths.iter().sum::<f64>() - 1.0 * f;
        // Bold is about a tenth wider than the measured regular weight.
        let title_w = measure(spec.title, title_f) * 1.1;
        let row_h = (1.35 * f).round();
        let beside = bx + m + title_w + 1.5 * f + total <= bx + w_px - m;
        let (rows, x_start, y_start) = if beside {
            (vec![0; widths.len()], bx + w_px - m - total, by + m + (title_f - f).max(0.0) / 2.0)
        } else {
            (wrap(&widths, w_px - 2.0 * m), bx + m, top)
        };
        let (mut x, mut row) = (x_start, 0);
        let mut right: f64 = x_start;
        for ((l, w), r) in legend.iter().zip(&widths).zip(&rows) {
            if *r != row {
                row = *r;
                x = x_start;
            }
            let y = y_start + row as f64 * row_h + f * 0.55;
            let colour = if l.second {
                second_run_color(l.color, spec.dark)
            } else {
                series_color(l.color, spec.dark)
            };
            let lw = (l.width * s).min(0.45 * f).max(1.0);
            root.draw(&PathElement::new(
                vec![((x - bx) as i32, (y - by) as i32), ((x + swatch - bx) as i32, (y - by) as i32)],
                colour.stroke_width(lw.round() as u32),
            ))
            .map_err(e)?;
            text(&l.label, x + swatch + 0.4 * f, y, f, fg, top_v).map_err(e)?;
            right = right.max(x + w - 1.0 * f);
            x += w;
        }
        let n_rows = rows.last().map_or(0, |r| r + 1) as f64;
        legend_box = Some(Rect {
            x0: x_start,
            y0: y_start,
            x1: right,
            y1: y_start + n_rows * row_h - 0.2 * f,
        });
        if !beside {
            top += n_rows * row_h;
        }
    }

    // The value axis: spikes cut when a few points would flatten the rest.
    let data_max = spec.lines.iter().flat_map(|l| l.points.iter().map(|p| p.1)).fold(0.0f64, f64::max);
    let clip = spike_clip(&spec.lines);
    let y_top = clip.unwrap_or(data_max).max(1.0) * 1.08;
    // Counts (partitions, records) get whole-number ticks: no "0.5 partitions".
    let whole = spec.lines.iter().all(|l| l.points.iter().all(|p| p.1.fract() == 0.0));
    let (x0, x1) = (spec.x_range.0, spec.x_range.1.max(spec.x_range.0 + 1.0));

    // Horizontal layout: the value labels on the left, room for the last time label on the right.
    let tick = (0.3 * f).round().max(2.0);
    let y_tick_w = [y_top, y_top * 0.55, y_top * 0.35]
        .iter()
        .map(|v| measure(&format_si(*v), f))
        .fold(0.0, f64::max);
    let y_area = (2.0 * tick + y_tick_w + 0.4 * f + 1.3 * f).round();
    let x_area = (2.0 * tick + 1.25 * f).round();
    let right_margin = (measure(&format!("{:.0} s", x1), f) / 2.0).max(m).round();
    let (plot_x0, plot_x1) = (bx + m + y_area, bx + w_px - right_margin);

    // The band: marker labels in full in up to two rows, else numbers with a key.
    let gap = 0.5 * f;
    let pad = 0.25 * f;
    let new_band = || Band {
        rows: Vec::new(),
        lo: plot_x0,
        hi: plot_x1,
        gap,
    };
    let x_of = |t: f64| plot_x0 + (t - x0) / (x1 - x0) * (plot_x1 - plot_x0);
    let mut band = new_band();
    let mut placed: Vec<Placed> = Vec::new();
    let mut numbered = false;
    let full_rows = if h_px > 25.0 * f { 3 } else { 2 };
    for mk in &spec.markers {
        let w = measure(mk.label, f) + 2.0 * pad;
        match band.place(x_of(mk.t_sec), w, full_rows) {
            Some((row, x)) => placed.push(Placed {
                text: mk.label.to_string(),
                color: marker_color(mk.rebalance, mk.second, spec.dark),
                row,
                x0: x,
                w,
            }),
            None => {
                numbered = true;
                break;
            }
        }
    }
    if numbered {
        band = new_band();
        placed.clear();
        // (numbers it stands for, index in `placed`): a label that cannot be placed joins the one before.
        let mut groups: Vec<(usize, usize, usize)> = Vec::new();
        for (k, mk) in spec.markers.iter().enumerate() {
            let n = k + 1;
            let colour = marker_color(mk.rebalance, mk.second, spec.dark);
            let w = measure(&n.to_string(), f) + 2.0 * pad;
            let x = x_of(mk.t_sec);
            // A line that (nearly) coincides with the one before shares its label: "3,4".
            let close = groups.last().is_some_and(|g| (x - x_of(spec.markers[g.0 - 1].t_sec)).abs() < 0.6 * f);
            if let Some((row, x)) = (!close).then(|| band.place(x, w, 2)).flatten() {
                placed.push(Placed {
                    text: n.to_string(),
                    color: colour,
                    row,
                    x0: x,
                    w,
                });
                groups.push((n, n, placed.len() - 1));
                continue;
            }
            let Some(g) = groups.last_mut() else { continue };
            let p = &mut placed[g.2];
            let t = numbers_text(g.0, n);
            let w2 = measure(&t, f) + 2.0 * pad;
            band.remove(p.row, p.x0);
            let anchor = x_of(spec.markers[g.0 - 1].t_sec);
            match band.place(anchor, w2, 2) {
                Some((row, x)) => {
                    *p = Placed {
                        text: t,
                        color: p.color,
                        row,
                        x0: x,
                        w: w2,
                    };
                    g.1 = n;
                }
                // Nowhere to go: the line stays unlabelled (the key still names it).
                None => {
                    let (row, x0, w) = (p.row, p.x0, p.w);
                    if band.rows.len() <= row {
                        band.rows.resize(row + 1, Vec::new());
                    }
                    band.rows[row].push((x0, x0 + w));
                }
            }
        }
    }
    let marks = clip.map(|c| spikes(&spec.lines, c)).unwrap_or_default();
    let mut written: Vec<(f64, String)> = Vec::new();
    for &(t, v, i) in &marks {
        let line = &spec.lines[i];
        let colour = if line.second {
            second_run_color(line.color, spec.dark)
        } else {
            series_color(line.color, spec.dark)
        };
        let label = format!("↑ {}", format_si(v));
        // Lines spiking together to the same value (produced and acknowledged) share one label.
        if written.iter().any(|(x, l)| (x - x_of(t)).abs() < 0.6 * f && *l == label) {
            continue;
        }
        written.push((x_of(t), label.clone()));
        let w = measure(&label, f) + 2.0 * pad;
        // The real value of a cut spike matters: it may open a row of its own.
        if let Some((row, x)) = band.place(x_of(t), w, 3) {
            placed.push(Placed {
                text: label,
                color: colour,
                row,
                x0: x,
                w,
            });
        }
    }
    let row_h = (1.3 * f).round();
    let band_h = if band.rows.is_empty() {
        (0.3 * f).round()
    } else {
        band.rows.len() as f64 * row_h + (0.2 * f).round()
    };

    // The key to numbered markers, under the time axis: one entry per kind of
    // marker ("1,6,7 rebalance billing"); when they do not fit its rows, the
    // entries seen longest ago give way to "…".
    let mut key: Vec<(String, String, RGBColor, f64)> = Vec::new();
    let mut key_rows = Vec::new();
    if numbered {
        let max_rows = if h_px > 30.0 * f {
            4
        } else if h_px > 18.0 * f {
            3
        } else {
            2
        };
        let entry = |n: &str, label: &str| measure(n, f) + 0.35 * f + measure(label, f) + 1.1 * f;
        let mut groups: Vec<(Vec<usize>, &str, RGBColor)> = Vec::new();
        for (k, mk) in spec.markers.iter().enumerate() {
            let colour = marker_color(mk.rebalance, mk.second, spec.dark);
            // "rebalance billing ×2" is a rebalance billing like the others.
            let kind = match mk.label.rsplit_once(" ×") {
                Some((kind, n)) if !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()) => kind,
                _ => mk.label,
            };
            match groups.iter_mut().find(|g| g.1 == kind && g.2 == colour) {
                Some(g) => g.0.push(k + 1),
                None => groups.push((vec![k + 1], kind, colour)),
            }
        }
        let mut latest: Vec<usize> = groups.iter().map(|g| g.0.last().copied().unwrap_or(0)).collect();
        latest.sort_unstable();
        for cut in std::iter::once(0).chain(latest.iter().copied()) {
            let mut v: Vec<(String, String, RGBColor, f64)> = groups
                .iter()
                .filter(|g| g.0.last().is_some_and(|&n| n > cut))
                .map(|(nums, label, colour)| {
                    let n = number_list(nums);
                    let w = entry(&n, label);
                    (n, label.to_string(), *colour, w)
                })
                .collect();
            if cut > 0 {
                v.insert(0, (String::new(), "…".to_string(), fg, entry("", "…")));
            }
            let rows = wrap(&v.iter().map(|x| x.3).collect::<Vec<_>>(), w_px - 2.0 * m);
            if rows.last().is_none_or(|r| *r < max_rows) {
                key = v;
                key_rows = rows;
                break;
            }
        }
    }
    let key_row_h = (1.35 * f).round();
    let key_h = key_rows.last().map_or(0.0, |r| (*r + 1) as f64 * key_row_h);

    let band_top = top;
    let plot_y0 = band_top + band_h;
    let mut chart = ChartBuilder::on(root)
        .margin_top((plot_y0 - by).round() as u32)
        .margin_left(m as u32)
        .margin_right(right_margin as u32)
        .margin_bottom((m + key_h) as u32)
        .x_label_area_size(x_area as u32)
        .y_label_area_size(y_area as u32)
        .build_cartesian_2d(x0..x1, 0.0..y_top)
        .map_err(e)?;
    let (xr, yr) = chart.plotting_area().get_pixel_range();
    let (px0, px1, py1) = (f64::from(xr.start), f64::from(xr.end), f64::from(yr.end));
    let plot_w = (px1 - px0).max(1.0);
    let plot_h = (py1 - plot_y0).max(1.0);
    chart
        .configure_mesh()
        .y_desc(spec.y_label)
        .label_style(font(f).into_font().color(&fg))
        .axis_desc_style(font(f).into_font().color(&fg))
        .y_label_formatter(&|v| format_si(*v))
        .x_labels(((plot_w / (4.2 * f)) as usize).clamp(2, 10))
        .y_labels({
            let n = ((plot_h / (2.2 * f)) as usize).clamp(2, 6);
            if whole {
                n.min(y_top as usize + 1)
            } else {
                n
            }
        })
        .x_label_formatter(&|v| if x1 - x0 >= 10.0 { format!("{v:.0} s") } else { format!("{v:.1} s") })
        .set_all_tick_mark_size(tick as u32)
        .axis_style(fg.mix(0.6))
        .max_light_lines(1)
        .light_line_style(fg.mix(0.08))
        .bold_line_style(fg.mix(0.15))
        .draw()
        .map_err(e)?;

    // Marker lines run from the band to the time axis.
    let labels_of = |mk: &Marker| (x_of(mk.t_sec), marker_color(mk.rebalance, mk.second, spec.dark));
    for mk in &spec.markers {
        let (x, colour) = labels_of(mk);
        let x = x.round() as i32;
        root.draw(&PathElement::new(
            vec![(x - bx as i32, (band_top - by) as i32), (x - bx as i32, (py1 - by) as i32)],
            colour.mix(0.85).stroke_width((1.5 * s).round().max(1.0) as u32),
        ))
        .map_err(e)?;
    }
    for line in &spec.lines {
        let colour = if line.second {
            second_run_color(line.color, spec.dark)
        } else {
            series_color(line.color, spec.dark)
        };
        let style = colour.stroke_width((line.width * s).round().max(1.0) as u32);
        let top_v = clip.unwrap_or(f64::INFINITY);
        chart
            .draw_series(LineSeries::new(line.points.iter().map(|&(t, v)| (t, v.min(top_v))), style))
            .map_err(e)?;
    }
    // A cut spike: a triangle at the top of its line pointing up to its value in the band.
    if let Some(c) = clip {
        for &(t, _, i) in &marks {
            let line = &spec.lines[i];
            let colour = if line.second {
                second_run_color(line.color, spec.dark)
            } else {
                series_color(line.color, spec.dark)
            };
            let (x, y) = chart.backend_coord(&(t, c));
            let (x, y) = (x - bx as i32, y - by as i32);
            let a = (0.45 * f).round() as i32;
            root.draw(&Polygon::new(vec![(x - a, y + a + 1), (x + a, y + a + 1), (x, y - a / 2)], colour.filled()))
                .map_err(e)?;
        }
    }
    let mut labels = Vec::new();
    for p in &placed {
        let y = band_top + p.row as f64 * row_h;
        let r = Rect {
            x0: p.x0,
            y0: y,
            x1: p.x0 + p.w,
            y1: y + row_h - 0.1 * f,
        };
        root.draw(&Rectangle::new(
            [((r.x0 - bx) as i32, (r.y0 - by) as i32), ((r.x1 - bx) as i32, (r.y1 - by) as i32)],
            bg.filled(),
        ))
        .map_err(e)?;
        text(&p.text, p.x0 + pad, y + (row_h - 0.1 * f) / 2.0, f, p.color, top_v).map_err(e)?;
        labels.push((p.text.clone(), r));
    }

    // The key: "1 kill broker  2 rebalance billing", the numbers in their markers' colours.
    let mut key_box = None;
    if !key.is_empty() {
        let y_start = by + h_px - m - key_h;
        let (mut x, mut row) = (bx + m, 0);
        let mut right: f64 = x;
        for ((n, label, colour, w), r) in key.iter().zip(&key_rows) {
            if *r != row {
                row = *r;
                x = bx + m;
            }
            let y = y_start + row as f64 * key_row_h + key_row_h / 2.0;
            let nw = if n.is_empty() { 0.0 } else { measure(n, f) + 0.35 * f };
            if !n.is_empty() {
                text(n, x, y, f, *colour, top_v).map_err(e)?;
            }
            text(label, x + nw, y, f, fg, top_v).map_err(e)?;
            right = right.max(x + w - 1.1 * f);
            x += w;
        }
        key_box = Some(Rect {
            x0: bx + m,
            y0: y_start,
            x1: right,
            y1: y_start + key_h,
        });
    }
    root.present().map_err(e)?;
    Ok(Drawn {
        area: PlotArea {
            left_px: px0,
            right_px: px1,
            t0: x0,
            t1: x1,
        },
        plot: Rect {
            x0: px0,
            y0: band_top,
            x1: px1,
            y1: py1,
        },
        labels,
        legend: legend_box,
        key: key_box,
        font_px: spec.font_px,
        y_top,
        clipped_at: clip,
    })
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
                width: match (defs.len(), i) {
                    (1, _) => 2.0,
                    (_, 0) => 5.0,
                    (_, 1) => 3.0,
                    _ => 1.5,
                },
                second: false,
            })
            .collect(),
        markers: markers.into_iter().filter(|mk| mk.t_sec >= start).collect(),
        x_label: "simulated time (s)",
        dark,
        scale,
        font_px: 13.0,
    }
}

/// A number for a CSV cell: whole numbers without a point, others to three places.
fn csv_number(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{v:.0}")
    } else {
        let s = format!("{v:.3}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// A chart's data as CSV, what it draws: one row per metric interval the run
/// keeps, the time then each series with its unit (side by side, run B's series
/// after run A's, named "B: ..."). `name` translates the headings.
pub fn chart_csv(a: &crate::Simulation, b: Option<&crate::Simulation>, defs: &[SeriesDef], y_label: &str, name: &dyn Fn(&str) -> String) -> String {
    let mut head = vec![name("simulated time (s)")];
    let unit = name(y_label);
    head.extend(defs.iter().map(|d| format!("{} ({unit})", name(d.0))));
    if b.is_some() {
        head.extend(defs.iter().map(|d| format!("B: {} ({unit})", name(d.0))));
    }
    let mut out = head.iter().map(|h| csv_field(h)).collect::<Vec<_>>().join(",");
    out.push('\n');
    let bp = b.map(|b| &b.metrics().points);
    for p in &a.metrics().points {
        let mut row = vec![csv_number(p.t_ms as f64 / 1000.0)];
        row.extend(defs.iter().map(|d| csv_number((d.2)(p))));
        if let Some(bp) = bp {
            let q = bp.iter().find(|q| q.t_ms == p.t_ms);
            row.extend(defs.iter().map(|d| q.map_or(String::new(), |q| csv_number((d.2)(q)))));
        }
        out.push_str(&row.join(","));
        out.push('\n');
    }
    out
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
            font_px: 13.0,
        };
        let held = backend.borrow_mut();
        let e = draw_time_chart(&root, &spec).unwrap_err();
        drop(held);
        assert_eq!(e, ChartError::Sharing);
        assert_eq!(e.to_string(), "Multiple backend operation in progress");
        assert_eq!(ChartError::Backend("x".into()).template(), ("backend error: {0}", vec!["x".to_string()]));
    }
}
