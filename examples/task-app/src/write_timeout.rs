//! A write-inactivity timeout for connections, the same on both servers:
//! a client that stops reading its answers (so that the server's send
//! buffer fills) is cut after a while, instead of holding its connection,
//! and the answers buffered for it, for as long as it likes.

use std::{
    future::Future as _,
    io,
    pin::Pin,
    task::{Context, Poll},
    time::Duration,
};

use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    time::Sleep,
};

/// A stream whose writes fail with [`io::ErrorKind::TimedOut`] once one has
/// waited `timeout` without the peer taking a byte; the server then drops
/// the connection. Reads pass through.
///
/// The clock runs only while a write waits (the send buffer is full) and
/// any progress stops it, so a client that reads slowly but steadily is
/// served, and an idle connection is left to the server's other timeouts.
/// It is an IO wrapper rather than the kernel's `TCP_USER_TIMEOUT` so that
/// it works alike on every OS and both frameworks.
///
/// ```
/// use std::time::Duration;
/// use task_app::write_timeout::WriteTimeout;
/// use tokio::io::AsyncWriteExt;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// // A peer that never reads: its 16-byte buffer fills, then the write waits.
/// let (stream, _peer) = tokio::io::duplex(16);
/// let mut stream = WriteTimeout::new(stream, Duration::from_millis(50));
/// let error = stream.write_all(&[0; 64]).await.unwrap_err();
/// assert_eq!(error.kind(), std::io::ErrorKind::TimedOut);
/// # }
/// ```
#[derive(Debug)]
pub struct WriteTimeout<S> {
    inner: S,
    timeout: Duration,
    /// Running while a write waits; `None` once one made progress.
    stalled: Option<Pin<Box<Sleep>>>,
}

impl<S> WriteTimeout<S> {
    /// Wraps `inner`: a write that makes no progress for `timeout` fails.
    pub fn new(inner: S, timeout: Duration) -> Self {
        Self {
            inner,
            timeout,
            stalled: None,
        }
    }

    /// The wrapped stream.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// Starts or checks the clock when `polled` waits, stops it otherwise.
    fn watch<T>(
        &mut self,
        cx: &mut Context<'_>,
        polled: Poll<io::Result<T>>,
    ) -> Poll<io::Result<T>> {
        if polled.is_ready() {
            self.stalled = None;
            return polled;
        }
        let timeout = self.timeout;
        let clock = self
            .stalled
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
        if clock.as_mut().poll(cx).is_pending() {
            return Poll::Pending;
        }
        self.stalled = None;
        Poll::Ready(Err(io::Error::new(
            io::ErrorKind::TimedOut,
            format!("the peer read nothing for {} s", timeout.as_secs_f32()),
        )))
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for WriteTimeout<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for WriteTimeout<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, buf);
        self.watch(cx, polled)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        self.watch(cx, polled)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let polled = Pin::new(&mut self.inner).poll_flush(cx);
        self.watch(cx, polled)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let polled = Pin::new(&mut self.inner).poll_shutdown(cx);
        self.watch(cx, polled)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    use super::*;

    const TIMEOUT: Duration = Duration::from_millis(200);

    #[tokio::test]
    async fn a_peer_that_never_reads_is_cut_after_the_timeout() {
        let (stream, _peer) = tokio::io::duplex(1024);
        let mut stream = WriteTimeout::new(stream, TIMEOUT);
        let started = Instant::now();
        let error = stream.write_all(&[0; 4096]).await.unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::TimedOut);
        assert!(started.elapsed() >= TIMEOUT, "{:?}", started.elapsed());
    }

    /// A peer that reads a little every half timeout is slow, not stuck:
    /// each bit of progress restarts the clock.
    #[tokio::test]
    async fn a_slow_but_steady_reader_is_served() {
        let (stream, mut peer) = tokio::io::duplex(1024);
        let reader = tokio::spawn(async move {
            let mut received = Vec::new();
            let mut buf = [0; 512];
            loop {
                tokio::time::sleep(TIMEOUT / 2).await;
                match peer.read(&mut buf).await {
                    Ok(0) | Err(_) => return received.len(),
                    Ok(n) => received.extend_from_slice(&buf[..n]),
                }
            }
        });
        let mut stream = WriteTimeout::new(stream, TIMEOUT);
        // 8 reads' worth: 2 timeouts in all.
        stream.write_all(&[7; 4096]).await.unwrap();
        stream.shutdown().await.unwrap();
        drop(stream);
        assert_eq!(reader.await.unwrap(), 4096);
    }

    #[tokio::test]
    async fn reads_pass_through() {
        let (stream, mut peer) = tokio::io::duplex(64);
        let mut stream = WriteTimeout::new(stream, TIMEOUT);
        peer.write_all(b"hello").await.unwrap();
        let mut buf = [0; 5];
        stream.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"hello");
        assert!(stream.get_ref().is_write_vectored() == stream.is_write_vectored());
    }
}
