//! The real binary stops cleanly on SIGTERM and SIGINT: it stops accepting,
//! lets requests in flight finish, ends live streams, and exits 0; and what
//! it logged by then is there, a line per request.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start(port: u16, log_format: &str) -> Child {
    let child = Command::new(env!("CARGO_BIN_EXE_booking-api"))
        .env("PORT", port.to_string())
        .env("BOOKING__LOG__FORMAT", log_format)
        .env("BOOKING__SERVER__HOST", "127.0.0.1")
        .env("BOOKING__LOG__LEVEL", "info")
        .env("BOOKING_CONFIG_DIR", "/nonexistent")
        .env("BOOKING__SERVER__SHUTDOWN_TIMEOUT_SECONDS", "30")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the binary starts");
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "the server did not start listening"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    child
}

fn get(port: u16, path: &str) -> String {
    get_with(port, path, "")
}

/// A GET with `headers` (each line ending in CRLF) added.
fn get_with(port: u16, path: &str, headers: &str) -> String {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: x\r\n{headers}Connection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    answer
}

fn send(signal: &str, child: &Child) {
    let status = Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

/// Everything the stopped `child` wrote to stdout.
fn logged(child: &mut Child) -> String {
    let mut log = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut log)
        .unwrap();
    log
}

/// Creates an event and opens its live stream, returning the connection
/// once the stream's first message has arrived.
fn open_stream(port: u16) -> TcpStream {
    let body = r#"{"name":"n","date":"2030-01-01T00:00:00Z","location":"l","totalSeats":5}"#;
    let mut create = TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        create,
        "POST /events HTTP/1.1\r\nHost: x\r\nX-User-Id: alice\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut created = String::new();
    create.read_to_string(&mut created).unwrap();
    assert!(created.starts_with("HTTP/1.1 201"), "{created}");
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        stream,
        "GET /events/1/stream HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n"
    )
    .unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut seen = Vec::new();
    let mut buffer = [0u8; 4096];
    while !String::from_utf8_lossy(&seen).contains("event: snapshot") {
        let n = stream.read(&mut buffer).expect("the stream answers");
        assert!(n > 0, "the stream ended before its snapshot");
        seen.extend_from_slice(&buffer[..n]);
    }
    stream
}

/// With a live stream open (its body never ends by itself), the stop
/// still takes well under the 30 s shutdown timeout: the stream is ended.
fn stops_cleanly_on(signal: &str) {
    let port = free_port();
    let mut child = start(port, "pretty");
    assert!(get(port, "/health/live").starts_with("HTTP/1.1 200"));
    let mut stream = open_stream(port);
    let signalled = Instant::now();
    send(signal, &child);
    let mut rest = Vec::new();
    stream
        .read_to_end(&mut rest)
        .expect("the stream ends, not times out");
    let deadline = signalled + Duration::from_secs(10);
    assert!(
        Instant::now() < deadline,
        "the stream ended {:?} after {signal}",
        signalled.elapsed()
    );
    let exit = loop {
        if let Some(exit) = child.try_wait().unwrap() {
            break exit;
        }
        assert!(
            Instant::now() < deadline,
            "the server did not stop on {signal}"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(exit.success(), "exit on {signal}: {exit:?}");
    let log = logged(&mut child);
    assert!(log.contains("stopped"), "{log}");
    assert!(
        TcpStream::connect(("127.0.0.1", port)).is_err(),
        "still listening"
    );
}

/// API.md: every response's `X-Request-Id` "is on the request's log line
/// too". In JSON the request is no tracing span (`telemetry::request`):
/// its line carries the id, method and path under `span` all the same.
fn logs_a_json_line_per_request_with_its_id() {
    let port = free_port();
    let mut child = start(port, "json");
    let chosen = get_with(port, "/nowhere", "X-Request-Id: client-chosen-42\r\n");
    assert!(chosen.starts_with("HTTP/1.1 404"), "{chosen}");
    let given = get(port, "/health/live");
    let given_id = given
        .lines()
        .find_map(|line| line.strip_prefix("x-request-id: "))
        .expect("an id is given")
        .to_owned();
    send("-TERM", &child);
    assert!(child.wait().unwrap().success());
    let log = logged(&mut child);
    let lines: Vec<serde_json::Value> = log
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect();
    let answered = |id: &str| {
        let found: Vec<&serde_json::Value> = lines
            .iter()
            .filter(|line| line["message"] == "answered" && line["span"]["request_id"] == id)
            .collect();
        assert_eq!(found.len(), 1, "one line for {id} in {log}");
        found[0].clone()
    };
    let chosen = answered("client-chosen-42");
    assert_eq!(chosen["status"], 404);
    assert_eq!(chosen["span"]["method"], "GET");
    assert_eq!(chosen["span"]["path"], "/nowhere");
    assert_eq!(chosen["span"]["name"], "request");
    let given = answered(&given_id);
    assert_eq!(given["status"], 200);
    assert_eq!(given["span"]["path"], "/health/live");
}

// One test, one start after the other: two tests in parallel could be
// handed the same free port.
#[test]
fn the_binary_stops_cleanly_on_sigterm_and_on_sigint() {
    stops_cleanly_on("-TERM");
    stops_cleanly_on("-INT");
    logs_a_json_line_per_request_with_its_id();
}

#[test]
fn a_bad_setting_stops_start_up_with_a_message_naming_it() {
    let output = Command::new(env!("CARGO_BIN_EXE_booking-api"))
        .env("BOOKING__SERVER__PROT", "1")
        .env("BOOKING_CONFIG_DIR", "/nonexistent")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("prot"), "{stderr}");

    let output = Command::new(env!("CARGO_BIN_EXE_booking-api"))
        .env("APP_ENV", "production")
        .env("BOOKING_CONFIG_DIR", "/nonexistent")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("jwt_secret"), "{stderr}");
}
