// The snapshot of a link that does not exist yet — on a server, and in the first client render
// before the adapters create their link — equal key by key to a never-connected link's own
// getSnapshot() (tests/node/ssr.test.mjs compares them). A plain frozen object: it needs no
// wasm, so server rendering and hydration show the same thing.
const freeze = Object.freeze;

export const IDLE_SNAPSHOT = freeze({
  status: "idle",
  phase: null,
  sessionId: null,
  sessionUrl: null,
  error: null,
  endReason: null,
  connectMs: null,
  connectTimings: null,
  quality: freeze({ grade: "unknown", rttMs: null, jitterMs: null, packetLoss: null, limitedBy: freeze([]) }),
  audioBlocked: false,
  teardownErrors: freeze([]),
  canReconnect: false,
  graceRemainingMs: null,
  reconnectAttempt: 0,
  nextRetryInMs: null,
  sessionReplaced: false,
  queuedMessages: 0,
  droppedMessages: 0,
  micLevel: 0,
  remoteLevel: 0,
  isSpeaking: false,
  micEnabled: true,
  micDeviceId: "default",
  networkOnline: true,
  control: null,
});

/** `true` in a browser page (a window with a document), `false` on a server (Node, Bun, Deno,
 * React Server Components, Next.js and Nuxt server rendering). */
export const inBrowser = typeof window !== "undefined" && typeof document !== "undefined";
