//! A small TCP proxy between the services and NATS or PostgreSQL, so the suite can reset
//! every connection in the middle of the load (as a flaky network or a load balancer
//! would) without touching the servers.

use std::{
    net::SocketAddr,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
};

use anyhow::Result;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
    sync::watch,
};

/// A listening proxy to one upstream port; dropping it stops accepting.
#[derive(Debug)]
pub struct Proxy {
    /// Where clients connect.
    pub port: u16,
    /// Bumped to reset every open connection.
    generation: watch::Sender<u64>,
    /// Connections reset so far.
    resets: Arc<AtomicU64>,
    accept: tokio::task::JoinHandle<()>,
}

impl Proxy {
    /// Listens on a free local port and forwards every connection to `upstream`.
    pub async fn start(upstream: u16) -> Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let port = listener.local_addr()?.port();
        let (generation, watcher) = watch::channel(0u64);
        let resets = Arc::new(AtomicU64::new(0));
        let counter = resets.clone();
        let accept = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let upstream_addr = SocketAddr::from(([127, 0, 0, 1], upstream));
                let watcher = watcher.clone();
                let counter = counter.clone();
                tokio::spawn(async move {
                    let Ok(server) = TcpStream::connect(upstream_addr).await else {
                        return; // upstream down: the client sees its connection close
                    };
                    pipe(client, server, watcher, counter).await;
                });
            }
        });
        Ok(Self {
            port,
            generation,
            resets,
            accept,
        })
    }

    /// Resets (RST) every connection open now; new ones are accepted as before.
    pub fn reset_all(&self) {
        self.generation.send_modify(|g| *g += 1);
    }

    /// Connections reset so far.
    pub fn resets(&self) -> u64 {
        self.resets.load(Ordering::Relaxed)
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

/// Copies both ways until either side closes or the generation changes; then closes
/// both sockets with SO_LINGER 0, which sends a reset rather than a clean FIN.
async fn pipe(client: TcpStream, server: TcpStream, mut reset: watch::Receiver<u64>, resets: Arc<AtomicU64>) {
    reset.mark_unchanged();
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let (mut cr, mut cw) = client.into_split();
    let (mut sr, mut sw) = server.into_split();
    let up = async {
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            match cr.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if sw.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                }
            }
        }
    };
    let down = async {
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            match sr.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if cw.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                }
            }
        }
    };
    let was_reset = tokio::select! {
        _ = up => false,
        _ = down => false,
        _ = reset.changed() => true,
    };
    if was_reset {
        resets.fetch_add(1, Ordering::Relaxed);
        if let (Ok(client), Ok(server)) = (cr.reunite(cw), sr.reunite(sw)) {
            let _ = client.set_zero_linger();
            let _ = server.set_zero_linger();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An echo server on a free port.
    async fn echo() -> u16 {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let (mut r, mut w) = s.split();
                    let _ = tokio::io::copy(&mut r, &mut w).await;
                });
            }
        });
        port
    }

    async fn round_trip(s: &mut TcpStream) -> std::io::Result<Vec<u8>> {
        s.write_all(b"ping").await?;
        let mut buf = [0u8; 4];
        s.read_exact(&mut buf).await?;
        Ok(buf.to_vec())
    }

    #[tokio::test]
    async fn a_reset_cuts_open_connections_and_new_ones_still_pass() {
        let proxy = Proxy::start(echo().await).await.expect("proxy");
        let mut before = TcpStream::connect(("127.0.0.1", proxy.port))
            .await
            .expect("connect");
        assert_eq!(round_trip(&mut before).await.expect("echo"), b"ping");

        proxy.reset_all();
        let mut buf = [0u8; 1];
        let read = tokio::time::timeout(std::time::Duration::from_secs(5), before.read(&mut buf))
            .await
            .expect("the cut connection is closed, not left hanging");
        assert!(
            matches!(read, Ok(0) | Err(_)),
            "the old connection must be closed: {read:?}"
        );
        assert_eq!(proxy.resets(), 1);

        let mut after = TcpStream::connect(("127.0.0.1", proxy.port))
            .await
            .expect("connect");
        assert_eq!(round_trip(&mut after).await.expect("echo"), b"ping");
    }
}
