import { useEffect, useState } from "react";
import { VoiceLinkError, type VoiceLinkDevice, type VoiceLinkSnapshot } from "voicelink";
import { useVoiceLink } from "voicelink/react";

const LIVE: VoiceLinkSnapshot["status"][] = ["connecting", "connected", "interrupted", "reconnecting"];

function describe(e: unknown): string {
  if (e instanceof VoiceLinkError) return `${e.code}: ${e.message}`;
  return e instanceof Error ? e.message : String(e);
}

export function App({ whip, autoConnect }: { whip: string; autoConnect: boolean }) {
  // Options are read once; a different URL would need <App key={whip} …/>.
  const { snapshot: s, link, connect, disconnect, reconnect, resumeAudio, setMicEnabled, listMicrophones, setMicrophone } =
    useVoiceLink({ url: whip }, { autoConnect });
  const [callError, setCallError] = useState<string | null>(null);
  const run = (action: () => Promise<unknown>) => () => {
    setCallError(null);
    action().catch((e: unknown) => setCallError(describe(e)));
  };
  const live = LIVE.includes(s.status);
  const connected = s.status === "connected";

  // Device labels are empty until the page may use the microphone: list them once connected.
  const [mics, setMics] = useState<readonly VoiceLinkDevice[]>([]);
  useEffect(() => {
    if (!connected) return;
    let current = true;
    listMicrophones().then(
      (list) => current && setMics(list),
      (e: unknown) => current && setCallError(describe(e)),
    );
    return () => {
      current = false;
    };
  }, [connected, listMicrophones]);
  const error = s.error ? `${s.error.code}: ${s.error.message}` : callError;

  return (
    <main>
      <h1>Voice assistant</h1>
      <p>
        Status: <span id="status" data-status={s.status}>{s.status}</span>{" "}
        <span id="quality" className="badge" data-grade={s.quality.grade} title="connection quality">
          {s.quality.grade}
        </span>
      </p>
      <div className="row">
        <button id="connect" disabled={!link || live} onClick={run(connect)}>Connect</button>
        {s.canReconnect && <button id="reconnect" onClick={run(reconnect)}>Reconnect</button>}
        <button id="disconnect" disabled={!live} onClick={run(disconnect)}>Disconnect</button>
        {s.audioBlocked && <button id="resume-audio" onClick={run(resumeAudio)}>Enable audio</button>}
      </div>
      <div className="row">
        {/* A mute releases the microphone (its indicator goes off); the call goes on. */}
        <button id="mute" disabled={!link} onClick={run(() => setMicEnabled(!s.micEnabled))}>
          {s.micEnabled ? "Mute" : "Unmute"}
        </button>
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
      </div>
      <p>
        <label htmlFor="mic-level">Microphone{s.micEnabled ? "" : " (muted)"}</label>{" "}
        <meter id="mic-level" min={0} max={0.3} value={s.micLevel} />
      </p>
      {!s.networkOnline && <p id="offline" role="status">You are offline: check the network connection.</p>}
      {s.graceRemainingMs != null && (
        <p id="grace">Connection lost: the session is kept {Math.ceil(s.graceRemainingMs / 1000)} s more.</p>
      )}
      <p>
        Session: <code id="session">{s.sessionId ?? ""}</code>
      </p>
      {error && <p id="error" className="error" role="alert">{error}</p>}
    </main>
  );
}
