//! The real binary says why it cannot start, and exits non-zero, whether
//! the fault is in its settings or in what it meets (a port in use).

use std::net::TcpListener;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

fn run(vars: &[(&str, &str)]) -> Output {
    run_with(&[], vars)
}

fn run_with(args: &[&str], vars: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_booking-api"));
    command
        .args(args)
        .env("BOOKING_CONFIG_DIR", "/nonexistent")
        .env("BOOKING__SERVER__HOST", "127.0.0.1");
    for (key, value) in vars {
        command.env(key, value);
    }
    let started = Instant::now();
    let output = command.output().expect("the binary runs");
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "it gave up too slowly"
    );
    output
}

fn said(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[test]
fn a_port_in_use_is_named_before_the_exit() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let output = run(&[("PORT", &port), ("BOOKING__LOG__FORMAT", "json")]);
    assert_eq!(output.status.code(), Some(1), "{}", said(&output));
    let text = said(&output);
    assert!(text.contains("cannot start"), "{text}");
    assert!(text.contains(&format!("127.0.0.1:{port}")), "{text}");
}

#[test]
fn a_bad_log_level_is_refused_by_name() {
    let output = run(&[("BOOKING__LOG__LEVEL", "x=y=z")]);
    assert_eq!(output.status.code(), Some(2), "{}", said(&output));
    assert!(said(&output).contains("log.level"), "{}", said(&output));
}

/// `--help` must answer, not start a server (it did: on a free machine,
/// one open to the network on port 4000).
#[test]
fn help_and_version_answer_without_serving_and_other_arguments_are_refused() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    // On a taken port, a server that started anyway would exit 1.
    let help = run_with(&["--help"], &[("PORT", &port)]);
    assert_eq!(help.status.code(), Some(0), "{}", said(&help));
    let text = String::from_utf8_lossy(&help.stdout);
    assert!(text.contains("Usage: booking-api"), "{text}");
    assert!(text.contains("BOOKING__"), "{text}");
    let version = run_with(&["--version"], &[("PORT", &port)]);
    assert_eq!(version.status.code(), Some(0), "{}", said(&version));
    assert!(String::from_utf8_lossy(&version.stdout).starts_with("booking-api "));
    let refused = run_with(&["--port", "5000"], &[("PORT", &port)]);
    assert_eq!(refused.status.code(), Some(2), "{}", said(&refused));
    assert!(said(&refused).contains("\"--port\""), "{}", said(&refused));
}
