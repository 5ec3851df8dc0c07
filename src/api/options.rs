//! Parsing the JS options object into [`Config`]. Unknown keys are rejected (a typo such as
//! `connectTimeOutMs` fails loudly instead of being ignored). serde-wasm-bindgen only reads
//! the fields a struct declares, so `deny_unknown_fields` cannot see extra keys: they are
//! checked against `Object.keys` here.

use js_sys::{Function, Reflect};
use serde::Deserialize;
use wasm_bindgen::{JsCast, JsValue};

use crate::core::options::{RawControl, RawOptions};
use crate::core::{ErrorCode, IceServer, LinkError, Options};
use crate::driver::{Config, TokenSource};

#[derive(Deserialize)]
#[serde(untagged)]
enum Urls {
    One(String),
    Many(Vec<String>),
}

const OPTION_KEYS: &[&str] = &[
    "url",
    "token",
    "iceServers",
    "audio",
    "connectTimeoutMs",
    "dataChannelLabel",
    "fadeOutMs",
    "visibility",
    "visibilityGraceMs",
    "resumeOnVisible",
    "reconnect",
    "reconnectBaseMs",
    "reconnectCapMs",
    "reconnectAttempts",
    "reconnectSpreadMs",
    "sessionGraceMs",
    "outageTimeoutMs",
    "outboxCapacity",
    "statsIntervalMs",
    "qualityRttMs",
    "qualityLossPct",
    "qualityJitterMs",
    "speakingThreshold",
    "speakingHangMs",
    "profile",
    "control",
];
const CONTROL_KEYS: &[&str] =
    &["url", "heartbeatMs", "heartbeatTimeoutMs", "reconnectBaseMs", "reconnectCapMs", "reconnectAttempts", "outboxCapacity"];
const AUDIO_KEYS: &[&str] = &["echoCancellation", "noiseSuppression", "autoGainControl", "channelCount", "deviceId"];
const ICE_SERVER_KEYS: &[&str] = &["urls", "username", "credential", "credentialType"];

/// Rejects keys of `value` (when it is a plain object) that are not in `known`.
fn reject_unknown(value: &JsValue, known: &[&str], path: &str) -> Result<(), LinkError> {
    if !value.is_object() {
        return Ok(());
    }
    for key in js_sys::Object::keys(value.unchecked_ref::<js_sys::Object>()).iter() {
        let key = key.as_string().unwrap_or_default();
        if !known.contains(&key.as_str()) {
            let key: String = key.chars().take(60).collect();
            return Err(invalid(format!("{path}.{key} is not an option; expected one of: {}", known.join(", "))));
        }
    }
    Ok(())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct JsIceServer {
    urls: Urls,
    username: Option<String>,
    credential: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct JsAudio {
    echo_cancellation: Option<bool>,
    noise_suppression: Option<bool>,
    auto_gain_control: Option<bool>,
    channel_count: Option<f64>,
    device_id: Option<String>,
}

/// The plain-data options (`token` may be a function and is read separately).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct JsOptions {
    url: Option<String>,
    ice_servers: Option<Vec<JsIceServer>>,
    audio: Option<JsAudio>,
    connect_timeout_ms: Option<f64>,
    data_channel_label: Option<String>,
    fade_out_ms: Option<f64>,
    visibility: Option<String>,
    visibility_grace_ms: Option<f64>,
    resume_on_visible: Option<bool>,
    reconnect: Option<String>,
    reconnect_base_ms: Option<f64>,
    reconnect_cap_ms: Option<f64>,
    reconnect_attempts: Option<f64>,
    reconnect_spread_ms: Option<f64>,
    session_grace_ms: Option<f64>,
    outage_timeout_ms: Option<f64>,
    outbox_capacity: Option<f64>,
    stats_interval_ms: Option<f64>,
    quality_rtt_ms: Option<Vec<f64>>,
    quality_loss_pct: Option<Vec<f64>>,
    quality_jitter_ms: Option<Vec<f64>>,
    speaking_threshold: Option<f64>,
    speaking_hang_ms: Option<f64>,
    profile: Option<bool>,
    control: Option<JsControl>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct JsControl {
    url: Option<String>,
    heartbeat_ms: Option<f64>,
    heartbeat_timeout_ms: Option<f64>,
    reconnect_base_ms: Option<f64>,
    reconnect_cap_ms: Option<f64>,
    reconnect_attempts: Option<f64>,
    outbox_capacity: Option<f64>,
}

fn invalid(message: impl Into<String>) -> LinkError {
    LinkError::new(ErrorCode::InvalidOption, message)
}

/// Resolves a relative endpoint against the page URL (`/whip` → `https://host/whip`).
fn absolute(url: String) -> String {
    let base = web_sys::window().and_then(|w| w.location().href().ok());
    match base.and_then(|b| web_sys::Url::new_with_base(&url, &b).ok()) {
        Some(u) => u.href(),
        None => url,
    }
}

/// Resolves a control URL against the page, mapping http(s) to ws(s) (`/control` →
/// `ws://host/control`).
fn absolute_ws(url: &str) -> String {
    let resolved = absolute(url.to_string());
    if let Some(rest) = resolved.strip_prefix("https://") {
        format!("wss://{rest}")
    } else if let Some(rest) = resolved.strip_prefix("http://") {
        format!("ws://{rest}")
    } else {
        resolved
    }
}

/// Parses and validates the options object given to `new VoiceLink(options)`.
/// Errors: `invalid-option`, naming the field.
pub fn parse(value: &JsValue) -> Result<Config, LinkError> {
    if !value.is_object() || value.is_function() {
        return Err(invalid("new VoiceLink(options): options must be an object such as { url: \"https://…/whip\" }"));
    }
    reject_unknown(value, OPTION_KEYS, "options")?;
    reject_unknown(&Reflect::get(value, &"audio".into()).unwrap_or(JsValue::UNDEFINED), AUDIO_KEYS, "options.audio")?;
    reject_unknown(&Reflect::get(value, &"control".into()).unwrap_or(JsValue::UNDEFINED), CONTROL_KEYS, "options.control")?;
    let ice = Reflect::get(value, &"iceServers".into()).unwrap_or(JsValue::UNDEFINED);
    if let Some(list) = ice.dyn_ref::<js_sys::Array>() {
        for (i, server) in list.iter().enumerate() {
            reject_unknown(&server, ICE_SERVER_KEYS, &format!("options.iceServers[{i}]"))?;
        }
    }
    let parsed: JsOptions =
        serde_wasm_bindgen::from_value(value.clone()).map_err(|e| invalid(format!("options: {e}")))?;

    let token_value = Reflect::get(value, &"token".into()).unwrap_or(JsValue::UNDEFINED);
    let token = if token_value.is_undefined() || token_value.is_null() {
        TokenSource::None
    } else if let Some(s) = token_value.as_string() {
        if s.is_empty() {
            return Err(invalid("options.token is an empty string: pass the token, or omit it"));
        }
        TokenSource::Static(s)
    } else if let Some(f) = token_value.dyn_ref::<Function>() {
        TokenSource::Provider(f.clone())
    } else {
        return Err(invalid("options.token must be a string or a function returning a string or a promise of one"));
    };

    let audio = parsed.audio.unwrap_or_default();
    let ice_servers = parsed.ice_servers.map(|list| {
        list.into_iter()
            .map(|s| IceServer {
                urls: match s.urls {
                    Urls::One(u) => vec![u],
                    Urls::Many(v) => v,
                },
                username: s.username,
                credential: s.credential,
            })
            .collect()
    });
    let raw = RawOptions {
        url: parsed.url.map(absolute),
        ice_servers,
        echo_cancellation: audio.echo_cancellation,
        noise_suppression: audio.noise_suppression,
        auto_gain_control: audio.auto_gain_control,
        channel_count: audio.channel_count,
        device_id: audio.device_id,
        connect_timeout_ms: parsed.connect_timeout_ms,
        data_channel_label: parsed.data_channel_label,
        fade_out_ms: parsed.fade_out_ms,
        visibility: parsed.visibility,
        visibility_grace_ms: parsed.visibility_grace_ms,
        resume_on_visible: parsed.resume_on_visible,
        reconnect: parsed.reconnect,
        reconnect_base_ms: parsed.reconnect_base_ms,
        reconnect_cap_ms: parsed.reconnect_cap_ms,
        reconnect_attempts: parsed.reconnect_attempts,
        reconnect_spread_ms: parsed.reconnect_spread_ms,
        session_grace_ms: parsed.session_grace_ms,
        outage_timeout_ms: parsed.outage_timeout_ms,
        outbox_capacity: parsed.outbox_capacity,
        stats_interval_ms: parsed.stats_interval_ms,
        quality_rtt_ms: parsed.quality_rtt_ms,
        quality_loss_pct: parsed.quality_loss_pct,
        quality_jitter_ms: parsed.quality_jitter_ms,
        speaking_threshold: parsed.speaking_threshold,
        speaking_hang_ms: parsed.speaking_hang_ms,
        profile: parsed.profile,
        control: parsed.control.map(|c| RawControl {
            url: c.url.map(|u| absolute_ws(&u)),
            heartbeat_ms: c.heartbeat_ms,
            heartbeat_timeout_ms: c.heartbeat_timeout_ms,
            reconnect_base_ms: c.reconnect_base_ms,
            reconnect_cap_ms: c.reconnect_cap_ms,
            reconnect_attempts: c.reconnect_attempts,
            outbox_capacity: c.outbox_capacity,
        }),
    };
    let options = Options::validate(raw)?;
    let ice_servers = Reflect::get(value, &"iceServers".into()).unwrap_or(JsValue::UNDEFINED);
    Ok(Config { options, token, ice_servers })
}
