//! Seeded, portable randomness. One run seed is forked into independent named
//! streams (`"network"`, `"producer/p1"`, ...), so adding a producer does not
//! shift the faults. PCG is specified bit for bit, unlike `StdRng`.

use rand::{Rng, RngCore};
use rand_pcg::Pcg64;

/// FNV-1a, 64 bit: the fixed hash for stream names and the trace fingerprint.
/// Callers feed fixed-width integers, never `usize`, so wasm32 and x86_64 agree.
#[derive(Clone, Copy, Debug)]
pub struct Fnv64(u64);

impl Default for Fnv64 {
    fn default() -> Self {
        Fnv64(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv64 {
    pub fn bytes(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    pub fn u64(&mut self, v: u64) {
        self.bytes(&v.to_le_bytes());
    }
    pub fn u32(&mut self, v: u32) {
        self.bytes(&v.to_le_bytes());
    }
    pub fn i64(&mut self, v: i64) {
        self.bytes(&v.to_le_bytes());
    }
    pub fn str(&mut self, s: &str) {
        self.u32(s.len() as u32);
        self.bytes(s.as_bytes());
    }
    pub fn finish(&self) -> u64 {
        self.0
    }
    pub fn hex(&self) -> String {
        format!("{:016x}", self.0)
    }
}

/// One named random stream.
#[derive(Clone, Debug)]
pub struct SimRng(Pcg64);

impl SimRng {
    pub fn stream(seed: u64, name: &str) -> SimRng {
        let mut h = Fnv64::default();
        h.str(name);
        let name_hash = h.finish();
        let state = (u128::from(seed) << 64) | u128::from(name_hash ^ 0x9e37_79b9_7f4a_7c15);
        let stream = (u128::from(name_hash) << 1) | 1;
        SimRng(Pcg64::new(state, stream))
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }

    /// Uniform in `lo..=hi` (inclusive); `lo` when the range is empty.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        if hi <= lo {
            return lo;
        }
        self.0.random_range(lo..=hi)
    }

    /// True with probability `per_million / 1_000_000`: integer probabilities only.
    pub fn chance_ppm(&mut self, per_million: u32) -> bool {
        self.range(0, 999_999) < u64::from(per_million)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_reproducible_and_independent() {
        let a: Vec<u64> = (0..4)
            .map({
                let mut r = SimRng::stream(7, "net");
                move |_| r.next_u64()
            })
            .collect();
        let b: Vec<u64> = (0..4)
            .map({
                let mut r = SimRng::stream(7, "net");
                move |_| r.next_u64()
            })
            .collect();
        let c: Vec<u64> = (0..4)
            .map({
                let mut r = SimRng::stream(7, "disk");
                move |_| r.next_u64()
            })
            .collect();
        let d: Vec<u64> = (0..4)
            .map({
                let mut r = SimRng::stream(8, "net");
                move |_| r.next_u64()
            })
            .collect();
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_ne!(a, d);
    }

    #[test]
    fn fnv_matches_reference_vector() {
        // FNV-1a 64 of "a" is 0xaf63dc4c8601ec8c (reference value from the FNV spec).
        let mut h = Fnv64::default();
        h.bytes(b"a");
        assert_eq!(h.finish(), 0xaf63_dc4c_8601_ec8c);
    }
}
