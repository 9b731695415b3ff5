//! Processes a test starts: a guard that kills on drop (also when the test
//! panics), and one-shot commands with a deadline.

use std::io;
use std::process::{Child, ExitStatus, Output};
use std::time::{Duration, Instant};

use super::signals::{descendants, send_signal, state_of, Signal};

/// How long a signal may take to land on a busy machine.
const SIGNAL_LANDS_WITHIN: Duration = Duration::from_secs(5);

/// A child process that dies with its guard.
///
/// Dropping the guard (at the end of a test, or while a failing test
/// unwinds) resumes the process if it was paused, sends the shutdown signal
/// ([`Signal::Kill`] unless [`ProcessGuard::with_shutdown`] says otherwise),
/// waits for it out to the grace period, then kills and reaps it.
#[derive(Debug)]
pub struct ProcessGuard {
    name: String,
    child: Child,
    shutdown: Signal,
    grace: Duration,
    paused: bool,
}

impl ProcessGuard {
    /// Starts `command`; `name` is what messages call it.
    pub fn spawn(name: &str, command: &mut std::process::Command) -> io::Result<Self> {
        let child = command.spawn()?;
        Ok(Self {
            name: name.to_owned(),
            child,
            shutdown: Signal::Kill,
            grace: Duration::ZERO,
            paused: false,
        })
    }

    /// On drop, asks with `signal` first and kills only after `grace`.
    pub fn with_shutdown(mut self, signal: Signal, grace: Duration) -> Self {
        self.shutdown = signal;
        self.grace = grace;
        self
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// `Some` once the process has exited (it is reaped then).
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// Sends `signal` to the process alone.
    ///
    /// # Panics
    /// When it cannot be sent (the process was reaped already).
    pub fn signal(&self, signal: Signal) {
        send_signal(self.pid(), signal).unwrap_or_else(|e| panic!("signalling {}: {e}", self.name));
    }

    /// Freezes the process and every process it started (a Postgres
    /// server's backends and workers): connections stay open, nothing
    /// answers, as with a hung host.
    ///
    /// Returns once they are all stopped: a signal lands when the kernel
    /// next schedules its target, which on a busy machine is not at once,
    /// and a test that then expects silence must get it.
    ///
    /// # Panics
    /// When they are not all stopped within 5 s.
    pub fn pause(&mut self) {
        self.signal(Signal::Stop);
        let mut pids = descendants(self.pid());
        for &pid in &pids {
            // Children may come and go meanwhile; the ones that matter stay.
            let _ = send_signal(pid, Signal::Stop);
        }
        pids.push(self.pid());
        self.paused = true;
        self.wait_for_state(&pids, "stopped", |state| state == 'T');
    }

    /// Undoes [`ProcessGuard::pause`], and returns once all run again.
    ///
    /// # Panics
    /// When they do not within 5 s.
    pub fn resume(&mut self) {
        let pids = self.continue_all();
        self.wait_for_state(&pids, "running again", |state| state != 'T');
    }

    /// SIGCONT to the process and its descendants, without waiting or
    /// panicking (Drop uses it); returns whom it signalled.
    fn continue_all(&mut self) -> Vec<u32> {
        let mut pids = descendants(self.pid());
        pids.push(self.pid());
        for &pid in &pids {
            let _ = send_signal(pid, Signal::Cont);
        }
        self.paused = false;
        pids
    }

    /// Polls `/proc` until every one of `pids` that still lives is in a
    /// state `wanted` accepts. The dead are left out: a child that was
    /// exiting as its stopped parent froze stays a zombie until resumed.
    fn wait_for_state(&self, pids: &[u32], what: &str, wanted: impl Fn(char) -> bool) {
        let deadline = Instant::now() + SIGNAL_LANDS_WITHIN;
        loop {
            let pending: Vec<u32> = pids
                .iter()
                .copied()
                .filter(|&pid| {
                    state_of(pid).is_some_and(|state| !matches!(state, 'Z' | 'X') && !wanted(state))
                })
                .collect();
            if pending.is_empty() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{} (pids {pending:?}) not {what} within {SIGNAL_LANDS_WITHIN:?}",
                self.name
            );
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    pub fn is_paused(&self) -> bool {
        self.paused
    }

    /// Sends `signal` and waits for the process to exit.
    ///
    /// # Panics
    /// When it has not exited within `within` (the guard still kills it
    /// when dropped).
    pub async fn stop_with(&mut self, signal: Signal, within: Duration) -> ExitStatus {
        if self.paused {
            self.resume();
        }
        if let Some(status) = self.exited() {
            return status;
        }
        self.signal(signal);
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.exited() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "{} did not exit within {within:?} of SIG{}",
                self.name,
                signal.name()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// SIGKILL, then reaps: no shutdown work, as when a host dies.
    pub fn kill(mut self) {
        self.kill_and_reap();
    }

    /// SIGKILL to the process and everything it started, at once, as when
    /// a host or container dies: no child outlives it to finish work.
    pub fn kill_with_descendants(mut self) {
        // Frozen first, so it starts no child between the listing and
        // the kill.
        let _ = send_signal(self.pid(), Signal::Stop);
        for pid in descendants(self.pid()) {
            let _ = send_signal(pid, Signal::Kill);
        }
        self.kill_and_reap();
    }

    fn kill_and_reap(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ProcessGuard {
    fn drop(&mut self) {
        if self.exited().is_some() {
            return;
        }
        if self.paused {
            // A stopped process cannot act on a graceful signal, and its
            // stopped children would outlive it.
            self.continue_all();
        }
        if self.shutdown != Signal::Kill && send_signal(self.pid(), self.shutdown).is_ok() {
            let deadline = Instant::now() + self.grace;
            while Instant::now() < deadline {
                if self.exited().is_some() {
                    return;
                }
                // Drop cannot await; the grace is short.
                std::thread::sleep(Duration::from_millis(10));
            }
        }
        self.kill_and_reap();
    }
}

/// Runs a one-shot command (initdb, pg_basebackup, redis-cli) to its end.
///
/// # Panics
/// When it cannot start, runs longer than `within` (it is killed then), or
/// fails; the message carries its output.
pub async fn run_bounded(
    what: &str,
    command: &mut tokio::process::Command,
    within: Duration,
) -> Output {
    command
        .kill_on_drop(true)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let child = command
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {what}: {e}"));
    let output = tokio::time::timeout(within, child.wait_with_output())
        .await
        .unwrap_or_else(|_| panic!("{what} did not finish within {within:?}"))
        .unwrap_or_else(|e| panic!("waiting for {what}: {e}"));
    assert!(
        output.status.success(),
        "{what} failed ({}):\n{}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

#[cfg(test)]
mod tests;
