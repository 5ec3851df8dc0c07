// Shared by the framework adapters (voicelink/react, voicelink/vue); not an entry of its own.

// Every link an adapter ended, still closing. A new link's connect() waits for them, so a
// remount (React StrictMode, a `key` change, a v-if) never has two microphones or peer
// connections at once. disconnect() stops the microphone synchronously and always settles:
// the teardown's WHIP DELETE is given up after 3 s by the library itself.
let retiring = Promise.resolve();

/** Ends `link` (microphone stopped before this returns) and disposes of it. */
export function retire(link) {
  const closing = link.disconnect();
  link.dispose();
  retiring = Promise.all([retiring, closing]);
}

/** Resolves once every retired link has finished closing. */
export const retired = () => retiring;

export const noop = () => {};
