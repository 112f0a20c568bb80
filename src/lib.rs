//! kafka-sim: a deterministic, in-memory simulation of a Kafka cluster.
//!
//! The engine (`engine`, `sim`, `kafka`, `scenario`, `metrics`) is pure Rust with
//! no browser or terminal code; the CLI (`cli`) and the Yew app (`ui`) drive it
//! through `engine::Simulation`.

pub mod audit;
pub mod charts;
pub mod engine;
pub mod eventlog;
pub mod invariants;
pub mod kafka;
pub mod metrics;
pub mod presets;
pub mod scenario;
pub mod sim;

#[cfg(not(target_arch = "wasm32"))]
pub mod cli;
#[cfg(target_arch = "wasm32")]
pub mod ui;

pub use engine::{Simulation, Snapshot};
pub use scenario::{Scenario, ScenarioError};
