// voicelink/react: useVoiceLink(options, { autoConnect }), one VoiceLink per mounted component.
//
// The link is created in an effect and disposed of in its cleanup, so React StrictMode's
// mount → unmount → mount ends the first link before the second exists. An automatic connect
// runs a microtask after the effect (the first StrictMode mount is gone by then, so it never
// calls getUserMedia) and after every link an adapter ended has finished closing. `options`
// and `autoConnect` are read once, when the link is created: remount with a `key` to change them.
// connect/reconnect/resumeAudio and the microphone and speaker methods reject, send throws,
// before the link exists (the first render); after unmount the disposed link answers with
// `disposed`.
//
// Server rendering (Next.js): effects do not run on a server, so no link is made there; the
// hook renders IDLE_SNAPSHOT (also useSyncExternalStore's getServerSnapshot), and the client's
// first render — before its effect made the link — renders the same object: no hydration
// mismatch.
import { useEffect, useMemo, useRef, useState, useSyncExternalStore } from "react";
import { IDLE_SNAPSHOT, VoiceLink } from "./index.js";
import { noop, retire, retired } from "./shared.js";

export function useVoiceLink(options, { autoConnect = false } = {}) {
  const [link, setLink] = useState(null);
  const current = useRef(null);
  const init = useRef([options, autoConnect]).current;

  useEffect(() => {
    const l = new VoiceLink(init[0]);
    let alive = true;
    current.current = l;
    setLink(l);
    if (init[1]) retired().then(() => alive && l.connect().catch(noop)); // the error is in the snapshot
    return () => {
      alive = false;
      retire(l);
    };
  }, [init]);

  // Stable per link: a new subscribe function would make React resubscribe on every render.
  const [subscribe, getSnapshot] = useMemo(
    () => (link ? [(f) => link.subscribe(f), () => link.getSnapshot()] : [subscribeNone, idle]),
    [link],
  );
  const snapshot = useSyncExternalStore(subscribe, getSnapshot, idle);

  const [actions] = useState(() => {
    const get = () => {
      if (current.current) return current.current;
      throw new Error(
        "useVoiceLink: no VoiceLink yet: it is created in an effect after the first render. " +
          "Call this from an event handler, or pass { autoConnect: true }.",
      );
    };
    return {
      connect: async () => {
        const l = get();
        await retired();
        return l.connect();
      },
      prepare: async () => current.current?.prepare(),
      disconnect: async () => current.current?.disconnect(),
      reconnect: async () => get().reconnect(),
      resumeAudio: async () => get().resumeAudio(),
      send: (message) => get().send(message),
      setMicEnabled: async (enabled) => get().setMicEnabled(enabled),
      listMicrophones: async () => get().listMicrophones(),
      setMicrophone: async (deviceId) => get().setMicrophone(deviceId),
      listSpeakers: async () => get().listSpeakers(),
      setSpeaker: async (deviceId) => get().setSpeaker(deviceId),
    };
  });

  return { snapshot, link, ...actions };
}

const subscribeNone = () => noop;
const idle = () => IDLE_SNAPSHOT;
