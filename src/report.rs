//! What a finished (or paused) run reports: the `kafka-sim run` summary (a
//! contract: keep these names) and the metric series as CSV. Shared by the CLI
//! and the browser, so both print the same numbers.

use crate::sim::MS;
use crate::Simulation;

/// The `kafka-sim run` summary (a contract: keep these names). Scenarios with
/// processors (issue 8) also get `model`: one object per such group, by group id;
/// scenarios with share groups get `share`, the same way.
pub fn summary(sim: &Simulation) -> serde_json::Value {
    let mut v = base_summary(sim);
    let mut share = serde_json::Map::new();
    for g in sim.groups() {
        if let Some(s) = &g.share {
            let per_member: serde_json::Map<String, serde_json::Value> = s.per_member.iter().map(|(m, n)| (m.to_string(), (*n).into())).collect();
            share.insert(
                g.id.clone(),
                serde_json::json!({
                    "delivered": s.delivered,
                    "acknowledged": s.acknowledged,
                    "redelivered": s.redelivered,
                    "archived": s.archived,
                    "members_consuming": s.per_member.values().filter(|n| **n > 0).count(),
                    "consumed_per_member": per_member,
                }),
            );
        }
    }
    if !share.is_empty() {
        v["share"] = serde_json::Value::Object(share);
    }
    let mut eos = serde_json::Map::new();
    for (g, guarantee, counts) in sim.eos_counts() {
        // None: retention deleted records the audit needs, it cannot tell.
        let mut value = match counts {
            Some(c) => serde_json::to_value(c).unwrap_or_default(),
            None => serde_json::json!({ "audited": false }),
        };
        value["processing_guarantee"] = guarantee.as_str().into();
        eos.insert(sim.groups()[g].id.clone(), value);
    }
    if !eos.is_empty() {
        v["eos"] = serde_json::Value::Object(eos);
    }
    let mut models = serde_json::Map::new();
    for (g, m) in sim.models() {
        models.insert(sim.groups()[g].id.clone(), m.summary());
    }
    if !models.is_empty() {
        v["model"] = serde_json::Value::Object(models);
    }
    v
}

fn base_summary(sim: &Simulation) -> serde_json::Value {
    let m = sim.metrics();
    let c = sim.counters();
    let audit = sim.audit_report();
    let (offline_us, unavailable_us) = sim.partition_time_us();
    let (internal_offline_us, internal_unavailable_us) = sim.internal_partition_time_us();
    let ms = |us: u64| us as f64 / 1000.0;
    let mut final_lag = serde_json::Map::new();
    for (i, g) in sim.groups().iter().enumerate() {
        final_lag.insert(g.id.clone(), serde_json::Value::from(sim.group_lag(i)));
    }
    let mut reasons = serde_json::Map::new();
    for (r, n) in &audit.by_reason {
        reasons.insert(r.key().to_string(), (*n).into());
    }
    let txns = sim.transactions_audit();
    let (committed, aborted, timed_out) = txns.counts();
    let aborted_read = txns.aborted_read();
    let mut aborted_records_read = serde_json::Map::new();
    for (i, g) in sim.groups().iter().enumerate() {
        aborted_records_read.insert(g.id.clone(), aborted_read.get(&(i as u32)).copied().unwrap_or(0).into());
    }
    let mut acks0_reasons = serde_json::Map::new();
    for (r, n) in &audit.acks0_by_reason {
        acks0_reasons.insert(r.key().to_string(), (*n).into());
    }
    serde_json::json!({
        "seed": sim.scenario().seed,
        "simulated_ms": sim.now_us() / MS,
        "produced": m.total_produced,
        "acked": m.total_acked,
        "failed": c.failed_records,
        "errors": c.errors,
        "acked_lost": audit.lost,
        "loss_reasons": reasons,
        "acks0_lost": audit.acks0_lost,
        "acks0_loss_reasons": acks0_reasons,
        "group_errors": c.group_errors,
        "replication_errors": c.replication_errors,
        "duplicates": audit.duplicates,
        "leader_elections": c.leader_elections,
        "unclean_elections": c.unclean_elections,
        "offline_partition_ms": offline_us / MS,
        "unavailable_partition_ms": unavailable_us / MS,
        "internal_offline_partition_ms": internal_offline_us / MS,
        "internal_unavailable_partition_ms": internal_unavailable_us / MS,
        "latency_ms": {
            "produce_p50": ms(m.produce_quantile_us(0.5)),
            "produce_p99": ms(m.produce_quantile_us(0.99)),
            "produce_p999": ms(m.produce_quantile_us(0.999)),
            "e2e_p50": ms(m.e2e_quantile_us(0.5)),
            "e2e_p99": ms(m.e2e_quantile_us(0.99)),
        },
        "consumed": sim.groups().iter().map(|g| g.consumed).sum::<u64>(),
        "redelivered": sim.groups().iter().map(|g| g.redelivered).sum::<u64>(),
        "final_lag": final_lag,
        "rebalances": sim.groups().iter().flat_map(|g| g.history.iter()).map(|r| serde_json::json!({
            "group": r.group,
            "generation": r.generation,
            "cause": r.cause,
            "started_ms": ms(r.started_us),
            "completed_ms": r.completed_us.map(ms),
            "moved_partitions": r.moved_partitions,
            "revoked_partitions": r.revoked_partitions,
            "paused_partition_ms": ms(r.paused_partition_us),
        })).collect::<Vec<_>>(),
        "transactions": {
            "committed": committed,
            "aborted": aborted,
            "fenced": txns.fenced.len(),
            "timed_out": timed_out,
        },
        "aborted_records_read": aborted_records_read,
        "invariant_violations": sim.invariants().violations,
        "fingerprint": sim.fingerprint(),
    })
}

/// One row per closed interval.
pub fn series_csv(sim: &Simulation) -> String {
    let mut out = String::from(
        "t_ms,produced,acked,acked_bytes,failed,consumed,produce_p50_us,produce_p99_us,produce_p999_us,e2e_p50_us,e2e_p99_us,under_replicated,offline,unavailable,in_flight,lag\n",
    );
    let ml = sim.models().next().is_some();
    if ml {
        // One model per row: the first group with a processor (the rest are in the summary).
        out.pop();
        out.push_str(",model_auc,model_precision,model_recall,detection_p50_us,detection_p99_us,model_hit_rate,model_baseline_hit_rate\n");
    }
    for p in &sim.metrics().points {
        out.push_str(&format!(
            "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}\n",
            p.t_ms,
            p.produced,
            p.acked,
            p.acked_bytes,
            p.failed,
            p.consumed,
            p.produce_p50_us,
            p.produce_p99_us,
            p.produce_p999_us,
            p.e2e_p50_us,
            p.e2e_p99_us,
            p.under_replicated,
            p.offline,
            p.unavailable,
            p.in_flight,
            p.lag
        ));
        if ml {
            let f = |x: Option<f64>| x.map_or(String::new(), |x| format!("{x:.4}"));
            let m = p.models.first().cloned().unwrap_or_default();
            out.pop();
            out.push_str(&format!(
                ",{},{},{},{},{},{},{}\n",
                f(m.auc),
                f(m.precision),
                f(m.recall),
                m.detection_p50_us,
                m.detection_p99_us,
                f(m.hit_rate),
                f(m.baseline_hit_rate)
            ));
        }
    }
    out
}
