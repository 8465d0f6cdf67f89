//! One WebSocket connection, generic over its `Sink` and `Stream` halves so that unit tests can
//! drive it through channels.
//!
//! The connection joins its room, then runs two halves in one task, joined with `select!` (the
//! first to finish drops the other): the send half moves frames from the member's bounded queue
//! to the socket and pings; the receive half parses client frames and hands them to the room.
//! A kick (slow, room deleted, shutdown) preempts both. Whatever ends the connection, it leaves
//! the room, so `user_left` is sent and the participant count corrects itself.

use std::ops::ControlFlow;
use std::pin::pin;

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes};
use flowtrace_runtime::flowtrace;
use futures_util::{Sink, SinkExt, Stream, StreamExt};
use tokio::sync::{Notify, mpsc, watch};
use tokio::time::{Instant, sleep_until, timeout};

use crate::AppState;
use crate::config::Limits;
use crate::engine::{JoinRequest, Joined, Unavailable};
use crate::metrics::Disconnect;
use crate::protocol::{self, Command, ErrorCode, FrameError, Outgoing, Since};
use crate::rate_limit::TokenBucket;
use crate::room::{JoinError, Kick, Room};

/// Close code for an invalid room or client id.
pub(crate) const CLOSE_INVALID_ID: u16 = 4400;
/// Close code for a client id already connected to the room.
pub(crate) const CLOSE_DUPLICATE: u16 = 4409;
/// Close code for an oversized frame.
const CLOSE_TOO_BIG: u16 = 1009;
/// Close code for "try again later": the room cap is reached, or storage is unreachable.
const CLOSE_TRY_LATER: u16 = 1013;

/// Who connects where, already validated.
#[derive(Debug)]
pub(crate) struct Peer {
    pub(crate) room_id: String,
    pub(crate) client_id: String,
    /// Where a reconnecting client left off.
    pub(crate) since: Option<Since>,
}

/// Why reading a client frame failed.
#[derive(Debug)]
pub(crate) enum ReadError {
    /// The frame or message is over the size limit (closes with 1009).
    TooBig,
    /// Anything else: the socket is unusable.
    Broken,
}

impl ReadError {
    /// Classifies an error of axum's WebSocket by the tungstenite error inside it.
    pub(crate) fn from_axum(error: axum::Error) -> Self {
        use tokio_tungstenite::tungstenite::Error;
        match error.into_inner().downcast_ref::<Error>() {
            Some(Error::Capacity(_)) => Self::TooBig,
            _ => Self::Broken,
        }
    }
}

/// How a connection ended.
#[derive(Debug)]
enum Exit {
    /// The server closes it for this reason.
    Kicked(Kick),
    /// The client sent a close frame.
    ClientClosed,
    /// The client sent a frame over the size limit.
    TooBig,
    /// The client did not answer a ping, or did not take a write, in time.
    Unresponsive,
    /// The socket failed or the client vanished.
    Gone,
}

impl Exit {
    fn reason(&self) -> Disconnect {
        match self {
            Self::Kicked(kick) if *kick == Kick::SLOW => Disconnect::Slow,
            Self::Kicked(kick) if *kick == Kick::DELETED => Disconnect::RoomDeleted,
            Self::Kicked(_) => Disconnect::Shutdown,
            Self::ClientClosed | Self::Gone => Disconnect::Client,
            Self::TooBig => Disconnect::Error,
            Self::Unresponsive => Disconnect::Keepalive,
        }
    }
}

/// Runs a connection of a peer until it ends. The ids are already valid.
#[flowtrace(skip(sink, stream, state))]
pub(crate) async fn serve<S, R>(mut sink: S, stream: R, state: AppState, peer: Peer)
where
    S: Sink<Message> + Unpin,
    R: Stream<Item = Result<Message, ReadError>> + Unpin,
{
    let limits = state.limits();
    let client_id = peer.client_id.as_str();
    let (kick_tx, mut kick_rx) = watch::channel(None);
    let request = JoinRequest {
        room_id: &peer.room_id,
        client_id,
        queue_capacity: limits.queue_capacity,
        kick: &kick_tx,
        since: peer.since.as_ref(),
    };
    let joined = state.engine().join(request).await;
    let Joined {
        room,
        mut membership,
    } = match joined {
        Ok(joined) => joined,
        Err(refused) => {
            let (code, why, reason) = match refused {
                JoinError::Duplicate => (
                    CLOSE_DUPLICATE,
                    "client_id already connected to this room",
                    Disconnect::Duplicate,
                ),
                JoinError::Closed => (
                    Kick::SHUTDOWN.code,
                    Kick::SHUTDOWN.reason,
                    Disconnect::Shutdown,
                ),
                JoinError::TooManyRooms => (CLOSE_TRY_LATER, "too many rooms", Disconnect::Error),
                JoinError::Unavailable => {
                    (CLOSE_TRY_LATER, "storage unavailable", Disconnect::Error)
                }
            };
            state.metrics().disconnected(reason);
            close(&mut sink, code, why, limits).await;
            return;
        }
    };
    let pongs = Notify::new();
    let exit = {
        let kicked = async {
            let kick = kick_rx.wait_for(Option::is_some).await.map(|k| *k);
            match kick {
                Ok(kick) => kick.unwrap_or(Kick::SHUTDOWN),
                // Unreachable: `kick_tx` lives as long as this function.
                Err(_) => std::future::pending().await,
            }
        };
        tokio::select! {
            biased;
            kick = kicked => Exit::Kicked(kick),
            exit = send_half(&mut sink, &mut membership.queue, &pongs, limits) => exit,
            exit = receive_half(stream, &state, &room, client_id, &membership.own, &pongs) => exit,
        }
    };
    state
        .engine()
        .leave(&room, client_id, membership.conn)
        .await;
    state.metrics().disconnected(exit.reason());
    match exit {
        Exit::Kicked(kick) => {
            let queue = &mut membership.queue;
            let deliver = async {
                if kick.drain {
                    while let Ok(frame) = queue.try_recv() {
                        if sink.feed(Message::Text(frame)).await.is_err() {
                            return;
                        }
                    }
                }
                let frame = close_frame(kick.code, kick.reason);
                let _ = sink.send(frame).await;
            };
            let _ = timeout(limits.close_timeout, deliver).await;
        }
        // The WebSocket layer answers the client's close frame when the sink is flushed.
        Exit::ClientClosed => {
            let _ = timeout(limits.close_timeout, sink.flush()).await;
        }
        Exit::TooBig => close(&mut sink, CLOSE_TOO_BIG, "frame too big", limits).await,
        Exit::Unresponsive | Exit::Gone => {}
    }
}

/// Sends a close frame, giving up after the close timeout.
pub(crate) async fn close<S: Sink<Message> + Unpin>(
    sink: &mut S,
    code: u16,
    reason: &str,
    limits: &Limits,
) {
    let _ = timeout(limits.close_timeout, sink.send(close_frame(code, reason))).await;
}

fn close_frame(code: u16, reason: &str) -> Message {
    Message::Close(Some(CloseFrame {
        code,
        reason: Utf8Bytes::from(reason),
    }))
}

/// Moves queued frames to the socket (batching what is ready into one flush) and keeps the
/// connection alive with pings. Ends when the socket fails or a ping goes unanswered.
#[flowtrace(skip_all)]
async fn send_half<S>(
    sink: &mut S,
    queue: &mut mpsc::Receiver<Utf8Bytes>,
    pongs: &Notify,
    limits: &Limits,
) -> Exit
where
    S: Sink<Message> + Unpin,
{
    // The timer below is not watched while a write waits for the socket: a client that stops
    // reading gets as long to take a write as it has to answer a ping, counted from the ping.
    let write_deadline = limits.ping_interval + limits.ping_timeout;
    let mut next_ping = Instant::now() + limits.ping_interval;
    let mut pong_due: Option<Instant> = None;
    let mut timer = pin!(sleep_until(next_ping));
    loop {
        tokio::select! {
            frame = queue.recv() => {
                // The connection holds a sender, so the queue never closes under it.
                let Some(frame) = frame else { return Exit::Gone };
                match timeout(write_deadline, write_batch(sink, frame, queue)).await {
                    Ok(Ok(())) => {}
                    Ok(Err(_)) => return Exit::Gone,
                    Err(_) => return Exit::Unresponsive,
                }
            }
            () = pongs.notified() => {
                pong_due = None;
                timer.as_mut().reset(next_ping);
            }
            () = timer.as_mut() => {
                if pong_due.is_some() {
                    return Exit::Unresponsive;
                }
                let ping = sink.send(Message::Ping(Default::default()));
                match timeout(write_deadline, ping).await {
                    Ok(Ok(())) => {}
                    Ok(Err(_)) => return Exit::Gone,
                    Err(_) => return Exit::Unresponsive,
                }
                let now = Instant::now();
                next_ping = now + limits.ping_interval;
                let due = now + limits.ping_timeout;
                pong_due = Some(due);
                timer.as_mut().reset(due);
            }
        }
    }
}

/// Feeds `first` and what else is ready (64 frames at most), then flushes them all at once.
async fn write_batch<S: Sink<Message> + Unpin>(
    sink: &mut S,
    first: Utf8Bytes,
    queue: &mut mpsc::Receiver<Utf8Bytes>,
) -> Result<(), S::Error> {
    sink.feed(Message::Text(first)).await?;
    for _ in 1..64 {
        let Ok(frame) = queue.try_recv() else { break };
        sink.feed(Message::Text(frame)).await?;
    }
    sink.flush().await
}

/// Reads client frames until the client closes, the socket fails, or a frame is too big.
#[flowtrace(skip(stream, state, room, own, pongs))]
async fn receive_half<R>(
    mut stream: R,
    state: &AppState,
    room: &Room,
    client_id: &str,
    own: &mpsc::Sender<Utf8Bytes>,
    pongs: &Notify,
) -> Exit
where
    R: Stream<Item = Result<Message, ReadError>> + Unpin,
{
    let limits = state.limits();
    let mut bucket = TokenBucket::new(limits.rate_per_sec, limits.rate_burst);
    while let Some(frame) = stream.next().await {
        let flow = match frame {
            Ok(Message::Text(text)) => {
                if bucket.try_take() {
                    handle_text(state, room, client_id, text.as_str(), own).await
                } else {
                    let why = "too many frames: slow down";
                    reply_error(state, own, &FrameError::new(ErrorCode::RateLimited, why));
                    ControlFlow::Continue(())
                }
            }
            Ok(Message::Binary(_)) => {
                // Counted like text: a flood of refused frames costs the server as much.
                let refusal = if bucket.try_take() {
                    let why = "binary frames are not supported: send JSON text";
                    FrameError::new(ErrorCode::BinaryNotSupported, why)
                } else {
                    FrameError::new(ErrorCode::RateLimited, "too many frames: slow down")
                };
                reply_error(state, own, &refusal);
                ControlFlow::Continue(())
            }
            Ok(Message::Pong(_)) => {
                pongs.notify_one();
                ControlFlow::Continue(())
            }
            Ok(Message::Ping(_)) => ControlFlow::Continue(()),
            Ok(Message::Close(_)) => ControlFlow::Break(Exit::ClientClosed),
            Err(ReadError::TooBig) => ControlFlow::Break(Exit::TooBig),
            Err(ReadError::Broken) => ControlFlow::Break(Exit::Gone),
        };
        if let ControlFlow::Break(exit) = flow {
            return exit;
        }
    }
    Exit::Gone
}

/// Handles one text frame; the client stays connected whatever it sent.
#[flowtrace(skip(state, room, own))]
async fn handle_text(
    state: &AppState,
    room: &Room,
    client_id: &str,
    text: &str,
    own: &mpsc::Sender<Utf8Bytes>,
) -> ControlFlow<Exit> {
    match protocol::parse(text, state.limits().max_text_chars) {
        Ok(Command::Message(text)) => {
            if let Err(Unavailable) = state.engine().post(room, client_id, &text, own).await {
                let why = "the message could not be stored and was not delivered: try again";
                reply_error(state, own, &FrameError::new(ErrorCode::Unavailable, why));
            }
        }
        Ok(Command::Typing) => state.engine().typing(room, client_id).await,
        Err(e) => reply_error(state, own, &e),
    }
    ControlFlow::Continue(())
}

/// Queues an `error` frame for this client only. If its queue is full it is about to be closed
/// as slow anyway, so the frame is dropped.
#[flowtrace(skip(state, own))]
fn reply_error(state: &AppState, own: &mpsc::Sender<Utf8Bytes>, error: &FrameError) {
    state.metrics().rejected(error.code.as_str());
    let frame = Outgoing::Error {
        code: error.code,
        message: &error.message,
    };
    if own.try_send(frame.encode()).is_ok() {
        state.metrics().delivered(1);
    }
}

#[cfg(test)]
mod tests;
