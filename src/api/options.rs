//! Reading the JS options object into [`RawOptions`] and validating it into a [`Config`].
//!
//! Each object is read through a [`Fields`] reader that remembers the keys it asked for; a key
//! the object has but nobody asked for is rejected (a typo such as `connectTimeOutMs` fails
//! loudly instead of being ignored). Values are read with `Reflect.get` and checked by type
//! here; ranges are checked by [`Options::validate`] in the pure core.

use js_sys::{Array, Function, Object, Reflect};
use wasm_bindgen::{JsCast, JsValue};

use crate::core::options::{RawAudio, RawControl, RawOptions, RawToken};
use crate::core::{ErrorCode, IceServer, LinkError, Options};
use crate::driver::{Config, TokenSource};

fn invalid(message: String) -> LinkError {
    LinkError::new(ErrorCode::InvalidOption, message)
}

/// The fields of one JS object, read by name. Reading never returns early: the first problem
/// is kept in `error` and the field reads as absent, so the struct literal that reads the
/// options has one exit (early returns each carried their own drop code: 5.0 kB of raw wasm,
/// measured in bench/README.md "Size").
struct Fields {
    object: JsValue,
    path: String,
    asked: Vec<&'static str>,
    error: Option<LinkError>,
}

impl Fields {
    fn new(object: JsValue, path: String) -> Fields {
        Fields { object, path, asked: Vec::new(), error: None }
    }

    fn fail(&mut self, message: String) {
        self.error.get_or_insert_with(|| invalid(message));
    }

    fn raw(&mut self, key: &'static str) -> JsValue {
        self.asked.push(key);
        Reflect::get(&self.object, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
    }

    fn path_of(&self, key: &str) -> String {
        [&self.path, ".", key].concat()
    }

    /// Field `key` if `accept` takes it; `None` when absent (`undefined` or `null`) or refused
    /// (then the error names the field and `expected`). Not generic and not inlined: one copy
    /// serves every field.
    #[inline(never)]
    fn field(&mut self, key: &'static str, expected: &str, accept: &dyn Fn(&JsValue) -> bool) -> Option<JsValue> {
        let value = self.raw(key);
        if value.is_undefined() || value.is_null() {
            return None;
        }
        if accept(&value) {
            return Some(value);
        }
        let got = value.js_typeof().as_string().unwrap_or_default();
        let message = [&self.path_of(key), " must be ", expected, ", got ", &got].concat();
        self.fail(message);
        None
    }

    #[inline(never)]
    fn num(&mut self, key: &'static str) -> Option<f64> {
        self.field(key, "a number", &|v| v.as_f64().is_some()).and_then(|v| v.as_f64())
    }

    #[inline(never)]
    fn flag(&mut self, key: &'static str) -> Option<bool> {
        self.field(key, "true or false", &|v| v.as_bool().is_some()).and_then(|v| v.as_bool())
    }

    #[inline(never)]
    fn text(&mut self, key: &'static str) -> Option<String> {
        self.field(key, "a string", &JsValue::is_string).and_then(|v| v.as_string())
    }

    /// A list of numbers (the `[number, number]` thresholds).
    fn nums(&mut self, key: &'static str) -> Option<Vec<f64>> {
        let all = |v: &JsValue| Array::is_array(v) && Array::from(v).every(&mut |x, _, _| x.as_f64().is_some());
        let list = self.field(key, "an array of numbers", &all)?;
        Some(Array::from(&list).iter().filter_map(|x| x.as_f64()).collect())
    }

    /// ICE server `urls`: a string or an array of strings.
    fn urls(&mut self) -> Vec<String> {
        let ok = |v: &JsValue| v.is_string() || (Array::is_array(v) && Array::from(v).every(&mut |x, _, _| x.is_string()));
        match self.field("urls", "a string or an array of strings", &ok) {
            None => Vec::new(),
            Some(v) => match v.as_string() {
                Some(one) => vec![one],
                None => Array::from(&v).iter().filter_map(|x| x.as_string()).collect(),
            },
        }
    }

    /// A nested object at `path`, read by `read`; its problems become this reader's.
    fn nested<T>(&mut self, value: JsValue, path: String, read: fn(&mut Fields) -> T) -> Option<T> {
        if value.is_undefined() || value.is_null() {
            return None;
        }
        if !is_plain(&value) {
            self.fail([&path, " must be an object"].concat());
            return None;
        }
        let mut inner = Fields::new(value, path);
        let out = read(&mut inner);
        if let Err(e) = inner.finish() {
            self.error.get_or_insert(e);
        }
        Some(out)
    }

    /// Field `key` as a nested object.
    fn object<T>(&mut self, key: &'static str, read: fn(&mut Fields) -> T) -> Option<T> {
        let value = self.raw(key);
        let path = self.path_of(key);
        self.nested(value, path, read)
    }

    /// The first problem, else a key nobody asked for (listing the ones that exist).
    fn finish(self) -> Result<(), LinkError> {
        if let Some(e) = self.error {
            return Err(e);
        }
        let keys = Object::keys(self.object.unchecked_ref::<Object>());
        for key in keys.iter() {
            let key = key.as_string().unwrap_or_default();
            if !self.asked.contains(&key.as_str()) {
                let key: String = key.chars().take(60).collect();
                return Err(invalid(
                    [&self.path_of(&key), " is not an option; expected one of: ", &self.asked.join(", ")].concat(),
                ));
            }
        }
        Ok(())
    }
}

/// A plain object (not a function, not an array).
fn is_plain(value: &JsValue) -> bool {
    value.is_object() && !value.is_function() && !Array::is_array(value)
}

/// Resolves a relative URL against the page (`/whip` → `https://host/whip`).
fn absolute(url: String) -> String {
    let base = web_sys::window().and_then(|w| w.location().href().ok());
    match base.and_then(|b| web_sys::Url::new_with_base(&url, &b).ok()) {
        Some(u) => u.href(),
        None => url,
    }
}

/// Resolves a control URL against the page, mapping http(s) to ws(s) (`/control` →
/// `ws://host/control`).
fn absolute_ws(url: String) -> String {
    let resolved = absolute(url);
    if let Some(rest) = resolved.strip_prefix("http") {
        if rest.starts_with("s://") || rest.starts_with("://") {
            return ["ws", rest].concat();
        }
    }
    resolved
}

fn read_audio(f: &mut Fields) -> RawAudio {
    RawAudio {
        echo_cancellation: f.flag("echoCancellation"),
        noise_suppression: f.flag("noiseSuppression"),
        auto_gain_control: f.flag("autoGainControl"),
        channel_count: f.num("channelCount"),
        device_id: f.text("deviceId"),
    }
}

fn read_control(f: &mut Fields) -> RawControl {
    RawControl {
        url: f.text("url").map(absolute_ws),
        heartbeat_ms: f.num("heartbeatMs"),
        heartbeat_timeout_ms: f.num("heartbeatTimeoutMs"),
        reconnect_base_ms: f.num("reconnectBaseMs"),
        reconnect_cap_ms: f.num("reconnectCapMs"),
        reconnect_attempts: f.num("reconnectAttempts"),
        outbox_capacity: f.num("outboxCapacity"),
    }
}

fn read_ice_server(f: &mut Fields) -> IceServer {
    IceServer { urls: f.urls(), username: f.text("username"), credential: f.text("credential") }
}

/// `iceServers`: an array of `RTCIceServer` objects.
fn read_ice_servers(f: &mut Fields, value: &JsValue) -> Option<Vec<IceServer>> {
    if value.is_undefined() || value.is_null() {
        return None;
    }
    let Some(list) = value.dyn_ref::<Array>() else {
        f.fail("options.iceServers must be an array".into());
        return None;
    };
    let mut servers = Vec::new();
    for (i, server) in list.iter().enumerate() {
        let path = ["options.iceServers[", &i.to_string(), "]"].concat();
        // `nested` rejects non-objects but passes over absent ones; in a list, null is an error too.
        if server.is_undefined() || server.is_null() {
            f.fail([&path, " must be an object"].concat());
        }
        servers.extend(f.nested(server, path, read_ice_server));
    }
    Some(servers)
}

/// Parses and validates the options object given to `new VoiceLink(options)`.
/// Errors: `invalid-option`, naming the field.
pub fn parse(value: &JsValue) -> Result<Config, LinkError> {
    if !is_plain(value) {
        return Err(invalid("new VoiceLink(options): options must be an object such as { url: \"https://…/whip\" }".into()));
    }
    let mut f = Fields::new(value.clone(), "options".into());
    let token_value = f.raw("token");
    let (token, raw_token) = if token_value.is_undefined() || token_value.is_null() {
        (TokenSource::None, None)
    } else if let Some(s) = token_value.as_string() {
        (TokenSource::Static(s.clone()), Some(RawToken::Text(s)))
    } else if let Some(func) = token_value.dyn_ref::<Function>() {
        (TokenSource::Provider(func.clone()), Some(RawToken::Provider))
    } else {
        f.fail("options.token must be a string or a function returning a string or a promise of one".into());
        (TokenSource::None, None)
    };
    let ice_value = f.raw("iceServers");
    let raw = RawOptions {
        url: f.text("url").map(absolute),
        token: raw_token,
        ice_servers: read_ice_servers(&mut f, &ice_value),
        audio: f.object("audio", read_audio),
        connect_timeout_ms: f.num("connectTimeoutMs"),
        data_channel_label: f.text("dataChannelLabel"),
        fade_out_ms: f.num("fadeOutMs"),
        visibility: f.text("visibility"),
        visibility_grace_ms: f.num("visibilityGraceMs"),
        resume_on_visible: f.flag("resumeOnVisible"),
        reconnect: f.text("reconnect"),
        reconnect_base_ms: f.num("reconnectBaseMs"),
        reconnect_cap_ms: f.num("reconnectCapMs"),
        reconnect_attempts: f.num("reconnectAttempts"),
        reconnect_spread_ms: f.num("reconnectSpreadMs"),
        session_grace_ms: f.num("sessionGraceMs"),
        outage_timeout_ms: f.num("outageTimeoutMs"),
        outbox_capacity: f.num("outboxCapacity"),
        stats_interval_ms: f.num("statsIntervalMs"),
        quality_rtt_ms: f.nums("qualityRttMs"),
        quality_loss_pct: f.nums("qualityLossPct"),
        quality_jitter_ms: f.nums("qualityJitterMs"),
        speaking_threshold: f.num("speakingThreshold"),
        speaking_hang_ms: f.num("speakingHangMs"),
        profile: f.flag("profile"),
        control: f.object("control", read_control),
    };
    f.finish()?;
    let options = Options::validate(&raw)?;
    Ok(Config { options, token, ice_servers: ice_value })
}
