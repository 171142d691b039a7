//! turmoil: two simulated hosts, tokio tasks for the applications.

use crate::{REQUEST_BYTES, RESPONSE_BYTES};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use turmoil::net::{TcpListener, TcpStream};

/// Builds a world where the server runs `server` on one accepted connection
/// and the client runs `client`; true when both succeeded.
fn run(request: u64, response: u64) -> bool {
    let mut sim = turmoil::Builder::new().build();
    sim.host("server", move || async move {
        let l = TcpListener::bind(("0.0.0.0", 80)).await?;
        let (mut s, _) = l.accept().await?;
        let mut got = 0u64;
        let mut buf = vec![0u8; 1 << 16];
        while got < request {
            match s.read(&mut buf).await? {
                0 => break,
                k => got += k as u64,
            }
        }
        s.write_all(&vec![7u8; response as usize]).await?;
        drop(s);
        std::future::pending::<()>().await;
        Ok(())
    });
    sim.client("client", async move {
        let mut c = TcpStream::connect(("server", 80)).await?;
        let chunk = vec![7u8; 1 << 16];
        let mut left = request;
        while left > 0 {
            let k = left.min(chunk.len() as u64) as usize;
            c.write_all(&chunk[..k]).await?;
            left -= k as u64;
        }
        let mut buf = vec![0u8; 1 << 16];
        let mut got = 0u64;
        loop {
            match c.read(&mut buf).await? {
                0 => break,
                k => got += k as u64,
            }
        }
        assert_eq!(got, response);
        Ok(())
    });
    sim.run().is_ok()
}

pub fn small_close() -> bool {
    run(REQUEST_BYTES as u64, RESPONSE_BYTES as u64)
}

/// `bytes` up, nothing back (the server closes after reading them all).
pub fn bulk(bytes: u64) -> bool {
    run(bytes, 0)
}
