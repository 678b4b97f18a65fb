"""A local Discord (REST + gateway) on 127.0.0.1 that real discord.py logs in to.

Threading: the server runs its own event loop in a daemon thread, so it keeps answering
(and timing heartbeats) whatever the bot's loop is doing, and a plain synchronous test can
drive it. The bot runs either in another thread (ClientThread, like production where it
owns its loop) or on the test's own loop; from inside a running loop use `await_for`, not
the blocking waiters. Stop the bot before the server, or it will try to reconnect.

    with FakeDiscord().running() as server:       # also points discord.py at it
        bot = ClientThread(MyBot(), server.token).start()        # returns after on_ready
        ref = server.slash("ask", {"question": "rates?"})
        server.wait_for(lambda r: r.path.startswith(f"/interactions/{ref.id}/"))
        reply = server.wait_for_message(server.channel_id("general"))
        bot.stop()

Pass guild_ready_timeout=0.1 to the client if you can: discord.py otherwise waits 2 s
after the last GUILD_CREATE before on_ready.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import secrets
import socket
import threading
import time
import traceback
import zlib
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import discord
import discord_payloads as p
import yarl
from aiohttp import BodyPartReader, WSMsgType, web
from discord.gateway import DiscordWebSocket
from discord.http import Route
from discord_payloads import (
    InteractionRef,
    Json,
    Recorded,
    StoredMessage,
    World,
    now_iso,
    snowflake,
)

try:  # discord.py asks for zstd-stream when zstandard is importable, else zlib-stream
    import zstandard
except ImportError:  # pragma: no cover
    zstandard = None


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
    seq: int = 0
    live: bool = True  # False once a new IDENTIFY replaces it
    buffer: list[Json] = field(default_factory=list)  # replayed on RESUME
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class FakeDiscord:
    """Discord for one bot in one guild (see World). Every public method is thread-safe.

    State a test can read: recorded (REST requests), messages (id -> StoredMessage, users'
    and the bot's), interactions (id -> InteractionRef), commands (synced, by guild id or
    None), channels (incl. threads and DMs), identifies, gateway_queries, gateway_received.
    Knobs: interaction_deadline (None: no 3 s rule), privileged_intents (what the portal
    allows; others close with 4014), echo_own_messages, ack_heartbeats."""

    def __init__(self, world: World | None = None, *, token: str = "newsbot-test-token",
                 heartbeat_interval: float = 1.0, interaction_deadline: float | None = 3.0,
                 privileged_intents: tuple[str, ...] = ("members", "presences", "message_content"),
                 echo_own_messages: bool = True) -> None:
        self.world = world or World()
        self.token = token
        self.heartbeat_interval = heartbeat_interval
        self.interaction_deadline = interaction_deadline  # Discord's 3 s to first response
        self.privileged_intents = privileged_intents  # switched on "in the developer portal"
        self.echo_own_messages = echo_own_messages  # Discord echoes the bot's own messages
        self.ack_heartbeats = True  # set False to simulate a zombied connection
        self.recorded: list[Recorded] = []
        self.gateway_received: list[Json] = []  # every op the bot sent (heartbeats too)
        self.identifies: list[Json] = []
        self.gateway_queries: list[dict[str, str]] = []  # v, encoding, compress per connect
        self.intents = 0
        self.messages: dict[int, StoredMessage] = {}
        self.channels: dict[int, Json] = {int(c["id"]): c for c in self.world.channels}
        self.commands: dict[int | None, list[Json]] = {}  # guild id (None: global) -> list
        self.interactions: dict[int, InteractionRef] = {}
        self.files: dict[str, bytes] = {}
        self._conns: list[_Conn] = []  # open ones
        self._all_conns: list[_Conn] = []  # for heartbeat history
        self._sessions: dict[str, _Session] = {}
        self._failures: list[tuple[str, str, int, Json, int]] = []
        self._cond = threading.Condition()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self.port = 0

    # --- lifecycle ---------------------------------------------------------------------

    def start(self) -> FakeDiscord:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="fake-discord",
                                        daemon=True)
        self._thread.start()
        self._call(self._serve())
        return self

    def stop(self) -> None:
        if self._loop is None or self._thread is None:
            return
        self._call(self._shutdown())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()
        self._loop = self._thread = None

    @contextlib.contextmanager
    def running(self) -> Iterator[FakeDiscord]:
        """start(), point discord.py here, and stop() afterwards."""
        self.start()
        try:
            with use_local_discord(self):
                yield self
        finally:
            self.stop()

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/v10"

    @property
    def gateway_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/gateway"

    bot_id = property(lambda self: self.world.app_id)
    app_id = property(lambda self: self.world.app_id)
    guild_id = property(lambda self: self.world.guild_id)
    admin_id = property(lambda self: int(self.world.admin["id"]))
    user_id = property(lambda self: int(self.world.user["id"]))

    def channel_id(self, name: str = "general") -> int:
        return self.world.channel_id(name)

    async def _serve(self) -> None:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_get("/gateway", self._gateway)
        app.router.add_get("/attachments/{name:.*}", self._attachment)
        app.router.add_route("*", "/api/v{version}/{tail:.*}", self._rest)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        await web.SockSite(self._runner, sock).start()

    async def _shutdown(self) -> None:
        for conn in list(self._conns):
            await conn.ws.close(code=1001)
        if self._runner is not None:
            await self._runner.cleanup()

    def _call(self, coro: Awaitable[Any], timeout: float = 10.0) -> Any:
        assert self._loop is not None, "FakeDiscord is not started"
        if threading.current_thread() is self._thread:
            raise RuntimeError("blocking call from the server's own loop")
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)  # type: ignore[arg-type]

    # --- gateway -----------------------------------------------------------------------

    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(max_msg_size=0)
        await ws.prepare(request)
        if request.query.get("encoding", "json") != "json":
            await ws.close(code=4002, message=b"only encoding=json is supported")
            return ws
        conn = _Conn(ws, request.query.get("compress"))
        self._conns.append(conn)
        with self._cond:
            self._all_conns.append(conn)
            self.gateway_queries.append(dict(request.query))
        interval_ms = int(self.heartbeat_interval * 1000)
        await conn.send({"op": 10, "d": {"heartbeat_interval": interval_ms}})
        async for msg in ws:
            if msg.type != WSMsgType.TEXT:
                await ws.close(code=4002, message=b"expected JSON text frames")
                break
            data = json.loads(msg.data)
            with self._cond:
                self.gateway_received.append(data)
                self._cond.notify_all()
            await self._on_op(conn, data["op"], data.get("d"))
        self._conns.remove(conn)
        if conn.session is not None and conn.session.conn is conn:
            conn.session.conn = None
        return ws

    async def _on_op(self, conn: _Conn, op: int, d: Any) -> None:
        if op == 1:
            with self._cond:
                conn.heartbeats.append(time.monotonic())
                self._cond.notify_all()
            if self.ack_heartbeats:
                await conn.send({"op": 11})
        elif op == 2:
            await self._identify(conn, d)
        elif op == 6:
            await self._resume(conn, d)
        elif conn.session is None:
            await conn.ws.close(code=4003, message=b"Not authenticated.")
        elif op == 8:  # REQUEST_GUILD_MEMBERS (bots with the members intent chunk guilds)
            wanted = {int(u) for u in d.get("user_ids") or []}
            members = [m for m in self.world.members
                       if (not wanted or int(m["user"]["id"]) in wanted)
                       and m["user"]["username"].startswith(d.get("query") or "")]
            await self._dispatch("GUILD_MEMBERS_CHUNK", {
                "guild_id": str(self.guild_id), "members": members, "chunk_index": 0,
                "chunk_count": 1, "not_found": [], "nonce": d.get("nonce")})
        elif op not in (3, 4):  # presence and voice updates are only recorded
            await conn.ws.close(code=4001, message=b"Unknown opcode.")

    async def _identify(self, conn: _Conn, d: Json) -> None:
        if d.get("token") != self.token:
            await conn.ws.close(code=4004, message=b"Authentication failed.")
            return
        intents = int(d.get("intents", 0))
        allowed = sum(p.PRIVILEGED_INTENTS[n] for n in self.privileged_intents)
        if intents & sum(p.PRIVILEGED_INTENTS.values()) & ~allowed:
            await conn.ws.close(code=4014, message=b"Disallowed intent(s).")
            return
        self.identifies.append(d)
        self.intents = intents
        for old in self._sessions.values():
            old.live = False
        session = conn.session = _Session(secrets.token_hex(16), conn)
        self._sessions[session.id] = session
        me = {**self.world.bot, "verified": True, "mfa_enabled": False, "flags": 0}
        ready = {"v": 10, "user": me, "guilds": [{"id": str(self.guild_id), "unavailable": True}],
                 "session_id": session.id, "resume_gateway_url": self.gateway_url,
                 "application": {"id": str(self.app_id), "flags": self._app_flags()},
                 "private_channels": [], "relationships": [], "presences": [],
                 "guild_join_requests": [], "geo_ordered_rtc_regions": [],
                 "session_type": "normal", "auth": {}, "_trace": ["fake-discord"]}
        if d.get("shard") is not None:
            ready["shard"] = d["shard"]
        await self._emit(session, "READY", ready)
        members = bool(intents & p.PRIVILEGED_INTENTS["members"])
        await self._emit(session, "GUILD_CREATE", self.world.guild_create(members))

    async def _resume(self, conn: _Conn, d: Json) -> None:
        session = self._sessions.get(d.get("session_id", ""))
        if session is None or d.get("token") != self.token:
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

    async def _dispatch(self, event: str, d: Json) -> None:
        for session in list(self._sessions.values()):
            if session.live:
                await self._emit(session, event, d)

    def _app_flags(self) -> int:
        # GATEWAY_*_LIMITED flags: what an unverified app gets when the portal switch is on.
        bits = {"presences": 1 << 13, "members": 1 << 15, "message_content": 1 << 19}
        return sum(bits[n] for n in self.privileged_intents) | (1 << 23)

    # --- what users do: messages and interactions arriving over the gateway -------------

    def message_create(self, content: str, *, author: int | None = None,
                       channel_id: int | None = None, mentions_bot: bool = False,
                       reference: int | None = None,
                       attachments: list[tuple[str, bytes]] | None = None) -> Json:
        """A user posts a message (MESSAGE_CREATE); returns the full payload, also kept so
        GET /channels/{c}/messages/{m} finds it for reply chains."""
        if mentions_bot and f"<@{self.bot_id}>" not in content:
            content = f"<@{self.bot_id}> {content}"
        body: Json = {"content": content}
        if reference is not None:
            body["message_reference"] = {"message_id": str(reference)}
        files = [{"filename": n, "data": d, "content_type": "application/octet-stream"}
                 for n, d in attachments or []]

        async def post() -> Json:  # on the server loop, which owns the state
            stored = self._new_message(channel_id or self.channel_id(), body, files,
                                       author=self._user(author or self.user_id))
            await self._dispatch("MESSAGE_CREATE", self._for_gateway(stored))
            return stored.payload
        return self._call(post())

    def interaction_create(self, command_name: str = "", options: dict[str, Any] | list[Json]
                           | None = None, *, type: int = 2, command_type: int = 1,
                           user: int | None = None, channel_id: int | None = None,
                           custom_id: str = "", component_type: int = 2,
                           values: list[str] | None = None, message_id: int | None = None,
                           target_id: int | None = None, focused: str | None = None,
                           fields: dict[str, str] | None = None) -> InteractionRef:
        """Send INTERACTION_CREATE. type 2: application command (command_type 1 slash,
        3 message context menu on target_id); 3: component on message_id (custom_id,
        component_type, values); 4: autocomplete (focused names the option); 5: modal
        submit (custom_id, fields). Returns the id/token and what the bot did with it."""
        uid, cid = user or self.user_id, channel_id or self.channel_id()

        async def send() -> InteractionRef:
            channel = self._channel(cid)
            iid, token = snowflake(), "tok_" + secrets.token_urlsafe(24)
            payload: Json = {
                "id": str(iid), "application_id": str(self.app_id), "type": type,
                "token": token, "version": 1, "channel_id": str(cid), "channel": channel,
                "app_permissions": str(self.world.permissions(self.bot_id)),
                "locale": "en-US", "entitlements": [], "attachment_size_limit": 10 << 20}
            if "guild_id" in channel:
                member = {**self.world.member_of(uid),
                          "permissions": str(self.world.permissions(uid))}  # for perm checks
                payload |= {"guild_id": str(self.guild_id), "guild_locale": "en-US",
                            "context": 0, "member": member,
                            "authorizing_integration_owners": {"0": str(self.guild_id)}}
            else:
                payload |= {"user": self._user(uid), "context": 1,
                            "authorizing_integration_owners": {"1": str(uid)}}
            if type in (2, 4):
                top = command_name.split()[0] if command_type == 1 else command_name
                cmd_id, guild = self._registered(top, command_type)
                payload["data"] = p.interaction_data(command_name, p.option_list(
                    options, focused), cmd_id, guild, command_type)
                if command_type == 3 and target_id is not None:  # message context menu
                    # The target's content is sent even without the message content intent.
                    target = self._message(cid, target_id).payload
                    payload["data"] |= {"target_id": str(target_id), "options": [],
                                        "resolved": {"messages": {str(target_id): target}}}
            elif type == 3:
                payload["message"] = self._for_gateway(self._message(cid, message_id or 0))
                payload["data"] = {"custom_id": custom_id, "component_type": component_type}
                if values is not None:
                    payload["data"]["values"] = values
            elif type == 5:
                payload["data"] = {"custom_id": custom_id, "components": [
                    {"type": 1, "components": [{"type": 4, "custom_id": k, "value": v}]}
                    for k, v in (fields or {}).items()]}
            # @original of a component interaction is the message the component is on.
            ref = InteractionRef(iid, token, payload, time.monotonic(), original=message_id)
            with self._cond:
                self.interactions[iid] = ref
            await self._dispatch("INTERACTION_CREATE", payload)
            return ref
        return self._call(send())

    def slash(self, name: str, options: dict[str, Any] | None = None, **kw: Any) -> InteractionRef:
        return self.interaction_create(name, options, **kw)

    def click(self, custom_id: str, message_id: int, **kw: Any) -> InteractionRef:
        return self.interaction_create(type=3, custom_id=custom_id, message_id=message_id, **kw)

    def _registered(self, name: str, kind: int) -> tuple[int, int | None]:
        """The id Discord gave the synced command, and its guild (the tree looks it up there)."""
        for guild, commands in sorted(self.commands.items(), key=lambda kv: kv[0] is None):
            for cmd in commands:
                if cmd["name"] == name and cmd.get("type", 1) == kind:
                    return int(cmd["id"]), guild
        return snowflake(), None

    # --- REST ---------------------------------------------------------------------------

    async def _rest(self, request: web.Request) -> web.Response:
        body, files = await _read_body(request)
        rec = Recorded(request.method, "/" + request.match_info["tail"], dict(request.query),
                       body, dict(request.headers), files, time.monotonic())
        headers: dict[str, str] = {}
        try:
            if failure := self._take_failure(rec):
                status, result = failure
                headers = {"Via": "1.1 google"} if status == 429 else {}  # discord.py needs it
            else:
                status, result = await self._route(rec)
        except ApiError as exc:
            status, result = exc.status, exc.body
        except Exception as exc:  # a bug in this fake: 503 fails fast (500 is retried 5x)
            status, result = 503, {"message": f"fake discord: {exc!r}", "code": 0,
                                   "traceback": traceback.format_exc()}
        rec.status, rec.response = status, result
        self._record(rec)
        if result is None:
            return web.Response(status=204, headers=headers)
        # Exactly "application/json": discord.py parses nothing else (no "; charset=").
        return web.Response(body=json.dumps(result).encode(), status=status, headers=headers,
                            content_type="application/json")

    async def _route(self, rec: Recorded) -> tuple[int, Any]:
        for methods, pattern, name in _ROUTES:
            match = pattern.fullmatch(rec.path)
            if match and rec.method in methods:
                # Interaction webhooks are authorised by their token, everything else by the bot's.
                webhook = rec.path.startswith(("/webhooks/", "/interactions/"))
                if not webhook and rec.headers.get("Authorization") != f"Bot {self.token}":
                    raise ApiError(401, 0, "401: Unauthorized")
                return await getattr(self, name)(rec, *match.groups())
        raise ApiError(404, 0, "404: Not Found")

    async def _get_me(self, rec: Recorded) -> tuple[int, Any]:
        return 200, {**self.world.bot, "verified": True, "mfa_enabled": False, "flags": 0}

    async def _get_user(self, rec: Recorded, uid: str) -> tuple[int, Any]:
        return 200, self._user(int(uid))

    async def _open_dm(self, rec: Recorded) -> tuple[int, Any]:
        recipient = self._user(int(rec.json["recipient_id"]))
        for cid, ch in self.channels.items():
            if ch["type"] == 1 and ch["recipients"][0]["id"] == recipient["id"]:
                return 200, self.channels[cid]
        dm = {"id": str(snowflake()), "type": 1, "recipients": [recipient],
              "last_message_id": None}
        self.channels[int(dm["id"])] = dm
        return 200, dm

    async def _get_gateway(self, rec: Recorded) -> tuple[int, Any]:
        return 200, {"url": self.gateway_url}

    async def _get_gateway_bot(self, rec: Recorded) -> tuple[int, Any]:
        limit = {"total": 1000, "remaining": 999, "reset_after": 0, "max_concurrency": 1}
        return 200, {"url": self.gateway_url, "shards": 1, "session_start_limit": limit}

    async def _get_app(self, rec: Recorded) -> tuple[int, Any]:
        return 200, self.world.app_info(self._app_flags())

    async def _commands(self, rec: Recorded, app: str, guild: str | None = None
                        ) -> tuple[int, Any]:
        if int(app) != self.app_id:
            raise ApiError(403, 50001, "Missing Access")
        key = int(guild) if guild else None
        if rec.method == "GET":
            return 200, self.commands.get(key, [])
        if errors := p.check_commands(rec.json or []):
            raise ApiError(400, 50035, "Invalid Form Body", errors)
        old = {(c["name"], c.get("type", 1)): c["id"] for c in self.commands.get(key, [])}
        echoed = []
        for cmd in rec.json:
            kind = cmd.get("type", 1)
            echoed.append({"description": "", "options": [], "default_member_permissions": None,
                           "nsfw": False, **cmd, "type": kind, "application_id": str(app),
                           "id": old.get((cmd["name"], kind)) or str(snowflake()),
                           "version": str(snowflake())}
                          | ({"guild_id": guild} if guild else {}))
        self.commands[key] = echoed
        return 200, echoed

    async def _callback(self, rec: Recorded, iid: str, token: str) -> tuple[int, Any]:
        ref = self.interactions.get(int(iid))
        if ref is None or ref.token != token or (
                self.interaction_deadline is not None
                and rec.at - ref.created > self.interaction_deadline):
            raise ApiError(404, 10062, "Unknown interaction")
        if ref.acked is not None:
            raise ApiError(400, 40060, "Interaction has already been acknowledged.")
        kind, data = rec.json["type"], rec.json.get("data") or {}
        allowed = {4: (2, 3, 5), 5: (2, 3, 5), 6: (3, 5), 7: (3, 5), 8: (4,), 9: (2, 3)}
        if ref.type not in allowed.get(kind, ()):
            raise ApiError(400, 50035, "Invalid Form Body",
                           {"type": f"callback {kind} is not valid for interaction {ref.type}"})
        message: StoredMessage | None = None
        if kind in (4, 5):
            flags = (data.get("flags") or 0) & p.EPHEMERAL | (p.LOADING if kind == 5 else 0)
            message = self._new_message(ref.channel_id, data if kind == 4 else {}, rec.files,
                                        interaction=ref, flags=flags, check=kind == 4)
            ref.original = message.id
        elif kind == 7:
            message = self._message(ref.channel_id, ref.original or 0)
            self._edit(message, data, rec.files)
        elif kind == 8:
            if len(data.get("choices") or []) > 25:
                raise ApiError(400, 50035, "Invalid Form Body", {"data.choices": "Max 25."})
            ref.choices = data.get("choices") or []
        elif kind == 9:
            ref.modal = data
        ref.acked = kind
        if message is not None and not message.ephemeral:
            await self._echo("MESSAGE_CREATE" if kind in (4, 5) else "MESSAGE_UPDATE", message)
        if rec.query.get("with_response") not in ("1", "true", "True"):
            return 204, None
        result: Json = {"interaction": {
            "id": iid, "type": ref.type, "response_message_loading": kind == 5,
            "response_message_ephemeral": bool(message and message.ephemeral)}}
        if message is not None:
            result["interaction"]["response_message_id"] = str(message.id)
            result["resource"] = {"type": kind, "message": message.payload}
        return 200, result

    def _by_token(self, app: str, token: str) -> InteractionRef:
        for ref in self.interactions.values():
            if ref.token == token and int(app) == self.app_id and ref.acked is not None:
                return ref
        raise ApiError(404, 10015, "Unknown Webhook")  # no webhook until the first response

    async def _followup(self, rec: Recorded, app: str, token: str) -> tuple[int, Any]:
        ref, body = self._by_token(app, token), rec.json or {}
        original = self.messages.get(ref.original or 0)
        if ref.acked == 5 and original is not None and original.flags & p.LOADING:
            # The first followup after a deferral fills in the "thinking..." message.
            self._edit(original, body, rec.files)
            message, event = original, "MESSAGE_UPDATE"
        else:
            message = self._new_message(ref.channel_id, body, rec.files, interaction=ref,
                                        flags=(body.get("flags") or 0) & p.EPHEMERAL)
            event = "MESSAGE_CREATE"
        if not message.ephemeral:
            await self._echo(event, message)
        return (200, message.payload) if rec.query.get("wait") in ("1", "true", "True") \
            else (204, None)

    async def _webhook_message(self, rec: Recorded, app: str, token: str, which: str
                               ) -> tuple[int, Any]:
        ref = self._by_token(app, token)
        message = self._message(ref.channel_id, ref.original if which == "@original"
                                else int(which))
        return await self._message_op(rec, message)

    async def _get_channel(self, rec: Recorded, cid: str) -> tuple[int, Any]:
        return 200, self._channel(int(cid))

    async def _channel_messages(self, rec: Recorded, cid: str) -> tuple[int, Any]:
        if rec.method == "POST":
            message = self._new_message(int(cid), rec.json or {}, rec.files)
            await self._echo("MESSAGE_CREATE", message)
            return 200, message.payload
        self._channel(int(cid))
        q = rec.query
        found = [m for m in self.messages_in(int(cid), from_bot=None) if not m.ephemeral
                 and m.id < int(q.get("before", 1 << 63)) and m.id > int(q.get("after", 0))]
        return 200, [self._visible(m.payload) for m in reversed(found)][:int(q.get("limit", 50))]

    async def _channel_message(self, rec: Recorded, cid: str, mid: str) -> tuple[int, Any]:
        return await self._message_op(rec, self._message(int(cid), int(mid)))

    async def _message_op(self, rec: Recorded, message: StoredMessage) -> tuple[int, Any]:
        if rec.method == "GET":
            return 200, self._visible(message.payload)
        if not message.from_bot:
            raise ApiError(403, 50005, "Cannot edit a message authored by another user")
        if rec.method == "DELETE":
            with self._cond:
                message.deleted = True
            if not message.ephemeral:
                await self._dispatch("MESSAGE_DELETE", {
                    "id": str(message.id), "channel_id": str(message.channel_id),
                    "guild_id": str(self.guild_id)})
            return 204, None
        self._edit(message, rec.json or {}, rec.files)
        if not message.ephemeral:
            await self._echo("MESSAGE_UPDATE", message)
        return 200, message.payload

    async def _thread_from_message(self, rec: Recorded, cid: str, mid: str) -> tuple[int, Any]:
        message = self._message(int(cid), int(mid))
        if message.id in self.channels:
            raise ApiError(400, 160004, "A thread has already been created for this message")
        # A thread started from a message has that message's id.
        thread = await self._new_thread(int(cid), message.id, rec.json or {}, 11)
        message.payload["thread"] = thread
        return 201, thread

    async def _thread(self, rec: Recorded, cid: str) -> tuple[int, Any]:
        body = rec.json or {}
        thread = await self._new_thread(int(cid), snowflake(), body, body.get("type", 11))
        if "message" in body:  # forum posts start with a message
            first = self._new_message(int(thread["id"]), body["message"], rec.files)
            thread = {**thread, "message": first.payload}
        return 201, thread

    async def _new_thread(self, parent: int, tid: int, body: Json, kind: int) -> Json:
        if self._channel(parent)["type"] not in (0, 5, 15):
            raise ApiError(400, 50024, "Cannot execute action on this channel type")
        if not 1 <= len(body.get("name") or "") <= 100:
            raise ApiError(400, 50035, "Invalid Form Body", {"name": "1 to 100 characters."})
        thread = p.thread(tid, self.guild_id, parent, self.bot_id, body["name"], kind,
                          body.get("auto_archive_duration") or 1440)
        self.channels[tid] = thread
        await self._dispatch("THREAD_CREATE", {**thread, "newly_created": True})
        return thread

    async def _reaction(self, rec: Recorded, cid: str, mid: str, emoji: str, who: str
                        ) -> tuple[int, Any]:
        message = self._message(int(cid), int(mid))
        with self._cond:
            if rec.method == "PUT" and emoji not in message.reactions:
                message.reactions.append(emoji)
            elif rec.method == "DELETE" and emoji in message.reactions:
                message.reactions.remove(emoji)
        return 204, None

    async def _typing(self, rec: Recorded, cid: str) -> tuple[int, Any]:
        self._channel(int(cid))
        return 204, None

    async def _get_member(self, rec: Recorded, gid: str, uid: str) -> tuple[int, Any]:
        try:
            return 200, self.world.member_of(int(uid))
        except StopIteration:
            raise ApiError(404, 10007, "Unknown Member") from None

    # --- the message store --------------------------------------------------------------

    def _user(self, uid: int) -> Json:
        for u in (self.world.bot, self.world.admin, self.world.user,
                  *(m["user"] for m in self.world.members)):
            if int(u["id"]) == uid:
                return u
        raise ApiError(404, 10013, "Unknown User")

    def _channel(self, cid: int) -> Json:
        if cid not in self.channels:
            raise ApiError(404, 10003, "Unknown Channel")
        return self.channels[cid]

    def _message(self, cid: int, mid: int) -> StoredMessage:
        message = self.messages.get(mid)
        if message is None or message.deleted or message.channel_id != cid:
            raise ApiError(404, 10008, "Unknown Message")
        return message

    def _new_message(self, channel_id: int, body: Json, files: list[Json], *,
                     author: Json | None = None, interaction: InteractionRef | None = None,
                     flags: int = 0, check: bool = True) -> StoredMessage:
        channel = self._channel(channel_id)
        if check and (errors := p.check_message(body, creating=True, files=len(files))):
            raise _invalid(errors)
        mid, kind, extra = snowflake(), 0, {}
        reference = body.get("message_reference")
        if reference:
            target = self.messages.get(int(reference.get("message_id") or 0))
            if target is not None and not target.deleted:
                kind, extra = 19, {"message_reference": {
                    "type": 0, "message_id": str(target.id), "channel_id": str(target.channel_id),
                    "guild_id": str(self.guild_id)}, "referenced_message": {
                    k: v for k, v in target.payload.items() if k != "referenced_message"}}
            elif reference.get("fail_if_not_exists", True):
                raise ApiError(400, 50035, "Invalid Form Body",
                               {"message_reference": "Unknown message"})
        if interaction is not None:
            data = interaction.payload.get("data") or {}
            kind = {1: 20, 3: 23}.get(data.get("type", 0), 0) if interaction.type == 2 else 0
            invoker = interaction.payload.get("member", {}).get("user") \
                or interaction.payload.get("user")
            extra |= {"webhook_id": str(self.app_id), "application_id": str(self.app_id),
                      "interaction_metadata": {"id": str(interaction.id),
                                               "type": interaction.type, "user": invoker}}
        payload = p.message(mid, channel, author or self.world.bot, body, kind=kind, flags=flags,
                            attachments=self._keep_files(channel_id, files),
                            known_users={int(m["user"]["id"]): m["user"]
                                         for m in self.world.members}) | extra
        stored = StoredMessage(payload, body, from_bot=author is None,
                               interaction_id=interaction.id if interaction else None)
        with self._cond:
            self.messages[mid] = stored
            self._cond.notify_all()
        return stored

    def _edit(self, message: StoredMessage, body: Json, files: list[Json]) -> None:
        new = dict(message.payload)
        for key in ("content", "components"):
            if key in body:
                new[key] = body[key] or ("" if key == "content" else [])
        if "embeds" in body:
            new["embeds"] = [{"type": "rich", **e} for e in body["embeds"] or []]
        if "attachments" in body or files:
            kept = {str(a.get("id")) for a in body.get("attachments") or []}
            new["attachments"] = [a for a in new["attachments"] if a["id"] in kept] \
                + self._keep_files(message.channel_id, files)
        shown = {k: new[k] for k in ("content", "embeds", "components")}
        if errors := p.check_message(shown, creating=True, files=len(new["attachments"])):
            raise _invalid(errors)
        if not new["flags"] & p.LOADING:  # filling in "thinking..." is not an edit
            new["edited_timestamp"] = now_iso()
        new["flags"] &= ~p.LOADING
        with self._cond:
            message.payload = new
            message.body = {**message.body, **body}
            message.edits.append(body)
            self._cond.notify_all()

    def _keep_files(self, channel_id: int, files: list[Json]) -> list[Json]:
        out = []
        for f in files:
            aid = snowflake()
            name = f"{channel_id}/{aid}/{f['filename']}"
            self.files[name] = f["data"]
            url = f"http://127.0.0.1:{self.port}/attachments/{name}"
            out.append({"id": str(aid), "filename": f["filename"], "size": len(f["data"]),
                        "url": url, "proxy_url": url, "content_type": f.get("content_type")})
        return out

    def _visible(self, payload: Json) -> Json:
        """Without the message content intent Discord blanks other people's guild messages,
        except ones that mention the bot (on the gateway and over REST alike)."""
        if "referenced_message" in payload:
            payload = {**payload, "referenced_message": self._visible(
                payload["referenced_message"])}
        me = str(self.bot_id)
        if (self.intents & p.PRIVILEGED_INTENTS["message_content"] or "guild_id" not in payload
                or payload["author"]["id"] == me
                or any(u["id"] == me for u in payload["mentions"])):
            return payload
        return {**payload, "content": "", "embeds": [], "attachments": [], "components": []}

    def _for_gateway(self, message: StoredMessage) -> Json:
        payload = self._visible(message.payload)
        if "guild_id" in payload:  # gateway messages carry the author's member, minus user
            with contextlib.suppress(StopIteration):
                member = self.world.member_of(int(payload["author"]["id"]))
                payload = {**payload, "member": {k: v for k, v in member.items() if k != "user"}}
        return payload

    async def _echo(self, event: str, message: StoredMessage) -> None:
        if self.echo_own_messages or event != "MESSAGE_CREATE":
            await self._dispatch(event, self._for_gateway(message))

    # --- test controls -----------------------------------------------------------------

    def dispatch(self, event: str, payload: Json) -> None:
        """Send any gateway event to the bot (sequence numbers are handled here)."""
        self._call(self._dispatch(event, payload))

    def send_op(self, op: int, d: Any = None) -> None:
        """A raw non-dispatch op: 1 asks for a heartbeat, 7 reconnect, 9 invalid session."""
        async def go() -> None:
            for conn in list(self._conns):
                await conn.send({"op": op, "d": d})
        self._call(go())

    def drop_connection(self, code: int = 4000) -> None:
        """Close the gateway socket the way Discord does on errors; the bot should RESUME."""
        async def go() -> None:
            for conn in list(self._conns):
                await conn.ws.close(code=code)
        self._call(go())

    def fail_next(self, method: str, path_contains: str, status: int, *, code: int = 0,
                  message: str = "injected failure", retry_after: float = 0.1,
                  times: int = 1) -> None:
        """Answer the next `times` matching REST requests with an error (429 is retryable)."""
        body: Json = {"message": message, "code": code}
        if status == 429:
            body = {"message": "You are being rate limited.", "retry_after": retry_after,
                    "global": False}
        with self._cond:
            self._failures.append((method.upper(), path_contains, status, body, times))

    # --- heartbeats --------------------------------------------------------------------

    def heartbeat_times(self) -> list[list[float]]:
        """Heartbeat arrival times (time.monotonic), one list per gateway connection."""
        with self._cond:
            return [list(c.heartbeats) for c in self._all_conns]

    def heartbeat_gaps(self, include_open: bool = True) -> list[float]:
        """Seconds between consecutive heartbeats; with include_open, also since the last
        one on each live connection (a bot blocked right now shows up too)."""
        with self._cond:
            conns = [(list(c.heartbeats), include_open and not c.ws.closed)
                     for c in self._all_conns]
        gaps: list[float] = []
        for beats, open_now in conns:
            gaps += [b - a for a, b in zip(beats, beats[1:], strict=False)]
            if open_now and beats:
                gaps.append(time.monotonic() - beats[-1])
        return gaps

    def assert_heartbeats_on_time(self, slack: float = 0.5) -> None:
        assert any(self.heartbeat_times()), "no heartbeats arrived"
        late = [round(g, 3) for g in self.heartbeat_gaps()
                if g > self.heartbeat_interval + slack]
        assert not late, f"heartbeats late (interval {self.heartbeat_interval}s): {late}"

    # --- looking at what happened -------------------------------------------------------

    def requests(self, method: str | None = None, path_contains: str | None = None
                 ) -> list[Recorded]:
        with self._cond:
            return [r for r in self.recorded
                    if (method is None or r.method == method.upper())
                    and (path_contains is None or path_contains in r.path)]

    def wait_for(self, predicate: Callable[[Recorded], bool], timeout: float = 5.0) -> Recorded:
        """The first recorded request matching `predicate`, waiting up to `timeout`.
        Blocks the calling thread: from inside an event loop use `await_for`."""
        self.wait_until(lambda: any(predicate(r) for r in self.recorded), timeout,
                        what="a matching request")
        return self.requests_matching(predicate)[0]

    async def await_for(self, predicate: Callable[[Recorded], bool],
                        timeout: float = 5.0) -> Recorded:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if found := self.requests_matching(predicate):
                return found[0]
            await asyncio.sleep(0.01)
        raise TimeoutError(f"no matching request in {timeout}s; saw:\n{self.summary()}")

    def requests_matching(self, predicate: Callable[[Recorded], bool]) -> list[Recorded]:
        with self._cond:
            return [r for r in self.recorded if predicate(r)]

    def wait_until(self, condition: Callable[[], bool], timeout: float = 5.0,
                   what: str = "the condition") -> None:
        """Wait for any condition (over the server's or the bot's state): re-checked on
        every change here and every 50 ms. Blocks the calling thread."""
        deadline = time.monotonic() + timeout
        while not condition():
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no {what} in {timeout}s; requests:\n{self.summary()}")
            with self._cond:
                self._cond.wait(min(left, 0.05))

    def summary(self) -> str:
        with self._cond:
            return "\n".join(f"  {r.method} {r.path} -> {r.status}" for r in self.recorded)

    def interaction_responses(self, interaction_id: int) -> list[Recorded]:
        """The callback and every webhook request made with this interaction's token."""
        ref = self.interactions[interaction_id]
        return self.requests_matching(
            lambda r: f"/interactions/{interaction_id}/" in r.path or ref.token in r.path)

    def messages_in(self, channel_id: int, from_bot: bool | None = True) -> list[StoredMessage]:
        with self._cond:
            return [m for m in self.messages.values() if m.channel_id == channel_id
                    and not m.deleted and (from_bot is None or m.from_bot == from_bot)]

    def last_message(self, channel_id: int) -> StoredMessage | None:
        """The newest live message the bot sent there (ephemeral ones included)."""
        found = self.messages_in(channel_id)
        return found[-1] if found else None

    def wait_for_message(self, channel_id: int, predicate: Callable[[StoredMessage], bool]
                         = lambda m: True, timeout: float = 5.0) -> StoredMessage:
        """The newest bot message in the channel matching `predicate`. A message is stored
        just before its request is recorded: wait for the request to assert on both."""
        def found() -> list[StoredMessage]:
            return [m for m in self.messages_in(channel_id) if predicate(m)]
        self.wait_until(lambda: bool(found()), timeout, what=f"bot message in {channel_id}")
        return found()[-1]

    def _record(self, rec: Recorded) -> None:
        with self._cond:
            self.recorded.append(rec)
            self._cond.notify_all()

    def _take_failure(self, rec: Recorded) -> tuple[int, Json] | None:
        with self._cond:
            for i, (method, part, status, body, times) in enumerate(self._failures):
                if method == rec.method and part in rec.path:
                    if times > 1:
                        self._failures[i] = (method, part, status, body, times - 1)
                    else:
                        del self._failures[i]
                    return status, body
        return None

    async def _attachment(self, request: web.Request) -> web.Response:
        data = self.files.get(request.match_info["name"])
        return web.Response(body=data) if data is not None else web.Response(status=404)


@contextlib.contextmanager
def use_local_discord(server: FakeDiscord) -> Iterator[None]:
    """Point discord.py's REST base and default gateway at `server`, then restore them.
    Both are process-wide class attributes: one fake Discord per process at a time."""
    old_base, old_gateway = Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY
    Route.BASE = server.api_base
    DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(server.gateway_url)
    try:
        yield
    finally:
        Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY = old_base, old_gateway


class ClientThread:
    """Runs a discord.py client on its own event loop in a daemon thread, as in production
    where the bot owns its loop; the test thread stays free to drive FakeDiscord."""

    def __init__(self, client: discord.Client, token: str) -> None:
        self.client, self.token = client, token
        self.loop: asyncio.AbstractEventLoop | None = None
        self.error: BaseException | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._main, name="discord-client", daemon=True)

    def start(self, ready_timeout: float = 10.0) -> ClientThread:
        self._thread.start()
        deadline = time.monotonic() + ready_timeout
        while not self._ready.wait(0.02):
            if self.error is not None or not self._thread.is_alive():
                raise RuntimeError("the client stopped before on_ready") from self.error
            if time.monotonic() > deadline:
                raise TimeoutError(f"client not ready in {ready_timeout}s")
        return self

    def call(self, coro: Awaitable[Any], timeout: float = 10.0) -> Any:
        """Run a coroutine on the client's loop and return its result."""
        assert self.loop is not None
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)  # type: ignore[arg-type]

    def stop(self, timeout: float = 10.0) -> None:
        if self.loop is not None and self._thread.is_alive():
            self.call(self.client.close(), timeout)
        self._thread.join(timeout)

    def _main(self) -> None:
        try:
            asyncio.run(self._run())
        except BaseException as exc:  # reported by start()
            self.error = exc

    async def _run(self) -> None:
        self.loop = asyncio.get_running_loop()
        async with self.client:
            waiter = asyncio.create_task(self._when_ready())
            try:
                await self.client.start(self.token)
            finally:
                waiter.cancel()

    async def _when_ready(self) -> None:
        await self.client.wait_until_ready()
        self._ready.set()


class ApiError(Exception):
    """A Discord-style error answer: {"message", "code", "errors"}."""

    def __init__(self, status: int, code: int, message: str,
                 errors: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.body = status, {"message": message, "code": code}
        if errors:  # discord.py flattens these into "In field: why" lines
            self.body["errors"] = {k: {"_errors": [{"code": "INVALID", "message": v}]}
                                   for k, v in errors.items()}


def _invalid(errors: dict[str, str]) -> ApiError:
    if "_empty" in errors:
        return ApiError(400, 50006, errors["_empty"])
    return ApiError(400, 50035, "Invalid Form Body", errors)


async def _read_body(request: web.Request) -> tuple[Any, list[Json]]:
    """JSON body, or multipart payload_json plus file parts (discord.py sends files so)."""
    if request.content_type != "multipart/form-data":
        raw = await request.read()
        return (json.loads(raw) if raw else None), []
    body: Any = None
    files: list[Json] = []
    async for part in await request.multipart():
        if not isinstance(part, BodyPartReader):
            continue
        if part.name == "payload_json":
            body = json.loads(await part.text())
        else:
            files.append({"field": part.name, "filename": part.filename,
                          "content_type": part.headers.get("Content-Type"),
                          "data": bytes(await part.read())})
    return body, files


_S = r"(\d+)"
_ROUTES: list[tuple[tuple[str, ...], re.Pattern[str], str]] = [
    (tuple(methods.split()), re.compile(path.replace("{id}", _S)), handler)
    for methods, path, handler in [
        ("GET", "/users/@me", "_get_me"),
        ("GET", "/users/{id}", "_get_user"),
        ("POST", "/users/@me/channels", "_open_dm"),
        ("GET", "/gateway", "_get_gateway"),
        ("GET", "/gateway/bot", "_get_gateway_bot"),
        ("GET", "/(?:oauth2/)?applications/@me", "_get_app"),
        ("GET PUT", "/applications/{id}/commands", "_commands"),
        ("GET PUT", "/applications/{id}/guilds/{id}/commands", "_commands"),
        ("POST", "/interactions/{id}/([^/]+)/callback", "_callback"),
        ("POST", "/webhooks/{id}/([^/]+)", "_followup"),
        ("GET PATCH DELETE", "/webhooks/{id}/([^/]+)/messages/(@original|\\d+)",
         "_webhook_message"),
        ("GET", "/channels/{id}", "_get_channel"),
        ("GET POST", "/channels/{id}/messages", "_channel_messages"),
        ("GET PATCH DELETE", "/channels/{id}/messages/{id}", "_channel_message"),
        ("POST", "/channels/{id}/messages/{id}/threads", "_thread_from_message"),
        ("POST", "/channels/{id}/threads", "_thread"),
        ("PUT DELETE", "/channels/{id}/messages/{id}/reactions/([^/]+)/(@me|\\d+)",
         "_reaction"),
        ("POST", "/channels/{id}/typing", "_typing"),
        ("GET", "/guilds/{id}/members/{id}", "_get_member"),
    ]
]
