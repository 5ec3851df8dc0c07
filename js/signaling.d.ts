// Types of a custom `signaling` object (hand-written: they describe JS functions the app
// supplies; src/platform/signaling/custom.rs reads them).

/** What a custom `signaling` object's functions receive. */
export interface VoiceLinkSignalingRequest {
  /** The `url` option, resolved against the page. */
  url: string;
  /** `offer`: the SDP offer; `restart`: an ICE-restart offer (new ICE credentials); `hangup`: `""`. */
  sdp: string;
  /** The `session` string the last `offer` resolved with, or `null`. */
  session: string | null;
  /** The resolved `token` option, or `null`. */
  token: string | null;
  /** Aborted when the link gives up on the request (disconnect, timeout); absent for `hangup`. */
  signal?: AbortSignal;
}

/**
 * Signaling for a backend that speaks neither WHIP, OpenAI Realtime nor Pipecat (e.g. a
 * LiveTalking-style `/offer`). Whatever a function throws or rejects with becomes a
 * `signaling-*` error with its message (an error with a numeric `status` → `signaling-http`,
 * 401/403 → `unauthorized`); a result without an `sdp` string → `signaling-answer`.
 */
export interface VoiceLinkSignaling {
  /** Sends the offer, resolves to the SDP answer and an optional session id (→ `sessionId`,
   * and `request.session` of later calls). */
  offer(request: VoiceLinkSignalingRequest): Promise<{ sdp: string; session?: string }>;
  /** Optional: an ICE restart of the same session (the reconnect button); resolves to the full
   * SDP answer. Without it, reconnect is a fresh `offer`. */
  restart?(request: VoiceLinkSignalingRequest): Promise<{ sdp: string }>;
  /** Optional: tells the server the call is over (bounded: teardown waits at most 3 s). */
  hangup?(request: VoiceLinkSignalingRequest): Promise<unknown>;
}
