//! Engine speed around a big group's rebalances: 100 members on 1,000
//! partitions; a member joins at 20 s and one crashes at 35 s (noticed 45 s later).
//! `cargo run --release --example rebalance_speed [records_per_sec]`
use kafka_sim::{Scenario, Simulation};
use std::time::Instant;

fn main() {
    let rate: u64 = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(50_000);
    let mut s = Scenario::from_json(include_str!("../scenarios/bench-group.json")).expect("valid");
    s.producers[0].records_per_sec = rate;
    s.duration_ms = 90_000;
    let mut sim = Simulation::new(&s);
    let mut last = 0u64;
    for (label, until_s) in [
        ("startup + initial join", 20),
        ("member joins (rebalance)", 30),
        ("steady", 35),
        ("crash, session timeout", 90),
    ] {
        let t = Instant::now();
        sim.run_until(until_s * 1_000_000);
        let wall = t.elapsed().as_secs_f64();
        println!(
            "{rate:>6} rec/s  {label:<26} {:>3}-{:<3} s simulated: {:>6.1}x real time",
            last,
            until_s,
            (until_s - last) as f64 / wall
        );
        last = until_s;
    }
    let r = &sim.groups()[0];
    println!(
        "        rebalances: {}, consumed {}, redelivered {}",
        r.history.len(),
        r.consumed,
        r.redelivered
    );
}
