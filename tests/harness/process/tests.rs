use super::*;

fn sleeper() -> ProcessGuard {
    ProcessGuard::spawn("sleep", std::process::Command::new("sleep").arg("60")).unwrap()
}

fn is_alive(pid: u32) -> bool {
    // A reaped process is gone from /proc; a zombie says Z.
    state_of(pid).is_some_and(|state| state != 'Z')
}

#[test]
fn dropping_the_guard_kills_the_process_even_when_paused() {
    let mut guard = sleeper();
    let pid = guard.pid();
    guard.pause();
    assert_eq!(state_of(pid), Some('T'));
    drop(guard);
    assert!(!is_alive(pid));
}

#[test]
fn a_panicking_test_still_kills_its_processes() {
    let pid = std::sync::Mutex::new(0);
    let unwound = std::panic::catch_unwind(|| {
        let guard = sleeper();
        *pid.lock().unwrap() = guard.pid();
        panic!("the test fails");
    });
    assert!(unwound.is_err());
    assert!(!is_alive(*pid.lock().unwrap()));
}

#[test]
fn pause_freezes_children_too_and_resume_thaws_them() {
    let mut guard = ProcessGuard::spawn(
        "sh",
        std::process::Command::new("sh").args(["-c", "sleep 60 & sleep 60; wait"]),
    )
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    let children = loop {
        let children = descendants(guard.pid());
        if children.len() == 2 {
            break children;
        }
        assert!(Instant::now() < deadline, "sh did not start its sleeps");
        std::thread::sleep(Duration::from_millis(10));
    };
    guard.pause();
    assert!(children.iter().all(|&c| state_of(c) == Some('T')));
    guard.resume();
    assert!(children.iter().all(|&c| state_of(c) != Some('T')));
    for child in children {
        send_signal(child, Signal::Kill).unwrap();
    }
}

#[test]
fn killing_with_descendants_leaves_no_child_behind() {
    let guard = ProcessGuard::spawn(
        "sh",
        std::process::Command::new("sh").args(["-c", "sleep 60 & sleep 60 & wait"]),
    )
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    let children = loop {
        let children = descendants(guard.pid());
        if children.len() == 2 {
            break children;
        }
        assert!(Instant::now() < deadline, "sh did not start its sleeps");
        std::thread::sleep(Duration::from_millis(10));
    };
    guard.kill_with_descendants();
    let deadline = Instant::now() + Duration::from_secs(5);
    // Orphans are reaped by init, a moment later.
    while children.iter().any(|&c| is_alive(c)) {
        assert!(Instant::now() < deadline, "a child outlived the kill");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[tokio::test]
async fn a_graceful_stop_waits_for_the_exit() {
    let mut guard = sleeper();
    let status = guard.stop_with(Signal::Term, Duration::from_secs(5)).await;
    assert!(!status.success());
}

#[tokio::test]
#[should_panic(expected = "sleep did not finish within")]
async fn a_one_shot_command_is_killed_at_its_deadline() {
    run_bounded(
        "sleep",
        tokio::process::Command::new("sleep").arg("10"),
        Duration::from_millis(100),
    )
    .await;
}
