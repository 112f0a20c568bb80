//! Cluster-wide controls: network cuts (drawn as a map, one way or both ways),
//! topic and cluster configs, preferred-leader election, and each producer's rate
//! and acks. Every control sends an engine `Action` through `Msg::act`.

use super::Msg;
use crate::engine::Snapshot;
use crate::i18n::{tr, trf};
use crate::scenario::{Acks, Action, NodeName};
use crate::sim::SortSmall;
use yew::prelude::*;

/// The cut being composed: node names ("0", "c1") and direction.
#[derive(Clone, PartialEq)]
pub struct CutForm {
    pub from: String,
    pub to: String,
    pub one_way: bool,
}

impl Default for CutForm {
    fn default() -> Self {
        CutForm {
            from: "0".into(),
            to: "1".into(),
            one_way: false,
        }
    }
}

#[derive(Clone, Copy)]
pub enum CutField {
    From,
    To,
    OneWay,
}

fn node_name(s: &str) -> NodeName {
    match s.parse::<u32>() {
        Ok(b) => NodeName::Broker(b),
        Err(_) => NodeName::Controller(s.to_string()),
    }
}

fn node_label(s: &str) -> String {
    if s.starts_with('c') {
        trf("controller {0}", &[s.to_string()])
    } else {
        trf("broker {0}", &[s.to_string()])
    }
}

/// The nodes as a ring with each cut drawn on it: a dashed red arrow a → b means
/// messages from a to b are dropped; a cut both ways is a solid red line.
fn network_map(snap: &Snapshot) -> Html {
    let mut nodes: Vec<String> = snap.brokers.iter().map(|b| b.id.to_string()).collect();
    nodes.extend(snap.controllers.iter().map(|c| format!("c{}", c.id)));
    let n = nodes.len().max(1) as f64;
    let (cx, cy, r) = (130.0, 95.0, 70.0);
    let pos = |name: &str| -> (f64, f64) {
        let i = nodes.iter().position(|x| x == name).unwrap_or(0) as f64;
        let a = i * std::f64::consts::TAU / n;
        // Clockwise from the top.
        (cx + r * libm::sin(a), cy - r * libm::cos(a))
    };
    let both = |a: &str, b: &str| snap.cuts.iter().any(|(x, y)| x == b && y == a);
    let cut_lines: Vec<Html> = snap
        .cuts
        .iter()
        .filter(|(a, b)| !both(a, b) || a < b)
        .map(|(a, b)| {
            let ((x1, y1), (x2, y2)) = (pos(a), pos(b));
            // Stop short of the node circles.
            let (dx, dy) = (x2 - x1, y2 - y1);
            let len = (dx * dx + dy * dy).sqrt().max(1.0);
            let k = 15.0 / len;
            let (sx, sy, ex, ey) = (x1 + dx * k, y1 + dy * k, x2 - dx * k, y2 - dy * k);
            let two = both(a, b);
            let title = if two {
                trf("{0} and {1} cannot reach each other", &[node_label(a), node_label(b)])
            } else {
                trf("messages from {0} to {1} are dropped", &[node_label(a), node_label(b)])
            };
            html! {
                <line x1={sx.to_string()} y1={sy.to_string()} x2={ex.to_string()} y2={ey.to_string()}
                    class={if two { "cut both" } else { "cut one-way" }} marker-end="url(#cut-arrow)" marker-start={two.then_some("url(#cut-arrow-start)")}>
                    <title>{ title }</title>
                </line>
            }
        })
        .collect();
    let describe: Vec<String> = snap
        .cuts
        .iter()
        .filter(|(a, b)| !both(a, b) || a < b)
        .map(|(a, b)| if both(a, b) { format!("{a} ↔ {b}") } else { format!("{a} → {b}") })
        .collect();
    let label = if describe.is_empty() {
        tr("Network map: no cuts")
    } else {
        trf("Network map, cuts: {0}", &[describe.join(", ")])
    };
    html! {
        <svg class="netmap" viewBox="0 0 260 190" role="img" aria-label={label}>
            <defs>
                <marker id="cut-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="6" markerHeight="6" orient="auto"><path d="M 0 0 L 10 5 L 0 10 z" class="cut-head" /></marker>
                <marker id="cut-arrow-start" viewBox="0 0 10 10" refX="1" refY="5" markerWidth="6" markerHeight="6" orient="auto"><path d="M 10 0 L 0 5 L 10 10 z" class="cut-head" /></marker>
            </defs>
            { for cut_lines }
            { for nodes.iter().map(|name| {
                let (x, y) = pos(name);
                let down = if let Some(id) = name.strip_prefix('c') {
                    snap.controllers.iter().any(|c| c.id.to_string() == id && !c.alive)
                } else {
                    snap.brokers.iter().any(|b| b.id.to_string() == *name && b.state != "up" && b.state != "paused")
                };
                html! { <g class={classes!("netnode", name.starts_with('c').then_some("ctrl"), down.then_some("down"))}>
                    <circle cx={x.to_string()} cy={y.to_string()} r="13" />
                    <text x={x.to_string()} y={(y + 4.5).to_string()} text-anchor="middle">{ name.clone() }</text>
                </g> }
            }) }
        </svg>
    }
}

pub fn view(snap: &Snapshot, unclean: bool, cut: &CutForm, link: &yew::html::Scope<super::App>, hl: &str) -> Html {
    let spot = |t: &str| super::views::spot(hl, t);
    let mut nodes: Vec<String> = snap.brokers.iter().map(|b| b.id.to_string()).collect();
    nodes.extend(snap.controllers.iter().map(|c| format!("c{}", c.id)));
    let pick = |field: CutField, value: &str| {
        let on = link.callback(move |e: Event| Msg::View(super::ViewMsg::CutForm(field, e.target_unchecked_into::<web_sys::HtmlSelectElement>().value())));
        html! {
            <select onchange={on} aria-label={tr(if matches!(field, CutField::From) { "Cut from node" } else { "Cut to node" })}>
                { for nodes.iter().map(|n| html! { <option value={n.clone()} selected={n == value}>{ node_label(n) }</option> }) }
            </select>
        }
    };
    let cut_action = Action::PartitionNetwork {
        from: vec![node_name(&cut.from)],
        to: vec![node_name(&cut.to)],
        one_way: cut.one_way,
    };
    let same = cut.from == cut.to;
    let on_oneway = link.callback(|e: Event| {
        Msg::View(super::ViewMsg::CutForm(
            CutField::OneWay,
            e.target_unchecked_into::<web_sys::HtmlInputElement>().checked().to_string(),
        ))
    });
    // Topics, each with its min.insync.replicas (from any of its partitions).
    let mut topics: Vec<(String, u32, u32)> = Vec::new();
    for p in snap.partitions.iter().filter(|p| !p.topic.starts_with("__")) {
        if !topics.iter().any(|t| t.0 == p.topic) {
            topics.push((p.topic.clone(), p.min_isr, p.replicas.len() as u32));
        }
    }
    html! {
        <section class={classes!("card", "controls-card", spot("network"))} data-target="network" aria-label={tr("Cluster controls")}>
            <h2>{ tr("Network and settings") }</h2>
            <div class="netrow">
                { network_map(snap) }
                <div class="cutform">
                    <div>{ tr("Cut the network from") }{ " " }{ pick(CutField::From, &cut.from) }{ " " }{ tr("to") }{ " " }{ pick(CutField::To, &cut.to) }</div>
                    <label><input type="checkbox" checked={cut.one_way} onchange={on_oneway} aria-label={tr("One way only")} />{ " " }{ tr("one way only (replies still flow back)") }</label>
                    <div class="row">
                        <button class="mini" disabled={same} aria-label={tr("Cut the network")} onclick={link.callback(move |_| Msg::act(cut_action.clone()))}>{ tr("cut") }</button>
                        <button class="mini" disabled={snap.cuts.is_empty()} aria-label={tr("Heal network")} onclick={link.callback(|_| Msg::act(Action::HealNetwork {}))}>{ tr("heal network") }</button>
                    </div>
                    <p class="muted">{ tr("Dashed arrow a → b: messages from a to b are dropped. Solid: both ways.") }</p>
                </div>
            </div>
            <div class="settings">
                { for topics.iter().map(|(name, min_isr, rf)| {
                    let topic = name.clone();
                    let on = link.callback(move |e: Event| {
                        let v = e.target_unchecked_into::<web_sys::HtmlSelectElement>().value().parse().unwrap_or(1);
                        Msg::act(Action::SetTopicConfig { topic: topic.clone(), min_insync_replicas: v })
                    });
                    html! {
                        <label class="setting">{ format!("{name}: min.insync.replicas ") }
                            <select onchange={on} aria-label={trf("min.insync.replicas of topic {0}", &[&name])}>
                                { for (1..=(*rf).max(*min_isr)).map(|v| html! { <option value={v.to_string()} selected={v == *min_isr}>{ v }</option> }) }
                            </select>
                        </label>
                    }
                }) }
                <label class="setting">
                    <input type="checkbox" checked={unclean} aria-label="unclean.leader.election.enable"
                        onchange={link.callback(|e: Event| Msg::act(Action::SetClusterConfig {
                            unclean_leader_election_enable: e.target_unchecked_into::<web_sys::HtmlInputElement>().checked() }))} />
                    { " unclean.leader.election.enable" }
                </label>
                <button class="mini" aria-label={tr("Elect preferred leaders")} onclick={link.callback(|_| Msg::act(Action::ElectPreferredLeaders {}))}>{ tr("elect preferred leaders") }</button>
            </div>
            <div class={classes!("producers", spot("producers"))} data-target="producers">
                { for snap.producers.iter().map(|p| {
                    let txn = p.transaction.as_ref().map(|t| html! {
                        <span class="muted">{ " · " }{ trf("transactional id {0} · epoch {1} · {2}", &[t.transactional_id.clone(), t.epoch.to_string(), tr(t.state)]) }</span>
                    });
                    let flight = html! { <span class="muted">{ " " }{ trf("in flight {0} · queued batches {1}", &[p.in_flight.to_string(), p.queued_batches.to_string()]) }</span> };
                    if let Some(o) = &p.output_of {
                        // A processing member's own producer: its rate is the member's, acks=all.
                        return html! {
                            <div class="producer output">
                                <strong>{ trf("producer {0}", &[&p.id]) }</strong>
                                <span>{ " " }{ trf("writes the outputs of member {1} of group {0} to {2}", &[o.group.clone(), o.member.to_string(), o.topic.clone()]) }{ " · acks=all" }</span>
                                { flight }
                                { for txn }
                            </div>
                        };
                    }
                    let id = p.id.clone();
                    let id2 = p.id.clone();
                    let on_rate = link.callback(move |e: Event| {
                        let v = e.target_unchecked_into::<web_sys::HtmlSelectElement>().value().parse().unwrap_or(1000);
                        Msg::act(Action::SetProducer { producer: id.clone(), records_per_sec: Some(v), acks: None })
                    });
                    let on_acks = link.callback(move |e: Event| {
                        let acks = match e.target_unchecked_into::<web_sys::HtmlSelectElement>().value().as_str() { "0" => Acks::Zero, "1" => Acks::One, _ => Acks::All };
                        Msg::act(Action::SetProducer { producer: id2.clone(), records_per_sec: None, acks: Some(acks) })
                    });
                    let mut rates = vec![100u64, 1_000, 2_000, 5_000, 10_000, 50_000, 100_000];
                    if !rates.contains(&p.records_per_sec) { rates.push(p.records_per_sec); rates.sort_small(); }
                    html! {
                        <div class="producer">
                            <strong>{ trf("producer {0}", &[&p.id]) }</strong>
                            <label>{ " " }{ tr("rate") }{ " " }
                                <select onchange={on_rate} aria-label={trf("Rate of producer {0}", &[&p.id])}>
                                    { for rates.iter().map(|r| html! { <option value={r.to_string()} selected={*r == p.records_per_sec}>{ format!("{r}/s") }</option> }) }
                                </select>
                            </label>
                            <label>{ " acks " }
                                <select onchange={on_acks} aria-label={trf("acks of producer {0}", &[&p.id])} title={tr("a new acks starts a new producer instance, as in Kafka")}>
                                    { for ["0", "1", "all"].iter().map(|a| html! { <option value={*a} selected={*a == p.acks}>{ *a }</option> }) }
                                </select>
                            </label>
                            { flight }
                            { for txn }
                        </div>
                    }
                }) }
            </div>
        </section>
    }
}
