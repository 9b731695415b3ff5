//! The benchmark's smoke mode against the real app (in memory) on port 0.

use booking_api::{Application, Settings};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_benchmark_runs_every_scenario_and_its_checks_hold() {
    let mut settings = Settings::for_tests();
    settings.server.host = "127.0.0.1".into();
    settings.server.port = 0;
    // The api notices a stream's client has gone only when it next writes
    // to it: a heartbeat a second lets the fan-out's streams end before the
    // graceful stop, which would otherwise wait for them.
    settings.live.heartbeat_seconds = 1;
    let app = Application::build(settings).await.expect("the app builds");
    let url = format!("http://127.0.0.1:{}", app.port());
    let handle = app.handle();
    tokio::spawn(app.run_until_stopped());

    let report = booking_bench::smoke(&url)
        .await
        .expect("the smoke run passes");
    for scenario in [
        "(a)",
        "(b)",
        "(c)",
        "(d)",
        "(e)",
        "(f)",
        "(g)",
        "(h)",
        "(i)",
        "subscribers",
    ] {
        assert!(
            report.contains(scenario),
            "{scenario} missing from:\n{report}"
        );
    }
    handle.stop(true).await;
}
