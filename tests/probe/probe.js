// The browser-side probe: what the browser has, recorded independently of voicelink.
// (.js, not .mjs: the wasm-bindgen test server serves .mjs with a MIME type browsers refuse for modules.)
//
// Installed before the library runs (wasm-bindgen tests: this module is imported by the test
// binary's glue, so it is evaluated before the glue's body; Playwright e2e tests and benches:
// scripts/probe.mjs hands it to `page.addInitScript`). It never asks voicelink anything: it wraps
// the browser's own entry points and records
//   - every capture track, however it came to exist: `MediaDevices.prototype.getUserMedia`,
//     `MediaStreamTrack.prototype.clone` and `MediaStream.prototype.clone` of capture tracks,
//     and capture tracks put into `new MediaStream(tracks)`;
//   - every `RTCPeerConnection` and `AudioContext` constructed (a Proxy construct trap, so
//     `instanceof` and web-sys `dyn_into` still work), and every media element that is created,
//     given a `srcObject` or played;
//   - what reaches each `AudioContext`'s destination: every `connect()` to an
//     `AudioDestinationNode` is routed through a per-context tap (a GainNode of gain 1 → the
//     destination, and an AudioWorklet reading the same signal). Per 128-frame render quantum the
//     worklet posts `[currentFrame, maxStep, peak, lastAbs]`: the largest sample-to-sample step
//     (across the quantum boundary too), the largest |sample|, and |last sample| — the step a
//     speaker sees when the context stops after that quantum.
// The file is an ES module; its `export` keywords are removed to make the init script.
"use strict";

const TAP_PROCESSOR = `
class VoicelinkProbeTap extends AudioWorkletProcessor {
  constructor() { super(); this.prev = []; }
  process(inputs) {
    const chans = inputs[0] || [];
    let maxStep = 0, peak = 0, lastAbs = 0;
    for (let c = 0; c < chans.length; c++) {
      const x = chans[c];
      let p = this.prev[c] === undefined ? x[0] : this.prev[c];
      for (let i = 0; i < x.length; i++) {
        const v = x[i];
        const step = Math.abs(v - p);
        if (step > maxStep) maxStep = step;
        const a = Math.abs(v);
        if (a > peak) peak = a;
        p = v;
      }
      this.prev[c] = p;
      if (Math.abs(p) > lastAbs) lastAbs = Math.abs(p);
    }
    if (chans.length === 0) {
      // Nothing connected: the destination hears silence; the step into it counts.
      for (const p of this.prev) if (Math.abs(p) > maxStep) maxStep = Math.abs(p);
      this.prev = [];
    }
    this.port.postMessage([currentFrame, maxStep, peak, lastAbs]);
    return true;
  }
}
registerProcessor("voicelink-probe-tap", VoicelinkProbeTap);
`;

/** Most render quanta kept per context (~60 s at 44.1 kHz). */
const MAX_QUANTA = 20_000;

export function installProbe() {
  if (globalThis.__voicelinkProbe) return globalThis.__voicelinkProbe;
  const P = {
    captureTracks: [], // { track, origin }
    peerConnections: [],
    audioContexts: [], // { ctx, tap, closedAt }
    mediaElements: [],
    streams: 0,
    internal: 0, // > 0 while the probe (or a test helper) makes its own objects: not recorded
  };
  globalThis.__voicelinkProbe = P;
  const capture = new Set();
  const contexts = new Map(); // AudioContext → entry

  const addCapture = (track, origin) => {
    if (track && track.kind && !capture.has(track)) {
      capture.add(track);
      P.captureTracks.push({ track, origin });
    }
  };

  // --- capture tracks -----------------------------------------------------------------------
  if (globalThis.MediaDevices && MediaDevices.prototype.getUserMedia) {
    const gum = MediaDevices.prototype.getUserMedia;
    MediaDevices.prototype.getUserMedia = async function (...args) {
      const stream = await gum.apply(this, args);
      if (!P.internal) for (const t of stream.getTracks()) addCapture(t, "getUserMedia");
      return stream;
    };
  }
  if (globalThis.MediaStreamTrack) {
    const clone = MediaStreamTrack.prototype.clone;
    MediaStreamTrack.prototype.clone = function (...args) {
      const copy = clone.apply(this, args);
      if (capture.has(this)) addCapture(copy, "MediaStreamTrack.clone");
      return copy;
    };
  }
  if (globalThis.MediaStream) {
    const clone = MediaStream.prototype.clone;
    MediaStream.prototype.clone = function (...args) {
      const originals = this.getTracks();
      const copy = clone.apply(this, args);
      const copies = copy.getTracks();
      // Track set order is kept by clone() (Media Capture and Streams §4.3.3.1); match by id
      // of kind-and-position to be safe.
      originals.forEach((t, i) => {
        if (capture.has(t) && copies[i]) addCapture(copies[i], "MediaStream.clone");
      });
      return copy;
    };
    globalThis.MediaStream = new Proxy(MediaStream, {
      construct(target, args, newTarget) {
        const stream = Reflect.construct(target, args, newTarget);
        P.streams++;
        // Same track objects as given; any capture track among them is already recorded, but a
        // capture track from a stream the probe has not seen is recorded here.
        for (const t of stream.getTracks()) if (capture.has(t)) addCapture(t, "new MediaStream");
        return stream;
      },
    });
  }

  // --- peer connections ---------------------------------------------------------------------
  for (const name of ["RTCPeerConnection", "webkitRTCPeerConnection"]) {
    const Pc = globalThis[name];
    if (!Pc) continue;
    globalThis[name] = new Proxy(Pc, {
      construct(target, args, newTarget) {
        const pc = Reflect.construct(target, args, newTarget);
        if (!P.internal) P.peerConnections.push(pc);
        return pc;
      },
    });
  }

  // --- media elements -----------------------------------------------------------------------
  const addElement = (el) => {
    if (!P.internal && !P.mediaElements.includes(el)) P.mediaElements.push(el);
  };
  if (globalThis.HTMLMediaElement) {
    const proto = HTMLMediaElement.prototype;
    const play = proto.play;
    proto.play = function (...args) {
      addElement(this);
      return play.apply(this, args);
    };
    const src = Object.getOwnPropertyDescriptor(proto, "srcObject");
    if (src && src.set) {
      Object.defineProperty(proto, "srcObject", {
        ...src,
        set(v) {
          addElement(this);
          return src.set.call(this, v);
        },
      });
    }
  }
  if (globalThis.Audio) {
    globalThis.Audio = new Proxy(Audio, {
      construct(target, args, newTarget) {
        const el = Reflect.construct(target, args, newTarget);
        addElement(el);
        return el;
      },
    });
  }
  if (globalThis.Document) {
    const create = Document.prototype.createElement;
    Document.prototype.createElement = function (tag, ...rest) {
      const el = create.call(this, tag, ...rest);
      if (/^(audio|video)$/i.test(String(tag))) addElement(el);
      return el;
    };
  }

  // --- audio contexts and what reaches their destination -------------------------------------
  let tapUrl = null;
  const entryFor = (ctx) => {
    let e = contexts.get(ctx);
    if (!e) {
      e = { ctx, quanta: [], dropped: 0, closedAt: null, closeCalledAtFrame: null, input: null, ready: null, maxPeak: 0 };
      contexts.set(ctx, e);
      P.audioContexts.push(e);
    }
    return e;
  };
  for (const name of ["AudioContext", "webkitAudioContext"]) {
    const Ac = globalThis[name];
    if (!Ac) continue;
    globalThis[name] = new Proxy(Ac, {
      construct(target, args, newTarget) {
        const ctx = Reflect.construct(target, args, newTarget);
        if (!P.internal) entryFor(ctx);
        return ctx;
      },
    });
  }
  const connect = globalThis.AudioNode && AudioNode.prototype.connect;
  const disconnect = globalThis.AudioNode && AudioNode.prototype.disconnect;
  const tapInput = (ctx) => {
    const e = contexts.get(ctx);
    if (!e) return null; // the probe's own or an unrecorded context: left alone
    if (e.input) return e.input;
    P.internal++;
    try {
      e.input = ctx.createGain();
    } finally {
      P.internal--;
    }
    connect.call(e.input, ctx.destination);
    if (ctx.audioWorklet && globalThis.AudioWorkletNode) {
      tapUrl = tapUrl || URL.createObjectURL(new Blob([TAP_PROCESSOR], { type: "text/javascript" }));
      e.ready = ctx.audioWorklet
        .addModule(tapUrl)
        .then(() => {
          if (ctx.state === "closed") return false;
          const node = new AudioWorkletNode(ctx, "voicelink-probe-tap", { numberOfOutputs: 1 });
          node.port.onmessage = ({ data }) => {
            if (e.quanta.length >= MAX_QUANTA) {
              e.quanta.shift();
              e.dropped++;
            }
            e.quanta.push(data);
            if (data[2] > e.maxPeak) e.maxPeak = data[2];
          };
          const mute = ctx.createGain();
          mute.gain.value = 0;
          connect.call(e.input, node);
          connect.call(node, mute);
          connect.call(mute, ctx.destination);
          return true;
        })
        .catch((err) => {
          e.tapError = String(err);
          return false;
        });
    }
    return e.input;
  };
  if (connect) {
    AudioNode.prototype.connect = function (dest, ...rest) {
      if (globalThis.AudioDestinationNode && dest instanceof AudioDestinationNode) {
        const input = tapInput(dest.context);
        if (input) {
          connect.call(this, input, ...rest.slice(0, 1));
          return dest;
        }
      }
      return connect.call(this, dest, ...rest);
    };
    AudioNode.prototype.disconnect = function (...args) {
      const dest = args[0];
      if (globalThis.AudioDestinationNode && dest instanceof AudioDestinationNode) {
        const e = contexts.get(dest.context);
        if (e && e.input) args[0] = e.input;
      }
      return disconnect.apply(this, args);
    };
  }
  if (globalThis.AudioContext) {
    const close = AudioContext.prototype.close;
    AudioContext.prototype.close = function (...args) {
      const e = contexts.get(this);
      if (e && e.closeCalledAtFrame === null) e.closeCalledAtFrame = Math.round(this.currentTime * this.sampleRate);
      const p = close.apply(this, args);
      if (e) {
        Promise.resolve(p).then(
          () => (e.closedAt = performance.now()),
          () => {},
        );
      }
      return p;
    };
  }

  // --- queries ------------------------------------------------------------------------------
  P.untracked = (f) => {
    P.internal++;
    try {
      return f();
    } finally {
      P.internal--;
    }
  };
  P.liveCaptureTracks = () => P.captureTracks.filter(({ track }) => track.readyState === "live").length;
  P.openPeerConnections = () =>
    P.peerConnections.filter((pc) => pc.connectionState !== "closed" || pc.signalingState !== "closed").length;
  P.liveAudioContexts = () => P.audioContexts.filter(({ ctx }) => ctx.state !== "closed").length;
  /** Media elements that are playing something or still hold a stream. */
  P.activeMediaElements = () =>
    P.mediaElements.filter((el) => (!el.paused && !el.ended) || el.srcObject != null).length;
  P.summary = () => ({
    captureTracks: P.captureTracks.length,
    liveCaptureTracks: P.liveCaptureTracks(),
    captureOrigins: P.captureTracks.reduce((n, c) => ({ ...n, [c.origin]: (n[c.origin] || 0) + 1 }), {}),
    peerConnections: P.peerConnections.length,
    openPeerConnections: P.openPeerConnections(),
    audioContexts: P.audioContexts.length,
    liveAudioContexts: P.liveAudioContexts(),
    mediaElements: P.mediaElements.length,
    activeMediaElements: P.activeMediaElements(),
  });
  /** What reached the destination of recorded context `index` (-1: the last one). */
  P.destination = (index = -1) => {
    const e = P.audioContexts.at(index);
    if (!e) return null;
    return {
      sampleRate: e.ctx.sampleRate,
      state: e.ctx.state,
      closeCalledAtFrame: e.closeCalledAtFrame,
      closed: e.closedAt !== null,
      maxPeak: e.maxPeak,
      tapError: e.tapError || null,
      quanta: e.quanta.slice(),
    };
  };
  /** Waits until the tap of context `index` is recording (or failed); `true` when recording. */
  P.tapReady = async (index = -1) => {
    const e = P.audioContexts.at(index);
    return !!(e && e.ready && (await e.ready));
  };
  return P;
}

installProbe();

// Accessors for wasm-bindgen tests (tests/common/mod.rs).
/** Ends every live capture track from outside, as an unplugged or revoked device does: `ended`
 * is dispatched, then the track stopped (a track stopped by script fires no `ended` itself).
 * Returns whether the dispatched event reached a listener (Firefox may deliver none to a
 * `getUserMedia` track; then the simulation cannot work there). */
export function probe_end_capture() {
  let delivered = false;
  const seen = () => { delivered = true; };
  for (const { track } of installProbe().captureTracks) {
    if (track.readyState !== "live") continue;
    track.addEventListener("ended", seen);
    track.dispatchEvent(new Event("ended"));
    track.removeEventListener("ended", seen);
    track.stop();
  }
  return delivered;
}
export function probe_live_capture_tracks() { return installProbe().liveCaptureTracks(); }
export function probe_capture_tracks() { return installProbe().captureTracks.length; }
export function probe_open_peer_connections() { return installProbe().openPeerConnections(); }
export function probe_peer_connections() { return installProbe().peerConnections.length; }
export function probe_live_audio_contexts() { return installProbe().liveAudioContexts(); }
export function probe_audio_contexts() { return installProbe().audioContexts.length; }
export function probe_active_media_elements() { return installProbe().activeMediaElements(); }
export function probe_summary() { return JSON.stringify(installProbe().summary()); }
export function probe_destination(index) { return installProbe().destination(index); }
export function probe_tap_ready(index) { return installProbe().tapReady(index); }
export function probe_last_peer_connection() { return installProbe().peerConnections.at(-1) || null; }
export function probe_untracked(f) { return installProbe().untracked(f); }
/** Closes every recorded context still open (for a test that broke `close()` on purpose). */
export function probe_close_contexts() {
  for (const { ctx } of installProbe().audioContexts) if (ctx.state !== "closed") ctx.close();
}
