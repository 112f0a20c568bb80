//! kafka-sim: a deterministic, in-memory simulation of a Kafka cluster.
//!
//! - `sim`: the discrete-event core (time, queue, random streams, network, the
//!   context and outbox through which nodes act); it knows nothing of Kafka.
//! - `kafka`: the nodes and what they say (brokers with their group
//!   coordinators, controllers, producers, consumers); `assignors`: pure functions.
//! - `engine`: owns the nodes, routes their messages, applies faults.
//! - `checker`: the audit and the invariants, from the nodes' observations only.
//! - `metrics`, `report`, `eventlog`: what a run shows and prints.
//! - `scenario`, `lesson`, `share`, `i18n`: input formats; `ml`: streaming models.
//! - `session`: playback over the engine (checkpoints, rewind, the side-by-side
//!   twin, lesson steps, chart markers), native and tested.
//! - `cli` (native) and `ui` (wasm) are thin drivers: the CLI over
//!   `engine::Simulation`, the page over a `session::Session`.

pub mod assignors;
pub mod charts;
pub mod checker;
pub mod engine;
pub mod eventlog;
pub mod i18n;
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

pub use checker::{audit, invariants};
pub use engine::{Simulation, Snapshot};
pub use scenario::{Scenario, ScenarioError};
