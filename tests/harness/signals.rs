//! Signals to processes, and what `/proc` says of them: their state and
//! their descendants (a Postgres server is a tree of processes).
//!
//! Signals are sent with the `kill` command: the workspace forbids unsafe
//! code, and a fork per signal costs nothing next to what a test waits for.

use std::io;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Signal {
    /// Freezes the process: it keeps its sockets but answers nothing.
    Stop,
    Cont,
    /// Graceful shutdown (Redis saves or fsyncs first).
    Term,
    /// Postgres' immediate shutdown, what `pg_ctl stop -m immediate` sends.
    Quit,
    Kill,
}

impl Signal {
    pub fn name(self) -> &'static str {
        match self {
            Signal::Stop => "STOP",
            Signal::Cont => "CONT",
            Signal::Term => "TERM",
            Signal::Quit => "QUIT",
            Signal::Kill => "KILL",
        }
    }
}

/// Sends `signal` to `pid`.
pub fn send_signal(pid: u32, signal: Signal) -> io::Result<()> {
    let status = std::process::Command::new("kill")
        .args(["-s", signal.name(), &pid.to_string()])
        .stderr(std::process::Stdio::null())
        .status()?;
    if status.success() {
        Ok(())
    } else {
        Err(io::Error::other(format!(
            "kill -s {} {pid}: {status}",
            signal.name()
        )))
    }
}

/// The children of `pid`, their children, and so on, from `/proc`.
pub fn descendants(pid: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let parents: Vec<(u32, u32)> = entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|p| Some((p, parent_of(p)?)))
        .collect();
    let mut found = Vec::new();
    let mut frontier = vec![pid];
    while let Some(parent) = frontier.pop() {
        for &(child, _) in parents.iter().filter(|(_, pp)| *pp == parent) {
            found.push(child);
            frontier.push(child);
        }
    }
    found
}

/// The parent pid from `/proc/<pid>/stat`: "pid (comm) state ppid ...",
/// where comm may itself hold spaces and parentheses.
fn parent_of(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after_comm = &stat[stat.rfind(')')? + 1..];
    after_comm.split_whitespace().nth(1)?.parse().ok()
}

/// The state letter of `pid` in `/proc/<pid>/stat` (`R`, `S`, `T` for
/// stopped, `Z`...), `None` once it is gone.
pub fn state_of(pid: u32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat[stat.rfind(')')? + 1..]
        .split_whitespace()
        .next()?
        .chars()
        .next()
}
