//! The recommender: online item-to-item collaborative filtering. Each event
//! (user, item) strengthens the co-occurrence of the item with the user's recent
//! items; a user's top-N list sums the co-occurrence rows of their recent items.
//! Evaluation is prequential and honest about freshness: the list the user saw
//! when the event happened is built only from events the group had processed by
//! then, so a lagging group serves stale lists (or, for a user it knows nothing
//! recent about, the most popular items). The co-occurrence counts used are the
//! current ones, a small simplification. The most-popular baseline is evaluated
//! on the same events.

use super::workload::{Behavior, EventKind, ITEMS};
use crate::sim::{Micros, MS, SEC};
use std::collections::{BTreeMap, VecDeque};

pub const TOP_N: usize = 10;
/// Recent items remembered per user.
const RECENT: usize = 8;
const WINDOW_SECS: u64 = 30;
/// The popular list is recomputed this often (events), as a serving cache would.
const POPULAR_REFRESH: u32 = 200;

#[derive(Debug, Clone, Copy, Default)]
struct Recent {
    items: [u16; RECENT],
    /// When the group processed each (ms of simulated time).
    at_ms: [u32; RECENT],
    len: u8,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    second: u64,
    evaluated: u64,
    hits: u64,
    baseline_hits: u64,
}

#[derive(Debug, Clone)]
pub struct RecModel {
    co: Vec<u32>,
    popularity: Vec<u64>,
    popular: [u16; TOP_N],
    popular_age: u32,
    users: BTreeMap<u32, Recent>,
    pub recommendations: u64,
    pub evaluated: u64,
    pub hits: u64,
    pub baseline_hits: u64,
    /// Events evaluated with a list built from the user's own recent items (not the fallback).
    pub personalised: u64,
    window: VecDeque<Bucket>,
}

impl Default for RecModel {
    fn default() -> Self {
        RecModel {
            co: vec![0; ITEMS * ITEMS],
            popularity: vec![0; ITEMS],
            popular: std::array::from_fn(|i| i as u16),
            popular_age: 0,
            users: BTreeMap::new(),
            recommendations: 0,
            evaluated: 0,
            hits: 0,
            baseline_hits: 0,
            personalised: 0,
            window: VecDeque::new(),
        }
    }
}

fn weight(kind: EventKind) -> u32 {
    match kind {
        EventKind::View => 1,
        EventKind::Click => 2,
        EventKind::Purchase => 4,
    }
}

/// The n best indices by score, ties to the lower index: deterministic.
fn top_n(scores: &[u64]) -> [u16; TOP_N] {
    let mut best: [(u64, u16); TOP_N] = [(0, u16::MAX); TOP_N];
    for (i, &s) in scores.iter().enumerate() {
        if s == 0 {
            continue;
        }
        if s > best[TOP_N - 1].0 {
            let mut k = TOP_N - 1;
            while k > 0 && best[k - 1].0 < s {
                best[k] = best[k - 1];
                k -= 1;
            }
            best[k] = (s, i as u16);
        }
    }
    best.map(|b| b.1)
}

impl RecModel {
    fn refresh_popular(&mut self) {
        self.popular = top_n(&self.popularity);
        self.popular_age = 0;
    }

    /// The list this user was being served at `at` (from what the group had processed by then).
    fn served(&self, user: u32, at: Micros) -> Option<[u16; TOP_N]> {
        let r = self.users.get(&user)?;
        let at_ms = (at / MS) as u32;
        let mut scores = [0u64; ITEMS];
        let mut any = false;
        for k in 0..r.len as usize {
            if r.at_ms[k] > at_ms {
                continue;
            }
            any = true;
            let row = &self.co[r.items[k] as usize * ITEMS..][..ITEMS];
            for (s, &c) in scores.iter_mut().zip(row) {
                *s += u64::from(c);
            }
        }
        if !any {
            return None;
        }
        let list = top_n(&scores);
        (list[0] != u16::MAX).then_some(list)
    }

    /// One event processed at `at`, produced at `created`. `first` is false for a
    /// re-processing: the model updates again (at least once) but metrics count once.
    pub fn process(&mut self, e: &Behavior, first: bool, at: Micros, created: Micros) {
        if first {
            let personal = self.served(e.user, created);
            let list = personal.unwrap_or(self.popular);
            let hit = list.contains(&e.item);
            let baseline = self.popular.contains(&e.item);
            self.evaluated += 1;
            self.hits += u64::from(hit);
            self.baseline_hits += u64::from(baseline);
            self.personalised += u64::from(personal.is_some());
            let second = at / SEC;
            if self.window.back().is_none_or(|b| b.second < second) {
                self.window.push_back(Bucket {
                    second,
                    evaluated: 0,
                    hits: 0,
                    baseline_hits: 0,
                });
                while self.window.front().is_some_and(|b| b.second + WINDOW_SECS <= second) {
                    self.window.pop_front();
                }
            }
            let b = self.window.back_mut().expect("pushed above");
            b.evaluated += 1;
            b.hits += u64::from(hit);
            b.baseline_hits += u64::from(baseline);
        }
        // Learn: co-occurrence with the user's recent items, then remember the event.
        let w = weight(e.kind);
        let i = e.item as usize;
        let r = self.users.entry(e.user).or_default();
        for k in 0..r.len as usize {
            let j = r.items[k] as usize;
            if j != i {
                self.co[i * ITEMS + j] += w;
                self.co[j * ITEMS + i] += w;
            }
        }
        let at_ms = (at / MS) as u32;
        if let Some(k) = r.items[..r.len as usize].iter().position(|&x| x == e.item) {
            r.items[k..r.len as usize].rotate_left(1);
            r.at_ms[k..r.len as usize].rotate_left(1);
            r.len -= 1;
        }
        if r.len as usize == RECENT {
            r.items.rotate_left(1);
            r.at_ms.rotate_left(1);
            r.len -= 1;
        }
        r.items[r.len as usize] = e.item;
        r.at_ms[r.len as usize] = at_ms;
        r.len += 1;
        self.popularity[i] += u64::from(w);
        self.popular_age += 1;
        if self.popular_age >= POPULAR_REFRESH {
            self.refresh_popular();
        }
        // The user's new list is what the application writes out.
        self.recommendations += 1;
    }

    pub fn hit_rate(&self) -> Option<f64> {
        super::fraud::ratio(self.hits, self.evaluated)
    }

    pub fn baseline_hit_rate(&self) -> Option<f64> {
        super::fraud::ratio(self.baseline_hits, self.evaluated)
    }

    /// (hit rate, baseline hit rate) over the last 30 s of processing.
    pub fn window_hit_rates(&self) -> (Option<f64>, Option<f64>) {
        let (e, h, b) = self
            .window
            .iter()
            .fold((0, 0, 0), |a, x| (a.0 + x.evaluated, a.1 + x.hits, a.2 + x.baseline_hits));
        (super::fraud::ratio(h, e), super::fraud::ratio(b, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ml::workload::behavior;

    #[test]
    fn item_cf_beats_most_popular_on_a_fresh_stream() {
        let users: Vec<u32> = (0..300).collect();
        let mut m = RecModel::default();
        for s in 0..60_000u64 {
            let e = behavior(4, 0, 0, s, &users, 20_000);
            m.process(&e, true, s * 1000 + 1, s * 1000);
        }
        let (cf, pop) = (m.hit_rate().unwrap(), m.baseline_hit_rate().unwrap());
        assert!(cf > pop + 0.1, "cf {cf} popular {pop}");
    }
}
