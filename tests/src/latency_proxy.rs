//! A byte-level TCP proxy that adds network latency: on accept it waits one RTT before
//! connecting upstream (the TCP handshake), then forwards both directions, each chunk
//! delayed by RTT/2 while keeping order. TLS and WebSocket pass through unchanged.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::{Instant, sleep, sleep_until};

/// A running proxy; dropping it closes the listener and every proxied connection.
#[derive(Debug)]
pub struct LatencyProxy {
    addr: SocketAddr,
    connections: Arc<AtomicUsize>,
    task: JoinHandle<()>,
}

impl LatencyProxy {
    /// Listens on an ephemeral loopback port and forwards to `upstream` with `rtt` latency.
    pub async fn start(upstream: SocketAddr, rtt: Duration) -> anyhow::Result<LatencyProxy> {
        let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
        let addr = listener.local_addr()?;
        let connections = Arc::new(AtomicUsize::new(0));
        let task = tokio::spawn(accept_loop(listener, upstream, rtt, connections.clone()));
        Ok(LatencyProxy {
            addr,
            connections,
            task,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Client connections accepted so far.
    pub fn connections_accepted(&self) -> usize {
        self.connections.load(Ordering::Relaxed)
    }
}

impl Drop for LatencyProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn accept_loop(
    listener: TcpListener,
    upstream: SocketAddr,
    rtt: Duration,
    count: Arc<AtomicUsize>,
) {
    let mut connections = JoinSet::new();
    loop {
        while connections.try_join_next().is_some() {}
        let Ok((client, _)) = listener.accept().await else {
            continue;
        };
        count.fetch_add(1, Ordering::Relaxed);
        connections.spawn(async move {
            sleep(rtt).await;
            let Ok(server) = TcpStream::connect(upstream).await else {
                return;
            };
            let _ = (client.set_nodelay(true), server.set_nodelay(true));
            let (client_read, client_write) = client.into_split();
            let (server_read, server_write) = server.into_split();
            let mut pipes = JoinSet::new();
            pipes.spawn(pipe(client_read, server_write, rtt / 2));
            pipes.spawn(pipe(server_read, client_write, rtt / 2));
            while pipes.join_next().await.is_some() {}
        });
    }
}

/// Forwards one direction: a reader timestamps chunks into a queue, a writer sends each
/// at its due time; EOF is forwarded (as a write shutdown) after the same delay.
async fn pipe(mut from: OwnedReadHalf, mut to: OwnedWriteHalf, delay: Duration) {
    let (tx, mut rx) = mpsc::unbounded_channel::<(Instant, Vec<u8>)>();
    let writer = async move {
        while let Some((due, chunk)) = rx.recv().await {
            sleep_until(due).await;
            if chunk.is_empty() {
                break;
            }
            if to.write_all(&chunk).await.is_err() {
                return;
            }
        }
        let _ = to.shutdown().await;
    };
    let reader = async move {
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            let n = from.read(&mut buf).await.unwrap_or(0);
            if tx
                .send((Instant::now() + delay, buf[..n].to_vec()))
                .is_err()
                || n == 0
            {
                return;
            }
        }
    };
    tokio::join!(reader, writer);
}
