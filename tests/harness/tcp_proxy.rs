//! A TCP proxy between the app and a store, to break the network rather
//! than the store: latency, cut connections, a peer that hangs, a port that
//! refuses. Point the app's URL at [`TcpProxy::port`] instead of the
//! store's.
//!
//! Each direction of a connection is a reader and a writer joined by a
//! small queue: a chunk read at `t` is written at `t + delay`, so a delay is
//! latency, not a cap on throughput. With no delay and no fault, the cost
//! is a queue hop per chunk.

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;

const CHUNK: usize = 16 * 1024;
/// Chunks read ahead of the writer; past that the reader waits, and the
/// sender's TCP window fills as it would on a slow link.
const QUEUE: usize = 64;

/// What the proxy does to traffic now; every connection watches it.
#[derive(Clone, Copy, Debug, Default)]
struct Faults {
    delay: Duration,
    blackhole: bool,
    refuse: bool,
    /// Bumped by each cut: a connection ends when it changes.
    cuts: u64,
}

/// Connection counts since the proxy started.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ProxyStats {
    /// Accepted and relayed (or held, while blackholed).
    pub accepted: u64,
    /// Closed at once while refusing.
    pub refused: u64,
    /// Closed by a cut.
    pub cut: u64,
    /// Open now.
    pub active: u64,
}

#[derive(Debug, Default)]
struct Counters {
    accepted: AtomicU64,
    refused: AtomicU64,
    cut: AtomicU64,
    active: AtomicU64,
}

#[derive(Debug)]
pub struct TcpProxy {
    address: SocketAddr,
    target: SocketAddr,
    faults: watch::Sender<Faults>,
    counters: Arc<Counters>,
    accept: JoinHandle<()>,
}

impl TcpProxy {
    /// A proxy on a free loopback port forwarding to `target`, passing
    /// everything through until told otherwise. Runs on the current tokio
    /// runtime.
    ///
    /// # Panics
    /// When no loopback port can be bound.
    pub async fn start(target: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|e| panic!("binding a proxy port: {e}"));
        let address = listener.local_addr().unwrap();
        let (faults, _) = watch::channel(Faults::default());
        let counters = Arc::new(Counters::default());
        let accept = tokio::spawn(accept_loop(
            listener,
            target,
            faults.subscribe(),
            counters.clone(),
        ));
        Self {
            address,
            target,
            faults,
            counters,
            accept,
        }
    }

    /// A proxy to `127.0.0.1:port`.
    pub async fn to_port(port: u16) -> Self {
        Self::start(SocketAddr::from(([127, 0, 0, 1], port))).await
    }

    pub fn port(&self) -> u16 {
        self.address.port()
    }

    pub fn address(&self) -> SocketAddr {
        self.address
    }

    pub fn target(&self) -> SocketAddr {
        self.target
    }

    /// Latency added to every chunk, in each direction: a request and its
    /// answer take at least twice `delay` more. Applies to chunks read from
    /// now on, on every connection.
    pub fn set_delay(&self, delay: Duration) {
        self.faults.send_modify(|f| f.delay = delay);
    }

    /// Closes every open connection now, with a reset, as a dropped link or
    /// a restarted middlebox would; new connections are still accepted.
    pub fn cut(&self) {
        self.faults.send_modify(|f| f.cuts += 1);
    }

    /// While on, connections are accepted (new ones too) but nothing is
    /// forwarded either way, as with a hung peer: clients wait until their
    /// own timeouts. Held data is delivered once it is off, as TCP would
    /// after a partition heals.
    pub fn blackhole(&self, on: bool) {
        self.faults.send_modify(|f| f.blackhole = on);
    }

    /// While on, new connections are reset as soon as they are accepted;
    /// open ones carry on.
    pub fn refuse(&self, on: bool) {
        self.faults.send_modify(|f| f.refuse = on);
    }

    pub fn stats(&self) -> ProxyStats {
        let load = |n: &AtomicU64| n.load(Ordering::SeqCst);
        ProxyStats {
            accepted: load(&self.counters.accepted),
            refused: load(&self.counters.refused),
            cut: load(&self.counters.cut),
            active: load(&self.counters.active),
        }
    }
}

impl Drop for TcpProxy {
    fn drop(&mut self) {
        self.accept.abort();
        // Open connections end when the watch they follow closes: `faults`
        // is its only sender.
    }
}

async fn accept_loop(
    listener: TcpListener,
    target: SocketAddr,
    faults: watch::Receiver<Faults>,
    counters: Arc<Counters>,
) {
    loop {
        let Ok((client, _)) = listener.accept().await else {
            // Out of file descriptors or the like: try again shortly.
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        if faults.borrow().refuse {
            counters.refused.fetch_add(1, Ordering::SeqCst);
            reset(client);
            continue;
        }
        counters.accepted.fetch_add(1, Ordering::SeqCst);
        tokio::spawn(relay_connection(
            client,
            target,
            faults.clone(),
            counters.clone(),
        ));
    }
}

/// Closes with RST rather than FIN: the peer sees "connection reset", and
/// anything unsent is dropped, as when a link dies.
fn reset(stream: TcpStream) {
    let _ = stream.set_zero_linger();
    drop(stream);
}

/// Counts a connection as active while it lives.
struct Active(Arc<Counters>);

impl Active {
    fn new(counters: Arc<Counters>) -> Self {
        counters.active.fetch_add(1, Ordering::SeqCst);
        Self(counters)
    }
}

impl Drop for Active {
    fn drop(&mut self) {
        self.0.active.fetch_sub(1, Ordering::SeqCst);
    }
}

async fn relay_connection(
    mut client: TcpStream,
    target: SocketAddr,
    mut faults: watch::Receiver<Faults>,
    counters: Arc<Counters>,
) {
    let _active = Active::new(counters.clone());
    let born = faults.borrow().cuts;
    let mut cut_watch = faults.clone();
    // Ends on a cut, and when the proxy is dropped (the watch closes).
    let cut = async move {
        let _ = cut_watch.wait_for(|f| f.cuts != born).await;
    };
    tokio::pin!(cut);

    // A hung peer answers nothing, so while blackholed the target is not
    // even dialled (and holds no server slot).
    // `biased`: a cut is looked at first. When a cut and the end of a
    // blackhole land together (`cut(); blackhole(false)`), the cut wins,
    // and nothing held is delivered.
    let server = tokio::select! {
        biased;
        _ = &mut cut => return cut_off(client, None, &counters),
        server = async {
            faults.wait_for(|f| !f.blackhole).await.ok()?;
            TcpStream::connect(target).await.ok()
        } => server,
    };
    let Some(mut server) = server else {
        // The target refuses: so does the proxy.
        return reset(client);
    };
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);

    let was_cut = {
        let (client_read, client_write) = client.split();
        let (server_read, server_write) = server.split();
        let relay = async {
            tokio::try_join!(
                one_way(client_read, server_write, faults.clone()),
                one_way(server_read, client_write, faults.clone()),
            )
        };
        tokio::select! {
            biased;
            _ = &mut cut => true,
            _ = relay => false,
        }
    };
    if was_cut {
        cut_off(client, Some(server), &counters);
    }
}

fn cut_off(client: TcpStream, server: Option<TcpStream>, counters: &Counters) {
    counters.cut.fetch_add(1, Ordering::SeqCst);
    reset(client);
    if let Some(server) = server {
        reset(server);
    }
}

/// A chunk and when it is due; `None` is the end of the stream.
type Chunk = (Instant, Option<Vec<u8>>);

/// Relays one direction until its end, passing the end on (FIN); an error
/// either side ends the whole connection.
async fn one_way(
    from: impl AsyncRead + Unpin,
    to: impl AsyncWrite + Unpin,
    faults: watch::Receiver<Faults>,
) -> io::Result<()> {
    let (queue, queued) = mpsc::channel::<Chunk>(QUEUE);
    tokio::try_join!(
        read_side(from, queue, faults.clone()),
        write_side(to, queued, faults)
    )?;
    Ok(())
}

async fn read_side(
    mut from: impl AsyncRead + Unpin,
    queue: mpsc::Sender<Chunk>,
    faults: watch::Receiver<Faults>,
) -> io::Result<()> {
    let mut buffer = vec![0; CHUNK];
    loop {
        let n = from.read(&mut buffer).await?;
        let due = Instant::now() + faults.borrow().delay;
        let chunk = (n > 0).then(|| buffer[..n].to_vec());
        if queue.send((due, chunk)).await.is_err() || n == 0 {
            // The writer is gone (it failed, and says so) or the stream ended.
            return Ok(());
        }
    }
}

async fn write_side(
    mut to: impl AsyncWrite + Unpin,
    mut queued: mpsc::Receiver<Chunk>,
    mut faults: watch::Receiver<Faults>,
) -> io::Result<()> {
    while let Some((due, chunk)) = queued.recv().await {
        tokio::time::sleep_until(due).await;
        if faults.wait_for(|f| !f.blackhole).await.is_err() {
            return Ok(());
        }
        match chunk {
            Some(bytes) => to.write_all(&bytes).await?,
            None => {
                to.shutdown().await?;
                return Ok(());
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
