"""The REST half of the fake Discord in discord_server.py: request parsing (JSON or
multipart with files), recording, injected failures, auth, the route table and a handler
per route, plus the attachment downloads.

Handlers run on the server loop and return (status, JSON body or None for 204), or raise
ApiError; they keep state through the Store and tell the bot through the Gateway."""

from __future__ import annotations

import json
import re
import time
import traceback
from typing import TYPE_CHECKING, Any

from aiohttp import BodyPartReader, web

from standins import discord_payloads as p
from standins.discord_gateway import Gateway, app_flags
from standins.discord_payloads import InteractionRef, Json, Recorded, StoredMessage, snowflake
from standins.discord_store import ApiError, Store

if TYPE_CHECKING:
    from standins.discord_server import FakeDiscord


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
        ("DELETE", "/users/@me/guilds/{id}", "_leave_guild"),
    ]
]


class Rest:
    """The /api/v{n}/ endpoints and /attachments/ of one FakeDiscord."""

    def __init__(self, server: FakeDiscord, store: Store, gateway: Gateway) -> None:
        self.server, self.store, self.gateway = server, store, gateway
        self._cond = server._cond  # the server's: waiters wake on every recorded request
        # (METHOD, path part, status, body, times left), filled by FakeDiscord.fail_next
        self.failures: list[tuple[str, str, int, Json, int]] = []

    async def handle(self, request: web.Request) -> web.Response:
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
        with self._cond:
            self.server.recorded.append(rec)
            self._cond.notify_all()
        if result is None:
            return web.Response(status=204, headers=headers)
        # Exactly "application/json": discord.py parses nothing else (no "; charset=").
        return web.Response(body=json.dumps(result).encode(), status=status, headers=headers,
                            content_type="application/json")

    async def attachment(self, request: web.Request) -> web.Response:
        data = self.server.files.get(request.match_info["name"])
        return web.Response(body=data) if data is not None else web.Response(status=404)

    def _take_failure(self, rec: Recorded) -> tuple[int, Json] | None:
        with self._cond:
            for i, (method, part, status, body, times) in enumerate(self.failures):
                if method == rec.method and part in rec.path:
                    if times > 1:
                        self.failures[i] = (method, part, status, body, times - 1)
                    else:
                        del self.failures[i]
                    return status, body
        return None

    async def _route(self, rec: Recorded) -> tuple[int, Any]:
        for methods, pattern, name in _ROUTES:
            match = pattern.fullmatch(rec.path)
            if match and rec.method in methods:
                # Interaction webhooks are authorised by their token, everything else by the bot's.
                webhook = rec.path.startswith(("/webhooks/", "/interactions/"))
                if not webhook and rec.headers.get("Authorization") != f"Bot {self.server.token}":
                    raise ApiError(401, 0, "401: Unauthorized")
                return await getattr(self, name)(rec, *match.groups())
        raise ApiError(404, 0, "404: Not Found")

    async def _echo(self, event: str, message: StoredMessage) -> None:
        if self.server.echo_own_messages or event != "MESSAGE_CREATE":
            await self.gateway.dispatch(event, self.store.for_gateway(message))

    # --- users, gateway, application ------------------------------------------------------

    async def _get_me(self, rec: Recorded) -> tuple[int, Any]:
        return 200, {**self.server.world.bot, "verified": True, "mfa_enabled": False,
                     "flags": 0}

    async def _get_user(self, rec: Recorded, uid: str) -> tuple[int, Any]:
        return 200, self.store.user(int(uid))

    async def _open_dm(self, rec: Recorded) -> tuple[int, Any]:
        channels = self.server.channels
        recipient = self.store.user(int(rec.json["recipient_id"]))
        for cid, ch in channels.items():
            if ch["type"] == 1 and ch["recipients"][0]["id"] == recipient["id"]:
                return 200, channels[cid]
        dm = {"id": str(snowflake()), "type": 1, "recipients": [recipient],
              "last_message_id": None}
        channels[int(dm["id"])] = dm
        return 200, dm

    async def _get_gateway(self, rec: Recorded) -> tuple[int, Any]:
        return 200, {"url": self.server.gateway_url}

    async def _get_gateway_bot(self, rec: Recorded) -> tuple[int, Any]:
        limit = {"total": 1000, "remaining": 999, "reset_after": 0, "max_concurrency": 1}
        return 200, {"url": self.server.gateway_url, "shards": 1, "session_start_limit": limit}

    async def _get_app(self, rec: Recorded) -> tuple[int, Any]:
        return 200, self.server.world.app_info(app_flags(self.server.privileged_intents))

    async def _commands(self, rec: Recorded, app: str, guild: str | None = None
                        ) -> tuple[int, Any]:
        commands = self.server.commands
        if int(app) != self.server.app_id:
            raise ApiError(403, 50001, "Missing Access")
        key = int(guild) if guild else None
        if key is not None and key not in self.server.joined:  # not invited there (yet)
            raise ApiError(403, 50001, "Missing Access")
        if rec.method == "GET":
            return 200, commands.get(key, [])
        if errors := p.check_commands(rec.json or []):
            raise ApiError(400, 50035, "Invalid Form Body", errors)
        old = {(c["name"], c.get("type", 1)): c["id"] for c in commands.get(key, [])}
        echoed = []
        for cmd in rec.json:
            kind = cmd.get("type", 1)
            echoed.append({"description": "", "options": [], "default_member_permissions": None,
                           "nsfw": False, **cmd, "type": kind, "application_id": str(app),
                           "id": old.get((cmd["name"], kind)) or str(snowflake()),
                           "version": str(snowflake())}
                          | ({"guild_id": guild} if guild else {}))
        commands[key] = echoed
        return 200, echoed

    # --- interactions -------------------------------------------------------------------

    async def _callback(self, rec: Recorded, iid: str, token: str) -> tuple[int, Any]:
        ref = self.server.interactions.get(int(iid))
        deadline = self.server.interaction_deadline
        if ref is None or ref.token != token or (
                deadline is not None and rec.at - ref.created > deadline):
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
            message = self.store.new_message(ref.channel_id, data if kind == 4 else {},
                                             rec.files, interaction=ref, flags=flags,
                                             check=kind == 4)
            ref.original = message.id
        elif kind == 7:
            message = self.store.message(ref.channel_id, ref.original or 0)
            self.store.edit(message, data, rec.files)
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
        for ref in self.server.interactions.values():
            if ref.token == token and int(app) == self.server.app_id and ref.acked is not None:
                return ref
        raise ApiError(404, 10015, "Unknown Webhook")  # no webhook until the first response

    async def _followup(self, rec: Recorded, app: str, token: str) -> tuple[int, Any]:
        ref, body = self._by_token(app, token), rec.json or {}
        original = self.server.messages.get(ref.original or 0)
        if ref.acked == 5 and original is not None and original.flags & p.LOADING:
            # The first followup after a deferral fills in the "thinking..." message.
            self.store.edit(original, body, rec.files)
            message, event = original, "MESSAGE_UPDATE"
        else:
            message = self.store.new_message(ref.channel_id, body, rec.files, interaction=ref,
                                             flags=(body.get("flags") or 0) & p.EPHEMERAL)
            event = "MESSAGE_CREATE"
        if not message.ephemeral:
            await self._echo(event, message)
        return (200, message.payload) if rec.query.get("wait") in ("1", "true", "True") \
            else (204, None)

    async def _webhook_message(self, rec: Recorded, app: str, token: str, which: str
                               ) -> tuple[int, Any]:
        ref = self._by_token(app, token)
        message = self.store.message(ref.channel_id, ref.original if which == "@original"
                                     else int(which))
        return await self._message_op(rec, message)

    # --- channels, messages, threads ------------------------------------------------------

    async def _get_channel(self, rec: Recorded, cid: str) -> tuple[int, Any]:
        return 200, self.store.channel(int(cid))

    async def _channel_messages(self, rec: Recorded, cid: str) -> tuple[int, Any]:
        if rec.method == "POST":
            message = self.store.new_message(int(cid), rec.json or {}, rec.files)
            await self._echo("MESSAGE_CREATE", message)
            return 200, message.payload
        self.store.channel(int(cid))
        q = rec.query
        found = [m for m in self.server.messages_in(int(cid), from_bot=None) if not m.ephemeral
                 and m.id < int(q.get("before", 1 << 63)) and m.id > int(q.get("after", 0))]
        return 200, [self.store.visible(m.payload)
                     for m in reversed(found)][:int(q.get("limit", 50))]

    async def _channel_message(self, rec: Recorded, cid: str, mid: str) -> tuple[int, Any]:
        return await self._message_op(rec, self.store.message(int(cid), int(mid)))

    async def _message_op(self, rec: Recorded, message: StoredMessage) -> tuple[int, Any]:
        if rec.method == "GET":
            return 200, self.store.visible(message.payload)
        if not message.from_bot:
            raise ApiError(403, 50005, "Cannot edit a message authored by another user")
        if rec.method == "DELETE":
            with self._cond:
                message.deleted = True
            if not message.ephemeral:
                guild = self.store.channel(message.channel_id).get("guild_id")
                await self.gateway.dispatch("MESSAGE_DELETE", {
                    "id": str(message.id), "channel_id": str(message.channel_id)}
                    | ({"guild_id": guild} if guild else {}))
            return 204, None
        self.store.edit(message, rec.json or {}, rec.files)
        if not message.ephemeral:
            await self._echo("MESSAGE_UPDATE", message)
        return 200, message.payload

    async def _thread_from_message(self, rec: Recorded, cid: str, mid: str) -> tuple[int, Any]:
        message = self.store.message(int(cid), int(mid))
        if message.id in self.server.channels:
            raise ApiError(400, 160004, "A thread has already been created for this message")
        # A thread started from a message has that message's id.
        thread = await self._new_thread(int(cid), message.id, rec.json or {}, 11)
        message.payload["thread"] = thread
        return 201, thread

    async def _thread(self, rec: Recorded, cid: str) -> tuple[int, Any]:
        body = rec.json or {}
        thread = await self._new_thread(int(cid), snowflake(), body, body.get("type", 11))
        if "message" in body:  # forum posts start with a message
            first = self.store.new_message(int(thread["id"]), body["message"], rec.files)
            thread = {**thread, "message": first.payload}
        return 201, thread

    async def _new_thread(self, parent: int, tid: int, body: Json, kind: int) -> Json:
        if self.store.channel(parent)["type"] not in (0, 5, 15):
            raise ApiError(400, 50024, "Cannot execute action on this channel type")
        if not 1 <= len(body.get("name") or "") <= 100:
            raise ApiError(400, 50035, "Invalid Form Body", {"name": "1 to 100 characters."})
        world = self.server.world_of(parent)
        needed = p.CREATE_PRIVATE_THREADS if kind == 12 else p.CREATE_PUBLIC_THREADS
        if not world.permissions(self.server.bot_id) & needed:
            raise ApiError(403, 50013, "Missing Permissions")
        guild = world.guild_id
        thread = p.thread(tid, guild, parent, self.server.bot_id, body["name"],
                          kind, body.get("auto_archive_duration") or 1440)
        self.server.channels[tid] = thread
        await self.gateway.dispatch("THREAD_CREATE", {**thread, "newly_created": True})
        return thread

    async def _reaction(self, rec: Recorded, cid: str, mid: str, emoji: str, who: str
                        ) -> tuple[int, Any]:
        message = self.store.message(int(cid), int(mid))
        with self._cond:
            if rec.method == "PUT" and emoji not in message.reactions:
                message.reactions.append(emoji)
            elif rec.method == "DELETE" and emoji in message.reactions:
                message.reactions.remove(emoji)
        return 204, None

    async def _typing(self, rec: Recorded, cid: str) -> tuple[int, Any]:
        self.store.channel(int(cid))
        return 204, None

    async def _get_member(self, rec: Recorded, gid: str, uid: str) -> tuple[int, Any]:
        try:
            return 200, self.server.worlds[int(gid)].member_of(int(uid))
        except (KeyError, StopIteration):
            raise ApiError(404, 10007, "Unknown Member") from None

    async def _leave_guild(self, rec: Recorded, gid: str) -> tuple[int, Any]:
        """The bot leaves a server: GUILD_DELETE (without "unavailable": removed) reaches
        the shard that held it, and nothing of that server comes any more."""
        if int(gid) not in self.server.joined:
            raise ApiError(404, 10004, "Unknown Guild")
        await self.gateway.dispatch("GUILD_DELETE", {"id": gid})
        with self._cond:
            self.server.joined.remove(int(gid))
        return 204, None
