//! The same chart code that draws on the browser canvas, rendered to SVG natively.

use kafka_sim::charts::{draw_time_chart, throughput_spec, Marker};
use kafka_sim::{presets, Scenario, Simulation};
use plotters::prelude::*;

#[test]
fn throughput_chart_draws_lines_and_markers_to_svg() {
    let scenario = Scenario::from_json(presets::find("steady").unwrap().json).unwrap();
    let mut sim = Simulation::new(&scenario);
    sim.run_until(30_000_000);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (800, 360)).into_drawing_area();
        let markers = vec![Marker {
            t_sec: 20.0,
            label: "set_producer",
            rebalance: false,
            second: false,
        }];
        draw_time_chart(&root, &throughput_spec(&sim, markers, false, 1.0)).unwrap();
    }
    assert!(svg.contains("Throughput"), "title missing");
    assert!(svg.contains("set_producer"), "marker label missing");
    // Two data lines (produced, acknowledged) with one point per simulated second.
    let polylines = svg.matches("<polyline").count();
    assert!(polylines >= 3, "expected the data lines, found {polylines} polylines");
    // The rate change at 20 s shows up in the data: 2000/s before, 5000/s after.
    let points = &sim.metrics().points;
    assert_eq!(points[10].acked, 2000);
    assert_eq!(points[25].produced, 5000);
}

#[test]
fn live_axis_ends_on_coarse_steps_past_the_data() {
    use kafka_sim::charts::snap_end;
    assert_eq!(snap_end(0.0, 7.3), 8.0);
    assert_eq!(snap_end(0.0, 8.0), 8.0);
    assert_eq!(snap_end(0.0, 47.0), 50.0);
    assert_eq!(snap_end(0.0, 130.0), 180.0);
    assert_eq!(snap_end(100.0, 1000.0), 1200.0);
    assert_eq!(snap_end(0.0, 0.2), 2.0);
}

#[test]
fn model_charts_draw_for_ml_presets_only() {
    use kafka_sim::charts::{model_charts, series_spec};
    use plotters::prelude::*;
    let run = |id: &str| {
        let s = kafka_sim::Scenario::from_json(kafka_sim::presets::find(id).unwrap().json).unwrap();
        let mut sim = kafka_sim::Simulation::new(&s);
        sim.run_until(30_000_000);
        sim
    };
    assert!(model_charts(&run("steady")).is_empty());
    for (id, charts) in [("fraud-broker", 2), ("rec-freshness", 1)] {
        let sim = run(id);
        let specs = model_charts(&sim);
        assert_eq!(specs.len(), charts, "{id}");
        for (title, y, defs) in specs {
            let spec = series_spec(&sim, title, y, defs, Vec::new(), false, 1.0);
            assert!(spec.lines[0].points.iter().any(|p| p.1 > 0.0), "{id}: {title} is flat at zero");
            let mut svg = String::new();
            {
                let root = SVGBackend::with_string(&mut svg, (640, 320)).into_drawing_area();
                kafka_sim::charts::draw_time_chart(&root, &spec).unwrap();
            }
            assert!(svg.contains(title), "{id}: {title} missing from the SVG");
        }
    }
}

// ---- issue 15: charts that show the moment the teacher talks about ----

use kafka_sim::charts::{background, chart_csv, contrast, marker_color, second_run_color, series_color, ChartSpec, Drawn, Line};

/// The default preset with "Kill broker 0" at 6 s, a consumer added at 20 s and
/// again at 21 s, run to 40 s: the moment of the issue (an acknowledged spike, a
/// stretch with nothing acknowledged, several markers close together).
fn outage_run() -> Simulation {
    let scenario = Scenario::from_json(presets::find("orders").unwrap().json).unwrap();
    let mut sim = Simulation::new(&scenario);
    sim.run_until(6_000_000);
    sim.inject(kafka_sim::scenario::Action::KillBroker { broker: 0 }).unwrap();
    sim.run_until(20_000_000);
    sim.inject(kafka_sim::scenario::Action::AddConsumer { group: "billing".into() }).unwrap();
    sim.run_until(21_000_000);
    sim.inject(kafka_sim::scenario::Action::AddConsumer { group: "billing".into() }).unwrap();
    sim.run_until(40_000_000);
    sim
}

fn draw(spec: &ChartSpec, (w, h): (u32, u32)) -> (Drawn, String) {
    let mut svg = String::new();
    let drawn = {
        let root = SVGBackend::with_string(&mut svg, (w, h)).into_drawing_area();
        draw_time_chart(&root, spec).unwrap()
    };
    (drawn, svg)
}

/// No label box over another, outside the plot, or under the legend; the legend and the key outside the plot.
fn assert_tidy(d: &Drawn, what: &str) {
    for (i, (ta, a)) in d.labels.iter().enumerate() {
        assert!(a.inside(&d.plot), "{what}: label {ta:?} {a:?} leaves the plot {:?}", d.plot);
        for (tb, b) in &d.labels[i + 1..] {
            assert!(!a.overlaps(b), "{what}: labels {ta:?} {a:?} and {tb:?} {b:?} overlap");
        }
        if let Some(l) = d.legend {
            assert!(!a.overlaps(&l), "{what}: label {ta:?} under the legend");
        }
    }
    if let Some(l) = d.legend {
        assert!(!l.overlaps(&d.plot), "{what}: legend {l:?} over the plot {:?}", d.plot);
    }
    if let Some(k) = d.key {
        assert!(!k.overlaps(&d.plot), "{what}: key {k:?} over the plot {:?}", d.plot);
    }
}

const SIZES: &[(u32, u32)] = &[(340, 204), (268, 161), (550, 330), (930, 470), (360, 270), (800, 360)];

#[test]
fn legends_sit_outside_the_plot_at_every_size() {
    let sim = outage_run();
    for &size in SIZES {
        for (title, defs) in [("Throughput", kafka_sim::charts::THROUGHPUT), ("Latency", kafka_sim::charts::LATENCY)] {
            let spec = kafka_sim::charts::series_spec(&sim, title, "y", defs, Vec::new(), false, 1.0);
            let (d, _) = draw(&spec, size);
            let legend = d.legend.unwrap_or_else(|| panic!("{title} {size:?}: no legend"));
            assert_tidy(&d, &format!("{title} {size:?}"));
            assert!(
                legend.x1 <= f64::from(size.0) && legend.y1 <= f64::from(size.1),
                "{title} {size:?}: legend {legend:?} off the chart"
            );
        }
    }
}

fn markers_of<'a>(v: &'a [(f64, String, bool, bool)]) -> Vec<Marker<'a>> {
    v.iter()
        .map(|(t, l, rebalance, second)| Marker {
            t_sec: *t,
            label: l,
            rebalance: *rebalance,
            second: *second,
        })
        .collect()
}

#[test]
fn marker_labels_never_overlap_or_leave_the_plot() {
    let sim = outage_run();
    let names = kafka_sim::session::markers(&sim, None);
    assert!(names.len() >= 3, "the run has {} markers", names.len());
    let real: Vec<(f64, String, bool, bool)> = names.iter().map(|m| (m.t_sec, m.label.clone(), m.rebalance, m.second)).collect();
    // Crowded ones: at both ends, close together, long labels, run B's beside run A's.
    let mut crowded = real.clone();
    for k in 0..12 {
        let t = [0.0, 0.2, 39.9, 40.0, 15.0, 15.1, 15.2, 15.3, 30.0, 30.5, 31.0, 2.0][k];
        crowded.push((t, format!("restart broker {k} after a long outage"), k % 2 == 0, k % 3 == 0));
    }
    crowded.sort_by(|a, b| a.0.total_cmp(&b.0));
    for (which, list) in [("real", &real), ("crowded", &crowded)] {
        for &size in SIZES {
            let spec = kafka_sim::charts::throughput_spec(&sim, markers_of(list), false, 1.0);
            let (d, _) = draw(&spec, size);
            assert_tidy(&d, &format!("{which} {size:?}"));
            if d.labels.iter().any(|l| l.0.chars().all(|c| c.is_ascii_digit() || c == ',' || c == '–')) {
                assert!(d.key.is_some(), "{which} {size:?}: numbered markers without a key");
            }
        }
    }
    // Where there is room, the labels are written out, not numbered.
    let spec = kafka_sim::charts::throughput_spec(&sim, markers_of(&real), false, 1.0);
    let (d, svg) = draw(&spec, (930, 470));
    assert!(d.key.is_none(), "a wide chart numbers its markers: {:?}", d.labels);
    assert!(svg.contains("kill broker"), "the kill marker's label is missing");
    // Crowded on a small chart: numbers on the plot, named in the key under it
    // (the latest first: older ones give way to "…" when the key is full).
    let spec = kafka_sim::charts::throughput_spec(&sim, markers_of(&crowded), false, 1.0);
    let (d, svg) = draw(&spec, (340, 204));
    let latest = &crowded.last().unwrap().1;
    assert!(
        d.key.is_some() && svg.contains(latest.as_str()),
        "the key does not name the latest marker, {latest}"
    );
}

/// Steady 2000/s, nothing for 10 s (an outage), one burst of 20 000 as retries land, steady again.
fn outage_lines() -> Vec<Line> {
    let produced: Vec<(f64, f64)> = (0..60).map(|t| (f64::from(t), 2000.0)).collect();
    let acked = (0..60)
        .map(|t| {
            let v = match t {
                20..30 => 0.0,
                30 => 20_000.0,
                _ => 2000.0,
            };
            (f64::from(t), v)
        })
        .collect();
    let line = |label: &str, color, points, width| Line {
        label: label.into(),
        color,
        points,
        width,
        second: false,
    };
    vec![
        line("produced", kafka_sim::charts::BLUE, produced, 5.0),
        line("acknowledged", kafka_sim::charts::GREEN, acked, 3.0),
    ]
}

fn spec_of(lines: Vec<Line>) -> ChartSpec<'static> {
    ChartSpec {
        title: "Throughput",
        y_label: "records/s",
        x_range: (0.0, 60.0),
        lines,
        x_label: "simulated time (s)",
        markers: Vec::new(),
        dark: false,
        scale: 1.0,
        font_px: 13.0,
    }
}

#[test]
fn a_spike_is_cut_with_its_value_and_the_quiet_stretch_keeps_its_height() {
    let (d, svg) = draw(&spec_of(outage_lines()), (550, 330));
    let cut = d.clipped_at.expect("a lone spike ten times the level is not cut");
    assert!(d.y_top < 20_000.0 / 4.0, "the axis still reaches {}", d.y_top);
    // The steady level (and so the drop to nothing) takes most of the height.
    assert!(2000.0 / d.y_top > 0.6, "2000/s is only {:.0}% of the height", 2000.0 / d.y_top * 100.0);
    assert!(cut >= 2000.0);
    // The spike's real value is written above it, inside the plot.
    assert!(d.labels.iter().any(|l| l.0 == "↑ 20k"), "no value on the cut spike: {:?}", d.labels);
    assert!(svg.contains("20k"));
    assert_tidy(&d, "spike");

    // What grows for a while (lag piling up over the last fifth) is not a spike: no cut.
    let mut ramp = outage_lines();
    ramp.truncate(1);
    ramp[0].points = (0..60)
        .map(|t| (f64::from(t), if t < 48 { 100.0 } else { 100.0 + f64::from(t - 47) * 5000.0 }))
        .collect();
    let (d, _) = draw(&spec_of(ramp), (550, 330));
    assert_eq!(d.clipped_at, None, "a ramp was cut");
    assert!(d.y_top >= 60_000.0);
    // Nor is a step up that lasts (under-replicated partitions after a kill).
    let mut step = outage_lines();
    step.truncate(1);
    step[0].points = (0..60).map(|t| (f64::from(t), if t < 30 { 0.0 } else { 6.0 })).collect();
    assert_eq!(draw(&spec_of(step), (550, 330)).0.clipped_at, None);
}

#[test]
fn every_series_meets_3_to_1_contrast_on_both_themes() {
    use kafka_sim::charts as c;
    let all = [c::THROUGHPUT, c::LATENCY, c::LAG, c::HEALTH, c::MODEL, c::DETECTION, c::RECOMMENDER];
    for dark in [false, true] {
        let bg = background(dark);
        for defs in all {
            for (label, colour, _) in defs.iter() {
                let a = contrast(series_color(*colour, dark), bg);
                let b = contrast(second_run_color(*colour, dark), bg);
                assert!(a >= 3.0, "{label} on the {} theme: {a:.2}:1", if dark { "dark" } else { "light" });
                assert!(b >= 3.0, "run B's {label} on the {} theme: {b:.2}:1", if dark { "dark" } else { "light" });
            }
        }
        // Marker labels are text: 4.5:1.
        for (rebalance, second) in [(false, false), (true, false), (true, true)] {
            let m = contrast(marker_color(rebalance, second, dark), bg);
            assert!(m >= 4.5, "marker ({rebalance}, {second}) on dark={dark}: {m:.2}:1");
        }
    }
    // The dark theme's "produced" line is no longer navy on navy.
    assert!(contrast(series_color(c::BLUE, true), background(true)) >= 4.5);
    // And the lines drawn are these colours: the dark chart's SVG carries the dark palette.
    let mut spec = spec_of(outage_lines());
    spec.dark = true;
    let (_, svg) = draw(&spec, (550, 330));
    let RGBColor(r, g, b) = series_color(c::BLUE, true);
    assert!(
        svg.contains(&format!("#{r:02X}{g:02X}{b:02X}")),
        "the dark chart does not draw produced in {r},{g},{b}"
    );
}

#[test]
fn chart_text_follows_the_font_size_asked_for() {
    let mut spec = spec_of(outage_lines());
    spec.font_px = 21.0;
    let (big, svg) = draw(&spec, (930, 470));
    assert_eq!(big.font_px, 21.0);
    // (plotters' SVG writes sizes divided by 1.24)
    assert!(svg.contains(&format!("font-size=\"{}\"", 21.0 / 1.24)), "no 21 px text in the SVG");
    assert_tidy(&big, "21 px");
    // Retina: twice the pixels, the same layout in CSS pixels.
    spec.scale = 2.0;
    let (retina, _) = draw(&spec, (1860, 940));
    assert!((retina.plot.x0 / 2.0 - big.plot.x0).abs() <= 1.0 && (retina.plot.y1 / 2.0 - big.plot.y1).abs() <= 1.0);
    let json: serde_json::Value = serde_json::from_str(&retina.to_json(2.0)).unwrap();
    assert_eq!(json["font_px"], 21.0);
    assert!((json["plot"][2].as_f64().unwrap() - retina.plot.x1 / 2.0).abs() < 0.1);
}

#[test]
fn csv_has_the_charts_series_and_one_row_per_interval() {
    let sim = outage_run();
    let csv = chart_csv(&sim, None, kafka_sim::charts::THROUGHPUT, "records/s", &|s| s.to_string());
    let mut rows = csv.lines();
    assert_eq!(
        rows.next().unwrap(),
        "simulated time (s),produced (records/s),acknowledged (records/s),consumed (records/s)"
    );
    let rows: Vec<Vec<f64>> = rows.map(|r| r.split(',').map(|v| v.parse().unwrap()).collect()).collect();
    let points = &sim.metrics().points;
    assert_eq!(rows.len(), points.len());
    for (r, p) in rows.iter().zip(points) {
        assert_eq!(r, &vec![p.t_ms as f64 / 1000.0, p.produced as f64, p.acked as f64, p.consumed as f64]);
    }
    // Side by side: run B's columns after run A's.
    let csv = chart_csv(&sim, Some(&sim), kafka_sim::charts::LAG, "records", &|s| s.to_string());
    assert_eq!(
        csv.lines().next().unwrap(),
        "simulated time (s),consumer lag (records),B: consumer lag (records)"
    );
}

#[test]
fn counts_get_whole_number_ticks() {
    // One partition under-replicated for a while: the axis reads 0 and 1, never 0.5.
    for top in [1.0, 2.0, 3.0, 6.0] {
        let lines = || {
            vec![Line {
                label: "under-replicated".into(),
                color: kafka_sim::charts::ORANGE,
                points: (0..60).map(|t| (f64::from(t), if (20..40).contains(&t) { top } else { 0.0 })).collect(),
                width: 3.0,
                second: false,
            }]
        };
        for &size in SIZES {
            let (_, svg) = draw(&spec_of(lines()), size);
            let ticks: Vec<&str> = svg
                .split('>')
                .filter_map(|s| s.split('<').next().map(str::trim))
                .filter(|t| !t.is_empty() && t.chars().all(|c| c.is_ascii_digit() || c == '.'))
                .collect();
            assert!(ticks.contains(&"0"), "{top} at {size:?}: no 0 tick in {ticks:?}");
            assert!(ticks.iter().all(|t| !t.contains('.')), "{top} at {size:?}: ticks {ticks:?}");
        }
    }
}
