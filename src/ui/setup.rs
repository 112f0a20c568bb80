//! Scenario setup: a form over the most used settings (Kafka's config names), a
//! JSON editor for everything else, and loading and downloading scenario files.

use super::Msg;
use crate::i18n::{tr, trf};
use crate::scenario::draft::{percent_encode, Field};
use crate::scenario::GroupProtocol;
use crate::Scenario;
use yew::prelude::*;

fn input(link: &Callback<Msg>, rejected: &Option<(Field, AttrValue)>, field: Field, label: &str, value: String, hint: &str) -> Html {
    // A rejected value stays as typed, next to the message saying why.
    let value = match rejected {
        Some((f, v)) if *f == field => v.to_string(),
        _ => value,
    };
    let on = link.reform(move |e: Event| Msg::SetupField(field, e.target_unchecked_into::<web_sys::HtmlInputElement>().value()));
    html! {
        <label class="field">
            <span>{ tr(label) }</span>
            <input type="text" inputmode="numeric" value={value} onchange={on} aria-label={tr(label)} title={tr(hint)} />
        </label>
    }
}

fn select(link: &Callback<Msg>, field: Field, label: &str, value: &str, options: &[&str]) -> Html {
    let on = link.reform(move |e: Event| Msg::SetupField(field, e.target_unchecked_into::<web_sys::HtmlSelectElement>().value()));
    html! {
        <label class="field">
            <span>{ tr(label) }</span>
            <select onchange={on} aria-label={tr(label)}>
                { for options.iter().map(|o| html! { <option value={o.to_string()} selected={*o == value}>{ *o }</option> }) }
            </select>
        </label>
    }
}

#[derive(Properties, PartialEq)]
pub struct Props {
    pub text: AttrValue,
    pub error: Option<AttrValue>,
    /// Created once by the app, so these props only change when the draft does.
    pub send: Callback<Msg>,
    pub rejected: Option<(Field, AttrValue)>,
    /// The language, so the panel re-renders when it changes.
    pub lang: AttrValue,
}

/// A component of its own so that it re-renders only when the draft changes, not
/// on every animation tick: Yew writes `value` back into inputs on each render,
/// which would undo what the user is typing while the simulation plays.
#[function_component(SetupPanel)]
pub fn setup_panel(props: &Props) -> Html {
    let link = &props.send;
    let draft: Option<Scenario> = Scenario::from_json(&props.text).ok();
    let setup = props;
    let on_text = link.reform(|e: Event| Msg::SetupText(e.target_unchecked_into::<web_sys::HtmlTextAreaElement>().value()));
    let on_file = link.reform(|e: Event| {
        let input = e.target_unchecked_into::<web_sys::HtmlInputElement>();
        let file = input.files().and_then(|f| f.get(0));
        input.set_value("");
        Msg::LoadFile(file)
    });
    let href = format!("data:application/json;charset=utf-8,{}", percent_encode(&props.text));
    let form = match &draft {
        None => html! { <p class="muted">{ tr("The form needs valid JSON; fix the text below.") }</p> },
        Some(s) => {
            let topic = s.topics.first();
            let producer = s.producers.first();
            let group = s.groups.first();
            html! {
                <div class="form">
                    <fieldset><legend>{ tr("Run") }</legend>
                        { input(link, &props.rejected, Field::Seed, "seed", s.seed.to_string(), "same seed, same run") }
                        { input(link, &props.rejected, Field::DurationS, "duration (s)", (s.duration_ms / 1000).to_string(), "simulated seconds") }
                    </fieldset>
                    <fieldset><legend>{ tr("Cluster") }</legend>
                        { input(link, &props.rejected, Field::Brokers, "brokers", s.cluster.brokers.to_string(), "1 to 64") }
                        { input(link, &props.rejected, Field::Controllers, "controllers", s.cluster.controllers.to_string(), "KRaft quorum size, 1 to 9") }
                        { input(link, &props.rejected, Field::MinIsrDefault, "min.insync.replicas", s.cluster.min_insync_replicas.to_string(), "broker default") }
                        { select(link, Field::Unclean, "unclean.leader.election.enable", if s.cluster.unclean_leader_election_enable { "true" } else { "false" }, &["false", "true"]) }
                    </fieldset>
                    if let Some(t) = topic {
                        <fieldset><legend>{ trf("Topic {0}", &[&t.name]) }</legend>
                            { input(link, &props.rejected, Field::Partitions, "partitions", t.partitions.to_string(), "1 to 10000") }
                            { input(link, &props.rejected, Field::ReplicationFactor, "replication.factor", t.replication_factor.to_string(), "at most the number of brokers") }
                            { input(link, &props.rejected, Field::TopicMinIsr, "topic min.insync.replicas", t.min_insync_replicas.map_or(String::new(), |m| m.to_string()), "empty: the broker default") }
                        </fieldset>
                    }
                    if let Some(p) = producer {
                        <fieldset><legend>{ trf("Producer {0}", &[&p.id]) }</legend>
                            { input(link, &props.rejected, Field::ProducerRate, "records/s", p.records_per_sec.to_string(), "records per second") }
                            { select(link, Field::Acks, "acks", p.acks.as_str(), &["0", "1", "all"]) }
                            { input(link, &props.rejected, Field::Keys, "distinct keys", p.keys.to_string(), "0: no keys (sticky partitioner)") }
                        </fieldset>
                    }
                    if let Some(g) = group {
                        <fieldset><legend>{ trf("Group {0}", &[&g.id]) }</legend>
                            { input(link, &props.rejected, Field::Members, "members", g.members.to_string(), "consumers at the start") }
                            { select(link, Field::Protocol, "group.protocol", if g.protocol == GroupProtocol::Classic { "classic" } else { "consumer" }, &["classic", "consumer"]) }
                            { select(link, Field::Assignor, "assignor", g.assignor_name(),
                                if g.protocol == GroupProtocol::Classic { &["range", "roundrobin", "sticky", "cooperative-sticky"] } else { &["uniform", "range"] }) }
                            { input(link, &props.rejected, Field::ConsumerRate, "records/s per member", g.records_per_sec_per_member.to_string(), "how fast each consumer processes") }
                        </fieldset>
                    }
                </div>
            }
        }
    };
    html! {
        <section class="card setup" aria-label={tr("Scenario setup")}>
            <h2>{ tr("Scenario setup") }</h2>
            { form }
            <label class="json">
                <span>{ tr("Scenario JSON (every setting; Kafka's config names with underscores)") }</span>
                <textarea spellcheck="false" rows="10" aria-label={tr("Scenario JSON")} value={props.text.clone()} onchange={on_text}></textarea>
            </label>
            if let Some(e) = &setup.error {
                <p class="error" role="alert">{ tr(e) }</p>
            }
            <div class="setup-actions">
                <button onclick={link.reform(|_| Msg::ApplySetup)} disabled={setup.error.is_some()}>{ tr("Run this scenario") }</button>
                <label class="file">{ tr("Load file…") }{ " " }
                    <input type="file" accept=".json,application/json" aria-label={tr("Load scenario file")} onchange={on_file} />
                </label>
                <a class="button" download="scenario.json" href={href}>{ tr("Download JSON") }</a>
            </div>
        </section>
    }
}
