//! The Kafka domain: cluster layout, partitioner, logs, brokers, the controller
//! quorum and producers.

pub mod broker;
pub mod consumer;
pub mod controller;
pub mod group;
pub mod kip848;
pub mod layout;
pub mod log;
pub mod partitioner;
pub mod producer;
