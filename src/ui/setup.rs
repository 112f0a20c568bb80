//! Scenario setup: the preset list, a form over the most used settings (Kafka's
//! config names), a JSON editor for everything else, the side-by-side choice,
//! loading scenario and lesson files (one path for both) and downloading the
//! scenario as a file.

use super::status::{FetchError, Problem};
use super::{browser, App, Msg};
use crate::i18n::{tr, trf, Sourced};
use crate::presets;
use crate::scenario::draft::{DraftError, Field};
use crate::scenario::GroupProtocol;
use crate::session::Session;
use crate::Scenario;
use std::rc::Rc;
use yew::prelude::*;

pub enum SetupMsg {
    SetPreset(String),
    /// The JSON text changed, a form field changed, run the draft.
    Text(String),
    Field(Field, String),
    Apply,
    Toggle,
    /// Side by side with a variant of the scenario ("" for none).
    Compare(String),
    /// A file the user picked, to read.
    LoadFile(FileKind, Option<web_sys::File>),
    /// A file's text (picked, or a lesson fetched by URL), by its name.
    FileLoaded(FileKind, String, Result<String, FetchError>),
}

/// What a loaded file is meant to be.
#[derive(Clone, Copy)]
pub enum FileKind {
    Scenario,
    Lesson,
}

pub fn preset_scenario(id: &str) -> Result<Scenario, Problem> {
    let p = presets::find(id).ok_or_else(|| Problem::UnknownPreset(id.to_string()))?;
    Scenario::from_json(p.json).map_err(Problem::Preset)
}

/// A file input's change handler: the picked file, to load as `kind`. The input
/// is cleared so that picking the same file again loads it again.
fn on_file(send: &Callback<Msg>, kind: FileKind) -> Callback<Event> {
    send.reform(move |e: Event| {
        let input = e.target_unchecked_into::<web_sys::HtmlInputElement>();
        let file = input.files().and_then(|f| f.get(0));
        input.set_value("");
        Msg::Setup(SetupMsg::LoadFile(kind, file))
    })
}

impl App {
    pub(super) fn on_setup(&mut self, ctx: &Context<Self>, msg: SetupMsg) -> bool {
        match msg {
            SetupMsg::SetPreset(id) => match (presets::find(&id), preset_scenario(&id)) {
                (Some(p), Ok(s)) => {
                    self.setup.reset_to(&s, p.id);
                    self.start_session(ctx, Session::new(s), Some(p.id));
                }
                (_, Err(e)) => self.message = Some(e.into()),
                _ => {}
            },
            SetupMsg::Text(t) => {
                self.file_error = None;
                self.setup.set_text(t, "scenario JSON");
            }
            SetupMsg::Field(f, v) => {
                self.file_error = None;
                self.setup.set_field(f, &v);
            }
            SetupMsg::Toggle => self.setup.open = !self.setup.open,
            SetupMsg::Apply => match self.setup.parse() {
                Ok(s) => self.start_session(ctx, Session::new(s), None),
                Err(e) => self.setup.error = Some(Sourced::new(self.setup.source.clone(), DraftError::Invalid(e))),
            },
            SetupMsg::Compare(id) if id.is_empty() => self.session.drop_twin(),
            SetupMsg::Compare(id) => match Session::side_by_side(self.session.scenario().clone(), &id) {
                // Both runs start over together, so they stay in lockstep.
                Ok(s) => self.start_session(ctx, s, self.preset),
                Err(e) => self.message = Some(Problem::Compare(e).into()),
            },
            SetupMsg::LoadFile(kind, file) => {
                let Some(file) = file else { return false };
                let name = file.name();
                let link = ctx.link().clone();
                yew::platform::spawn_local(async move {
                    let text = browser::read_file(file).await;
                    link.send_message(Msg::Setup(SetupMsg::FileLoaded(kind, name, text)));
                });
                return false;
            }
            SetupMsg::FileLoaded(FileKind::Scenario, name, text) => {
                self.setup.open = true;
                match text {
                    Err(e) => self.file_error = Some(Sourced::new(name, e)),
                    Ok(text) => {
                        self.file_error = None;
                        self.setup.set_text(text, &name);
                        if self.setup.error.is_none() {
                            return self.on_setup(ctx, SetupMsg::Apply);
                        }
                    }
                }
            }
            SetupMsg::FileLoaded(FileKind::Lesson, name, text) => match text {
                Err(e) => self.message = Some(Problem::Fetch(Sourced::new(name, e)).into()),
                Ok(t) => match crate::lesson::Lesson::parse(&t) {
                    Ok(l) => self.open_lesson(ctx, l, 0),
                    Err(e) => self.message = Some(Problem::Lesson(Sourced::new(name, e)).into()),
                },
            },
        }
        true
    }

    /// The setup panel and, below it, loading a teacher's lesson file.
    pub(super) fn setup_view(&self) -> Html {
        html! {
            <>
                <SetupPanel text={AttrValue::from(self.setup.text.clone())} send={self.send.clone()}
                    error={self.file_error.as_ref().map(tr).or_else(|| self.setup.error.as_ref().map(tr)).map(AttrValue::from)}
                    invalid={self.setup.error.is_some()}
                    rejected={self.setup.rejected.clone().map(|(f, v)| (f, AttrValue::from(v)))} lang={AttrValue::from(self.lang.clone())} />
                <div class="card lesson-file">
                    <label>{ tr("Load a lesson file…") }
                        <input type="file" accept=".json,application/json" aria-label={tr("Load lesson file")} onchange={on_file(&self.send, FileKind::Lesson)} />
                    </label>
                    <span class="muted">{ tr("A teacher's own lesson: the format is in the README.") }</span>
                </div>
            </>
        }
    }
}

/// The draft as a `blob:` URL for the download link; the old one is freed when
/// the text changes or the panel closes.
#[hook]
fn use_blob_url(text: AttrValue) -> Rc<String> {
    let url = use_memo(text, |t| browser::blob_url(t, "application/json").unwrap_or_default());
    use_effect_with(url.clone(), |url| {
        let url = url.clone();
        move || browser::revoke_url(&url)
    });
    url
}

fn input(link: &Callback<Msg>, rejected: &Option<(Field, AttrValue)>, field: Field, label: &str, value: String, hint: &str) -> Html {
    // A rejected value stays as typed, next to the message saying why.
    let value = match rejected {
        Some((f, v)) if *f == field => v.to_string(),
        _ => value,
    };
    let on = link.reform(move |e: Event| Msg::Setup(SetupMsg::Field(field, e.target_unchecked_into::<web_sys::HtmlInputElement>().value())));
    html! {
        <label class="field">
            <span>{ tr(label) }</span>
            <input type="text" inputmode="numeric" value={value} onchange={on} aria-label={tr(label)} title={tr(hint)} />
        </label>
    }
}

fn select(link: &Callback<Msg>, field: Field, label: &str, value: &str, options: &[&str]) -> Html {
    let on = link.reform(move |e: Event| Msg::Setup(SetupMsg::Field(field, e.target_unchecked_into::<web_sys::HtmlSelectElement>().value())));
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
    /// What is wrong with the draft or the file, translated (the language is a prop too).
    pub error: Option<AttrValue>,
    /// The draft is not a valid scenario: it cannot run.
    pub invalid: bool,
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
    let on_text = link.reform(|e: Event| Msg::Setup(SetupMsg::Text(e.target_unchecked_into::<web_sys::HtmlTextAreaElement>().value())));
    let href = use_blob_url(props.text.clone());
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
                            { select(link, Field::Protocol, "group.protocol", match g.protocol { GroupProtocol::Classic => "classic", GroupProtocol::Consumer => "consumer", GroupProtocol::Share => "share" }, &["classic", "consumer", "share"]) }
                            { select(link, Field::Assignor, "assignor", g.assignor_name(),
                                match g.protocol { GroupProtocol::Classic => &["range", "roundrobin", "sticky", "cooperative-sticky"], GroupProtocol::Consumer => &["uniform", "range"], GroupProtocol::Share => &["simple"] }) }
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
                <p class="error" role="alert">{ e.clone() }</p>
            }
            <div class="setup-actions">
                <button onclick={link.reform(|_| Msg::Setup(SetupMsg::Apply))} disabled={setup.invalid}>{ tr("Run this scenario") }</button>
                <label class="file">{ tr("Load file…") }{ " " }
                    <input type="file" accept=".json,application/json" aria-label={tr("Load scenario file")} onchange={on_file(link, FileKind::Scenario)} />
                </label>
                <a class="button" download="scenario.json" href={href.to_string()}>{ tr("Download JSON") }</a>
            </div>
        </section>
    }
}
