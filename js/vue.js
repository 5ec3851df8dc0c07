// voicelink/vue: useVoiceLink(options, { autoConnect }), a composable for setup() or any effect
// scope. The link is created at once; `snapshot` is a shallowRef kept current by link.subscribe;
// when the scope ends (the component unmounts) the link is disconnected and disposed of.
// `options` are read once. An automatic connect waits for every link an adapter ended to finish
// closing, so a remount never has two microphones.
import { markRaw, onScopeDispose, shallowRef } from "vue";
import { VoiceLink } from "./index.js";
import { noop, retire, retired } from "./shared.js";

export function useVoiceLink(options, { autoConnect = false } = {}) {
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
    disconnect: () => link.disconnect(),
    reconnect: () => link.reconnect(),
    resumeAudio: () => link.resumeAudio(),
    send: (message) => link.send(message),
  };
}
