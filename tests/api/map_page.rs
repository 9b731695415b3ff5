//! The seat map page, in a real headless Chromium driven over WebDriver
//! (Debian's `chromium` and `chromium-driver`; `.ci/run` installs them).
//!
//! Set `BOOKING_SCREENSHOT_DIR` to keep a screenshot of the page:
//! `BOOKING_SCREENSHOT_DIR=/tmp cargo test -p booking-tests --test api map_page`.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{json, Value};

use crate::helpers::{spawn_app, spawn_jwt_app, token, As, TestApp};

const INSTALL: &str =
    "install Debian's browser and driver: apt-get install chromium chromium-driver";

/// A chromedriver of the test's own, stopped when dropped.
struct Driver {
    child: Child,
    url: String,
    http: reqwest::Client,
    session: String,
    profile: TempDir,
}

struct TempDir(std::path::PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        // Killing chromedriver leaves the browser it started running (and
        // using CPU for the rest of the test run): its processes are found
        // by the profile directory only they were given.
        let _ = Command::new("pkill")
            .arg("-f")
            .arg(format!("user-data-dir={}", self.profile.0.display()))
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Driver {
    async fn start() -> Self {
        let port = free_port();
        let child = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run chromedriver ({e}); {INSTALL}"));
        let url = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
        let started = Instant::now();
        while http.get(format!("{url}/status")).send().await.is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "chromedriver did not start; {INSTALL}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let profile = std::env::temp_dir().join(format!(
            "booking-chromium-{}",
            uuid::Uuid::new_v4().simple()
        ));
        std::fs::create_dir_all(&profile).unwrap();
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": "/usr/bin/chromium",
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                    "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync",
                    "--window-size=1000,700",
                    format!("--user-data-dir={}", profile.display()),
                ],
            },
        }}});
        let session: Value = http
            .post(format!("{url}/session"))
            .json(&capabilities)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let session = session["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("chromium did not start: {session}; {INSTALL}"))
            .to_owned();
        Self {
            child,
            url,
            http,
            session,
            profile: TempDir(profile),
        }
    }

    async fn command(&self, method: reqwest::Method, path: &str, body: Value) -> Value {
        let url = format!("{}/session/{}{path}", self.url, self.session);
        let mut request = self.http.request(method, url);
        if !body.is_null() {
            request = request.json(&body);
        }
        let response: Value = request.send().await.unwrap().json().await.unwrap();
        response["value"].clone()
    }

    async fn open(&self, url: &str) {
        self.command(reqwest::Method::POST, "/url", json!({ "url": url }))
            .await;
    }

    async fn run(&self, script: &str) -> Value {
        self.command(
            reqwest::Method::POST,
            "/execute/sync",
            json!({"script": script, "args": []}),
        )
        .await
    }

    /// A seat button's status and colour as the page shows them.
    async fn seat(&self, code: &str) -> (Value, Value) {
        let value = self
            .run(&format!(
                "const s = document.getElementById('seat-{code}'); \
                 return s ? [s.dataset.status, getComputedStyle(s).backgroundColor, s.dataset.mine] : null;"
            ))
            .await;
        (value[0].clone(), value[1].clone())
    }

    /// Waits up to `within` for the seat to show `status`; returns how long
    /// it took.
    async fn await_seat(&self, code: &str, status: &str, within: Duration) -> Duration {
        let started = Instant::now();
        loop {
            if self.seat(code).await.0 == status {
                return started.elapsed();
            }
            assert!(
                started.elapsed() < within,
                "seat {code} did not turn {status} within {within:?}: {:?}",
                self.seat(code).await
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    async fn screenshot(&self) -> Vec<u8> {
        let png = self
            .command(reqwest::Method::GET, "/screenshot", Value::Null)
            .await;
        base64::engine::general_purpose::STANDARD
            .decode(png.as_str().unwrap())
            .unwrap()
    }
}

async fn held_codes(app: &TestApp, event: i64) -> Vec<String> {
    let answer = app
        .send(
            "GET",
            &format!("/events/{event}/seats?status=held"),
            As::Nobody,
            None,
        )
        .await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    answer
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["seatCode"].as_str().unwrap().to_owned())
        .collect()
}

on_both_stores! {
    async fn the_map_page_is_one_self_contained_html_file() {
        let app = spawn_app().await;
        let event = app.create_event(4).await;
        let response = app.client.get(format!("{}/events/{event}/map", app.address)).send().await.unwrap();
        assert_eq!(response.status(), 200);
        assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
        let page = response.text().await.unwrap();
        assert!(page.contains("EventSource"));
        // Nothing is fetched from elsewhere.
        assert!(!page.contains("http://") && !page.contains("https://"), "the page links outside");
        let missing = app.send("GET", "/events/999/map", As::Nobody, None).await;
        missing.assert_error(404, "EVENT_NOT_FOUND");
    }
}

on_both_stores! {
    async fn a_hold_made_over_the_api_recolours_its_seat_on_the_page_within_a_second() {
        let app = spawn_app().await;
        let body = json!({
            "name": "Browser night", "date": "2030-06-01T19:30:00Z", "location": "Hall",
            "rows": [{"label": "A", "seats": 8}, {"label": "B", "seats": 8}],
        });
        let event = app.send("POST", "/events", As::Nobody, Some(body)).await.body["eventId"].as_i64().unwrap();
        app.book(event, "carol", &["B8"]).await;
        let browser = Driver::start().await;
        browser.open(&format!("{}/events/{event}/map", app.address)).await;
        browser.await_seat("A1", "available", Duration::from_secs(10)).await;
        let (_, available) = browser.seat("A1").await;
        assert_eq!(browser.seat("B8").await.0, "booked");

        app.hold(event, "alice", &["A1", "A2"]).await;
        let took = browser.await_seat("A1", "held", Duration::from_secs(1)).await;
        let (_, held) = browser.seat("A1").await;
        assert_ne!(held, available, "the seat changed colour");
        assert_eq!(browser.seat("A2").await.0, "held");
        println!("the page showed the hold {took:?} after the API answered");

        // A person holds a seat by clicking it, and releases it again.
        browser.run("document.getElementById('user').value = 'dave.q.public'; document.getElementById('seat-B3').click();").await;
        browser.await_seat("B3", "held", Duration::from_secs(2)).await;
        assert!(held_codes(&app, event).await.contains(&"B3".to_owned()));
        browser.run("document.getElementById('seat-B3').click();").await;
        browser.await_seat("B3", "available", Duration::from_secs(2)).await;
        assert!(!held_codes(&app, event).await.contains(&"B3".to_owned()));

        let png = browser.screenshot().await;
        assert!(png.starts_with(b"\x89PNG"), "a PNG screenshot");
        if let Ok(dir) = std::env::var("BOOKING_SCREENSHOT_DIR") {
            let path = std::path::Path::new(&dir).join("seat-map.png");
            std::fs::write(&path, &png).unwrap();
            println!("screenshot: {}", path.display());
        }
    }
}

/// In jwt mode the box takes a token: the page sends it as a bearer token
/// (it sent only X-User-Id, so every click got 401: the security audit).
#[tokio::test]
async fn in_jwt_mode_the_page_holds_a_seat_for_the_token_in_the_box() {
    let app = spawn_jwt_app().await;
    let admin = token("boss", true);
    let body = json!({"name": "Token night", "date": "2030-06-01T19:30:00Z", "location": "Hall", "totalSeats": 6});
    let created = app
        .send("POST", "/events", As::Bearer(&admin), Some(body))
        .await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    let event = created.body["eventId"].as_i64().unwrap();
    let browser = Driver::start().await;
    browser
        .open(&format!("{}/events/{event}/map", app.address))
        .await;
    browser
        .await_seat("S2", "available", Duration::from_secs(10))
        .await;

    let erin = token("erin", false);
    browser
        .run(&format!(
            "document.getElementById('user').value = '{erin}'; document.getElementById('seat-S2').click();"
        ))
        .await;
    browser
        .await_seat("S2", "held", Duration::from_secs(2))
        .await;
    assert_eq!(held_codes(&app, event).await, ["S2"]);
    // Held for erin: the hold the page made is hers, not another's.
    let made = browser.run("return [...mine.values()];").await;
    let hold = made[0]
        .as_str()
        .expect("the page kept its hold's id")
        .to_owned();
    let path = format!("/holds/{hold}");
    assert_eq!(
        app.send("GET", &path, As::Bearer(&erin), None).await.status,
        200
    );
    app.send("GET", &path, As::Bearer(&token("frank", false)), None)
        .await
        .assert_error(403, "NOT_HOLD_OWNER");
    browser
        .run("document.getElementById('seat-S2').click();")
        .await;
    browser
        .await_seat("S2", "available", Duration::from_secs(2))
        .await;
    assert!(held_codes(&app, event).await.is_empty());
}
