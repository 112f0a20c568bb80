//! One small stable sort for the WebAssembly build. The standard library's sorts
//! are fast but each call site instantiates tens of kilobytes of WebAssembly;
//! here the algorithm (a merge sort of indices) is compiled once, behind `dyn`,
//! and each call site adds only a comparison closure and a permutation. Natively
//! `SortSmall` is the standard stable sort (speed matters there, size does not);
//! both are stable, so they give the same order.

use std::cmp::Ordering;

#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
/// The stable sorted order of `n` items: `perm[i]` is the index of the item that goes to `i`.
fn sorted_order(n: usize, cmp: &mut dyn FnMut(usize, usize) -> Ordering) -> Vec<usize> {
    let mut a: Vec<usize> = (0..n).collect();
    let mut b = vec![0usize; n];
    let mut width = 1;
    while width < n {
        let mut lo = 0;
        while lo < n {
            let mid = (lo + width).min(n);
            let hi = (lo + 2 * width).min(n);
            let (mut i, mut j, mut k) = (lo, mid, lo);
            while i < mid && j < hi {
                // Take from the right only when strictly smaller: stable.
                if cmp(a[j], a[i]) == Ordering::Less {
                    b[k] = a[j];
                    j += 1;
                } else {
                    b[k] = a[i];
                    i += 1;
                }
                k += 1;
            }
            b[k..k + (mid - i)].copy_from_slice(&a[i..mid]);
            k += mid - i;
            b[k..k + (hi - j)].copy_from_slice(&a[j..hi]);
            lo = hi;
        }
        std::mem::swap(&mut a, &mut b);
        width *= 2;
    }
    a
}

#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
/// Rearranges `v` so that `v[i]` becomes the old `v[perm[i]]`.
fn apply<T>(v: &mut [T], perm: &[usize]) {
    let mut done = vec![false; v.len()];
    for start in 0..v.len() {
        if done[start] {
            continue;
        }
        let mut j = start;
        loop {
            done[j] = true;
            let k = perm[j];
            if k == start {
                break;
            }
            v.swap(j, k);
            j = k;
        }
    }
}

pub trait SortSmall<T> {
    fn sort_small_by(&mut self, cmp: impl FnMut(&T, &T) -> Ordering);
    fn sort_small_by_key<K: Ord>(&mut self, mut key: impl FnMut(&T) -> K) {
        self.sort_small_by(|a, b| key(a).cmp(&key(b)));
    }
    fn sort_small(&mut self)
    where
        T: Ord,
    {
        self.sort_small_by(T::cmp);
    }
}

#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
/// The small merge sort (stable).
fn small_sort_by<T>(v: &mut [T], mut cmp: impl FnMut(&T, &T) -> Ordering) {
    if v.len() < 2 {
        return;
    }
    let perm = {
        let r: &[T] = v;
        sorted_order(r.len(), &mut |i, j| cmp(&r[i], &r[j]))
    };
    apply(v, &perm);
}

impl<T> SortSmall<T> for [T] {
    #[cfg(target_arch = "wasm32")]
    fn sort_small_by(&mut self, cmp: impl FnMut(&T, &T) -> Ordering) {
        small_sort_by(self, cmp);
    }

    #[cfg(not(target_arch = "wasm32"))]
    fn sort_small_by(&mut self, cmp: impl FnMut(&T, &T) -> Ordering) {
        self.sort_by(cmp);
    }
}

/// `collect()` into a `BTreeMap` sorts first (another sort instantiated per
/// call site); inserting one by one gives the same map with code already there.
pub fn map_from<K: Ord, V>(items: impl IntoIterator<Item = (K, V)>) -> std::collections::BTreeMap<K, V> {
    let mut m = std::collections::BTreeMap::new();
    for (k, v) in items {
        m.insert(k, v);
    }
    m
}

/// `collect()` into a `BTreeSet`, without the sort: see `map_from`.
pub fn set_from<K: Ord>(items: impl IntoIterator<Item = K>) -> std::collections::BTreeSet<K> {
    let mut s = std::collections::BTreeSet::new();
    for k in items {
        s.insert(k);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::small_sort_by;

    /// The wasm build's sort gives exactly the standard stable sort's order.
    #[test]
    fn matches_the_standard_stable_sort() {
        let mut rng = crate::sim::SimRng::stream(7, "sort-test");
        for n in [0usize, 1, 2, 3, 7, 16, 17, 100, 1000] {
            let v: Vec<(u32, u32)> = (0..n).map(|i| (rng.range(0, 10) as u32, i as u32)).collect();
            let (mut a, mut b) = (v.clone(), v.clone());
            a.sort_by_key(|x| x.0);
            small_sort_by(&mut b, |x, y| x.0.cmp(&y.0));
            assert_eq!(a, b, "n = {n}");
            let (mut a, mut b) = (v.clone(), v);
            a.sort_unstable();
            small_sort_by(&mut b, |x, y| x.cmp(y));
            assert_eq!(a, b);
        }
    }
}
