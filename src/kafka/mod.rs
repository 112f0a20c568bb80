//! The Kafka domain: cluster layout, partitioner, brokers and producers.

pub mod layout;
pub mod partitioner;
