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
