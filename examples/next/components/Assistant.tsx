"use client";
// A voice assistant on voicelink/react, imported normally: no dynamic import, no `ssr: false`,
// no Next.js configuration. On the server the hook renders the idle snapshot; in the browser it
// creates the link in an effect.
import { useEffect, useState } from "react";
import type { VoiceLinkDevice } from "voicelink";
import { useVoiceLink } from "voicelink/react";

export function Assistant({ url }: { url: string }) {
  // Options are read once; a different URL would need <Assistant key={url} …/>.
  const { snapshot: s, link, connect, disconnect, reconnect, setMicEnabled, listMicrophones, setMicrophone } = useVoiceLink({ url });
  const [callError, setCallError] = useState<string | null>(null);
  const run = (action: () => Promise<unknown>) => () => {
    setCallError(null);
    action().catch((e: unknown) => setCallError(e instanceof Error ? e.message : String(e)));
  };
  const live = s.status === "connecting" || s.status === "connected" || s.status === "interrupted" || s.status === "reconnecting";
  const connected = s.status === "connected";

  // Device labels are empty until the page may use the microphone: list them once connected.
  const [mics, setMics] = useState<readonly VoiceLinkDevice[]>([]);
  useEffect(() => {
    if (!connected) return;
    let current = true;
    listMicrophones().then(
      (list) => current && setMics(list),
      (e: unknown) => current && setCallError(e instanceof Error ? e.message : String(e)),
    );
    return () => {
      current = false;
    };
  }, [connected, listMicrophones]);
  return (
    <main>
      <h1>Voice assistant</h1>
      <p>
        Status: <span id="status">{s.status}</span> · quality <span id="quality">{s.quality.grade}</span>
      </p>
      <button id="connect" disabled={!link || live} onClick={run(connect)}>Connect</button>
      {s.canReconnect && <button id="reconnect" onClick={run(reconnect)}>Reconnect</button>}
      <button id="disconnect" disabled={!live} onClick={run(disconnect)}>Disconnect</button>
      <p>
        <button id="mute" disabled={!link} onClick={run(() => setMicEnabled(!s.micEnabled))}>
          {s.micEnabled ? "Mute" : "Unmute"}
        </button>{" "}
        <select
          id="microphone"
          aria-label="Microphone"
          disabled={mics.length === 0}
          value={s.micDeviceId}
          onChange={(e) => run(() => setMicrophone(e.target.value))()}
        >
          <option value="default">System default</option>
          {mics
            .filter((d) => d.deviceId !== "default")
            .map((d, i) => (
              <option key={d.deviceId} value={d.deviceId}>
                {d.label || `Microphone ${i + 1}`}
              </option>
            ))}
        </select>
      </p>
      {!s.networkOnline && <p id="offline" role="status">You are offline: check the network connection.</p>}
      <p>
        Microphone <meter id="mic-level" min={0} max={0.3} value={s.micLevel} /> · assistant{" "}
        <meter id="remote-level" min={0} max={0.3} value={s.remoteLevel} />
      </p>
      <p>Session: <code id="session">{s.sessionId ?? ""}</code></p>
      {(s.error || callError) && <p id="error" role="alert">{s.error ? `${s.error.code}: ${s.error.message}` : callError}</p>}
    </main>
  );
}
