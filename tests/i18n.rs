//! Every English text the page shows has a translation in each language file.
//! Texts in the UI code are found by scanning it for `tr("...")`, `trf("...")`
//! and the labels handed to helpers; data-driven texts (chart series, presets,
//! guarantees, action names) are listed from the crate itself.

use kafka_sim::i18n::Catalog;
use std::collections::BTreeSet;

fn literals_after(src: &str, marker: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = src;
    while let Some(i) = rest.find(marker) {
        rest = &rest[i + marker.len()..];
        let trimmed = rest.trim_start();
        if let Some(body) = trimmed.strip_prefix('"') {
            let mut s = String::new();
            let mut chars = body.chars();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => s.push(chars.next().unwrap_or('\\')),
                    '"' => break,
                    c => s.push(c),
                }
            }
            out.push(s);
        }
    }
    out
}

fn ui_texts() -> BTreeSet<String> {
    let mut keys = BTreeSet::new();
    for entry in std::fs::read_dir("src/ui").unwrap() {
        let src = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        for marker in [
            "tr(",
            "trf(",
            "title: ",
            "y_label: ",
            "aria: ",
            "label(",
            "tr(if ",
            "} else { ",
            "note(",
            "note::<&str>(",
        ] {
            for k in literals_after(&src, marker) {
                if k.chars().any(|c| c.is_ascii_alphabetic()) && !k.contains('{') || k.contains("{0}") {
                    keys.insert(k);
                }
            }
        }
        // Form fields: input(link, rejected, Field::X, "label", value, "hint") and select(link, Field::X, "label", ...).
        for line in src
            .lines()
            .filter(|l| l.contains("input(link, &props.rejected") || l.contains("select(link, Field::"))
        {
            let parts: Vec<&str> = line.split('"').collect();
            for (i, p) in parts.iter().enumerate() {
                if i % 2 == 1 && p.chars().any(|c| c.is_ascii_alphabetic()) && !p.contains('.') {
                    keys.insert(p.to_string());
                }
            }
        }
    }
    keys
}

fn data_texts() -> BTreeSet<String> {
    use kafka_sim::charts;
    let mut keys = BTreeSet::new();
    for defs in [
        charts::THROUGHPUT,
        charts::LATENCY,
        charts::LAG,
        charts::HEALTH,
        charts::MODEL,
        charts::DETECTION,
        charts::RECOMMENDER,
    ] {
        keys.extend(defs.iter().map(|d| d.0.to_string()));
    }
    for p in kafka_sim::presets::PRESETS {
        keys.insert(p.title.to_string());
        let sim = kafka_sim::Simulation::new(&kafka_sim::Scenario::from_json(p.json).unwrap());
        for (title, y, _) in charts::model_charts(&sim) {
            keys.insert(title.to_string());
            keys.insert(y.to_string());
        }
    }
    keys.extend(kafka_sim::invariants::NAMES.iter().map(|n| n.1.to_string()));
    for r in [
        kafka_sim::audit::LossReason::Acks1LeaderFailover,
        kafka_sim::audit::LossReason::UncleanElection,
        kafka_sim::audit::LossReason::Unexplained,
    ] {
        keys.insert(r.explain().to_string());
    }
    keys.extend(kafka_sim::scenario::draft::VARIANTS.iter().map(|v| v.1.to_string()));
    for state in [
        "Empty",
        "PreparingRebalance",
        "CompletingRebalance",
        "Stable",
        "Dead",
        "up",
        "down",
        "stopped",
        "paused",
        "running",
        "dead",
        "active",
        "standby",
    ] {
        keys.insert(state.to_string());
    }
    keys
}

#[test]
fn every_ui_text_has_a_chinese_translation() {
    let zh = Catalog::from_json("zh", include_str!("../i18n/zh.json")).unwrap();
    let keys = ui_texts();
    assert!(keys.len() > 150, "the scan found only {} texts: is it still reading the UI?", keys.len());
    let data = data_texts();
    // Kafka's own names and values, units, and CSS classes the scan picks up: never translated.
    let keep = [
        "acks",
        "all",
        "classic",
        "consumer",
        "true",
        "false",
        "ms",
        "AUC",
        "ok",
        "cut one-way",
        "cut both",
    ];
    let missing: Vec<&String> = keys.iter().chain(data.iter()).filter(|k| !zh.has(k) && !keep.contains(&k.as_str())).collect();
    assert!(missing.is_empty(), "missing in i18n/zh.json: {missing:#?}");
}

/// The English templates of the typed errors and messages (`impl Template`) and
/// of the event log's action words: the literals that their match arms return.
fn error_templates() -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    let mut files = vec![std::path::PathBuf::from("src")];
    while let Some(p) = files.pop() {
        if p.is_dir() {
            files.extend(std::fs::read_dir(&p).unwrap().map(|e| e.unwrap().path()));
            continue;
        }
        // The command line speaks English only.
        if p.extension().is_none_or(|e| e != "rs") || p.ends_with("cli.rs") {
            continue;
        }
        let src = std::fs::read_to_string(&p).unwrap();
        // `impl Template` bodies, and the event log's words for an action (src/engine/actions.rs).
        for start in ["fn template(&self)", "fn words("] {
            let mut rest = src.as_str();
            while let Some(i) = rest.find(start) {
                rest = &rest[i..];
                let end = rest.find("\n}\n").or_else(|| rest.find("\n    }\n")).unwrap_or(rest.len());
                // "{0}" passes a free text through: it is translated by matching.
                for t in literals_after(&rest[..end], "=> (").into_iter().filter(|t| t != "{0}") {
                    out.insert((p.display().to_string(), t));
                }
                rest = &rest[end..];
            }
        }
    }
    out
}

#[test]
fn every_error_template_has_a_chinese_translation() {
    let zh = Catalog::from_json("zh", include_str!("../i18n/zh.json")).unwrap();
    let templates = error_templates();
    assert!(templates.len() > 100, "the scan found only {} templates", templates.len());
    let missing: Vec<_> = templates.iter().filter(|(_, t)| !zh.has(t)).collect();
    assert!(missing.is_empty(), "error templates missing in i18n/zh.json: {missing:#?}");
}

#[test]
fn event_log_texts_translate_without_english_left() {
    // Every engine event of a run with faults and rebalances, translated.
    let mut s = kafka_sim::Scenario::from_json(kafka_sim::presets::find("orders").unwrap().json).unwrap();
    s.duration_ms = 90_000;
    let mut sim = kafka_sim::Simulation::new(&s);
    use kafka_sim::scenario::Action;
    for (at, a) in [
        (5_000_000, Action::KillBroker { broker: 0 }),
        (20_000_000, Action::AddConsumer { group: "billing".into() }),
        (30_000_000, Action::RestartBroker { broker: 0 }),
        (
            40_000_000,
            Action::KillConsumer {
                group: "billing".into(),
                member: 1,
            },
        ),
        (50_000_000, Action::PauseBroker { broker: 2, for_ms: 3000 }),
    ] {
        sim.schedule(at, a).unwrap();
    }
    sim.run_until(90_000_000);
    assert_events_translate(&sim);
}

/// Every event of `sim`'s log, translated into Chinese, has no English word left
/// but Kafka's names, ids and units.
fn assert_events_translate(sim: &kafka_sim::Simulation) {
    let zh = Catalog::from_json("zh", include_str!("../i18n/zh.json")).unwrap();
    let allowed = [
        "ISR",
        "HW",
        "LEO",
        "Broker",
        "poll",
        "max.poll.interval.ms",
        "auto.offset.reset",
        "transaction.timeout.ms",
        "UNCLEAN",
        "ELR",
        "Unclean",
        "fenced",
        "ms",
        "s",
    ];
    // Names the scenario gives (topics, groups, producers, transactional ids) stay as they are.
    let sc = sim.scenario();
    let names: Vec<&str> = sc
        .topics
        .iter()
        .map(|t| t.name.as_str())
        .chain(sc.groups.iter().map(|g| g.id.as_str()))
        .chain(sc.producers.iter().flat_map(|p| [Some(p.id.as_str()), p.transactional_id.as_deref()]).flatten())
        .collect();
    let name_words: BTreeSet<&str> = names.iter().flat_map(|n| n.split(|c: char| !c.is_ascii_alphabetic())).collect();
    let mut untranslated = BTreeSet::new();
    for e in &sim.event_log().entries {
        let text = zh.tr_template(&e.what);
        for word in text.split(|c: char| !c.is_ascii_alphabetic() && c != '.' && c != '_').filter(|w| w.len() > 1) {
            let ids = ["consumer", "producer", "share", "c0", "c1", "c2"];
            let kafka_error = word.chars().all(|c| c.is_ascii_uppercase() || c == '_') || word.ends_with("Exception");
            let named = name_words.contains(word) || ids.iter().any(|id| word.starts_with(id));
            if !allowed.contains(&word) && !kafka_error && !named && !word.starts_with("__") {
                untranslated.insert(format!("{word:?} in {text:?}"));
            }
        }
    }
    assert!(untranslated.is_empty(), "English left in translated events: {untranslated:#?}");
}

/// Every (English, Chinese) pair the page can show: the zh table's messages and
/// the lessons' texts (any object with "en" and "zh" strings), with where each comes from.
fn zh_pairs() -> Vec<(String, String, String)> {
    fn walk(v: &serde_json::Value, file: &str, out: &mut Vec<(String, String, String)>) {
        match v {
            serde_json::Value::Object(o) => {
                if let (Some(serde_json::Value::String(en)), Some(serde_json::Value::String(zh))) = (o.get("en"), o.get("zh")) {
                    out.push((file.to_string(), en.clone(), zh.clone()));
                }
                o.values().for_each(|x| walk(x, file, out));
            }
            serde_json::Value::Array(a) => a.iter().for_each(|x| walk(x, file, out)),
            _ => {}
        }
    }
    let table: serde_json::Value = serde_json::from_str(&std::fs::read_to_string("i18n/zh.json").unwrap()).unwrap();
    let mut out: Vec<_> = table["messages"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(en, zh)| ("i18n/zh.json".to_string(), en.clone(), zh.as_str().unwrap().to_string()))
        .collect();
    let mut lessons: Vec<_> = std::fs::read_dir("lessons").unwrap().map(|e| e.unwrap().path()).collect();
    lessons.sort();
    for p in lessons.iter().filter(|p| p.extension().is_some_and(|x| x == "json")) {
        let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap();
        walk(&v, &p.display().to_string(), &mut out);
    }
    out
}

/// Whether `text` has `word` as a word of its own (any case): not inside a longer
/// word, a config name (`unclean.leader.election.enable`), an id or a placeholder.
fn has_word(text: &str, word: &str) -> bool {
    let t = text.to_lowercase();
    let part = |c: char| c.is_alphanumeric() || "-_.{".contains(c);
    t.match_indices(word)
        .any(|(i, _)| !t[..i].chars().next_back().is_some_and(part) && !t[i + word.len()..].chars().next().is_some_and(part))
}

fn strings(v: &serde_json::Value) -> Vec<&str> {
    v.as_array().unwrap().iter().map(|x| x.as_str().unwrap()).collect()
}

/// The zh table and the lessons use the glossary's one Chinese term per English
/// term (i18n/glossary_zh.json, the project's copy of the shared glossary): no
/// ruled-out word (代数, 干净选举, 崩溃 beside 宕机, 增量式 beside 协作式, ...), 隔离
/// only for fenced (apart from 隔离级别, isolation level), and where the English
/// says a glossary term its Chinese says the glossary's word.
#[test]
fn chinese_texts_follow_the_glossary() {
    let pairs = zh_pairs();
    assert!(pairs.len() > 600, "only {} texts found", pairs.len());
    let wrong = off_glossary(&pairs);
    assert!(
        wrong.is_empty(),
        "Chinese texts off the glossary (i18n/glossary_zh.json):\n{}",
        wrong.join("\n")
    );
}

/// What in `pairs` (file, English, Chinese) breaks the glossary's rules.
fn off_glossary(pairs: &[(String, String, String)]) -> Vec<String> {
    let glossary: serde_json::Value = serde_json::from_str(&std::fs::read_to_string("i18n/glossary_zh.json").unwrap()).unwrap();
    let rules = &glossary["rules"];
    assert!(glossary["terms"].as_array().unwrap().len() >= 40, "the glossary's table is missing");
    let mut wrong = Vec::new();
    for (file, en, zh) in pairs {
        for r in rules["ruled_out"].as_array().unwrap() {
            let term = r["zh"].as_str().unwrap();
            if zh.contains(term) {
                wrong.push(format!("{file}: {term:?} ({}) in {zh:?}", r["why"].as_str().unwrap()));
            }
        }
        for r in rules["only_for"].as_array().unwrap() {
            let term = r["zh"].as_str().unwrap();
            let rest = strings(&r["except"]).iter().fold(zh.clone(), |z, x| z.replace(x, ""));
            if rest.contains(term) && !strings(&r["en"]).iter().any(|w| has_word(en, w)) {
                wrong.push(format!("{file}: {term:?} ({}) for {en:?}: {zh:?}", r["why"].as_str().unwrap()));
            }
        }
        for r in rules["required"].as_array().unwrap() {
            let (words, zh_terms) = (strings(&r["en"]), strings(&r["zh"]));
            if let Some(w) = words.iter().find(|w| has_word(en, w)) {
                if !zh_terms.iter().any(|t| zh.contains(t)) {
                    wrong.push(format!("{file}: {w:?} is {zh_terms:?}, not in {zh:?} (for {en:?})"));
                }
            }
        }
    }
    wrong
}

#[test]
fn the_glossary_check_catches_ruled_out_terms_and_reads_words_not_config_names() {
    let pair = |en: &str, zh: &str| vec![("test".to_string(), en.to_string(), zh.to_string())];
    assert_eq!(off_glossary(&pair("generation {0}", "代数 {0}")).len(), 1, "代数 passed");
    assert_eq!(off_glossary(&pair("network cut", "网络隔离")).len(), 2, "隔离 for a cut passed");
    assert!(off_glossary(&pair("read_committed (isolation level)", "读已提交（隔离级别）")).is_empty());
    assert_eq!(off_glossary(&pair("broker 0 fenced", "Broker 0 断开")).len(), 1, "fenced without 隔离 passed");
    assert!(off_glossary(&pair("broker 0 fenced", "Broker 0 被隔离")).is_empty());
    assert!(has_word("Broker 0 was fenced", "fenced"));
    assert!(!has_word("unclean.leader.election.enable", "leader"));
    assert!(!has_word("cooperative-sticky", "cooperative"));
    assert!(!has_word("replica.lag.time.max.ms", "lag"));
    assert!(has_word("Lag per partition", "lag"));
}

#[test]
fn eligible_leader_replica_events_translate() {
    // The ELR lesson's run (ELR lists, an election from the ELR) and a last known
    // leader elected after both eligible replicas crashed.
    let lesson = kafka_sim::lesson::built_in()
        .unwrap()
        .into_iter()
        .find(|l| l.id == "eligible-leader-replicas")
        .unwrap();
    let mut sim = kafka_sim::Simulation::new(&lesson.scenario);
    sim.run_until(sim.end_us());
    assert_events_translate(&sim);
    let mut s = lesson.scenario.clone();
    s.actions = serde_json::from_value(serde_json::json!([
        {"at_ms": 10000, "action": "stop_broker", "broker": 2},
        {"at_ms": 20000, "action": "kill_broker", "broker": 1},
        {"at_ms": 35000, "action": "kill_broker", "broker": 0},
        {"at_ms": 50000, "action": "restart_broker", "broker": 1},
        {"at_ms": 60000, "action": "restart_broker", "broker": 0}
    ]))
    .unwrap();
    let mut sim = kafka_sim::Simulation::new(&s);
    sim.run_until(sim.end_us());
    let text: String = sim.event_log().entries.iter().map(|e| e.what.describe()).collect();
    assert!(text.contains("last known leader") && text.contains("eligible leader replicas"), "{text}");
    assert_events_translate(&sim);
}

#[test]
fn transaction_and_share_group_lesson_events_translate() {
    // The runs of the exactly-once, read_committed, zombie, hanging-transaction and
    // share-group lessons (transaction coordinators, fencing, lock expiry), both runs.
    let lessons = kafka_sim::lesson::built_in().unwrap();
    let ids = ["exactly-once", "read-committed", "zombie-fencing", "hanging-transaction", "share-group-poison"];
    for id in ids {
        let lesson = lessons.iter().find(|l| l.id == id).unwrap_or_else(|| panic!("lesson {id}"));
        let mut sim = kafka_sim::Simulation::new(&lesson.scenario);
        sim.run_until(sim.end_us());
        assert_events_translate(&sim);
    }
}
