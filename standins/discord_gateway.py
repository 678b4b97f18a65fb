"""The gateway half of the fake Discord in discord_server.py: the websocket, its optional
zlib/zstd stream compression, IDENTIFY/RESUME sessions, heartbeats and event dispatch.

Sharding as Discord does it: an IDENTIFY may carry `shard: [id, count]`; a guild's
events (and the guild itself, in READY and GUILD_CREATE) go only to the session of the
shard that owns it, (guild_id >> 22) % count, and events of no guild (DMs) to shard 0.
A new IDENTIFY replaces the live session of its own shard only.

Everything here runs on the server's event loop; the Gateway reads its settings (token,
world, intents allowed, heartbeat knobs) from the FakeDiscord it belongs to and records
what the bot sent in that server's public lists."""

from __future__ import annotations

import asyncio
import json
import secrets
import time
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import WSMsgType, web

from standins import discord_payloads as p
from standins.discord_payloads import Json

if TYPE_CHECKING:
    from standins.discord_server import FakeDiscord

try:  # discord.py asks for zstd-stream when zstandard is importable, else zlib-stream
    import zstandard
except ImportError:  # pragma: no cover
    zstandard = None


def app_flags(privileged_intents: Iterable[str]) -> int:
    """GATEWAY_*_LIMITED flags: what an unverified app gets when the portal switch is on."""
    bits = {"presences": 1 << 13, "members": 1 << 15, "message_content": 1 << 19}
    return sum(bits[n] for n in privileged_intents) | (1 << 23)


class _Conn:
    """One gateway websocket; sends are serialised so compressed frames stay in order."""

    def __init__(self, ws: web.WebSocketResponse, compress: str | None) -> None:
        self.ws, self.lock = ws, asyncio.Lock()
        self.heartbeats: list[float] = []
        self.session: _Session | None = None
        self._compress: Callable[[bytes], bytes] | None = None
        if compress == "zlib-stream":
            z = zlib.compressobj()
            self._compress = lambda b: z.compress(b) + z.flush(zlib.Z_SYNC_FLUSH)
        elif compress == "zstd-stream" and zstandard is not None:
            zs = zstandard.ZstdCompressor().compressobj()
            self._compress = lambda b: zs.compress(b) + zs.flush(zstandard.COMPRESSOBJ_FLUSH_BLOCK)

    async def send(self, payload: Json) -> None:
        async with self.lock:
            if self.ws.closed:
                return
            text = json.dumps(payload)
            if self._compress is None:
                await self.ws.send_str(text)
            else:
                await self.ws.send_bytes(self._compress(text.encode()))


@dataclass
class _Session:
    id: str
    conn: _Conn | None
    shard: tuple[int, int] | None = None  # [id, count] from IDENTIFY; None: unsharded
    seq: int = 0
    live: bool = True  # False once a new IDENTIFY replaces it
    buffer: list[Json] = field(default_factory=list)  # replayed on RESUME
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def owns(self, guild_id: int | None) -> bool:
        """Whether this session gets a guild's events (guild_id None: a DM's)."""
        if self.shard is None:
            return True
        shard_id, count = self.shard
        return shard_id == (0 if guild_id is None else (guild_id >> 22) % count)


class Gateway:
    """The /gateway websocket endpoint of one FakeDiscord, and its sessions."""

    def __init__(self, server: FakeDiscord) -> None:
        self.server = server
        self._cond = server._cond  # the server's: waiters wake on gateway traffic too
        self.conns: list[_Conn] = []  # open ones
        self.all_conns: list[_Conn] = []  # for heartbeat history
        self.sessions: dict[str, _Session] = {}

    # --- the websocket -------------------------------------------------------------------

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(max_msg_size=0)
        await ws.prepare(request)
        if request.query.get("encoding", "json") != "json":
            await ws.close(code=4002, message=b"only encoding=json is supported")
            return ws
        conn = _Conn(ws, request.query.get("compress"))
        self.conns.append(conn)
        with self._cond:
            self.all_conns.append(conn)
            self.server.gateway_queries.append(dict(request.query))
        interval_ms = int(self.server.heartbeat_interval * 1000)
        await conn.send({"op": 10, "d": {"heartbeat_interval": interval_ms}})
        async for msg in ws:
            if msg.type != WSMsgType.TEXT:
                await ws.close(code=4002, message=b"expected JSON text frames")
                break
            data = json.loads(msg.data)
            with self._cond:
                self.server.gateway_received.append(data)
                self._cond.notify_all()
            await self._on_op(conn, data["op"], data.get("d"))
        self.conns.remove(conn)
        if conn.session is not None and conn.session.conn is conn:
            conn.session.conn = None
        return ws

    async def _on_op(self, conn: _Conn, op: int, d: Any) -> None:
        if op == 1:
            with self._cond:
                conn.heartbeats.append(time.monotonic())
                self._cond.notify_all()
            if self.server.ack_heartbeats:
                await conn.send({"op": 11})
        elif op == 2:
            await self._identify(conn, d)
        elif op == 6:
            await self._resume(conn, d)
        elif conn.session is None:
            await conn.ws.close(code=4003, message=b"Not authenticated.")
        elif op == 8:  # REQUEST_GUILD_MEMBERS (bots with the members intent chunk guilds)
            wanted = {int(u) for u in d.get("user_ids") or []}
            world = self.server.worlds.get(int(d["guild_id"]), self.server.world)
            members = [m for m in world.members
                       if (not wanted or int(m["user"]["id"]) in wanted)
                       and m["user"]["username"].startswith(d.get("query") or "")]
            await self.dispatch("GUILD_MEMBERS_CHUNK", {
                "guild_id": str(world.guild_id), "members": members, "chunk_index": 0,
                "chunk_count": 1, "not_found": [], "nonce": d.get("nonce")})
        elif op not in (3, 4):  # presence and voice updates are only recorded
            await conn.ws.close(code=4001, message=b"Unknown opcode.")

    async def _identify(self, conn: _Conn, d: Json) -> None:
        server = self.server
        if d.get("token") != server.token:
            await conn.ws.close(code=4004, message=b"Authentication failed.")
            return
        intents = int(d.get("intents", 0))
        allowed = sum(p.PRIVILEGED_INTENTS[n] for n in server.privileged_intents)
        if intents & sum(p.PRIVILEGED_INTENTS.values()) & ~allowed:
            await conn.ws.close(code=4014, message=b"Disallowed intent(s).")
            return
        server.identifies.append(d)
        server.intents = intents
        shard = tuple(d["shard"]) if d.get("shard") is not None else None
        for old in self.sessions.values():
            if old.shard == shard:
                old.live = False
        session = conn.session = _Session(secrets.token_hex(16), conn, shard)
        self.sessions[session.id] = session
        guilds = [server.worlds[g] for g in list(server.joined) if session.owns(g)]
        me = {**server.world.bot, "verified": True, "mfa_enabled": False, "flags": 0}
        ready = {"v": 10, "user": me,
                 "guilds": [{"id": str(w.guild_id), "unavailable": True} for w in guilds],
                 "session_id": session.id, "resume_gateway_url": server.gateway_url,
                 "application": {"id": str(server.app_id),
                                 "flags": app_flags(server.privileged_intents)},
                 "private_channels": [], "relationships": [], "presences": [],
                 "guild_join_requests": [], "geo_ordered_rtc_regions": [],
                 "session_type": "normal", "auth": {}, "_trace": ["fake-discord"]}
        if d.get("shard") is not None:
            ready["shard"] = d["shard"]
        await self._emit(session, "READY", ready)
        members = bool(intents & p.PRIVILEGED_INTENTS["members"])
        for world in guilds:
            await self._emit(session, "GUILD_CREATE", world.guild_create(members))

    async def _resume(self, conn: _Conn, d: Json) -> None:
        session = self.sessions.get(d.get("session_id", ""))
        if session is None or d.get("token") != self.server.token:
            await conn.send({"op": 9, "d": False})
            return
        async with session.lock:
            session.conn, conn.session = conn, session
            for frame in session.buffer:
                if frame["s"] > (d.get("seq") or 0):
                    await conn.send(frame)
        await self._emit(session, "RESUMED", {"_trace": ["fake-discord"]})

    async def _emit(self, session: _Session, event: str, d: Json) -> None:
        async with session.lock:
            session.seq += 1
            frame = {"op": 0, "t": event, "s": session.seq, "d": d}
            session.buffer.append(frame)
            if session.conn is not None:  # else kept for the RESUME
                await session.conn.send(frame)

    # --- used by the server and the REST side (on the server loop) -----------------------

    async def dispatch(self, event: str, d: Json) -> None:
        """A DISPATCH (op 0) to every live session of the shard that owns the event's guild;
        sequence numbers are handled here. Nothing of a server the bot is not in."""
        guild = d.get("guild_id") or (d.get("id") if event.startswith("GUILD_") else None)
        if guild and int(guild) not in self.server.joined:
            return
        for session in list(self.sessions.values()):
            if session.live and session.owns(int(guild) if guild else None):
                await self._emit(session, event, d)

    async def send_all(self, payload: Json) -> None:
        for conn in list(self.conns):
            await conn.send(payload)

    async def close_all(self, code: int) -> None:
        for conn in list(self.conns):
            await conn.ws.close(code=code)

    # --- heartbeat history (any thread) --------------------------------------------------

    def heartbeat_times(self) -> list[list[float]]:
        with self._cond:
            return [list(c.heartbeats) for c in self.all_conns]

    def heartbeat_gaps(self, include_open: bool = True) -> list[float]:
        with self._cond:
            conns = [(list(c.heartbeats), include_open and not c.ws.closed)
                     for c in self.all_conns]
        gaps: list[float] = []
        for beats, open_now in conns:
            gaps += [b - a for a, b in zip(beats, beats[1:], strict=False)]
            if open_now and beats:
                gaps.append(time.monotonic() - beats[-1])
        return gaps
