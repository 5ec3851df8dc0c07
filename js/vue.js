// voicelink/vue: useVoiceLink(options, { autoConnect }), a composable for setup() or any effect
// scope. In a browser the link is created at once; `snapshot` is a shallowRef kept current by
// link.subscribe; when the scope ends (the component unmounts) the link is disconnected and
// disposed of. `options` are read once. An automatic connect waits for every link an adapter
// ended to finish closing, so a remount never has two microphones.
//
// Server rendering (Nuxt, vue/server-renderer): no link is made on a server; `snapshot` holds
// IDLE_SNAPSHOT (equal to a never-connected link's, so hydration matches), `link` is null, the
// actions reject (`send` throws) with a VoiceLinkError "unsupported".
import { markRaw, onScopeDispose, shallowRef } from "vue";
import { IDLE_SNAPSHOT, VoiceLink } from "./index.js";
import { inBrowser } from "./idle.js";
import { noop, retire, retired } from "./shared.js";

export function useVoiceLink(options, config = {}) {
  return inBrowser ? browserLink(options, config) : serverLink();
}

/** What the composable gives during server rendering: the idle snapshot, no link. */
function serverLink() {
  const fail = () => {
    try {
      new VoiceLink({ url: "http://localhost/" }); // throws the server's "unsupported" error
    } catch (e) {
      return e;
    }
  };
  return {
    snapshot: shallowRef(IDLE_SNAPSHOT),
    link: null,
    connect: async () => Promise.reject(fail()),
    prepare: async () => {},
    disconnect: async () => {},
    reconnect: async () => Promise.reject(fail()),
    resumeAudio: async () => false,
    send: () => {
      throw fail();
    },
    setMicEnabled: async () => Promise.reject(fail()),
    listMicrophones: async () => Promise.reject(fail()),
    setMicrophone: async () => Promise.reject(fail()),
    listSpeakers: async () => Promise.reject(fail()),
    setSpeaker: async () => Promise.reject(fail()),
  };
}

function browserLink(options, { autoConnect = false }) {
  const link = new VoiceLink(options);
  const snapshot = shallowRef(link.getSnapshot());
  const off = link.subscribe(() => (snapshot.value = link.getSnapshot()));
  let alive = true;
  onScopeDispose(() => {
    alive = false;
    off();
    retire(link);
  });
  const connect = async () => {
    await retired();
    return link.connect();
  };
  if (autoConnect) retired().then(() => alive && link.connect().catch(noop)); // the error is in the snapshot
  return {
    snapshot,
    link: markRaw(link),
    connect,
    prepare: () => link.prepare(),
    disconnect: () => link.disconnect(),
    reconnect: () => link.reconnect(),
    resumeAudio: () => link.resumeAudio(),
    send: (message) => link.send(message),
    setMicEnabled: (enabled) => link.setMicEnabled(enabled),
    listMicrophones: () => link.listMicrophones(),
    setMicrophone: (deviceId) => link.setMicrophone(deviceId),
    listSpeakers: () => link.listSpeakers(),
    setSpeaker: (deviceId) => link.setSpeaker(deviceId),
  };
}
