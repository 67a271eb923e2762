//! Plays a streamed answer on the cost model's clock: frames before the prefill go out at
//! once, token frames at `first_token + i / decode_tps` on an absolute schedule (so the rate
//! does not drift), closing frames right after the last token. In-stream faults (drop,
//! malformed event) are applied here, the same way for every protocol.

use std::future::Future;
use std::io;
use std::time::Instant;

use tokio::time::sleep_until;

use super::config::{CostModel, Fault, Gate};

/// One response's frames, already in the endpoint's wire format.
#[derive(Debug, Clone)]
pub(crate) struct Script<T> {
    /// Sent immediately (e.g. `response.created`).
    pub head: Vec<T>,
    /// Sent at the first-token time, before token 0 (e.g. the chat role chunk).
    pub first: Vec<T>,
    /// One frame per output token.
    pub tokens: Vec<T>,
    /// Sent right after the last token (e.g. `response.completed`, `[DONE]`).
    pub tail: Vec<T>,
}

impl<T> Script<T> {
    pub fn map<U>(self, mut f: impl FnMut(T) -> U) -> Script<U> {
        Script {
            head: self.head.into_iter().map(&mut f).collect(),
            first: self.first.into_iter().map(&mut f).collect(),
            tokens: self.tokens.into_iter().map(&mut f).collect(),
            tail: self.tail.into_iter().map(&mut f).collect(),
        }
    }
}

/// Where frames go: an HTTP chunk writer or a WebSocket lane.
pub(crate) trait FrameSink: Send {
    fn send(&mut self, frame: String) -> impl Future<Output = io::Result<()>> + Send;
}

/// Faults that act inside a stream.
#[derive(Debug, Clone, Default)]
pub(crate) struct StreamFaults {
    /// Stop (the caller then drops the connection) after this many token frames.
    pub drop_after: Option<usize>,
    /// Send one frame with invalid JSON just before token 0.
    pub malformed: bool,
    /// After this many token frames, send this error frame and end the stream cleanly.
    pub error_after: Option<(usize, String)>,
    /// After this many token frames, wait for the gate before sending the rest.
    pub hold: Option<(usize, Gate)>,
}

impl StreamFaults {
    pub fn from_fault(fault: Option<&Fault>) -> Self {
        match fault {
            Some(Fault::DropAfterTokens(n)) => Self {
                drop_after: Some(*n),
                ..Self::default()
            },
            Some(Fault::Malformed) => Self {
                malformed: true,
                ..Self::default()
            },
            Some(Fault::Hold { after_tokens, gate }) => Self {
                hold: Some((*after_tokens, gate.clone())),
                ..Self::default()
            },
            _ => Self::default(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Played {
    Complete,
    /// A mid-stream error event was sent; the stream ended without completing.
    Errored,
    /// A drop fault fired; the caller must close the connection without finishing.
    Dropped,
}

/// The timing of one response.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Schedule {
    pub first_token_at: Instant,
    pub cost: CostModel,
}

impl Schedule {
    pub fn new(cost: CostModel, received_at: Instant, new_prompt_tokens: u64) -> Self {
        Self {
            first_token_at: received_at + cost.time_to_first_token(new_prompt_tokens),
            cost,
        }
    }

    /// The first visible token after `hidden` thinking tokens, decoded at the model's rate.
    pub fn after_thinking(mut self, hidden: u64) -> Self {
        self.first_token_at += self.cost.token_offset(hidden as usize);
        self
    }

    pub fn token_at(&self, index: usize) -> Instant {
        self.first_token_at + self.cost.token_offset(index)
    }

    /// When the whole answer is done (for non-streaming replies).
    pub fn done_at(&self, tokens: usize) -> Instant {
        self.token_at(tokens.saturating_sub(1))
    }
}

pub(crate) async fn play<S: FrameSink>(
    sink: &mut S,
    script: Script<String>,
    schedule: Schedule,
    faults: &StreamFaults,
    malformed_frame: &str,
) -> io::Result<Played> {
    for frame in script.head {
        sink.send(frame).await?;
    }
    sleep_until(schedule.first_token_at.into()).await;
    for frame in script.first {
        sink.send(frame).await?;
    }
    if faults.malformed {
        sink.send(malformed_frame.to_owned()).await?;
    }
    let token_count = script.tokens.len();
    for (index, frame) in script.tokens.into_iter().enumerate() {
        if let Some(played) = interrupt(sink, faults, index).await? {
            return Ok(played);
        }
        if let Some((after, gate)) = &faults.hold
            && *after == index
        {
            gate.passed().await;
        }
        sleep_until(schedule.token_at(index).into()).await;
        sink.send(frame).await?;
    }
    // Faults set past the last token still fire, before the closing frames.
    if let Some(played) = interrupt(sink, faults, token_count).await? {
        return Ok(played);
    }
    for frame in script.tail {
        sink.send(frame).await?;
    }
    Ok(Played::Complete)
}

/// Fires a drop or error fault due at token `index`; at the end of the tokens, also one due
/// later (so a fault never lets the response complete).
async fn interrupt<S: FrameSink>(
    sink: &mut S,
    faults: &StreamFaults,
    index: usize,
) -> io::Result<Option<Played>> {
    if faults.drop_after.is_some_and(|after| after <= index) {
        return Ok(Some(Played::Dropped));
    }
    if let Some((after, frame)) = &faults.error_after
        && *after <= index
    {
        sink.send(frame.clone()).await?;
        return Ok(Some(Played::Errored));
    }
    Ok(None)
}

/// Seconds since the Unix epoch, for `created` fields.
pub(crate) fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

/// RFC 3339 UTC timestamp (Ollama's `created_at`), without pulling in a date crate.
pub(crate) fn rfc3339_now() -> String {
    let secs = unix_now();
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (h, m, s) = (rem / 3600, rem % 3600 / 60, rem % 60);
    // Howard Hinnant's civil_from_days.
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}Z")
}
