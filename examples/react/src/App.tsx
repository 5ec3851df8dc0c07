import { useState } from "react";
import { VoiceLinkError, type VoiceLinkSnapshot } from "voicelink";
import { useVoiceLink } from "voicelink/react";

const LIVE: VoiceLinkSnapshot["status"][] = ["connecting", "connected", "interrupted", "reconnecting"];

function describe(e: unknown): string {
  if (e instanceof VoiceLinkError) return `${e.code}: ${e.message}`;
  return e instanceof Error ? e.message : String(e);
}

export function App({ whip, autoConnect }: { whip: string; autoConnect: boolean }) {
  // Options are read once; a different URL would need <App key={whip} …/>.
  const { snapshot: s, link, connect, disconnect, reconnect, resumeAudio } = useVoiceLink({ url: whip }, { autoConnect });
  const [callError, setCallError] = useState<string | null>(null);
  const run = (action: () => Promise<unknown>) => () => {
    setCallError(null);
    action().catch((e: unknown) => setCallError(describe(e)));
  };
  const live = LIVE.includes(s.status);
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
      <p>
        <label htmlFor="mic-level">Microphone</label>{" "}
        <meter id="mic-level" min={0} max={0.3} value={s.micLevel} />
      </p>
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
