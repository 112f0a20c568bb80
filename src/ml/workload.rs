//! Seeded workload generators. A record's content is a pure function of the run
//! seed and the record's identity (producer, partition, per-partition sequence),
//! so the log stores no payloads and a record read twice (after a crash) reads
//! the same. Users are the producer's keys (`key-N`), so a user's records all go
//! to the partition murmur2 picks for its key, as with a real keyed producer.

use crate::kafka::partitioner;

/// SplitMix64: a tiny generator seeded by hashing a record's identity.
#[derive(Clone, Copy, Debug)]
pub struct Gen(u64);

fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl Gen {
    pub fn new(parts: &[u64]) -> Gen {
        let mut h = 0x243f_6a88_85a3_08d3u64;
        for &p in parts {
            h = mix(h ^ p).wrapping_add(0x9e37_79b9_7f4a_7c15);
        }
        Gen(h)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        mix(self.0)
    }

    /// Uniform in [0, 1): 53 random bits, exact on every platform.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n.max(1))) >> 64) as u64
    }

    /// Roughly standard normal (Irwin-Hall of 4 uniforms): only + - * /, so portable.
    pub fn normal(&mut self) -> f64 {
        let s = self.unit() + self.unit() + self.unit() + self.unit();
        (s - 2.0) * 1.732_050_807_568_877_2
    }

    pub fn chance(&mut self, per_mille: u64) -> bool {
        self.below(1000) < per_mille
    }
}

/// The users (key numbers) whose key murmur2 sends to each partition.
pub fn users_by_partition(keys: u32, partitions: u32) -> Vec<Vec<u32>> {
    let mut out = vec![Vec::new(); partitions as usize];
    for k in 0..keys {
        out[partitioner::partition_for_key(format!("key-{k}").as_bytes(), partitions) as usize].push(k);
    }
    out
}

fn record_gen(seed: u64, producer: u32, part: u32, seq: u64, salt: u64) -> Gen {
    Gen::new(&[seed, salt, u64::from(producer), u64::from(part), seq])
}

fn pick_user(g: &mut Gen, users: &[u32]) -> u32 {
    if users.is_empty() {
        0
    } else {
        users[g.below(users.len() as u64) as usize]
    }
}

// ---- card transactions --------------------------------------------------------

pub const CATEGORIES: [&str; 8] = ["grocery", "restaurant", "fuel", "retail", "travel", "electronics", "online", "gift_cards"];
/// Fraud share: 20 per mille of transactions.
pub const FRAUD_PER_MILLE: u64 = 20;
const TYPICAL_AMOUNTS: [f64; 7] = [8.0, 15.0, 25.0, 40.0, 60.0, 90.0, 150.0];
const COUNTRIES: u64 = 12;

/// One card transaction, with its ground truth.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Transaction {
    pub user: u32,
    pub amount: f64,
    pub category: u8,
    pub country: u8,
    /// The cardholder's local hour, 0..24.
    pub hour: u8,
    pub fraud: bool,
    // User history, as a feature store would serve it:
    pub home_country: u8,
    pub typical_amount: f64,
    /// Bit i set: the user often buys in category i.
    pub usual_categories: u8,
}

struct Profile {
    home: u8,
    typical: f64,
    usual: u8,
}

fn profile(seed: u64, user: u32) -> Profile {
    let mut g = Gen::new(&[seed, 0x05e2, u64::from(user)]);
    let home = if g.chance(600) { 0 } else { g.below(COUNTRIES) as u8 };
    let typical = TYPICAL_AMOUNTS[g.below(TYPICAL_AMOUNTS.len() as u64) as usize];
    let a = g.below(5) as u8;
    let b = g.below(5) as u8;
    let mut usual = (1 << a) | (1 << b);
    if g.chance(500) {
        usual |= 1 << 6;
    }
    Profile { home, typical, usual }
}

/// Fraud follows learnable patterns: unusually large amounts for the user, foreign
/// countries, risky categories (electronics, online, gift cards, travel), night hours.
pub fn transaction(seed: u64, producer: u32, part: u32, seq: u64, users: &[u32]) -> Transaction {
    let mut g = record_gen(seed, producer, part, seq, 0x7a);
    let user = pick_user(&mut g, users);
    let p = profile(seed, user);
    let fraud = g.chance(FRAUD_PER_MILLE);
    let (log_ratio, foreign, category, night) = if fraud {
        let risky = [4u8, 5, 6, 7];
        let cat = if g.chance(750) { risky[g.below(4) as usize] } else { g.below(8) as u8 };
        (1.2 + 0.8 * g.normal(), g.chance(600), cat, g.chance(500))
    } else {
        let cat = if g.chance(850) {
            let k = g.below(u64::from(p.usual.count_ones()));
            (0..8u8).filter(|i| p.usual & (1 << i) != 0).nth(k as usize).unwrap_or(0)
        } else {
            g.below(8) as u8
        };
        (0.6 * g.normal(), g.chance(40), cat, g.chance(70))
    };
    let country = if foreign {
        ((u64::from(p.home) + 1 + g.below(COUNTRIES - 1)) % COUNTRIES) as u8
    } else {
        p.home
    };
    let hour = if night { g.below(6) as u8 } else { 6 + g.below(18) as u8 };
    let amount = (p.typical * libm::exp(log_ratio) * 100.0).round() / 100.0;
    Transaction {
        user,
        amount: amount.max(0.01),
        category,
        country,
        hour,
        fraud,
        home_country: p.home,
        typical_amount: p.typical,
        usual_categories: p.usual,
    }
}

// ---- user behaviour -------------------------------------------------------------

pub const ITEMS: usize = 200;
pub const CLUSTERS: usize = 10;
const PER_CLUSTER: usize = ITEMS / CLUSTERS;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    View,
    Click,
    Purchase,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Behavior {
    pub user: u32,
    pub item: u16,
    pub kind: EventKind,
}

/// Zipf-like choice of rank 0..n with weights 1/(rank+1), by inversion.
fn zipf(g: &mut Gen, n: usize) -> usize {
    let total: f64 = (1..=n).map(|k| 1.0 / k as f64).sum();
    let mut x = g.unit() * total;
    for k in 0..n {
        x -= 1.0 / (k + 1) as f64;
        if x < 0.0 {
            return k;
        }
    }
    n - 1
}

/// Users have latent tastes that drift: each session (about `session_records` of
/// the partition's records) a user is interested in one cluster of similar items,
/// drawn from two favourite clusters most of the time. 75% of events are in the
/// session's cluster (popular items in it more often), the rest anywhere.
pub fn behavior(seed: u64, producer: u32, part: u32, seq: u64, users: &[u32], session_records: u64) -> Behavior {
    let mut g = record_gen(seed, producer, part, seq, 0xb7);
    let user = pick_user(&mut g, users);
    let mut ug = Gen::new(&[seed, 0x05e3, u64::from(user)]);
    let favourites = [ug.below(CLUSTERS as u64), ug.below(CLUSTERS as u64)];
    let phase = ug.below(session_records.max(1));
    let session = (seq + phase) / session_records.max(1);
    let mut sg = Gen::new(&[seed, 0x5e55, u64::from(user), session]);
    let cluster = if sg.chance(700) {
        favourites[sg.below(2) as usize]
    } else {
        sg.below(CLUSTERS as u64)
    } as usize;
    let item = if g.chance(750) {
        cluster * PER_CLUSTER + zipf(&mut g, PER_CLUSTER)
    } else {
        // Anywhere, with a global popularity skew: popular clusters and items first.
        zipf(&mut g, CLUSTERS) * PER_CLUSTER + zipf(&mut g, PER_CLUSTER)
    };
    let r = g.below(100);
    let kind = if r < 80 {
        EventKind::View
    } else if r < 95 {
        EventKind::Click
    } else {
        EventKind::Purchase
    };
    Behavior { user, item: item as u16, kind }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_are_pure_functions_of_their_identity() {
        let users = vec![1, 5, 9];
        assert_eq!(transaction(7, 0, 2, 99, &users), transaction(7, 0, 2, 99, &users));
        assert_ne!(transaction(7, 0, 2, 99, &users), transaction(7, 0, 2, 100, &users));
        assert_eq!(behavior(7, 0, 2, 99, &users, 100), behavior(7, 0, 2, 99, &users, 100));
    }

    #[test]
    fn fraud_is_a_small_share() {
        let users: Vec<u32> = (0..100).collect();
        let frauds = (0..20_000).filter(|&s| transaction(3, 0, 0, s, &users).fraud).count();
        assert!((250..550).contains(&frauds), "{frauds}");
    }
}
