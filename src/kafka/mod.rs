//! The Kafka domain: the nodes (brokers with their group coordinators, the
//! controller quorum, producers, consumers), what they say to each other
//! (`protocol`) and what they report (`obs`), and the pieces they are made of:
//! logs, the partitioner, replica placement.
//!
//! A node owns its state and acts only through its context (`Ctx`): it sends
//! messages, sets timers and reports observations. The engine (`crate::engine`)
//! routes them; nothing here knows the engine.

pub mod broker;
pub mod consumer;
pub mod controller;
pub mod group;
pub mod layout;
pub mod log;
pub mod metadata;
pub mod notable;
pub mod obs;
pub mod partitioner;
pub mod producer;
pub mod protocol;
pub mod records;
pub mod share;
pub mod txn;
pub mod types;

/// A Kafka node's handler context: its clock, its random stream, its outbox.
pub type Ctx<'a> = crate::sim::Ctx<'a, protocol::Msg, protocol::Timer, obs::Obs>;
/// The outbox the engine drains after every handler.
pub type Outbox = crate::sim::Outbox<protocol::Msg, protocol::Timer, obs::Obs>;
