//! Views of the engine's snapshot: the cluster (brokers, controllers, replicas
//! with their log bars), the consumer groups, and the event log. Pure functions
//! of the snapshot; every control sends a `Msg` carrying an engine `Action`.

use super::Msg;
use crate::engine::{PartitionView, ReplicaView, Snapshot};
use crate::eventlog::Entry;
use crate::i18n::{tr, trf};
use crate::scenario::Action;
use crate::sim::SortSmall;
use yew::prelude::*;

/// The class that marks what a lesson step talks about.
pub fn spot(highlight: &str, target: &str) -> Option<&'static str> {
    (!highlight.is_empty() && highlight == target).then_some("highlight")
}

/// Member colours for assignments: CSS classes `m0`..`m7`, each a colour per
/// theme that text on the card reads at 4.5:1 (www/style.css), distinct for the colour-blind.
pub const MEMBER_COLOURS: usize = 8;

/// The colour class of consumer number `n`.
pub fn member_class(n: u32) -> String {
    format!("m{}", n as usize % MEMBER_COLOURS)
}

/// What the user clicked for details.
#[derive(Clone, PartialEq, Debug)]
pub enum Selection {
    Partition(String, u32),
    Broker(u32),
    Consumer(String, u32),
}

fn is_internal(topic: &str) -> bool {
    topic.starts_with("__")
}

fn button(link: &yew::html::Scope<super::App>, label: String, text: &str, action: Action) -> Html {
    html! {
        <button class="mini" aria-label={label.clone()} title={label} onclick={link.callback(move |_| Msg::act(action.clone()))}>{ tr(text) }</button>
    }
}

/// A replica as a small log bar: the committed part (below the HW) filled, the
/// uncommitted part (HW..LEO) hatched; leader solid, out-of-sync dashed; a
/// leader on a broker that is down stays leader until the controller fences it.
fn replica_chip(p: &PartitionView, r: &ReplicaView, max_leo: u64, broker_down: bool, on_click: Callback<MouseEvent>, hl: &str) -> Html {
    let leader = p.leader == Some(r.broker);
    let stale = leader && broker_down;
    let width = |v: u64| if max_leo == 0 { 0.0 } else { 100.0 * v as f64 / max_leo as f64 };
    // Below the LSO: stable; LSO..HW: committed but held back by an open transaction.
    let lso = r.lso.min(r.hw);
    let committed = width(lso);
    let unstable = width(r.hw - lso);
    let uncommitted = width(r.leo.saturating_sub(r.hw));
    let state = if stale {
        "leader (broker down, not yet fenced)"
    } else if leader {
        "leader"
    } else if r.in_isr {
        "follower in ISR"
    } else if r.in_elr {
        "eligible leader replica (ELR)"
    } else {
        "follower out of sync"
    };
    let name = format!("{}-{}", p.topic, p.partition);
    let title = trf(
        "{0} on broker {1}: {2}; LEO {3}, HW {4}",
        &[name.clone(), r.broker.to_string(), tr(state), r.leo.to_string(), r.hw.to_string()],
    );
    let target = format!("partition:{name}");
    html! {
        <button class={classes!("replica", leader.then_some("leader"), stale.then_some("stale"), (!r.in_isr).then_some("out-of-sync"), r.in_elr.then_some("eligible"), spot(hl, &target))} data-target={target.clone()}
            title={title.clone()} aria-label={title} onclick={on_click}>
            <span class="rname">{ format!("{}-{}", p.topic, p.partition) }</span>
            <span class="logbar" aria-hidden="true">
                <span class="committed" style={format!("width:{committed:.1}%")}></span>
                if unstable > 0.0 { <span class="unstable" style={format!("width:{unstable:.1}%")}></span> }
                <span class="uncommitted" style={format!("width:{uncommitted:.1}%")}></span>
            </span>
        </button>
    }
}

pub fn cluster(snap: &Snapshot, link: &yew::html::Scope<super::App>, selected: &Option<Selection>, hl: &str) -> Html {
    let parts: Vec<&PartitionView> = snap.partitions.iter().filter(|p| !is_internal(&p.topic)).collect();
    let offline = parts.iter().filter(|p| p.leader.is_none()).count();
    let urp = parts.iter().filter(|p| p.isr.len() < p.replicas.len()).count();
    let controllers = html! {
        <div class={classes!("controllers", spot(hl, "controllers"))} data-target="controllers" aria-label={tr("Controller quorum")}>
            <span class="label">{ trf("KRaft quorum (epoch {0})", &[snap.quorum_epoch.to_string()]) }</span>
            { for snap.controllers.iter().map(|c| {
                let name = format!("c{}", c.id);
                let state = if !c.alive { "down" } else if c.active { "active" } else { "standby" };
                let action = if c.alive { Action::KillController { controller: name.clone() } } else { Action::RestartController { controller: name.clone() } };
                let label = if c.alive { trf("Kill controller {0}", &[&name]) } else { trf("Restart controller {0}", &[&name]) };
                html! {
                    <span class={classes!("controller", state)}>
                        { format!("{name} {}", tr(state)) }
                        { button(link, label, if c.alive { "✕" } else { "↻" }, action) }
                    </span>
                }
            }) }
        </div>
    };
    html! {
        <section class={classes!("card", spot(hl, "cluster"))} data-target="cluster" aria-label={tr("Cluster")}>
            <h2>
                { trf("Cluster: {0} brokers, {1} partitions", &[snap.brokers.len().to_string(), parts.len().to_string()]) }
                if offline > 0 { <span class="badge bad">{ trf("{0} offline", &[offline.to_string()]) }</span> }
                if urp > 0 { <span class="badge warn">{ trf("{0} under-replicated", &[urp.to_string()]) }</span> }
            </h2>
            { controllers }
            if !snap.cuts.is_empty() {
                <p class="cuts" aria-label={tr("Network cuts")}>{ tr("Network cuts:") }{ " " }{ snap.cuts.iter().map(|(a, b)| format!("{a} → {b}")).collect::<Vec<_>>().join(", ") }
                    { button(link, tr("Heal network"), "heal", Action::HealNetwork {}) }</p>
            }
            <div class="brokers">
                { for snap.brokers.iter().map(|b| {
                    let mut state = tr(b.state);
                    if b.fenced && b.state == "up" { state = tr("fenced"); }
                    if b.slow_network_ms > 0 { state.push_str(&format!(" · {}", trf("net +{0} ms", &[b.slow_network_ms.to_string()]))); }
                    if b.slow_disk_ms > 0 { state.push_str(&format!(" · {}", trf("disk +{0} ms", &[b.slow_disk_ms.to_string()]))); }
                    let running = b.state == "up" || b.state == "paused";
                    let id = b.id;
                    let ids = id.to_string();
                    let target = format!("broker:{id}");
                    html! {
                        <div class={classes!("broker", (!running).then_some("down"), (b.fenced && running).then_some("fenced"), (b.state == "paused").then_some("paused"), spot(hl, &target))}
                            data-target={target.clone()} aria-label={trf("Broker {0}", &[&ids])}>
                            <h3><button class="linkish" aria-label={trf("Details of broker {0}", &[&ids])} onclick={link.callback(move |_| Msg::select(Some(Selection::Broker(id))))}>{ trf("Broker {0}", &[&ids]) }</button><span class="state">{ state }</span></h3>
                            <div class="controls">
                                if running {
                                    { button(link, trf("Kill broker {0}", &[&ids]), "kill", Action::KillBroker { broker: id }) }
                                    { button(link, trf("Stop broker {0}", &[&ids]), "stop", Action::StopBroker { broker: id }) }
                                    { button(link, trf("Pause 10 s: broker {0}", &[&ids]), "pause 10 s", Action::PauseBroker { broker: id, for_ms: 10_000 }) }
                                    if b.slow_network_ms > 0 {
                                        { button(link, trf("Restore network: broker {0}", &[&ids]), "restore network", Action::SlowBroker { broker: id, extra_latency_ms: 0 }) }
                                    } else {
                                        { button(link, trf("Slow network: broker {0}", &[&ids]), "slow network", Action::SlowBroker { broker: id, extra_latency_ms: 50 }) }
                                    }
                                    if b.slow_disk_ms > 0 {
                                        { button(link, trf("Restore disk: broker {0}", &[&ids]), "restore disk", Action::SlowDisk { broker: id, extra_ms: 0 }) }
                                    } else {
                                        { button(link, trf("Slow disk: broker {0}", &[&ids]), "slow disk", Action::SlowDisk { broker: id, extra_ms: 20 }) }
                                    }
                                    { button(link, trf("Isolate broker {0}", &[&ids]), "isolate", Action::PartitionNetwork {
                                        from: vec![crate::scenario::NodeName::Broker(id)],
                                        to: snap.brokers.iter().filter(|o| o.id != id).map(|o| crate::scenario::NodeName::Broker(o.id))
                                            .chain(snap.controllers.iter().map(|c| crate::scenario::NodeName::Controller(format!("c{}", c.id)))).collect(),
                                        one_way: false }) }
                                } else {
                                    { button(link, trf("Restart broker {0}", &[&ids]), "restart", Action::RestartBroker { broker: id }) }
                                }
                            </div>
                            <div class="replicas">
                                { for parts.iter().filter_map(|p| p.replicas.iter().find(|r| r.broker == id).map(|r| (p, r))).map(|(p, r)| {
                                    let max_leo = p.replicas.iter().map(|x| x.leo).max().unwrap_or(0);
                                    let key = Selection::Partition(p.topic.clone(), p.partition);
                                    replica_chip(p, r, max_leo, !running, link.callback(move |_| Msg::select(Some(key.clone()))), hl)
                                }) }
                            </div>
                        </div>
                    }
                }) }
            </div>
            { legend(parts.first().map_or_else(|| "t-0".to_string(), |p| format!("{}-{}", p.topic, p.partition)), snap.producers.iter().any(|p| p.transaction.is_some())) }
            { partition_details(&parts, selected, link) }
            { broker_details(snap, &parts, selected, link) }
        </section>
    }
}

/// What the chips' looks mean, each with a sample drawn as the chips are.
fn legend(sample: String, transactions: bool) -> Html {
    let bar = |committed: u32, uncommitted: u32| {
        html! {
            <span class="logbar" aria-hidden="true">
                <span class="committed" style={format!("width:{committed}%")}></span>
                <span class="uncommitted" style={format!("width:{uncommitted}%")}></span>
            </span>
        }
    };
    let chip = |class: &'static str, text: &str| {
        html! { <li><span class={classes!("replica", "sample", class)}><span class="rname">{ sample.clone() }</span>{ bar(70, 20) }</span>{ " " }{ tr(text) }</li> }
    };
    html! {
        <ul class="legend" aria-label={tr("What the replica chips show")}>
            <li><span class="logbar sample" aria-hidden="true"><span class="committed" style="width:100%"></span></span>{ " " }{ tr("committed (below the HW)") }</li>
            if transactions {
                <li><span class="logbar sample" aria-hidden="true"><span class="unstable" style="width:100%"></span></span>{ " " }{ tr("held back by an open transaction (LSO to HW): read_committed consumers wait") }</li>
            }
            <li><span class="logbar sample" aria-hidden="true"><span class="uncommitted" style="width:100%"></span></span>{ " " }{ tr("uncommitted (HW to LEO)") }</li>
            { chip("leader", "leader") }
            { chip("", "follower in ISR") }
            { chip("out-of-sync", "out of sync") }
            { chip("out-of-sync eligible", "eligible leader replica (ELR)") }
            { chip("leader stale", "leader (broker down, not yet fenced)") }
        </ul>
    }
}

fn broker_details(snap: &Snapshot, parts: &[&PartitionView], selected: &Option<Selection>, link: &yew::html::Scope<super::App>) -> Html {
    let Some(Selection::Broker(id)) = selected else { return html! {} };
    let Some(b) = snap.brokers.iter().find(|b| b.id == *id) else {
        return html! {};
    };
    let led: Vec<String> = parts
        .iter()
        .filter(|p| p.leader == Some(b.id))
        .map(|p| format!("{}-{}", p.topic, p.partition))
        .collect();
    // The counts include the internal `__consumer_offsets` partitions, which the cluster view does not draw.
    let internal = snap.partitions.iter().filter(|p| is_internal(&p.topic));
    let internal_replicas = internal.clone().filter(|p| p.replicas.iter().any(|r| r.broker == b.id)).count();
    let internal_leads = internal.filter(|p| p.leader == Some(b.id)).count();
    let behind: Vec<String> = parts
        .iter()
        .filter(|p| p.replicas.iter().any(|r| r.broker == b.id) && !p.isr.contains(&b.id))
        .map(|p| format!("{}-{}", p.topic, p.partition))
        .collect();
    html! {
        <div class="details" role="region" aria-label={trf("Broker {0} details", &[b.id.to_string()])}>
            <strong>{ trf("Broker {0}", &[b.id.to_string()]) }</strong>
            { " · " }{ tr(b.state) }{ if b.fenced { format!(" ({})", tr("fenced by the controller")) } else { String::new() } }
            { " · " }{ trf("{0} replicas ({1} of them __consumer_offsets) · leads {2} ({3} of them __consumer_offsets) · extra network latency {4} ms · extra disk time {5} ms",
                &[b.replicas.to_string(), internal_replicas.to_string(), b.leaders.to_string(), internal_leads.to_string(), b.slow_network_ms.to_string(), b.slow_disk_ms.to_string()]) }
            <div>{ trf("leader of: {0}", &[if led.is_empty() { tr("nothing") } else { led.join(" ") }]) }</div>
            <div>{ trf("out of the ISR for: {0}", &[if behind.is_empty() { tr("nothing") } else { behind.join(" ") }]) }</div>
            <button class="mini" onclick={link.callback(|_| Msg::select(None))}>{ tr("close") }</button>
        </div>
    }
}

fn partition_details(parts: &[&PartitionView], selected: &Option<Selection>, link: &yew::html::Scope<super::App>) -> Html {
    let Some(Selection::Partition(topic, partition)) = selected else {
        return html! {};
    };
    let Some(p) = parts.iter().find(|p| &p.topic == topic && p.partition == *partition) else {
        return html! {};
    };
    html! {
        <div class="details" role="region" aria-label={trf("Partition {0}", &[format!("{}-{}", p.topic, p.partition)])}>
            <strong>{ format!("{}-{}", p.topic, p.partition) }</strong>
            { " " }{ trf("leader {0} · epoch {1} · ISR {2} · min.insync.replicas {3}",
                &[p.leader.map_or(tr("none"), |l| l.to_string()), p.leader_epoch.to_string(), format!("{:?}", p.isr), p.min_isr.to_string()]) }
            <div class="elr">{ if p.elr_enabled {
                trf("eligible leader replicas (ELR) {0} · last known leader {1}", &[format!("{:?}", p.elr), p.last_known_leader.map_or(tr("none"), |l| l.to_string())])
            } else {
                tr("eligible leader replicas off (Kafka 4.0): the last ISR member stays in the ISR")
            } }</div>
            <table>
                <tr><th>{ tr("broker") }</th><th>{ tr("role") }</th><th>{ "LEO" }</th><th>{ "HW" }</th><th>{ "LSO" }</th><th>{ tr("log start") }</th></tr>
                { for p.replicas.iter().map(|r| html! {
                    <tr><td>{ r.broker }</td><td>{ tr(if p.leader == Some(r.broker) { "leader" } else if r.in_isr { "in ISR" } else if r.in_elr { "eligible (ELR)" } else { "out of sync" }) }</td>
                        <td>{ r.leo }</td><td>{ r.hw }</td><td>{ r.lso }</td><td>{ r.log_start }</td></tr>
                }) }
            </table>
            <button class="mini" onclick={link.callback(|_| Msg::select(None))}>{ tr("close") }</button>
        </div>
    }
}

/// Side by side, which run a view shows, after its heading.
fn run_tag(run: &Option<String>) -> Html {
    match run {
        Some(r) => html! { <span class="run-tag">{ r.clone() }</span> },
        None => html! {},
    }
}

pub fn groups(snap: &Snapshot, link: &yew::html::Scope<super::App>, selected: &Option<Selection>, hl: &str, run: Option<String>) -> Html {
    if snap.groups.is_empty() {
        return html! {};
    }
    html! {
        <section class={classes!("card", spot(hl, "groups"))} data-target="groups" aria-label={tr("Consumer groups")}>
            <h2>{ tr("Consumer groups") }{ run_tag(&run) }</h2>
            { for snap.groups.iter().map(|g| {
                let id = g.id.clone();
                let target = format!("group:{id}");
                html! {
                    <div class={classes!("group", spot(hl, &target))} data-target={target.clone()}>
                        <h3>{ trf("{0} · {1} · generation {2} · {3} / {4} · lag {5}", &[g.id.clone(), tr(&format!("{:?}", g.state)), g.generation.to_string(), g.protocol.to_string(), g.assignor.clone(), g.lag.to_string()]) }
                            { button(link, trf("Add consumer to group {0}", &[&id]), "+ consumer", Action::AddConsumer { group: id.clone() }) }</h3>
                        <div class="members">
                            { for g.members.iter().map(|m| {
                                let colour = member_class(m.number);
                                let n = m.number;
                                let running = m.state == "running" || m.state == "paused";
                                let label = |verb: &str| trf(verb, &[n.to_string(), id.clone()]);
                                html! { <>
                                    <div class={classes!("member", colour.clone(), (!m.in_group).then_some("outside"))}>
                                        <button class="mname linkish" aria-label={trf("Details of consumer {0} of group {1}", &[n.to_string(), id.clone()])}
                                            onclick={{ let sel = Selection::Consumer(id.clone(), n); link.callback(move |_| Msg::select(Some(sel.clone()))) }}>{ trf("consumer {0}", &[n.to_string()]) }</button>
                                        <span class="state">{ tr(m.state) }{ if m.in_group { String::new() } else { format!(" · {}", tr("not in group")) } }</span>
                                        <span class="parts">{ m.assigned.iter().map(|(t, p)| format!("{t}-{p}")).collect::<Vec<_>>().join(" ") }</span>
                                        if g.share.is_some() {
                                            <span class="acquired" title={tr("Records locked to this member until it acknowledges them or the lock expires")}>{ trf("holds {0} acquired", &[m.acquired.to_string()]) }</span>
                                        }
                                        if running {
                                            { button(link, label("Kill consumer {0} of group {1}"), "kill", Action::KillConsumer { group: id.clone(), member: n }) }
                                            { button(link, label("Stop consumer {0} of group {1}"), "stop", Action::StopConsumer { group: id.clone(), member: n }) }
                                            { button(link, label("Pause 20 s: consumer {0} of group {1}"), "pause 20 s", Action::PauseConsumer { group: id.clone(), member: n, for_ms: 20_000 }) }
                                            { rate_select(link, &id, n, m.records_per_sec) }
                                        } else {
                                            { button(link, label("Restart consumer {0} of group {1}"), "restart", Action::RestartConsumer { group: id.clone(), member: n }) }
                                        }
                                    </div>
                                    if *selected == Some(Selection::Consumer(id.clone(), n)) {
                                        <div class="details" role="region" aria-label={trf("Consumer {0} of group {1} details", &[n.to_string(), id.clone()])}>
                                            { trf("member id {0} · group.instance.id {1} · {2} · processes {3} records/s · {4}", &[
                                                if m.member_id.is_empty() { tr("(none yet)") } else { m.member_id.clone() },
                                                m.instance_id.clone().unwrap_or_else(|| tr("none (dynamic member)")), tr(m.state), m.records_per_sec.to_string(),
                                                tr(if m.in_group { "in the current generation" } else { "not in the current generation" })]) }
                                            <button class="mini" onclick={link.callback(|_| Msg::select(None))}>{ tr("close") }</button>
                                        </div>
                                    }
                                </> }
                            }) }
                        </div>
                        if let Some(m) = &g.model { { model_line(m) } }
                        if let Some(sh) = &g.share { { share_line(sh) } }
                        <div class="lagbars" aria-label={trf("Lag per partition of group {0}", &[&id])}>
                            <span class="lag-label">{ tr("Lag per partition (records not yet committed):") }</span>
                            { for g.partition_lag.iter().map(|(t, p, lag)| html! { <span class="lag" title={trf("{0} lag {1}", &[format!("{t}-{p}"), lag.to_string()])}>{ format!("{t}-{p}: {lag}") }</span> }) }
                        </div>
                    </div>
                }
            }) }
        </section>
    }
}

/// A share group's records so far: deliveries, outcomes, and how often records
/// came back (a poison record climbs to the delivery limit, then is archived).
fn share_line(s: &crate::engine::ShareView) -> Html {
    let counts: Vec<String> = s
        .by_delivery_count
        .iter()
        .enumerate()
        .skip(1)
        .filter(|(_, n)| **n > 0)
        .map(|(k, n)| trf("{0}× {1}", &[k.to_string(), n.to_string()]))
        .collect();
    html! {
        <p class="share-line">
            { trf("delivered {0} · acknowledged {1} · redelivered {2} · archived {3}", &[
                s.delivered.to_string(), s.acknowledged.to_string(), s.redelivered.to_string(), s.archived.to_string()]) }
            if !counts.is_empty() {
                <span class="deliveries">{ " · " }{ trf("deliveries per record: {0}", &[counts.join(", ")]) }</span>
            }
        </p>
    }
}

/// What a group's model (issue 8) has done so far, in numbers.
fn model_line(m: &crate::ml::ModelView) -> Html {
    let f = |v: Option<f64>| v.map_or("–".to_string(), |x| format!("{x:.3}"));
    let ms = |v: Option<f64>| {
        v.map_or("–".to_string(), |x| {
            if x >= 1000.0 {
                format!("{:.1} s", x / 1000.0)
            } else {
                format!("{x:.1} ms")
            }
        })
    };
    let text = match m.processor {
        "fraud_lr" => trf(
            "fraud_lr model: AUC {0} · precision {1} · recall {2} · detection p50 {3}, p99 {4} · alerts {5}",
            &[
                f(m.auc),
                f(m.precision),
                f(m.recall),
                ms(m.detection_latency_ms_p50),
                ms(m.detection_latency_ms_p99),
                m.alerts.unwrap_or(0).to_string(),
            ],
        ),
        _ => trf(
            "item_cf model: hit rate@10 {0} (most popular {1}) · recommendations {2}",
            &[f(m.hit_rate_at_10), f(m.baseline_hit_rate_at_10), m.recommendations.unwrap_or(0).to_string()],
        ),
    };
    html! {
        <div class="model" aria-label={tr("Model")}>
            <strong>{ text }</strong>
            <span class="muted">{ " · " }{ trf("scored {0} · scored twice {1} · never scored {2} · {3} µs per record", &[m.scored.to_string(), m.rescored.to_string(), m.unscored.to_string(), m.model_cost_us.to_string()]) }</span>
        </div>
    }
}

/// A consumer's processing rate: slowing one down builds lag (and, past
/// max.poll.interval.ms, gets it removed from the group).
fn rate_select(link: &yew::html::Scope<super::App>, group: &str, member: u32, rate: u64) -> Html {
    let g = group.to_string();
    let on = link.callback(move |e: Event| {
        let v = e.target_unchecked_into::<web_sys::HtmlSelectElement>().value().parse().unwrap_or(1000);
        Msg::act(Action::SetConsumerRate {
            group: g.clone(),
            member,
            records_per_sec: v,
        })
    });
    let mut rates = vec![10u64, 100, 500, 1_000, 1_500, 5_000, 10_000, 50_000];
    if !rates.contains(&rate) {
        rates.push(rate);
        rates.sort_small();
    }
    html! {
        <select class="mini" onchange={on} aria-label={trf("Rate of consumer {0} of group {1}", &[member.to_string(), group.to_string()])} title={tr("records per second this consumer processes")}>
            { for rates.iter().map(|r| html! { <option value={r.to_string()} selected={*r == rate}>{ format!("{r}/s") }</option> }) }
        </select>
    }
}

pub fn event_log(entries: &std::collections::VecDeque<Entry>, filter: &str, link: &yew::html::Scope<super::App>, hl: &str, run: Option<String>) -> Html {
    let on_filter = link.callback(|e: InputEvent| Msg::View(super::ViewMsg::Filter(e.target_unchecked_into::<web_sys::HtmlInputElement>().value())));
    let needle = filter.to_ascii_lowercase();
    let shown: Vec<(u64, String)> = entries
        .iter()
        .rev()
        .filter(|e| !e.what.describe().contains("__consumer_offsets") || needle.contains("__"))
        .map(|e| (e.at_us, tr(&e.what)))
        .filter(|(_, text)| needle.is_empty() || text.to_ascii_lowercase().contains(&needle))
        .take(60)
        .collect();
    html! {
        <section class={classes!("card", spot(hl, "eventlog"))} data-target="eventlog" aria-label={tr("Event log")}>
            <h2>{ tr("Event log") }{ run_tag(&run) }<input class="filter" type="search" placeholder={tr("filter (broker 1, ISR, group…)")} aria-label={tr("Filter events")} value={filter.to_string()} oninput={on_filter} /></h2>
            <ol class="events">
                { for shown.into_iter().map(|(t, text)| html! { <li>
                    <button class="jump" title={tr("Go back to this moment")} aria-label={trf("Go back to {0}", &[crate::sim::fmt_time(t)])}
                        onclick={link.callback(move |_| Msg::rewind(t))}><time>{ crate::sim::fmt_time(t) }</time></button>{ " " }{ text }</li> }) }
            </ol>
        </section>
    }
}

/// A rebalance as a sequence diagram: the coordinator and the members as lanes,
/// each step an arrow (member -> coordinator for join, sync, leave; coordinator ->
/// member for assign and the join result; a self-arrow for a revoke), with its time.
/// `pick`: the group and generation the user chose; by default the most recent
/// rebalance of any group. Buttons step between a group's last three.
pub fn rebalance_timeline(snap: &Snapshot, pick: &Option<(String, i32)>, link: &yew::html::Scope<super::App>, hl: &str, run: Option<String>) -> Html {
    let with_history: Vec<_> = snap.groups.iter().filter(|g| !g.recent_rebalances.is_empty()).collect();
    let latest = || with_history.iter().max_by_key(|g| g.recent_rebalances.last().map(|r| r.started_us)).copied();
    let picked = pick.as_ref().and_then(|(id, generation)| {
        let g = with_history.iter().find(|g| &g.id == id)?;
        let k = g
            .recent_rebalances
            .iter()
            .position(|r| r.generation == *generation)
            .unwrap_or(g.recent_rebalances.len() - 1);
        Some((*g, k))
    });
    let Some((g, k)) = picked.or_else(|| latest().map(|g| (g, g.recent_rebalances.len() - 1))) else {
        return html! {};
    };
    let r = &g.recent_rebalances[k];
    let last = k + 1 == g.recent_rebalances.len();
    let go = |to: Option<usize>| {
        let to = to.and_then(|i| g.recent_rebalances.get(i)).map(|r| (g.id.clone(), r.generation));
        link.callback(move |_| Msg::View(super::ViewMsg::PickRebalance(to.clone())))
    };
    let on_group = link.callback(|e: Event| {
        let id = e.target_unchecked_into::<web_sys::HtmlSelectElement>().value();
        Msg::View(super::ViewMsg::PickRebalance(Some((id, i32::MAX))))
    });
    // Lanes: coordinator first, then members in order of first appearance.
    let mut lanes: Vec<String> = vec!["coordinator".into()];
    for s in &r.steps {
        if s.member != "coordinator" && !lanes.contains(&s.member) {
            lanes.push(s.member.clone());
        }
    }
    let lane_x = |name: &str| -> f64 {
        let i = lanes.iter().position(|l| l == name).unwrap_or(0);
        // The first lane clears the times written at the left ("2994.9 ms").
        76.0 + i as f64 * 100.0
    };
    let steps: Vec<_> = r.steps.iter().take(40).collect();
    let row = 26.0;
    let height = 50.0 + steps.len() as f64 * row;
    let width = 56.0 + lanes.len() as f64 * 100.0;
    let label = |p: &[u32]| -> String {
        let names: Vec<String> = p
            .iter()
            .filter_map(|&i| snap.partitions.get(i as usize).map(|x| format!("{}-{}", x.topic, x.partition)))
            .collect();
        if names.len() > 4 {
            format!("{} … ({})", names[..3].join(" "), names.len())
        } else {
            names.join(" ")
        }
    };
    let title = trf(
        "Rebalance: group {0} generation {1} ({2}), started {3}, {4}",
        &[
            r.group.clone(),
            r.generation.to_string(),
            tr(&r.cause.replace('_', " ")),
            crate::sim::fmt_time(r.started_us),
            match r.completed_us {
                Some(c) => trf("done after {0} ms", &[format!("{:.0}", (c - r.started_us) as f64 / 1000.0)]),
                // A newer rebalance (KIP-848: a newer target) replaced it before it finished.
                None if !last => tr("replaced by the next one before it finished"),
                None => tr("in progress"),
            },
        ],
    );
    html! {
        <section class={classes!("card", spot(hl, "timeline"))} data-target="timeline" aria-label={tr("Rebalance timeline")}>
            <h2>{ tr("Rebalance timeline") }{ run_tag(&run) }</h2>
            <div class="rb-pick">
                if with_history.len() > 1 {
                    <select aria-label={tr("Group shown in the timeline")} onchange={on_group}>
                        { for with_history.iter().map(|x| html! { <option value={x.id.clone()} selected={x.id == g.id}>{ trf("group {0}", &[&x.id]) }</option> }) }
                    </select>
                }
                <button onclick={go(k.checked_sub(1))} disabled={k == 0}>{ tr("Earlier rebalance") }</button>
                <button onclick={go(Some(k + 1))} disabled={last}>{ tr("Later rebalance") }</button>
                if pick.is_some() {
                    <button onclick={link.callback(|_| Msg::View(super::ViewMsg::PickRebalance(None)))}>{ tr("Follow the latest") }</button>
                }
            </div>
            <p class="rb-title">{ title.clone() }</p>
            <p class="rb-stats">{ trf("moved {0} · revoked {1} · paused {2} partition-ms", &[r.moved_partitions.to_string(), r.revoked_partitions.to_string(), format!("{:.0}", r.paused_partition_us as f64 / 1000.0)]) }</p>
            <div class="rb-scroll">
            <svg class="timeline-svg" viewBox={format!("0 0 {width} {height}")} width={width.to_string()} height={height.to_string()} role="img" aria-label={title}>
                <defs>
                    <marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
                        <path d="M 0 0 L 10 5 L 0 10 z" fill="currentColor" />
                    </marker>
                </defs>
                { for lanes.iter().map(|l| {
                    let x = lane_x(l);
                    // A member's lane is named and coloured like the member in the groups view.
                    let number = g.members.iter().find(|m| &m.member_id == l).map(|m| m.number)
                        .or_else(|| g.member_numbers.iter().find(|(id, _)| id == l).map(|(_, n)| *n));
                    let name = if l == "coordinator" { tr("coordinator") } else { number.map_or_else(|| short(l), |n| trf("consumer {0}", &[n.to_string()])) };
                    html! { <g>
                        <text x={x.to_string()} y="16" text-anchor="middle" class={classes!("lane-name", number.map(member_class))}>{ name }</text>
                        <line x1={x.to_string()} y1="24" x2={x.to_string()} y2={height.to_string()} class="lane" />
                    </g> }
                }) }
                { for steps.iter().enumerate().map(|(i, s)| {
                    let y = 44.0 + i as f64 * row;
                    let coord = lane_x("coordinator");
                    let member = lane_x(&s.member);
                    let (x1, x2) = match s.kind {
                        "join" | "sync" | "leave" => (member, coord),
                        "assign" | "join_complete" | "member_id_required" => (coord, member),
                        _ => (member, member),
                    };
                    let what = match s.kind {
                        "join" => "JoinGroup".to_string(),
                        "sync" => "SyncGroup".to_string(),
                        "join_complete" => tr("join complete, leader chosen"),
                        "assign" => trf("assign {0}", &[label(&s.partitions)]),
                        "revoke" => trf("revoke {0}", &[label(&s.partitions)]),
                        "leave" => tr("leaves"),
                        "prepare" => tr("rebalance starts"),
                        "target" => tr("new target assignment"),
                        "member_id_required" => tr("MEMBER_ID_REQUIRED: join again with this id"),
                        "initial_delay" => tr("new members came: initial delay extended"),
                        "replace" => tr("static member back: takes its old id's place"),
                        other => other.to_string(),
                    };
                    let time = format!("{:.1} ms", s.at_us.saturating_sub(r.started_us) as f64 / 1000.0);
                    // On the leftmost lane a centred label would run off the picture.
                    // A label longer than its arrow starts at the arrow's left end instead, so it
                    // never runs into the times column (CJK characters are about twice as wide).
                    let est: f64 = what.chars().map(|c| if c.is_ascii() { 6.2 } else { 11.0 }).sum();
                    let (lo, hi) = (x1.min(x2), x1.max(x2));
                    let (label_x, anchor) = if x1 == x2 && x1 == coord {
                        (x1 - 6.0, "start")
                    } else if est > hi - lo {
                        (lo + 2.0, "start")
                    } else {
                        ((x1 + x2) / 2.0, "middle")
                    };
                    html! { <g class={classes!("step", s.kind)}>
                        <text x="4" y={(y + 4.0).to_string()} class="step-time">{ time }</text>
                        if x1 == x2 {
                            <circle cx={x1.to_string()} cy={y.to_string()} r="4" />
                        } else {
                            <line x1={x1.to_string()} y1={y.to_string()} x2={x2.to_string()} y2={y.to_string()} marker-end="url(#arrow)" />
                        }
                        <text x={label_x.to_string()} y={(y - 4.0).to_string()} text-anchor={anchor} class="step-label">{ what }</text>
                    </g> }
                }) }
            </svg>
            </div>
        </section>
    }
}

/// Member ids are long ("billing-consumer-3"): keep the distinctive end.
fn short(id: &str) -> String {
    match id.rsplit_once('-') {
        Some((prefix, n)) if id.len() > 14 => format!("{}…-{n}", &prefix[..prefix.len().min(8)]),
        _ => id.to_string(),
    }
}
