//! The microphone as the app controls it: muted or not, which device, and what a change means
//! for the capture track. Pure: the driver asks [`MicState`] what to do and does it.
//!
//! Privacy first (issue 15, seed notes: "the mic indicator must go off"): with
//! `muteReleasesMic` (default) a mute **stops** the capture track — the browser's indicator goes
//! off — and the sender carries a silent track instead, so RTP keeps flowing (neither the server
//! nor our own outage detector mistakes a mute for a lost network); an unmute captures again
//! with the same constraints and swaps the track in with `replaceTrack` (no renegotiation, same
//! session). Without it a mute only sets `track.enabled = false` (instant; indicator stays on).

use crate::core::Options;

/// The `deviceId` meaning "the system default" (`setMicrophone("default")`).
pub const DEFAULT_DEVICE: &str = "default";

/// What the driver does to the capture track.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MicAction {
    /// Nothing to do now (no connection: the choice applies at the next connect).
    None,
    /// Stop the capture track; the sender carries silence.
    Release,
    /// `track.enabled = false`.
    Disable,
    /// Capture again (`getUserMedia`) and swap the new track in.
    Capture,
    /// `track.enabled = true`.
    Enable,
}

/// The app's microphone choices.
#[derive(Clone, Debug, PartialEq)]
pub struct MicState {
    enabled: bool,
    device_id: String,
    releases: bool,
}

impl MicState {
    /// Unmuted, on `audio.deviceId` or the default device.
    pub fn new(options: &Options) -> MicState {
        MicState {
            enabled: true,
            device_id: options.audio.device_id.clone().unwrap_or_else(|| DEFAULT_DEVICE.into()),
            releases: options.mute_releases_mic,
        }
    }

    /// `micEnabled`.
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// `micDeviceId`: the chosen device, or `"default"`.
    pub fn device_id(&self) -> &str {
        &self.device_id
    }

    /// The `deviceId` constraint to capture with: `None` for the default device.
    pub fn constraint(&self) -> Option<&str> {
        Some(self.device_id.as_str()).filter(|id| *id != DEFAULT_DEVICE)
    }

    /// `true` when a connect should capture at all: not while muted with `muteReleasesMic`
    /// (a connect while muted sends silence and asks for the microphone only at unmute).
    pub fn captures_on_connect(&self) -> bool {
        self.enabled || !self.releases
    }

    /// `setMicEnabled(enabled)`; `capturing`: a capture track exists now (live or disabled).
    /// Returns what to do to it.
    pub fn set_enabled(&mut self, enabled: bool, in_call: bool, capturing: bool) -> MicAction {
        if enabled == self.enabled && (enabled == capturing || !in_call || !self.releases) {
            return MicAction::None;
        }
        self.enabled = enabled;
        match (in_call, enabled, self.releases) {
            (false, _, _) => MicAction::None,
            (true, false, true) => MicAction::Release,
            (true, false, false) => MicAction::Disable,
            (true, true, _) if !capturing => MicAction::Capture,
            (true, true, true) => MicAction::None,
            (true, true, false) => MicAction::Enable,
        }
    }

    /// An unmute's capture failed: still muted.
    pub fn capture_failed(&mut self) {
        if self.releases {
            self.enabled = false;
        }
    }

    /// `setMicrophone(device_id)`: records the choice; `true` when a live capture track must
    /// be swapped for one from the new device now.
    pub fn choose(&mut self, device_id: &str, in_call: bool, capturing: bool) -> bool {
        let changed = device_id != self.device_id;
        self.device_id = device_id.to_string();
        in_call && capturing && changed
    }

    /// The capture track ended from outside (unplugged, revoked) and no device could take
    /// over: muted, so the app sees it and an unmute tries again.
    pub fn lost(&mut self) {
        self.enabled = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::options::RawOptions;

    fn state(releases: bool) -> MicState {
        let raw = RawOptions { url: Some("http://h/whip".into()), mute_releases_mic: Some(releases), ..Default::default() };
        MicState::new(&Options::validate(&raw).unwrap())
    }

    #[test]
    fn mute_releases_the_capture_by_default_and_unmute_captures_again() {
        let mut m = state(true);
        assert!(m.captures_on_connect());
        assert_eq!(m.set_enabled(false, true, true), MicAction::Release);
        assert!(!m.enabled());
        assert!(!m.captures_on_connect(), "a connect while muted asks for no microphone");
        assert_eq!(m.set_enabled(false, true, false), MicAction::None, "muted twice");
        assert_eq!(m.set_enabled(true, true, false), MicAction::Capture);
        assert_eq!(m.set_enabled(true, true, true), MicAction::None);
        // A failed unmute stays muted.
        m.set_enabled(false, true, true);
        m.set_enabled(true, true, false);
        m.capture_failed();
        assert!(!m.enabled());
    }

    #[test]
    fn without_releasing_a_mute_disables_the_track_and_holds_outside_a_call() {
        let mut m = state(false);
        assert_eq!(m.set_enabled(false, true, true), MicAction::Disable);
        assert!(m.captures_on_connect(), "the track is captured, disabled");
        assert_eq!(m.set_enabled(true, true, true), MicAction::Enable);
        assert_eq!(m.set_enabled(false, false, false), MicAction::None, "no call: held for the next");
        assert!(!m.enabled());
    }

    #[test]
    fn choosing_a_device_swaps_only_a_live_capture_and_default_means_no_constraint() {
        let mut m = state(true);
        assert_eq!(m.constraint(), None);
        assert!(m.choose("mic-2", true, true));
        assert_eq!(m.constraint(), Some("mic-2"));
        assert!(!m.choose("mic-2", true, true), "the same device");
        assert!(!m.choose("mic-3", true, false), "muted: applies at unmute");
        assert!(!m.choose(DEFAULT_DEVICE, false, false), "no call: applies at connect");
        assert_eq!(m.device_id(), "default");
        m.lost();
        assert!(!m.enabled());
    }
}
