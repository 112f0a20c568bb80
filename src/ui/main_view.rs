//! The main panels under the toolbar: the cluster, groups, rebalance timeline and
//! controls on the left; the comparison table, charts, guarantees and event log
//! on the right.

use super::{controls, views, App, Msg, ViewMsg};
use crate::i18n::{tr, trf};
use crate::session::{comparison, differences, markers, TwinOf};
use crate::Simulation;
use yew::prelude::*;

/// What run A and run B are called, in the page's language.
fn twin_labels(of: &TwinOf, lang: &str) -> (String, String) {
    match of {
        TwinOf::Variant(id) => {
            let label = crate::scenario::draft::VARIANTS.iter().find(|v| v.0 == id).map_or("", |v| v.1);
            (tr("this scenario"), tr(label))
        }
        TwinOf::Lesson(a, b) => (a.get(lang).to_string(), b.get(lang).to_string()),
    }
}

impl App {
    pub(super) fn view_main(&self, ctx: &Context<Self>) -> Html {
        let link = ctx.link();
        let sim = self.session.sim();
        let twin = self.session.twin().zip(self.session.twin_of().map(|of| twin_labels(of, &self.lang)));
        let snap = sim.snapshot();
        let inv = sim.invariants();
        let audit = sim.audit_report();
        let hl = self.session.lesson_steps().map_or("", |s| s.highlight());
        // Side by side, the groups, the timeline and the event log show the run picked.
        let shown = match &twin {
            Some((b, _)) if self.show_b => *b,
            _ => sim,
        };
        let shown_snap = if std::ptr::eq(shown, sim) { None } else { Some(shown.snapshot()) };
        let group_snap = shown_snap.as_ref().unwrap_or(&snap);
        let marker_list = {
            let m = markers(sim, self.session.twin());
            if m.is_empty() {
                tr("none")
            } else {
                m.iter()
                    .map(|m| trf("{0} at {1} s", &[m.label.clone(), format!("{:.1}", m.t_sec)]))
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        };
        let spot = |target: &str| views::spot(hl, target);
        html! {
            <>
                if let Some((_, labels)) = &twin { { self.twin_banner(labels, link) } }
                <div class="grid">
                    <div class="col">
                        { views::cluster(&snap, link, &self.selected, hl) }
                        { views::groups(group_snap, link, &self.selected, hl, self.run_tag(&twin)) }
                        { views::rebalance_timeline(group_snap, &self.rb_pick, link, hl, self.run_tag(&twin)) }
                        { controls::view(&snap, sim.unclean_leader_election_enabled(), &self.cut, link, hl) }
                    </div>
                    <div class="col">
                        if let Some((b, labels)) = &twin { { self.compare_table(sim, b, labels) } }
                        { self.charts_view(link, sim, hl, &marker_list) }
                        <section class={classes!("card", spot("guarantees"))} data-target="guarantees" aria-label={tr("Guarantees")}>
                            <h2>{ tr("Guarantees") }</h2>
                            <ul class="invariants">
                                { for crate::invariants::NAMES.iter().map(|(name, text)| {
                                    let bad = inv.is_violated(name);
                                    html! { <li class={if bad { "bad" } else { "ok" }}>{ if bad { "✗ " } else { "✓ " } }{ tr(text) }</li> }
                                }) }
                            </ul>
                            <p class="losses">{ trf("Acknowledged records lost: {0}", &[audit.lost.to_string()]) }
                                { for audit.by_reason.iter().map(|(r, n)| html! { <span class="reason">{ " · " }{ trf("{0} because {1}", &[n.to_string(), tr(r.explain())]) }</span> }) }
                                { " · " }{ trf("duplicates stored: {0}", &[audit.duplicates.to_string()]) }
                                { " · " }{ trf("invariant checks: {0}", &[inv.checks.to_string()]) }</p>
                            { for sim.eos_counts().into_iter().filter_map(|(g, guarantee, c)| Some((g, guarantee, c?))).map(|(g, guarantee, c)| html! {
                                <p class="losses eos">{ trf("Group {0} ({1}): {2} inputs committed · {3} outputs · {4} repeated · {5} missing", &[
                                    sim.groups()[g].id.clone(), guarantee.as_str().to_string(), c.inputs.to_string(),
                                    c.outputs.to_string(), c.duplicate_outputs.to_string(), c.missing_outputs.to_string()]) }</p>
                            }) }
                            if sim.tracks_acks0() {
                                <p class="losses acks0">{ trf("Sent with acks=0 and not in the log: {0}", &[audit.acks0_lost.to_string()]) }
                                    { for audit.acks0_by_reason.iter().map(|(r, n)| html! { <span class="reason">{ " · " }{ trf("{0} because {1}", &[n.to_string(), tr(r.explain())]) }</span> }) }
                                    { " · " }{ tr("nobody is told: acks=0 waits for no answer") }</p>
                            }
                            if let Some((b, (_, lb))) = &twin {
                                <p class="losses twin">{ {
                                    let ab = b.audit_report();
                                    let reasons: Vec<String> = ab.by_reason.iter().map(|(r, n)| trf("{0} because {1}", &[n.to_string(), tr(r.explain())])).collect();
                                    trf("Run B ({0}): acknowledged records lost {1}{2} · duplicates stored {3}", &[
                                        lb.clone(), ab.lost.to_string(),
                                        if reasons.is_empty() { String::new() } else { format!(" · {}", reasons.join(" · ")) },
                                        ab.duplicates.to_string()])
                                } }</p>
                                { for b.eos_counts().into_iter().filter_map(|(g, guarantee, c)| Some((g, guarantee, c?))).map(|(g, guarantee, c)| html! {
                                    <p class="losses twin eos">{ trf("Run B ({0}): group {1} ({2}): {3} inputs committed · {4} outputs · {5} repeated · {6} missing", &[
                                        lb.clone(), b.groups()[g].id.clone(), guarantee.as_str().to_string(), c.inputs.to_string(),
                                        c.outputs.to_string(), c.duplicate_outputs.to_string(), c.missing_outputs.to_string()]) }</p>
                                }) }
                            }
                        </section>
                        { views::event_log(&shown.event_log().entries, &self.filter, link, hl, self.run_tag(&twin)) }
                    </div>
                </div>
            </>
        }
    }

    /// Side by side: which run a view shows ("run A" / "run B"), or None alone.
    fn run_tag(&self, twin: &Option<(&Simulation, (String, String))>) -> Option<String> {
        twin.as_ref().map(|_| if self.show_b { tr("run B") } else { tr("run A") })
    }

    /// Side by side: that run B exists, what it changes, and which run the
    /// groups, the rebalance timeline and the event log show.
    fn twin_banner(&self, (la, lb): &(String, String), link: &yew::html::Scope<App>) -> Html {
        let diffs = match (self.session.scenario(), self.session.twin_scenario()) {
            (a, Some(b)) => differences(a, b),
            _ => Vec::new(),
        };
        let pick = |b: bool| link.callback(move |_| Msg::View(ViewMsg::ShowRunB(b)));
        html! {
            <section class="card twin-banner" aria-label={tr("Run B")}>
                <p>
                    <strong>{ tr("Two runs side by side, in lockstep:") }</strong>{ " " }
                    <span class="run-a">{ trf("A: {0}", &[la]) }</span>{ " · " }
                    <span class="run-b">{ trf("B: {0}", &[lb]) }</span>
                    if !diffs.is_empty() {
                        { " · " }{ trf("B differs in {0}", &[diffs.iter().map(|d| format!("{} {} → {}", d.path, d.a, d.b)).collect::<Vec<_>>().join(", ")]) }
                    }
                </p>
                <div class="run-pick" role="group" aria-label={tr("Run shown in the groups, the rebalance timeline and the event log")}>
                    <span>{ tr("Groups, timeline and event log show:") }</span>
                    <button aria-pressed={(!self.show_b).to_string()} onclick={pick(false)}>{ tr("run A") }</button>
                    <button aria-pressed={self.show_b.to_string()} onclick={pick(true)}>{ tr("run B") }</button>
                </div>
            </section>
        }
    }

    /// Run A and run B of a comparison, in numbers.
    fn compare_table(&self, a: &Simulation, b: &Simulation, (la, lb): &(String, String)) -> Html {
        html! {
            <section class="card compare" aria-label={tr("Side by side")}>
                <h2>{ tr("Side by side") }</h2>
                <table>
                    <tr><th></th><th>{ format!("A: {la}") }</th><th>{ format!("B: {lb}") }</th></tr>
                    { for comparison(a, b).into_iter().map(|r| html! {
                        <tr class={r.differs().then_some("differs")}><th>{ tr(r.heading) }</th><td>{ r.a }</td><td>{ r.b }</td></tr>
                    }) }
                </table>
                <p class="muted">{ tr("Both runs get the same actions at the same times; the charts draw B thinner and lighter.") }</p>
            </section>
        }
    }
}
