//! The native CLI's contract: help, version, a JSON summary, and one clear
//! line on stderr with a non-zero exit for bad input.

use std::io::Write;
use std::process::{Command, Stdio};

fn kafka_sim(args: &[&str], stdin: &str) -> (i32, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_kafka-sim"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary runs");
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

#[test]
fn help_lists_subcommands_and_version_prints() {
    let (code, out, _) = kafka_sim(&["--help"], "");
    assert_eq!(code, 0);
    for sub in ["run", "presets", "bench"] {
        assert!(out.contains(sub), "help lacks {sub}: {out}");
    }
    let (code, out, _) = kafka_sim(&["--version"], "");
    assert_eq!(code, 0);
    assert_eq!(out.trim(), format!("kafka-sim {}", env!("CARGO_PKG_VERSION")));
}

#[test]
fn run_prints_a_json_summary() {
    let scenario = r#"{"seed": 3, "duration_ms": 5000, "topics": [{"name": "t", "partitions": 3}],
                       "producers": [{"id": "p", "topic": "t", "records_per_sec": 1000, "keys": 10}]}"#;
    let (code, out, err) = kafka_sim(&["run", "-"], scenario);
    assert_eq!(code, 0, "stderr: {err}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("stdout is JSON");
    assert_eq!(v["seed"], 3);
    assert_eq!(v["simulated_ms"], 5000);
    assert!(v["produced"].as_u64().unwrap() >= 4990, "{v}");
    assert_eq!(v["fingerprint"].as_str().unwrap().len(), 16);
}

#[test]
fn bad_input_gives_one_line_and_nonzero_exit() {
    let cases: &[(&[&str], &str)] = &[
        (&["run", "-"], "this is not json"),
        (&["run", "-"], r#"{"topics": [{"name": "t", "replication_factor": 9}]}"#),
        (&["run", "-"], r#"{"actions": [{"at_ms": 5, "action": "kill_broker", "broker": 7}]}"#),
        (&["run", "/nonexistent/file.json"], ""),
        (&["run", "preset:nope"], ""),
        (&["frobnicate"], ""),
    ];
    for (args, stdin) in cases {
        let (code, out, err) = kafka_sim(args, stdin);
        assert_ne!(code, 0, "{args:?} succeeded");
        assert!(out.is_empty(), "{args:?} printed to stdout: {out}");
        assert!(!err.contains("panicked"), "{args:?} panicked: {err}");
        if args[0] == "run" {
            assert_eq!(err.trim().lines().count(), 1, "{args:?}: {err}");
        }
    }
}

#[test]
fn bench_seconds_out_of_range_is_one_line_not_a_panic() {
    // 2^64 / 10^6 + 1 seconds overflowed the conversion to microseconds.
    for seconds in ["18446744073710", "0", "86401"] {
        let (code, out, err) = kafka_sim(&["bench", "--seconds", seconds], "");
        assert_eq!(code, 2, "--seconds {seconds}: {err}");
        assert!(out.is_empty(), "--seconds {seconds} printed {out}");
        assert_eq!(err.trim(), format!("kafka-sim: --seconds must be 1..=86400 (one day), got {seconds}"));
    }
    let (code, _, err) = kafka_sim(&["bench", "--seconds", "1", "--rate-factor", "1000"], "");
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("records_per_sec above 10000000") && !err.contains("panicked"), "{err}");
}

#[test]
fn bench_prints_one_json_object() {
    let (code, out, err) = kafka_sim(&["bench", "--seconds", "1", "--preset", "steady"], "");
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("stdout is JSON");
    assert_eq!(v["simulated_s"], 1);
    for key in ["wall_s", "speedup", "events", "events_per_sec", "records", "consumed", "rebalances"] {
        assert!(v[key].is_number(), "{key} missing in {v}");
    }
}
