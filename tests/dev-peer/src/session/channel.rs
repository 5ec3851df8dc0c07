//! What a session says on its data channel, by protocol.
//!
//! - WHIP and Pipecat: every message is recorded and answered on its own
//!   channel with `{"type":"echo","data":…}` (`data`: the message parsed as
//!   JSON, else the string).
//! - OpenAI Realtime: the client's channel is labelled `oai-events`. When it
//!   opens the server sends `{"type":"session.created","session":{"id":<call
//!   id>}}`, and it answers every event with `{"type":"echo","event":…}`.
//!   A channel with another label is recorded (its label and messages) but
//!   nothing is sent on it.
//!
//! The server's own end (`/_dev/sessions/<id>/end`) sends
//! [`SESSION_ENDED_MESSAGE`] whatever the protocol.

use base64::Engine as _;
use log::{info, warn};
use serde_json::value::RawValue;
use serde_json::{json, Value};
use str0m::channel::{ChannelData, ChannelId};

use super::Session;
use crate::state::Protocol;

/// What the server sends on the data channel when it ends a session.
pub const SESSION_ENDED_MESSAGE: &str = r#"{"type":"session.ended","reason":"server"}"#;

/// The label of the OpenAI Realtime events channel.
pub const OPENAI_EVENTS_LABEL: &str = "oai-events";

/// The text of a message as recorded: text as is; binary as UTF-8 when
/// valid, else base64.
fn message_text(data: ChannelData) -> String {
    if data.binary {
        match String::from_utf8(data.data) {
            Ok(s) => s,
            Err(e) => base64::engine::general_purpose::STANDARD.encode(e.into_bytes()),
        }
    } else {
        String::from_utf8_lossy(&data.data).into_owned()
    }
}

/// `{"type":"session.created","session":{"id":…}}`.
pub fn session_created(call_id: &str) -> String {
    format!(
        r#"{{"type":"session.created","session":{{"id":{}}}}}"#,
        Value::String(call_id.to_string())
    )
}

/// The answer to a message. OpenAI: `{"type":"echo","event":…}`, the
/// event exactly as sent when it is JSON, else as a string. The others:
/// `{"type":"echo","data":…}`, `data` the message parsed as JSON, else the
/// string.
pub fn echo(protocol: Protocol, text: &str) -> String {
    match protocol {
        Protocol::Openai => {
            let event = match serde_json::from_str::<Box<RawValue>>(text) {
                Ok(raw) => raw.get().to_string(),
                Err(_) => Value::String(text.to_string()).to_string(),
            };
            format!(r#"{{"type":"echo","event":{event}}}"#)
        }
        Protocol::Whip | Protocol::Pipecat => {
            let parsed = serde_json::from_str::<Value>(text)
                .unwrap_or_else(|_| Value::String(text.to_string()));
            json!({ "type": "echo", "data": parsed }).to_string()
        }
    }
}

impl Session {
    /// Whether a channel with this label is the one the session talks on.
    fn speaks_on(&self, label: &str) -> bool {
        self.protocol != Protocol::Openai || label == OPENAI_EVENTS_LABEL
    }

    /// The client opened a data channel.
    pub(super) fn channel_opened(&mut self, cid: ChannelId, label: String) {
        info!("session {}: data channel {label:?} open", self.entry.id);
        let speaks = self.speaks_on(&label);
        self.entry.update(|r| {
            r.channel_label = Some(label.clone());
            if speaks {
                r.channel_open = true;
            }
        });
        if !speaks {
            warn!(
                "session {}: an OpenAI call talks on {OPENAI_EVENTS_LABEL:?} only; {label:?} stays silent",
                self.entry.id
            );
            self.silent_channels.push(cid);
            return;
        }
        self.channel = Some(cid);
        if self.ending.as_ref().is_some_and(|e| e.announce) {
            self.send_text(cid, SESSION_ENDED_MESSAGE);
        } else if self.protocol == Protocol::Openai {
            let created = session_created(&self.entry.id);
            self.send_text(cid, &created);
        }
    }

    /// Record a data-channel message and answer it as the protocol does.
    pub(super) fn channel_message(&mut self, data: ChannelData) {
        let cid = data.id;
        let text = message_text(data);
        let reply = (!self.silent_channels.contains(&cid)).then(|| echo(self.protocol, &text));
        self.entry.update(|r| r.messages.push(text));
        if let Some(reply) = reply {
            self.send_text(cid, &reply);
        }
    }

    pub(super) fn send_text(&mut self, cid: ChannelId, text: &str) {
        let Some(mut channel) = self.rtc.channel(cid) else {
            warn!("session {}: no channel to send on", self.entry.id);
            return;
        };
        match channel.write(false, text.as_bytes()) {
            Ok(true) => {}
            Ok(false) => warn!(
                "session {}: channel buffer full, message dropped",
                self.entry.id
            ),
            Err(e) => warn!("session {}: channel write: {e}", self.entry.id),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers() {
        assert_eq!(
            session_created("rtc_0a1b"),
            r#"{"type":"session.created","session":{"id":"rtc_0a1b"}}"#
        );
        // The event as sent (key order, spacing inside kept).
        assert_eq!(
            echo(
                Protocol::Openai,
                r#" {"type":"response.create", "response":{"b":1,"a":2}} "#
            ),
            r#"{"type":"echo","event":{"type":"response.create", "response":{"b":1,"a":2}}}"#
        );
        assert_eq!(
            echo(Protocol::Openai, "not \"json"),
            r#"{"type":"echo","event":"not \"json"}"#
        );
        for p in [Protocol::Whip, Protocol::Pipecat] {
            let v: Value = serde_json::from_str(&echo(p, "[1,2]")).expect("json");
            assert_eq!(v, json!({"type":"echo","data":[1,2]}));
        }
    }
}
