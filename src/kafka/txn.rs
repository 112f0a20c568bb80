//! What a transactional producer, its transaction coordinator and partition
//! leaders share (Kafka 4.x, transaction protocol version 2, KIP-890): where a
//! transactional id's coordinator lives (`__transaction_state`, Java
//! `String.hashCode`, `Utils.abs`, 50 partitions), the producer ids the
//! coordinator hands out, and the states a transaction goes through. The
//! coordinator itself is part of the broker (`broker::transactions`), the client
//! side part of the producer.

use serde::Serialize;

/// `transaction.state.log.num.partitions`
pub const TXN_STATE_PARTITIONS: u32 = 50;
pub const TXN_STATE_TOPIC: &str = "__transaction_state";
/// `transaction.state.log.min.isr`
pub const TXN_STATE_MIN_ISR: u32 = 2;
/// `transaction.abort.timed.out.transaction.cleanup.interval.ms`: how often the
/// coordinator looks for transactions open past their timeout.
pub const TIMEOUT_CHECK_INTERVAL_MS: u64 = 10_000;

/// Producer ids of transactional ids: apart from producer instances (below 2^30)
/// and from the coordinators' own writer (u32::MAX). The low 16 bits name the
/// transactional id; an exhausted epoch moves to the next id (Kafka allocates a
/// new producer id with epoch 0).
const TXN_PID_BASE: u32 = 0x4000_0000;
/// Kafka bumps to a new producer id once the epoch reaches this.
pub const MAX_EPOCH: u16 = 32_766;

pub fn first_pid(txn: u32) -> u32 {
    TXN_PID_BASE | (txn & 0xFFFF)
}

/// The next producer id of the same transactional id (epoch exhausted).
pub fn next_pid(pid: u32) -> u32 {
    let generation = ((pid - TXN_PID_BASE) >> 16) + 1;
    TXN_PID_BASE | ((generation & 0x3FFF) << 16) | (pid & 0xFFFF)
}

/// The transactional id (its index) a transactional producer id belongs to.
pub fn txn_of(pid: u32) -> Option<u32> {
    (TXN_PID_BASE..u32::MAX).contains(&pid).then_some(pid & 0xFFFF)
}

/// Kafka's TransactionState (without Dead: ids never expire in a run).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum TxnState {
    Empty,
    Ongoing,
    PrepareCommit,
    PrepareAbort,
    CompleteCommit,
    CompleteAbort,
}

impl TxnState {
    pub fn is_prepare(self) -> bool {
        matches!(self, TxnState::PrepareCommit | TxnState::PrepareAbort)
    }

    pub fn name(self) -> &'static str {
        match self {
            TxnState::Empty => "Empty",
            TxnState::Ongoing => "Ongoing",
            TxnState::PrepareCommit => "PrepareCommit",
            TxnState::PrepareAbort => "PrepareAbort",
            TxnState::CompleteCommit => "CompleteCommit",
            TxnState::CompleteAbort => "CompleteAbort",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn producer_ids_name_their_transactional_id_across_generations() {
        let p = first_pid(7);
        assert_eq!(txn_of(p), Some(7));
        let q = next_pid(p);
        assert_ne!(p, q);
        assert_eq!(txn_of(q), Some(7));
        assert_eq!(txn_of(5 << 16), None, "a producer instance is not a transactional id");
        assert_eq!(txn_of(u32::MAX), None);
    }
}
