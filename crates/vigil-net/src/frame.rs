//! Length-prefixed frames on a bidirectional QUIC stream.

use quinn::{ReadError, RecvStream, SendStream, VarInt, WriteError};

use crate::NetError;

/// Length of the frame prefix: a big-endian `u32`.
const PREFIX: usize = 4;

/// Application error code used to stop a stream whose peer announced an oversized frame.
const FRAME_TOO_LARGE_CODE: u32 = 1;

/// A bidirectional QUIC stream carrying length-prefixed frames: a big-endian `u32` length,
/// then that many bytes.
#[derive(Debug)]
pub struct FrameStream {
    sender: FrameSender,
    receiver: FrameReceiver,
}

/// The sending half of a [`FrameStream`].
#[derive(Debug)]
pub struct FrameSender {
    send: SendStream,
    sent: u64,
    /// The longest frame sent (the endpoint's `max_frame`).
    max_frame: usize,
}

/// The receiving half of a [`FrameStream`]. A frame read in part is kept between
/// calls, so [`FrameReceiver::recv`] may be dropped unfinished (raced against
/// sending, say) and called again without losing a byte.
#[derive(Debug)]
pub struct FrameReceiver {
    recv: RecvStream,
    received: u64,
    /// The longest frame accepted (the endpoint's `max_frame`).
    max_frame: usize,
    prefix: [u8; PREFIX],
    prefix_read: usize,
    /// The frame being read, once its length is known, and how much of it arrived.
    body: Option<(Vec<u8>, usize)>,
}

impl FrameStream {
    pub(crate) fn new(send: SendStream, recv: RecvStream, max_frame: usize) -> Self {
        Self {
            sender: FrameSender {
                send,
                sent: 0,
                max_frame,
            },
            receiver: FrameReceiver {
                recv,
                received: 0,
                max_frame,
                prefix: [0; PREFIX],
                prefix_read: 0,
                body: None,
            },
        }
    }

    /// Splits the stream so that one task can send while another receives: a peer that
    /// sends much while we send much never waits on us.
    pub fn split(self) -> (FrameSender, FrameReceiver) {
        (self.sender, self.receiver)
    }

    /// See [`FrameSender::send`].
    pub async fn send(&mut self, frame: &[u8]) -> Result<(), NetError> {
        self.sender.send(frame).await
    }

    /// See [`FrameReceiver::recv`].
    pub async fn recv(&mut self) -> Result<Option<Vec<u8>>, NetError> {
        self.receiver.recv().await
    }

    /// See [`FrameSender::finish`].
    pub async fn finish(&mut self) -> Result<(), NetError> {
        self.sender.finish().await
    }

    /// Frame bytes sent so far, length prefixes included.
    pub fn bytes_sent(&self) -> u64 {
        self.sender.sent
    }

    /// Frame bytes received so far, length prefixes included.
    pub fn bytes_received(&self) -> u64 {
        self.receiver.received
    }

    /// Writes raw bytes, bypassing framing: lets tests play a misbehaving peer.
    #[cfg(test)]
    pub(crate) async fn send_raw(&mut self, bytes: &[u8]) -> Result<(), NetError> {
        self.sender.send.write_all(bytes).await.map_err(write_error)
    }
}

impl FrameSender {
    /// Sends one frame. Frames longer than the endpoint's `max_frame` are refused
    /// before anything is sent.
    pub async fn send(&mut self, frame: &[u8]) -> Result<(), NetError> {
        let len = frame.len();
        let prefix = u32::try_from(len)
            .ok()
            .filter(|_| len <= self.max_frame)
            .ok_or(NetError::FrameTooLarge { len })?
            .to_be_bytes();
        self.send.write_all(&prefix).await.map_err(write_error)?;
        self.send.write_all(frame).await.map_err(write_error)?;
        self.sent += (PREFIX + len) as u64;
        Ok(())
    }

    /// Ends our side of the stream: the peer's next `recv` after the frames already sent
    /// returns `Ok(None)`.
    pub async fn finish(&mut self) -> Result<(), NetError> {
        self.send
            .finish()
            .map_err(|error| NetError::Stream(error.to_string()))
    }

    /// Waits until the peer has acknowledged everything sent after [`finish`](Self::finish)
    /// (or stopped the stream), so that closing the connection loses nothing.
    pub async fn delivered(&mut self) -> Result<(), NetError> {
        self.send
            .stopped()
            .await
            .map(|_| ())
            .map_err(|error| NetError::Stream(error.to_string()))
    }

    /// Frame bytes sent so far, length prefixes included.
    pub fn bytes_sent(&self) -> u64 {
        self.sent
    }
}

impl FrameReceiver {
    /// Receives one frame; `Ok(None)` when the peer finished the stream cleanly between
    /// frames. An announced length over the endpoint's `max_frame` is an error,
    /// reported before any buffer for it is allocated, and stops the stream.
    pub async fn recv(&mut self) -> Result<Option<Vec<u8>>, NetError> {
        self.recv_at_most(self.max_frame).await
    }

    /// [`recv`](Self::recv), with a lower bound than `max_frame`: what a peer that
    /// has proved nothing yet may send is much smaller than what a member may.
    ///
    /// Cancel-safe: every await is on `RecvStream::read`, which is, and what it
    /// returned is kept in `self` before the next.
    pub async fn recv_at_most(&mut self, limit: usize) -> Result<Option<Vec<u8>>, NetError> {
        while self.prefix_read < PREFIX {
            match self.recv.read(&mut self.prefix[self.prefix_read..]).await {
                Ok(Some(n)) => self.prefix_read += n,
                Ok(None) if self.prefix_read == 0 => return Ok(None),
                Ok(None) => return Err(NetError::TruncatedFrame),
                Err(error) => return Err(read_error(error)),
            }
        }
        let (frame, filled) = match &mut self.body {
            Some(body) => body,
            None => {
                let announced = u32::from_be_bytes(self.prefix);
                let len = usize::try_from(announced).unwrap_or(usize::MAX);
                if len > limit.min(self.max_frame) {
                    // The stream is useless from here on; tell the peer to stop sending.
                    let _ = self.recv.stop(VarInt::from_u32(FRAME_TOO_LARGE_CODE));
                    return Err(NetError::FrameTooLarge { len });
                }
                self.body.insert((vec![0u8; len], 0))
            }
        };
        while *filled < frame.len() {
            match self.recv.read(&mut frame[*filled..]).await {
                Ok(Some(n)) => *filled += n,
                Ok(None) => return Err(NetError::TruncatedFrame),
                Err(error) => return Err(read_error(error)),
            }
        }
        let (frame, _) = self.body.take().unwrap_or_default();
        self.prefix_read = 0;
        self.received += (PREFIX + frame.len()) as u64;
        Ok(Some(frame))
    }

    /// Frame bytes received so far, length prefixes included.
    pub fn bytes_received(&self) -> u64 {
        self.received
    }
}

fn write_error(error: WriteError) -> NetError {
    match error {
        WriteError::ConnectionLost(lost) => NetError::ConnectionLost(lost),
        other => NetError::Stream(other.to_string()),
    }
}

fn read_error(error: ReadError) -> NetError {
    match error {
        ReadError::ConnectionLost(lost) => NetError::ConnectionLost(lost),
        other => NetError::Stream(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::{Admission, Connection, DeviceKey, DevicePublicKey, Endpoint, PeerPolicy};

    /// The streams' limit in these tests: the sync protocol's.
    const MAX_FRAME: usize = 4 * 1024 * 1024;

    struct Everyone;

    impl PeerPolicy for Everyone {
        fn admit(&self, _peer: &DevicePublicKey) -> Admission {
            Admission::Member
        }
    }

    /// A connected pair of streams: (dialer's, listener's).
    async fn pair() -> (Endpoint, Endpoint, Connection, FrameStream, FrameStream) {
        let local = "127.0.0.1:0".parse().unwrap();
        let server =
            Endpoint::bind(local, &DeviceKey::generate(), Arc::new(Everyone), MAX_FRAME).unwrap();
        let client =
            Endpoint::bind(local, &DeviceKey::generate(), Arc::new(Everyone), MAX_FRAME).unwrap();
        let dialed = client
            .connect(server.local_addr().unwrap(), None)
            .await
            .unwrap();
        let accepted = server.accept().await.unwrap();
        let mut out = dialed.open_stream().await.unwrap();
        out.send(b"open").await.unwrap();
        let mut inc = accepted.accept_stream().await.unwrap();
        assert_eq!(inc.recv().await.unwrap().unwrap(), b"open");
        (server, client, dialed, out, inc)
    }

    #[tokio::test]
    async fn an_oversized_length_prefix_is_refused_before_allocating() {
        for announced in [u32::MAX, (MAX_FRAME + 1) as u32] {
            let (_server, _client, _conn, mut out, mut inc) = pair().await;
            out.send_raw(&announced.to_be_bytes()).await.unwrap();
            out.send_raw(b"a little").await.unwrap();
            match inc.recv().await {
                Err(NetError::FrameTooLarge { len }) => assert_eq!(len, announced as usize),
                other => panic!("expected FrameTooLarge, got {other:?}"),
            }
            // The sender learns that its stream was stopped.
            let mut stopped = false;
            for _ in 0..50 {
                if out.send(&[0u8; 1024]).await.is_err() {
                    stopped = true;
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
            assert!(stopped, "the oversized stream should be stopped");
        }
    }

    #[tokio::test]
    async fn a_frame_of_exactly_the_limit_passes_and_one_more_byte_does_not() {
        let (_server, _client, _conn, mut out, mut inc) = pair().await;
        let big = vec![0xabu8; MAX_FRAME];
        let (sent, received) = tokio::join!(out.send(&big), inc.recv());
        sent.unwrap();
        assert_eq!(received.unwrap().unwrap().len(), MAX_FRAME);
        let too_big = vec![0u8; MAX_FRAME + 1];
        assert!(matches!(
            out.send(&too_big).await,
            Err(NetError::FrameTooLarge { len }) if len == MAX_FRAME + 1
        ));
        assert_eq!(out.bytes_sent(), (4 + 4 + 4 + MAX_FRAME) as u64);
    }

    #[tokio::test]
    async fn a_stream_ending_inside_a_frame_is_an_error() {
        let (_server, _client, _conn, mut out, mut inc) = pair().await;
        out.send_raw(&10u32.to_be_bytes()).await.unwrap();
        out.send_raw(b"four").await.unwrap();
        out.finish().await.unwrap();
        assert!(matches!(inc.recv().await, Err(NetError::TruncatedFrame)));

        let (_server, _client, _conn, mut out, mut inc) = pair().await;
        out.send_raw(&[0, 0]).await.unwrap();
        out.finish().await.unwrap();
        assert!(matches!(inc.recv().await, Err(NetError::TruncatedFrame)));
    }

    /// A session races receiving against room to send; a `recv` dropped halfway
    /// through a frame (prefix split, body trickling) loses nothing.
    #[tokio::test]
    async fn a_receive_dropped_halfway_loses_nothing() {
        let (_server, _client, _conn, mut out, mut inc) = pair().await;
        let frame: Vec<u8> = (0..200_000u32).map(|i| i as u8).collect();
        let mut wire = u32::try_from(frame.len()).unwrap().to_be_bytes().to_vec();
        wire.extend_from_slice(&frame);
        wire.extend_from_slice(&3u32.to_be_bytes());
        wire.extend_from_slice(b"end");
        let trickle = async {
            for piece in wire.chunks(7_001).chain([&wire[..0]]) {
                out.send_raw(piece).await.unwrap();
                tokio::time::sleep(std::time::Duration::from_millis(2)).await;
            }
        };
        let read = async {
            let (mut got, mut dropped) = (Vec::new(), 0);
            while got.len() < 2 {
                let wait = std::time::Duration::from_millis(1);
                match tokio::time::timeout(wait, inc.recv()).await {
                    Ok(frame) => got.push(frame.unwrap().unwrap()),
                    Err(_) => dropped += 1,
                }
            }
            (got, dropped)
        };
        let ((), (got, dropped)) = tokio::join!(trickle, read);
        assert!(
            dropped > 10,
            "the receive was dropped mid-frame {dropped} times"
        );
        assert_eq!(got, [frame, b"end".to_vec()]);
        // The opening frame of `pair`, then these two.
        assert_eq!(inc.bytes_received(), (4 + 4 + 4 + 200_000 + 4 + 3) as u64);
    }

    #[tokio::test]
    async fn a_closed_connection_is_reported_as_lost() {
        let (_server, _client, conn, _out, mut inc) = pair().await;
        conn.close("bye");
        assert!(matches!(inc.recv().await, Err(NetError::ConnectionLost(_))));
    }
}
