//! Free loopback ports for servers a test starts.

use std::collections::HashSet;
use std::net::TcpListener;
use std::sync::{Mutex, PoisonError};

/// Ports this process handed out already: the kernel may offer a port again
/// as soon as its probe socket closes, before the server meant for it has
/// bound it.
static HANDED_OUT: Mutex<Option<HashSet<u16>>> = Mutex::new(None);

/// A loopback port that was free a moment ago and that this process has not
/// handed out before.
///
/// Another process may still take it before the caller binds it: servers
/// started on it retry on a new port when it is taken (see
/// `RedisServer::spawn_with`).
///
/// # Panics
/// When no port can be bound on 127.0.0.1.
pub fn free_port() -> u16 {
    let mut handed_out = HANDED_OUT.lock().unwrap_or_else(PoisonError::into_inner);
    let handed_out = handed_out.get_or_insert_with(HashSet::new);
    for _ in 0..100 {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|probe| probe.local_addr())
            .unwrap_or_else(|e| panic!("cannot bind a loopback port: {e}"))
            .port();
        if handed_out.insert(port) {
            return port;
        }
    }
    panic!("the kernel kept offering ports this process already handed out");
}

#[cfg(test)]
mod tests {
    use super::free_port;

    #[test]
    fn ports_are_never_handed_out_twice() {
        let mut ports: Vec<u16> = (0..200).map(|_| free_port()).collect();
        ports.sort_unstable();
        ports.dedup();
        assert_eq!(ports.len(), 200);
    }
}
