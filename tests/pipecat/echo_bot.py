#!/usr/bin/env python3
"""A real Pipecat SmallWebRTC server for voicelink's end-to-end tests.

    target/pipecat-venv/bin/python tests/pipecat/echo_bot.py --port 7880

Binds 127.0.0.1 only. Pipecat's own classes do the WebRTC work, exactly as
`pipecat.runner.run` wires them for `POST /api/offer`:
SmallWebRTCRequestHandler -> SmallWebRTCConnection -> SmallWebRTCTransport.

Routes
  POST  /api/offer   {sdp, type, pc_id?, restart_pc?, request_data?} -> {sdp, type, pc_id}
                     (non-trickle: the answer carries the server's candidates)
  PATCH /api/offer   {pc_id, candidates: [{candidate, sdp_mid, sdp_mline_index}]} (trickle ICE)
  GET   /health      200 {"ok": true}
  GET   /_state      what the tests assert on (see state_json below)

Per server session (one SmallWebRTCConnection) one pipeline:
    transport.input() -> Echo -> transport.output()
Echo turns each microphone frame (InputAudioRawFrame) into an
OutputAudioRawFrame of the same bytes, so the client hears itself, and each
app message (InputTransportMessageFrame) into an
OutputTransportMessageUrgentFrame carrying the same object, so the message
comes back on the data channel unchanged. No VAD, STT, LLM or TTS; RTVI off.

App messages, as Pipecat 1.14 treats data-channel text:
  * a JSON object with a "type" -> echoed back unchanged (json.loads/json.dumps:
    same keys and values, whitespace may differ), counted in /_state;
  * {"type": "signalling", "message": ...} -> Pipecat's own signalling, not echoed;
  * a string starting with "ping" -> Pipecat's keep-alive, not echoed. Once a
    client has sent one, Pipecat considers it connected only while pings keep
    coming (< 3 s apart); without them it stops sending audio;
  * anything else (not JSON, no "type") -> logged as an error by Pipecat, dropped.
"""

import argparse
import asyncio
import sys
import time
from collections import deque
from contextlib import asynccontextmanager
from typing import Any

# --- Loopback-only ICE -------------------------------------------------------
# aioice (aiortc's ICE) gathers host candidates from ifaddr and skips 127.0.0.1
# (and ::1), so inside a loopback-only network namespace it would offer no
# candidate at all, and outside it would offer the machine's real interfaces.
# The test server offers exactly one host address, 127.0.0.1: no other address
# or interface. aioice 0.13 looks the function up as a module global in
# Connection.gather_candidates, so replacing the module attribute is enough;
# it must happen before the first peer connection gathers. No STUN/TURN server
# is configured (SmallWebRTCConnection passes iceServers=[], so aiortc does not
# fall back to its default Google STUN server).
import aioice.ice


def _loopback_host_addresses(use_ipv4: bool = True, use_ipv6: bool = True) -> list[str]:
    return ["127.0.0.1"]


aioice.ice.get_host_addresses = _loopback_host_addresses

import uvicorn  # noqa: E402
from fastapi import FastAPI  # noqa: E402
from fastapi.middleware.cors import CORSMiddleware  # noqa: E402
from loguru import logger  # noqa: E402

from pipecat.frames.frames import (  # noqa: E402
    Frame,
    InputAudioRawFrame,
    InputTransportMessageFrame,
    OutputAudioRawFrame,
    OutputTransportMessageUrgentFrame,
)
from pipecat.pipeline.pipeline import Pipeline  # noqa: E402
from pipecat.pipeline.worker import PipelineParams, PipelineWorker  # noqa: E402
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor  # noqa: E402
from pipecat.transports.base_transport import TransportParams  # noqa: E402
from pipecat.transports.smallwebrtc.connection import SmallWebRTCConnection  # noqa: E402
from pipecat.transports.smallwebrtc.request_handler import (  # noqa: E402
    SmallWebRTCPatchRequest,
    SmallWebRTCRequest,
    SmallWebRTCRequestHandler,
)
from pipecat.transports.smallwebrtc.transport import (  # noqa: E402
    SmallWebRTCClient,
    SmallWebRTCTransport,
)
from pipecat.workers.runner import WorkerRunner  # noqa: E402

SAMPLE_RATE = 48000  # in and out: Opus runs at 48 kHz, so nothing is resampled twice
APP_MESSAGES_KEPT = 100


# --- State the tests read (GET /_state) -----------------------------------------
class Session:
    """One server session: one SmallWebRTCConnection, one bot pipeline."""

    def __init__(self, sid: int, conn: SmallWebRTCConnection):
        self.id = sid
        self.conn = conn
        self.pc_ids: list[str] = []
        self.restarts = 0  # restart_pc offers this session survived
        self.renegotiations = 0  # offers with its pc_id and no restart_pc
        self.closed = False  # the connection emitted "closed" (the client's pc went away)
        self.bot_running = False
        self.bot_started_at: float | None = None
        self.bot_ended_at: float | None = None
        self.app_messages = 0
        self.audio_frames_in = 0  # microphone frames that reached Echo
        self.audio_frames_out = 0  # echoed frames pushed to the output transport
        self.worker: PipelineWorker | None = None


class State:
    def __init__(self):
        self.started_at = time.time()
        self.offers = 0
        self.sessions: list[Session] = []
        self.pcs: dict[str, tuple[Session, Any]] = {}  # pc_id -> (session, aiortc RTCPeerConnection)
        self.restarts_kept = 0
        self.app_messages_received = 0
        self.app_messages: deque = deque(maxlen=APP_MESSAGES_KEPT)
        self.released_audio_writes = 0
        self.restart_fix = True


STATE = State()


def state_json() -> dict:
    """The /_state document.

    {
      "sessions_started": int,        # SmallWebRTCConnections created = bot pipelines started
      "restarts_kept": int,           # restart_pc offers answered by an existing session
      "offers": int,                  # POST /api/offer answered
      "app_messages_received": int,   # app messages that reached a bot (all sessions)
      "app_messages": [{"session", "pc_id", "message", "at"}],   # the last 100
      "released_audio_writes": int,   # restart workaround: stuck audio writes released
      "restart_fix": bool,            # false with --stock-restart
      "live_pc_ids": [str],           # pc_ids whose server peer connection is not closed
      "connections": [{"pc_id", "session", "current", "connection_state", "ice_state", "closed"}],
      "sessions": [{"id", "pc_id", "pc_ids", "restarts", "renegotiations", "closed",
                    "bot_running", "app_messages", "audio_frames_in", "audio_frames_out"}]
    }

    A connection is one pc_id (one server RTCPeerConnection; a restart closes the
    old one and answers under a new pc_id). "closed" there is the aiortc
    connectionState being "closed"; a session's "closed" is Pipecat's
    SmallWebRTCConnection "closed" event (the session's current pc closed).
    """
    connections = []
    for pc_id, (session, pc) in STATE.pcs.items():
        state = pc.connectionState
        connections.append(
            {
                "pc_id": pc_id,
                "session": session.id,
                "current": session.conn.pc_id == pc_id,
                "connection_state": state,
                "ice_state": pc.iceConnectionState,
                "closed": state == "closed",
            }
        )
    return {
        "sessions_started": len(STATE.sessions),
        "restarts_kept": STATE.restarts_kept,
        "offers": STATE.offers,
        "app_messages_received": STATE.app_messages_received,
        "app_messages": list(STATE.app_messages),
        "released_audio_writes": STATE.released_audio_writes,
        "restart_fix": STATE.restart_fix,
        "live_pc_ids": [c["pc_id"] for c in connections if not c["closed"]],
        "connections": connections,
        "sessions": [
            {
                "id": s.id,
                "pc_id": s.conn.pc_id,
                "pc_ids": list(s.pc_ids),
                "restarts": s.restarts,
                "renegotiations": s.renegotiations,
                "closed": s.closed,
                "bot_running": s.bot_running,
                "app_messages": s.app_messages,
                "audio_frames_in": s.audio_frames_in,
                "audio_frames_out": s.audio_frames_out,
            }
            for s in STATE.sessions
        ],
    }


# --- Restart workaround ----------------------------------------------------------
# Stock Pipecat 1.14, on `restart_pc`: SmallWebRTCConnection.renegotiate() fires
# "disconnected" (SmallWebRTCClient._handle_peer_disconnected drops its
# RawAudioTrack), closes the old RTCPeerConnection and builds a new one; on the
# new "connected" the client makes a fresh RawAudioTrack. But the output
# transport's audio task is usually in the middle of a write at that moment:
# SmallWebRTCClient.write_audio_frame() awaits the future RawAudioTrack.
# add_audio_bytes() returned, which only resolves when the track's recv()
# (pulled by the RTP sender) consumes the last 10 ms chunk. The old sender is
# stopped with the old pc, so nothing ever pulls that track again: the write
# hangs until BaseOutputTransport's audio_out_write_timeout_secs (10 s), which
# it reports as a permanent error, and from then on the transport is not
# "usable" and every audio write is refused: the bot stays silent for good,
# although the new peer connection is up.
#
# The fix, in this test server only: when the client lets go of its output
# track (disconnected on a restart, or closed), first release every write still
# waiting on that track (resolve the futures queued with its chunks). The
# released audio was never going to be sent anyway; the next write goes to the
# new track. Nothing else is changed. --stock-restart turns this off.
_stock_peer_disconnected = SmallWebRTCClient._handle_peer_disconnected
_stock_client_closed = SmallWebRTCClient._handle_client_closed


def _release_pending_audio_writes(client: SmallWebRTCClient) -> int:
    track = client._audio_output_track
    released = 0
    if track is None:
        return 0
    while track._chunk_queue:
        _chunk, future = track._chunk_queue.popleft()
        if future is not None and not future.done():
            future.set_result(False)
            released += 1
    return released


async def _peer_disconnected_releasing_writes(self: SmallWebRTCClient):
    # No await between the release and the stock handler dropping the track, so
    # no new write can queue on the old track in between.
    released = _release_pending_audio_writes(self)
    STATE.released_audio_writes += released
    if released:
        logger.info(f"restart fix: released {released} audio write(s) waiting on the old track")
    await _stock_peer_disconnected(self)


async def _client_closed_releasing_writes(self: SmallWebRTCClient):
    STATE.released_audio_writes += _release_pending_audio_writes(self)
    await _stock_client_closed(self)


def install_restart_fix():
    SmallWebRTCClient._handle_peer_disconnected = _peer_disconnected_releasing_writes
    SmallWebRTCClient._handle_client_closed = _client_closed_releasing_writes


# --- The bot ----------------------------------------------------------------------
class Echo(FrameProcessor):
    """Microphone audio and app messages straight back to the client."""

    def __init__(self, session: Session):
        super().__init__(name=f"Echo#{session.id}")
        self._session = session

    async def process_frame(self, frame: Frame, direction: FrameDirection):
        await super().process_frame(frame, direction)
        if direction == FrameDirection.DOWNSTREAM and isinstance(frame, InputAudioRawFrame):
            self._session.audio_frames_in += 1
            await self.push_frame(
                OutputAudioRawFrame(
                    audio=frame.audio,
                    sample_rate=frame.sample_rate,
                    num_channels=frame.num_channels,
                )
            )
            self._session.audio_frames_out += 1
        elif direction == FrameDirection.DOWNSTREAM and isinstance(
            frame, InputTransportMessageFrame
        ):
            await self.push_frame(OutputTransportMessageUrgentFrame(message=frame.message))
        else:
            await self.push_frame(frame, direction)


async def run_bot(session: Session):
    """What a runner `bot(runner_args)` does: one pipeline for one connection."""
    conn = session.conn
    transport = SmallWebRTCTransport(
        webrtc_connection=conn,
        params=TransportParams(
            audio_in_enabled=True,
            audio_out_enabled=True,
            audio_in_sample_rate=SAMPLE_RATE,
            audio_out_sample_rate=SAMPLE_RATE,
        ),
    )
    pipeline = Pipeline([transport.input(), Echo(session), transport.output()])
    worker = PipelineWorker(
        pipeline,
        params=PipelineParams(audio_in_sample_rate=SAMPLE_RATE, audio_out_sample_rate=SAMPLE_RATE),
        enable_rtvi=False,
        idle_timeout_secs=None,
    )
    session.worker = worker

    @transport.event_handler("on_client_connected")
    async def on_client_connected(transport, client):
        logger.info(f"session {session.id}: client connected ({client.pc_id})")

    @transport.event_handler("on_client_disconnected")
    async def on_client_disconnected(transport, client):
        logger.info(f"session {session.id}: client disconnected ({client.pc_id}); ending the bot")
        await worker.cancel()

    @transport.event_handler("on_app_message")
    async def on_app_message(transport, message, sender):
        session.app_messages += 1
        STATE.app_messages_received += 1
        STATE.app_messages.append(
            {"session": session.id, "pc_id": sender, "message": message, "at": time.time()}
        )
        logger.info(f"session {session.id}: app message {message!r}")

    runner = WorkerRunner(handle_sigint=False)
    await runner.add_workers(worker)
    session.bot_running = True
    session.bot_started_at = time.time()
    try:
        await runner.run()
    finally:
        session.bot_running = False
        session.bot_ended_at = time.time()
        logger.info(f"session {session.id}: bot ended")


# --- HTTP ---------------------------------------------------------------------------
_bot_tasks: set[asyncio.Task] = set()
handler = SmallWebRTCRequestHandler()


@asynccontextmanager
async def lifespan(app: FastAPI):
    yield
    for s in STATE.sessions:
        if s.bot_running and s.worker:
            await s.worker.cancel()
    await handler.close()
    if _bot_tasks:
        await asyncio.wait(list(_bot_tasks), timeout=3)


app = FastAPI(lifespan=lifespan)
# As pipecat.runner.run does (a page on another origin POSTs the offer).
app.add_middleware(
    CORSMiddleware,
    allow_origins=["*"],
    allow_credentials=True,
    allow_methods=["*"],
    allow_headers=["*"],
)


@app.get("/health")
async def health():
    return {"ok": True}


@app.get("/_state")
async def get_state():
    return state_json()


@app.post("/api/offer")
async def offer(request: SmallWebRTCRequest):
    """pipecat.runner.run's /api/offer: the request handler does the work."""
    known = STATE.pcs.get(request.pc_id) if request.pc_id else None

    async def webrtc_connection_callback(connection: SmallWebRTCConnection):
        session = Session(len(STATE.sessions) + 1, connection)
        STATE.sessions.append(session)

        @connection.event_handler("closed")
        async def on_closed(conn: SmallWebRTCConnection):
            session.closed = True

        logger.info(
            f"session {session.id}: new SmallWebRTCConnection "
            f"(pc_id in request: {request.pc_id}, restart_pc: {request.restart_pc})"
        )
        # The runner hands the bot to BackgroundTasks; a task held here does the
        # same (the bot starts right away) and lets shutdown cancel it.
        task = asyncio.create_task(run_bot(session))
        _bot_tasks.add(task)
        task.add_done_callback(_bot_tasks.discard)

    answer = await handler.handle_web_request(
        request=request, webrtc_connection_callback=webrtc_connection_callback
    )
    STATE.offers += 1
    if answer:
        session = None
        for s in STATE.sessions:
            if s.conn.pc_id == answer["pc_id"]:
                session = s
        if session is not None:
            if known and known[0] is session:
                if request.restart_pc:
                    session.restarts += 1
                    STATE.restarts_kept += 1
                else:
                    session.renegotiations += 1
            if answer["pc_id"] not in session.pc_ids:
                session.pc_ids.append(answer["pc_id"])
            STATE.pcs[answer["pc_id"]] = (session, session.conn.pc)
            logger.info(
                f"session {session.id}: answered as {answer['pc_id']} "
                f"(restart_pc: {bool(request.restart_pc)}, previous pc_id: {request.pc_id})"
            )
    return answer


@app.patch("/api/offer")
async def ice_candidate(request: SmallWebRTCPatchRequest):
    """pipecat.runner.run's trickle-ICE route."""
    await handler.handle_patch_request(request)
    return {"status": "success"}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=7880)
    parser.add_argument("--log-level", default="DEBUG", help="loguru level (DEBUG, INFO, ...)")
    parser.add_argument(
        "--stock-restart",
        action="store_true",
        help="leave Pipecat's restart_pc behaviour as shipped (audio can go silent for good)",
    )
    args = parser.parse_args()

    logger.remove()
    logger.add(sys.stderr, level=args.log_level.upper())
    STATE.restart_fix = not args.stock_restart
    if STATE.restart_fix:
        install_restart_fix()
    logger.info(
        f"echo bot on http://127.0.0.1:{args.port} (ICE host candidates: "
        f"{aioice.ice.get_host_addresses(True, True)}, restart fix: {STATE.restart_fix})"
    )
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="info", timeout_graceful_shutdown=3)


if __name__ == "__main__":
    main()
