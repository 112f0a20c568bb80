//! kafka-sim: a deterministic, in-memory simulation of a Kafka cluster.
//!
//! The engine (`engine`, `sim`, `kafka`, `scenario`, `metrics`) is pure Rust with
//! no browser or terminal code; the CLI (`cli`) and the Yew app (`ui`) drive it
//! through `engine::Simulation`, the app through a `session::Session` that plays it.

pub mod assignors;
pub mod audit;
pub mod charts;
pub mod engine;
pub mod eventlog;
pub mod i18n;
pub mod invariants;
pub mod kafka;
pub mod lesson;
pub mod metrics;
pub mod ml;
pub mod presets;
pub mod report;
pub mod scenario;
pub mod session;
pub mod share;
pub mod sim;

#[cfg(not(target_arch = "wasm32"))]
pub mod cli;
#[cfg(target_arch = "wasm32")]
pub mod ui;

/// For tests in the browser: runs a scenario to its end and returns the JSON
/// summary (or `{"error": ...}`), so native and wasm runs can be compared.
#[cfg(target_arch = "wasm32")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn run_summary(scenario_json: &str) -> String {
    match Scenario::from_json(scenario_json) {
        Ok(s) => {
            let mut sim = Simulation::new(&s);
            sim.run_until(sim.end_us());
            report::summary(&sim).to_string()
        }
        Err(e) => serde_json::json!({ "error": e.to_string() }).to_string(),
    }
}

pub use engine::{Simulation, Snapshot};
pub use scenario::{Scenario, ScenarioError};
