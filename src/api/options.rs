//! Reading the JS options object into [`RawOptions`] and validating it into a [`Config`].
//!
//! Each object is read through a [`Fields`] reader that remembers the keys it asked for; a key
//! the object has but nobody asked for is rejected (a typo such as `connectTimeOutMs` fails
//! loudly instead of being ignored). Values are read with `Reflect.get` and checked by type
//! here; ranges are checked by [`Options::validate`] in the pure core.

use js_sys::{Array, Function, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen::{JsCast, JsValue};

use crate::core::options::{RawAudio, RawControl, RawOptions, RawToken};
use crate::core::{ErrorCode, IceServer, LinkError, Options, Protocol, RawSignaling};
use crate::platform::signaling::{custom::Custom, Signaling};
use crate::driver::{Config, TokenSource};

// Catching forms of the reflection the reader uses: an options object may be a Proxy whose
// traps throw, or have getters that throw. Whatever it throws becomes `invalid-option`.
#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = Object, js_name = keys, catch)]
    fn own_keys(object: &JsValue) -> Result<Array, JsValue>;
    #[wasm_bindgen(js_namespace = Array, js_name = isArray, catch)]
    fn is_array(value: &JsValue) -> Result<bool, JsValue>;
}

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
        match Reflect::get(&self.object, &JsValue::from_str(key)) {
            Ok(v) => v,
            Err(e) => {
                let message = [&self.path_of(key), " could not be read: ", &crate::platform::js::error_message(&e)].concat();
                self.fail(message);
                JsValue::UNDEFINED
            }
        }
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

    /// The items of the array at `key` (read one by one with `Reflect.get`, so a Proxy or getter
    /// that throws is an error here), or `None` (absent, not an array, or unreadable).
    fn items(&mut self, key: &'static str, value: &JsValue) -> Option<Vec<JsValue>> {
        let path = self.path_of(key);
        match read_list(value, &path) {
            Ok(items) => items,
            Err(e) => {
                self.error.get_or_insert(e);
                None
            }
        }
    }

    /// A list of numbers (the `[number, number]` thresholds).
    fn nums(&mut self, key: &'static str) -> Option<Vec<f64>> {
        let value = self.raw(key);
        if value.is_undefined() || value.is_null() {
            return None;
        }
        let items = self.items(key, &value);
        match items.as_deref().map(|xs| xs.iter().map(JsValue::as_f64).collect::<Option<Vec<f64>>>()) {
            Some(Some(list)) => Some(list),
            _ => {
                let message = [&self.path_of(key), " must be an array of numbers"].concat();
                self.fail(message);
                None
            }
        }
    }

    /// ICE server `urls`: a string or an array of strings.
    fn urls(&mut self) -> Vec<String> {
        let value = self.raw("urls");
        if let Some(one) = value.as_string() {
            return vec![one];
        }
        if value.is_undefined() || value.is_null() {
            return Vec::new();
        }
        let items = self.items("urls", &value);
        match items.as_deref().map(|xs| xs.iter().map(JsValue::as_string).collect::<Option<Vec<String>>>()) {
            Some(Some(list)) => list,
            _ => {
                let message = [&self.path_of("urls"), " must be a string or an array of strings"].concat();
                self.fail(message);
                Vec::new()
            }
        }
    }

    /// A nested object at `path`, read by `read`; its problems become this reader's.
    fn nested<T>(&mut self, value: JsValue, path: String, read: fn(&mut Fields) -> T) -> Option<T> {
        if value.is_undefined() || value.is_null() {
            return None;
        }
        match is_plain(&value) {
            Ok(true) => {}
            Ok(false) => {
                self.fail([&path, " must be an object"].concat());
                return None;
            }
            Err(e) => {
                self.error.get_or_insert(e.at(&path));
                return None;
            }
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
        let keys = own_keys(&self.object).map_err(|e| Unreadable(e).at(&self.path))?;
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

/// A JS exception met while reading the options (a throwing getter or Proxy trap).
struct Unreadable(JsValue);

impl Unreadable {
    /// The `invalid-option` error for the value at `path`.
    fn at(self, path: &str) -> LinkError {
        invalid([path, " could not be read: ", &crate::platform::js::error_message(&self.0)].concat())
    }
}

/// A plain object (not a function, not an array). Errors when the value is a Proxy that
/// throws from `Array.isArray` (a revoked one).
fn is_plain(value: &JsValue) -> Result<bool, Unreadable> {
    if !value.is_object() || value.is_function() {
        return Ok(false);
    }
    is_array(value).map(|a| !a).map_err(Unreadable)
}

/// The items of `value` when it is an array (`None` when it is not), read with `Reflect.get`
/// (`length`, then each index) so that anything that throws becomes `invalid-option` at `path`.
/// Longer than [`MAX_LIST`] items is refused.
fn read_list(value: &JsValue, path: &str) -> Result<Option<Vec<JsValue>>, LinkError> {
    if !value.is_object() || !is_array(value).map_err(|e| Unreadable(e).at(path))? {
        return Ok(None);
    }
    let len = Reflect::get(value, &"length".into()).map_err(|e| Unreadable(e).at(path))?.as_f64().unwrap_or(0.0);
    if len > MAX_LIST as f64 {
        return Err(invalid([path, " has more than ", &MAX_LIST.to_string(), " items"].concat()));
    }
    let mut items = Vec::new();
    for i in 0..len as u32 {
        let item = Reflect::get_u32(value, i).map_err(|e| Unreadable(e).at(&[path, "[", &i.to_string(), "]"].concat()))?;
        items.push(item);
    }
    Ok(Some(items))
}

/// Most items an options array may have (`iceServers`, `urls`, thresholds).
const MAX_LIST: u32 = 64;

use crate::platform::page::absolute;

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
    let list = match read_list(value, "options.iceServers") {
        Ok(Some(list)) => list,
        Ok(None) => {
            f.fail("options.iceServers must be an array".into());
            return None;
        }
        Err(e) => {
            f.error.get_or_insert(e);
            return None;
        }
    };
    let mut servers = Vec::new();
    for (i, server) in list.into_iter().enumerate() {
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
    if !is_plain(value).map_err(|e| e.at("options"))? {
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
    let signaling_value = f.raw("signaling");
    let (mut custom, raw_signaling) = if signaling_value.is_undefined() || signaling_value.is_null() {
        (None, None)
    } else if let Some(name) = signaling_value.as_string() {
        (None, Some(RawSignaling::Name(name)))
    } else if signaling_value.is_object() {
        match Custom::from_object(&signaling_value) {
            Ok(c) => {
                let raw = RawSignaling::Custom { restart: c.has_restart(), hangup: c.has_hangup() };
                (Some(c), Some(raw))
            }
            Err(message) => {
                f.fail(message);
                (None, None)
            }
        }
    } else {
        f.fail("options.signaling must be \"whip\", \"openai\", \"pipecat\" or an object with an offer() function".into());
        (None, None)
    };
    let request_data = f.raw("requestData");
    let ice_value = f.raw("iceServers");
    let raw = RawOptions {
        url: f.text("url").map(absolute),
        signaling: raw_signaling,
        request_data: (!request_data.is_undefined()).then_some(true),
        token: raw_token,
        ice_servers: read_ice_servers(&mut f, &ice_value),
        ice_transport_policy: f.text("iceTransportPolicy"),
        ice_servers_from_server: f.flag("iceServersFromServer"),
        audio: f.object("audio", read_audio),
        connect_timeout_ms: f.num("connectTimeoutMs"),
        data_channel_label: f.text("dataChannelLabel"),
        fade_out_ms: f.num("fadeOutMs"),
        mute_releases_mic: f.flag("muteReleasesMic"),
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
    let signaling = match options.protocol {
        Protocol::Whip => Signaling::Whip,
        Protocol::OpenAi => Signaling::OpenAi,
        Protocol::Pipecat => Signaling::Pipecat { request_data },
        Protocol::Custom { .. } => match custom.take() {
            Some(c) => Signaling::Custom(c),
            None => return Err(invalid("options.signaling: the object could not be read".into())),
        },
    };
    Ok(Config { options, token, ice_servers: ice_value, signaling: std::rc::Rc::new(signaling) })
}
