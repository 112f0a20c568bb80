//! The discrete-event core: integer time, an event queue ordered by (time, seq),
//! seeded RNG streams forked by name, the trace fingerprint, the network model,
//! and the context and outbox through which node handlers act.
//! Nothing here knows about Kafka.

mod network;
mod outbox;
mod queue;
mod rng;
mod sort;
pub mod vecmap;

pub use network::{Lane, Latency, Network, Node};
pub use outbox::{Ctx, Effect, Outbox};
pub use queue::EventQueue;
pub use rng::{Fnv64, SimRng};
pub use sort::{map_from, set_from, SortSmall};
pub use vecmap::VecMap;

/// Simulated time in microseconds since the start of the run.
pub type Micros = u64;

pub const MS: Micros = 1_000;
pub const SEC: Micros = 1_000_000;

/// Formats simulated time for people: `12.345 s`.
pub fn fmt_time(t: Micros) -> String {
    format!("{}.{:03} s", t / SEC, (t % SEC) / MS)
}
