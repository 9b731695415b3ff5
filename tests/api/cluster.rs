//! Scale-out: three api instances on one Postgres and a real Redis Cluster
//! (3 masters with a replica each, started by the harness on free loopback
//! ports), in `redis.mode = "cluster"`. Every request goes to a random
//! instance and every hold is confirmed through another instance than the
//! one that took it. Then a master dies mid-sale and its replica takes
//! over, and a node comes back with no data: no seat is ever sold twice,
//! nothing booked in Postgres can be held again, and the sale goes on.
//!
//! Each test starts its own cluster; together they take well under two
//! minutes here, so they run with the rest of the suite.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use booking_api::settings::{RedisMode, Secret};
use booking_domain::EventId;
use booking_redis::{EventKeys, KeyPrefix, Part};
use booking_tests::harness::redis_control::info_field;
use booking_tests::harness::{wait_until, Node, RedisCluster, RedisOptions, RedisServer};
use reqwest::StatusCode;

use crate::helpers::{spawn_app_with, As, Stores, TestApp, STORES};
use crate::real_stores::{confirmed_rows, double_booked_seats};

/// `n` api instances on one fresh database and one key prefix, in cluster
/// mode on `cluster`, with quick settling of confirms cut off by a failure
/// (so counts settle within seconds, not the default 30 s).
async fn spawn_instances(cluster: &RedisCluster, n: usize) -> Vec<Arc<TestApp>> {
    let seeds: Vec<Secret> = cluster.seed_urls().into_iter().map(Secret::new).collect();
    let on_cluster = |s: &mut booking_api::Settings| {
        s.redis.mode = RedisMode::Cluster;
        s.redis.urls = seeds.clone();
        s.postgres.pool_wait_ms = 500;
        s.postgres.connect_timeout_ms = 500;
        s.postgres.statement_timeout_ms = 1000;
        s.holds.pending_grace_seconds = 6;
        s.ledger.maintenance_interval_ms = 200;
    };
    let first = STORES
        .scope(Stores::PostgresRedis, spawn_app_with(on_cluster))
        .await;
    let (url, prefix) = (
        first.settings.postgres.url.clone(),
        first.settings.redis.key_prefix.clone(),
    );
    let mut apps = vec![Arc::new(first)];
    for _ in 1..n {
        let (url, prefix) = (url.clone(), prefix.clone());
        let app = STORES
            .scope(
                Stores::PostgresRedis,
                spawn_app_with(|s| {
                    on_cluster(s);
                    s.postgres.url = url;
                    s.redis.key_prefix = prefix;
                }),
            )
            .await;
        apps.push(Arc::new(app));
    }
    apps
}

/// The name of the event's `part` key, as the instances write it.
fn key(app: &TestApp, event: i64, part: Part) -> String {
    let prefix = KeyPrefix::parse(&app.settings.redis.key_prefix).unwrap();
    EventKeys::new(&prefix, EventId::new(event).unwrap())
        .key(part)
        .to_string()
}

/// A small xorshift generator: the tests need spread, not quality.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Self(
            seed.wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407)
                | 1,
        )
    }

    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

/// The seats of `event` with a CONFIRMED booking, read from Postgres.
async fn booked_in_postgres(app: &TestApp, event: i64) -> Vec<String> {
    let client = app.database.as_ref().unwrap().raw_client().await;
    client
        .query(
            "SELECT s.seat_code FROM bookings b JOIN seats s ON s.id = b.seat_id \
             WHERE b.event_id = $1 AND b.status = 'CONFIRMED' ORDER BY s.seat_no",
            &[&event],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect()
}

/// What the buyers of a sale saw, by step and status.
#[derive(Debug, Default)]
struct Tally {
    statuses: HashMap<(&'static str, u16), u64>,
    /// When each request was sent, its step and its status.
    answers: Vec<(Instant, &'static str, u16)>,
    /// (event, seat) the buyers were told they bought.
    sold: Vec<(i64, String)>,
}

impl Tally {
    fn count(&mut self, sent: Instant, step: &'static str, status: StatusCode) {
        *self.statuses.entry((step, status.as_u16())).or_default() += 1;
        self.answers.push((sent, step, status.as_u16()));
    }

    /// The statuses of the requests sent between `from` and `to`.
    fn between(&self, from: Instant, to: Instant) -> HashMap<(&'static str, u16), u64> {
        let mut seen = HashMap::new();
        for (sent, step, status) in &self.answers {
            if (from..to).contains(sent) {
                *seen.entry((*step, *status)).or_default() += 1;
            }
        }
        seen
    }

    fn of(&self, step: &'static str, status: u16) -> u64 {
        self.statuses.get(&(step, status)).copied().unwrap_or(0)
    }

    fn any_5xx_but_503(&self) -> Vec<(&'static str, u16)> {
        self.statuses
            .keys()
            .filter(|(_, s)| *s >= 500 && *s != 503)
            .copied()
            .collect()
    }
}

/// How a sale runs: `buyers` buyers, at most `rounds` attempts each,
/// `pause` between two attempts of a buyer, until nothing is left, `until`
/// passes or `stop` is set.
struct Pace {
    buyers: u64,
    rounds: usize,
    pause: Duration,
    until: Instant,
    stop: Arc<AtomicBool>,
}

/// A sale of the unsold seats of several events: each buyer takes 1-3
/// unsold seats of a random event through a random instance and confirms
/// through another. Every answer is tallied; buyers never panic, the test
/// judges the tally.
async fn run_sale(
    apps: &[Arc<TestApp>],
    unsold: Arc<Mutex<HashMap<i64, Vec<u32>>>>,
    pace: Pace,
) -> Tally {
    let Pace {
        buyers,
        rounds,
        pause,
        until,
        stop,
    } = pace;
    let tally = Arc::new(Mutex::new(Tally::default()));
    let tasks = (0..buyers).map(|buyer| {
        let (apps, unsold, tally, stop) =
            (apps.to_vec(), unsold.clone(), tally.clone(), stop.clone());
        tokio::spawn(async move {
            let user = format!("buyer-{buyer}");
            let mut rng = Rng::new(buyer + 1);
            for _ in 0..rounds {
                if Instant::now() > until || stop.load(Ordering::Relaxed) {
                    return;
                }
                let (event, wanted) = {
                    let unsold = unsold.lock().unwrap();
                    let open: Vec<(&i64, &Vec<u32>)> =
                        unsold.iter().filter(|(_, s)| !s.is_empty()).collect();
                    if open.is_empty() {
                        return;
                    }
                    let (event, seats) = open[rng.below(open.len())];
                    let want = (1 + rng.below(3)).min(seats.len());
                    let mut picks = HashSet::new();
                    while picks.len() < want {
                        picks.insert(seats[rng.below(seats.len())]);
                    }
                    let wanted: Vec<String> = picks.into_iter().map(|n| format!("S{n}")).collect();
                    (*event, wanted)
                };
                let codes: Vec<&str> = wanted.iter().map(String::as_str).collect();
                let took = rng.below(apps.len());
                let sent = Instant::now();
                let reserved = apps[took].reserve(event, &user, &codes).await;
                tally
                    .lock()
                    .unwrap()
                    .count(sent, "reserve", reserved.status);
                if reserved.status != StatusCode::CREATED {
                    tokio::time::sleep(pause).await;
                    continue;
                }
                let other = (took + 1 + rng.below(apps.len() - 1)) % apps.len();
                let hold = reserved.str("holdGroupId");
                let sent = Instant::now();
                let confirmed = apps[other].confirm(event, &user, &hold).await;
                {
                    let mut tally = tally.lock().unwrap();
                    tally.count(sent, "confirm", confirmed.status);
                    if confirmed.status == StatusCode::OK {
                        let mut unsold = unsold.lock().unwrap();
                        let left = unsold.get_mut(&event).unwrap();
                        left.retain(|n| !wanted.contains(&format!("S{n}")));
                        tally.sold.extend(wanted.iter().map(|s| (event, s.clone())));
                    }
                }
                tokio::time::sleep(pause).await;
            }
        })
    });
    for task in futures_util::future::join_all(tasks).await {
        task.expect("a buyer panicked");
    }
    Arc::try_unwrap(tally).unwrap().into_inner().unwrap()
}

/// Creates `n` events of `seats` seats through the instances in turn.
async fn create_events(apps: &[Arc<TestApp>], n: usize, seats: u32) -> Vec<i64> {
    let mut events = Vec::new();
    for i in 0..n {
        events.push(apps[i % apps.len()].create_event(seats).await);
    }
    events
}

fn all_unsold(events: &[i64], seats: u32) -> Arc<Mutex<HashMap<i64, Vec<u32>>>> {
    Arc::new(Mutex::new(
        events.iter().map(|e| (*e, (1..=seats).collect())).collect(),
    ))
}

/// Every instance reports the same counts for `event`, which add up, with
/// `confirmed` seats confirmed; retried for a while, as confirms cut off
/// by a failure settle.
async fn counts_agree(apps: &[Arc<TestApp>], event: i64, confirmed: u64, held: Option<u64>) {
    let what = format!("every instance to count {confirmed} confirmed seats of event {event}");
    wait_until(Duration::from_secs(15), &what, || async {
        for app in apps {
            let answer = app.event(event).await;
            if answer.status != StatusCode::OK {
                return false;
            }
            let n = |f: &str| answer.body[f].as_u64().unwrap();
            let (c, h, a, t) = (
                n("confirmedSeats"),
                n("heldSeats"),
                n("availableSeats"),
                n("total_seats"),
            );
            assert_eq!(c + h + a, t, "counts do not add up: {:?}", answer.body);
            if c != confirmed || held.is_some_and(|held| held != h) {
                return false;
            }
        }
        true
    })
    .await;
}

/// Every seat Postgres says is booked is refused, ten at a time (the most
/// one hold may take), through the instances in turn: each refusal names
/// every seat of its batch.
async fn no_booked_seat_can_be_held(apps: &[Arc<TestApp>], event: i64, booked: &[String]) {
    for (i, batch) in booked.chunks(10).enumerate() {
        let app = &apps[i % apps.len()];
        let codes: Vec<&str> = batch.iter().map(String::as_str).collect();
        let answer = app.reserve(event, "late-buyer", &codes).await;
        answer.assert_error(409, "SEATS_UNAVAILABLE");
        let refused: HashSet<&str> = answer.body["seats"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|s| s.as_str())
            .collect();
        assert_eq!(
            refused,
            codes.iter().copied().collect(),
            "{:?}",
            answer.body
        );
    }
}

/// The master a node names for the event's slot, as the harness sees it.
async fn master_of(cluster: &RedisCluster, app: &TestApp, event: i64) -> Node {
    cluster.master_for_key(&key(app, event, Part::Meta)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_instances_on_a_redis_cluster_sell_several_events_without_double_booking() {
    const EVENTS: usize = 4;
    const SEATS: u32 = 60;
    let started = Instant::now();
    let cluster = RedisCluster::spawn().await;
    let apps = spawn_instances(&cluster, 3).await;
    let events = create_events(&apps, EVENTS, SEATS).await;
    // The events live on more than one master, so the client really
    // routes by slot.
    let mut masters = HashSet::new();
    for event in &events {
        masters.insert(master_of(&cluster, &apps[0], *event).await);
    }
    assert!(
        masters.len() > 1,
        "the events should spread over the masters"
    );
    let ready = apps[1].send("GET", "/health/ready", As::Nobody, None).await;
    assert_eq!(ready.status, 200, "{:?}", ready.body);
    assert!(
        ready.body["holdStore"]["version"]
            .as_str()
            .unwrap()
            .ends_with("(cluster)"),
        "{:?}",
        ready.body
    );

    let unsold = all_unsold(&events, SEATS);
    let pace = Pace {
        buyers: 60,
        rounds: 400,
        pause: Duration::ZERO,
        until: Instant::now() + Duration::from_secs(60),
        stop: Arc::default(),
    };
    let tally = run_sale(&apps, unsold.clone(), pace).await;

    // Nothing failed: every hold was confirmed, through another instance.
    assert!(tally.any_5xx_but_503().is_empty(), "{:?}", tally.statuses);
    assert_eq!(tally.of("reserve", 503), 0, "{:?}", tally.statuses);
    assert_eq!(
        tally.of("reserve", 201),
        tally.of("confirm", 200),
        "{:?}",
        tally.statuses
    );
    let sold: HashSet<&(i64, String)> = tally.sold.iter().collect();
    assert_eq!(sold.len(), tally.sold.len(), "a seat was sold twice");
    assert_eq!(sold.len(), EVENTS * SEATS as usize, "every seat is sold");
    for event in &events {
        assert_eq!(double_booked_seats(&apps[0], *event).await, 0);
        assert_eq!(confirmed_rows(&apps[0], *event).await, i64::from(SEATS));
        counts_agree(&apps, *event, u64::from(SEATS), Some(0)).await;
    }
    eprintln!(
        "cluster sale: {} seats of {EVENTS} events on 3 instances in {:?} ({:?})",
        sold.len(),
        started.elapsed(),
        tally.statuses
    );
}

/// A master dies mid-sale; the cluster fails its replica over. Requests
/// in the window may get 503, never 500. Afterwards Postgres has no double
/// booking, nothing it has booked can be held, bookings made before the
/// failover are intact, and the sale goes on. The fence proves itself: the
/// promoted replica carries a mirror marked ready but lacks the node-local
/// mark, so its events reload from Postgres before serving.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_master_killed_mid_sale_fails_over_with_503s_at_worst_and_no_double_booking() {
    const SEATS: u32 = 2000;
    let started = Instant::now();
    let mut cluster = RedisCluster::spawn().await;
    let apps = spawn_instances(&cluster, 3).await;
    // The sale's event, and an idle event on the same master.
    let sale = apps[0].create_event(SEATS).await;
    let doomed = master_of(&cluster, &apps[0], sale).await;
    let mut idle = None;
    for _ in 0..24 {
        let event = apps[1].create_event(10).await;
        if master_of(&cluster, &apps[0], event).await == doomed {
            idle = Some(event);
            break;
        }
    }
    let idle = idle.expect("an event on the same master as the sale");
    // Bookings before the failover, each taken and confirmed through
    // different instances.
    let mut before = Vec::new();
    for (i, seats) in [["S1", "S2"], ["S3", "S4"]].iter().enumerate() {
        let hold = apps[i].hold(sale, "early", seats).await;
        let answer = apps[i + 1].confirm(sale, "early", &hold).await;
        assert_eq!(answer.status, 200, "{:?}", answer.body);
        before.push(answer.str("bookingGroupId"));
    }
    let idle_booking = apps[2].book(idle, "early", &["S5"]).await;
    // Let the replica have all of it, so its copy of the idle event's
    // mirror says "ready" (and the fence, not luck, must stop it).
    let replica = cluster.replica_of(doomed).await;
    let what = "the replica to catch up with its master";
    wait_until(Duration::from_secs(10), what, || async {
        let master = info_field(doomed.port(), "replication", "master_repl_offset").await;
        let copied = info_field(replica.port(), "replication", "slave_repl_offset").await;
        matches!((master, copied), (Ok(m), Ok(c)) if m.parse::<u64>().ok() <= c.parse().ok())
    })
    .await;

    let mut unsold: HashMap<i64, Vec<u32>> = HashMap::new();
    unsold.insert(sale, (5..=SEATS).collect());
    let unsold = Arc::new(Mutex::new(unsold));
    // Buyers pace themselves so the sale lasts through the failover.
    let stop = Arc::new(AtomicBool::new(false));
    let pace = Pace {
        buyers: 8,
        rounds: 100_000,
        pause: Duration::from_millis(20),
        until: Instant::now() + Duration::from_secs(60),
        stop: stop.clone(),
    };
    let buying = {
        let (apps, unsold) = (apps.clone(), unsold.clone());
        tokio::spawn(async move { run_sale(&apps, unsold, pace).await })
    };
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let meta = key(&apps[0], sale, Part::Meta);
    let kill = Instant::now();
    let killed = cluster.kill_master_for(&meta).await;
    assert_eq!(killed, doomed);
    let promoted = cluster.wait_for_failover(&meta).await;
    assert_eq!(promoted, replica);
    let failed_over = Instant::now();

    // The idle event's copy on the promoted replica: ready, but without
    // the node-local mark the old master wrote with REPL_NONE.
    let idle_meta = key(&apps[0], idle, Part::Meta);
    let idle_local = key(&apps[0], idle, Part::Local);
    let state: Option<String> = cluster
        .server(promoted)
        .query(redis::cmd("HGET").arg(&idle_meta).arg("st"))
        .await;
    assert_eq!(state.as_deref(), Some("ready"));
    let marked: i64 = cluster
        .server(promoted)
        .query(redis::cmd("EXISTS").arg(&idle_local))
        .await;
    assert_eq!(marked, 0, "the node-local mark never reaches a replica");

    // The sale goes on for a while on the promoted master.
    tokio::time::sleep(Duration::from_secs(3)).await;
    stop.store(true, Ordering::Relaxed);
    let tally = buying.await.unwrap();
    assert!(
        tally.any_5xx_but_503().is_empty(),
        "only 503s in the window: {:?}",
        tally.statuses
    );
    let window = tally.between(kill, failed_over);
    let after = tally.between(failed_over, Instant::now());
    assert!(
        after.get(&("confirm", 200)).is_some_and(|n| *n > 0),
        "sales went on after the failover: {after:?}"
    );

    // The seat booked before the failover cannot be held through any
    // instance: the fence made the promoted master reload the event.
    for app in &apps {
        app.reserve(idle, "late-buyer", &["S5"])
            .await
            .assert_error(409, "SEATS_UNAVAILABLE");
    }
    let marked: i64 = cluster
        .server(promoted)
        .query(redis::cmd("EXISTS").arg(&idle_local))
        .await;
    assert_eq!(marked, 1, "the reload stamped the new master");
    assert_eq!(
        apps[0]
            .booking(&idle_booking, As::Header("early"))
            .await
            .status,
        200
    );

    // Postgres decides, and nothing it booked can be held.
    let booked = booked_in_postgres(&apps[0], sale).await;
    assert_eq!(double_booked_seats(&apps[0], sale).await, 0);
    for seat in ["S1", "S2", "S3", "S4"] {
        assert!(booked.contains(&seat.to_owned()), "{seat} lost: {booked:?}");
    }
    for (i, booking) in before.iter().enumerate() {
        let view = apps[i % 3].booking(booking, As::Header("early")).await;
        assert_eq!(view.status, 200, "{:?}", view.body);
        let rows = view.body.as_array().unwrap();
        assert_eq!(rows.len(), 2);
        assert!(rows.iter().all(|r| r["status"] == "CONFIRMED"), "{rows:?}");
    }
    no_booked_seat_can_be_held(&apps, sale, &booked).await;
    let sold: HashSet<&(i64, String)> = tally.sold.iter().collect();
    assert_eq!(sold.len(), tally.sold.len(), "a seat was sold twice");
    for (event, seat) in &sold {
        assert!(
            booked.contains(seat),
            "{seat} of {event} sold but not booked"
        );
    }

    // The sale goes on: a free seat is bought, held through one instance
    // and confirmed through another. A seat neither booked nor free is
    // still held by a buyer whose confirm failed in the window, or whose
    // reserve landed with its answer lost: such a hold lives until it
    // expires, and its seat is answered as taken.
    for free in (5..=SEATS)
        .map(|n| format!("S{n}"))
        .filter(|s| !booked.contains(s))
    {
        let reserved = apps[0].reserve(sale, "after", &[&free]).await;
        if reserved.status == StatusCode::CONFLICT {
            reserved.assert_error(409, "SEATS_UNAVAILABLE");
            continue;
        }
        assert_eq!(reserved.status, StatusCode::CREATED, "{:?}", reserved.body);
        let hold = reserved.str("holdGroupId");
        let answer = apps[2].confirm(sale, "after", &hold).await;
        assert_eq!(answer.status, 200, "{:?}", answer.body);
        break;
    }
    let booked = confirmed_rows(&apps[0], sale).await;
    counts_agree(&apps, sale, u64::try_from(booked).unwrap(), None).await;
    assert_eq!(double_booked_seats(&apps[0], sale).await, 0);
    eprintln!(
        "failover: master {} -> {} in {:?}, test took {:?}; {booked} seats booked; \
         in the window {window:?}; after it {after:?}",
        doomed.port(),
        promoted.port(),
        failed_over - kill,
        started.elapsed(),
    );
}

/// A node restarted with no data rejoins the cluster (as the master of its
/// slots if it came back before its replica took over, else as the
/// replica of its successor). Either way the events whose slots it served
/// are reloaded from Postgres before they serve again; the others keep
/// their mirrors.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_restarted_empty_rejoins_and_its_events_reload_from_postgres() {
    let started = Instant::now();
    let mut cluster = RedisCluster::spawn().await;
    let apps = spawn_instances(&cluster, 3).await;
    let events = create_events(&apps, 6, 10).await;
    let mut on_master: HashMap<Node, Vec<i64>> = HashMap::new();
    for event in &events {
        let master = master_of(&cluster, &apps[0], *event).await;
        on_master.entry(master).or_default().push(*event);
    }
    let (&restarted, restarted_events) = on_master.iter().max_by_key(|(_, e)| e.len()).unwrap();
    let restarted_events = restarted_events.clone();
    let others: Vec<i64> = events
        .iter()
        .copied()
        .filter(|e| !restarted_events.contains(e))
        .collect();
    for (i, event) in events.iter().enumerate() {
        let hold = apps[i % 3].hold(*event, "early", &["S1", "S2"]).await;
        let answer = apps[(i + 1) % 3].confirm(*event, "early", &hold).await;
        assert_eq!(answer.status, 200, "{:?}", answer.body);
    }

    cluster.restart_node_empty(restarted).await;
    let master = master_of(&cluster, &apps[0], restarted_events[0]).await;
    let came_back_as = if master == restarted {
        "master, empty"
    } else {
        "replica of its successor"
    };
    // Before any request: the event's mirror on its master cannot serve
    // (gone with the data, or on a promoted replica lacking the mark).
    for event in &restarted_events {
        let meta: i64 = cluster
            .server(master)
            .query(redis::cmd("EXISTS").arg(key(&apps[0], *event, Part::Meta)))
            .await;
        let local: i64 = cluster
            .server(master)
            .query(redis::cmd("EXISTS").arg(key(&apps[0], *event, Part::Local)))
            .await;
        assert!(
            meta == 0 || local == 0,
            "event {event} would serve unfenced"
        );
    }

    // The other events kept their mirrors, stamped on their masters.
    for event in &others {
        let master = master_of(&cluster, &apps[0], *event).await;
        let local: i64 = cluster
            .server(master)
            .query(redis::cmd("EXISTS").arg(key(&apps[0], *event, Part::Local)))
            .await;
        assert_eq!(
            local,
            1,
            "event {event} kept its mirror on {}",
            master.port()
        );
    }

    for event in &events {
        counts_agree(&apps, *event, 2, Some(0)).await;
        no_booked_seat_can_be_held(&apps, *event, &["S1".to_owned(), "S2".to_owned()]).await;
        let hold = apps[2].hold(*event, "after", &["S3"]).await;
        let answer = apps[0].confirm(*event, "after", &hold).await;
        assert_eq!(answer.status, 200, "{:?}", answer.body);
        assert_eq!(double_booked_seats(&apps[0], *event).await, 0);
    }
    // Reloaded, the restarted node's events carry the mark again.
    for event in &restarted_events {
        let local: i64 = cluster
            .server(master)
            .query(redis::cmd("EXISTS").arg(key(&apps[0], *event, Part::Local)))
            .await;
        assert_eq!(local, 1, "event {event} was reloaded on {}", master.port());
    }
    eprintln!(
        "restart empty: node {} came back as {came_back_as}; {} events reloaded, {} kept; {:?}",
        restarted.port(),
        restarted_events.len(),
        others.len(),
        started.elapsed()
    );
}

/// `redis.url` naming a node of a cluster, in single mode, would serve
/// that node's slots and answer 503 for the rest while readiness said
/// ready (the cluster audit saw it): start-up stops and says what to set.
#[tokio::test]
async fn a_cluster_node_named_as_a_single_server_is_refused_at_start_up() {
    let node =
        RedisServer::spawn_with(RedisOptions::default().cluster(Duration::from_secs(2))).await;
    let database = booking_postgres::testing::TestDatabase::create_empty().await;
    let mut settings = booking_api::Settings::for_tests();
    settings.server.host = "127.0.0.1".into();
    settings.server.port = 0;
    settings.storage = booking_api::settings::Storage::PostgresRedis;
    settings.postgres.url = Secret::new(database.url());
    settings.redis.url = Secret::new(node.url());
    let Err(error) = booking_api::Application::build(settings).await else {
        panic!("the app started on a cluster node in single mode");
    };
    let said = format!("{error:#}");
    assert!(said.contains("redis.mode = \"cluster\""), "{said}");
}
