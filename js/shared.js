// Shared by the framework adapters (voicelink/react, voicelink/vue); not an entry of its own.

const unknownQuality = Object.freeze({ grade: "unknown", rttMs: null, jitterMs: null, packetLoss: null, limitedBy: Object.freeze([]) });

/** The snapshot of a link that does not exist yet: equal to a new link's getSnapshot(), one object forever. */
export const IDLE = Object.freeze({
  status: "idle", phase: null, sessionId: null, sessionUrl: null, error: null, endReason: null,
  connectMs: null, connectTimings: null, quality: unknownQuality, audioBlocked: false,
  teardownErrors: Object.freeze([]), canReconnect: false, graceRemainingMs: null, reconnectAttempt: 0,
  nextRetryInMs: null, sessionReplaced: false, queuedMessages: 0, droppedMessages: 0,
  micLevel: 0, remoteLevel: 0, isSpeaking: false, control: null,
});

// Every link an adapter ended, still closing. A new link's connect() waits for them, so a
// remount (React StrictMode, a `key` change, a v-if) never has two microphones or peer
// connections at once. The microphone is stopped synchronously by disconnect() anyway; the wait
// covers the fade and the closes. Bounded, because the WHIP DELETE at the end of a teardown has
// no timeout of its own and may hang on a dead network.
let retiring = Promise.resolve();

/** Ends `link` (microphone stopped before this returns) and disposes of it. */
export function retire(link) {
  const closing = link.disconnect();
  link.dispose();
  retiring = Promise.all([retiring, Promise.race([closing, new Promise((r) => setTimeout(r, 2000))])]);
}

/** Resolves once every retired link has finished closing (or 2 s passed). */
export const retired = () => retiring;

export const noop = () => {};
