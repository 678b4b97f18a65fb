"""The state side of the fake Discord in discord_server.py: looking up users, channels,
messages and synced commands, storing new messages and edits (with their attachments), and
what the bot is allowed to see of them; plus ApiError, the error answers Discord gives.

The state itself (messages, channels, files, commands) lives on the FakeDiscord, where tests
read it; the Store is the logic over it, called on the server loop."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

from standins import discord_payloads as p
from standins.discord_payloads import InteractionRef, Json, StoredMessage, World, now_iso, snowflake

if TYPE_CHECKING:
    from standins.discord_server import FakeDiscord


class ApiError(Exception):
    """A Discord-style error answer: {"message", "code", "errors"}."""

    def __init__(self, status: int, code: int, message: str,
                 errors: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.body = status, {"message": message, "code": code}
        if errors:  # discord.py flattens these into "In field: why" lines
            self.body["errors"] = {k: {"_errors": [{"code": "INVALID", "message": v}]}
                                   for k, v in errors.items()}


def invalid(errors: dict[str, str]) -> ApiError:
    if "_empty" in errors:
        return ApiError(400, 50006, errors["_empty"])
    return ApiError(400, 50035, "Invalid Form Body", errors)


class Store:
    """Users, channels and messages of one FakeDiscord, as Discord keeps and shows them."""

    def __init__(self, server: FakeDiscord) -> None:
        self.server = server
        self._cond = server._cond  # the server's: waiters wake when a message is stored

    @property
    def world(self) -> World:
        return self.server.world

    def user(self, uid: int) -> Json:
        for world in list(self.server.worlds.values()):
            for u in (world.bot, world.admin, world.user, *(m["user"] for m in world.members)):
                if int(u["id"]) == uid:
                    return u
        raise ApiError(404, 10013, "Unknown User")

    def channel(self, cid: int) -> Json:
        if cid not in self.server.channels:
            raise ApiError(404, 10003, "Unknown Channel")
        return self.server.channels[cid]

    def message(self, cid: int, mid: int) -> StoredMessage:
        message = self.server.messages.get(mid)
        if message is None or message.deleted or message.channel_id != cid:
            raise ApiError(404, 10008, "Unknown Message")
        return message

    def registered(self, name: str, kind: int) -> tuple[int, int | None]:
        """The id Discord gave the synced command, and its guild (the tree looks it up there)."""
        for guild, commands in sorted(self.server.commands.items(),
                                      key=lambda kv: kv[0] is None):
            for cmd in commands:
                if cmd["name"] == name and cmd.get("type", 1) == kind:
                    return int(cmd["id"]), guild
        return snowflake(), None

    def interaction_base(self, iid: int, token: str, kind: int, uid: int, cid: int) -> Json:
        """What every INTERACTION_CREATE carries: ids, the channel, the app's permissions,
        and who (their member with permissions in a guild, the user in a DM)."""
        server = self.server
        channel, world = self.channel(cid), server.world_of(cid)
        payload: Json = {
            "id": str(iid), "application_id": str(server.app_id), "type": kind,
            "token": token, "version": 1, "channel_id": str(cid), "channel": channel,
            "app_permissions": str(world.permissions(server.bot_id)),
            "locale": "en-US", "entitlements": [], "attachment_size_limit": 10 << 20}
        if "guild_id" in channel:
            member = {**world.member_of(uid),
                      "permissions": str(world.permissions(uid))}  # for perm checks
            payload |= {"guild_id": str(world.guild_id), "guild_locale": "en-US",
                        "context": 0, "member": member,
                        "authorizing_integration_owners": {"0": str(world.guild_id)}}
        else:
            payload |= {"user": self.user(uid), "context": 1,
                        "authorizing_integration_owners": {"1": str(uid)}}
        return payload

    def new_message(self, channel_id: int, body: Json, files: list[Json], *,
                    author: Json | None = None, interaction: InteractionRef | None = None,
                    flags: int = 0, check: bool = True) -> StoredMessage:
        server = self.server
        channel, world = self.channel(channel_id), server.world_of(channel_id)
        if check and (errors := p.check_message(body, creating=True, files=len(files))):
            raise invalid(errors)
        mid, kind, extra = snowflake(), 0, {}
        reference = body.get("message_reference")
        if reference:
            target = server.messages.get(int(reference.get("message_id") or 0))
            if target is not None and not target.deleted:
                kind, extra = 19, {"message_reference": {
                    "type": 0, "message_id": str(target.id), "channel_id": str(target.channel_id),
                    "guild_id": str(world.guild_id)}, "referenced_message": {
                    k: v for k, v in target.payload.items() if k != "referenced_message"}}
            elif reference.get("fail_if_not_exists", True):
                raise ApiError(400, 50035, "Invalid Form Body",
                               {"message_reference": "Unknown message"})
        if interaction is not None:
            data = interaction.payload.get("data") or {}
            kind = {1: 20, 3: 23}.get(data.get("type", 0), 0) if interaction.type == 2 else 0
            invoker = interaction.payload.get("member", {}).get("user") \
                or interaction.payload.get("user")
            extra |= {"webhook_id": str(server.app_id), "application_id": str(server.app_id),
                      "interaction_metadata": {"id": str(interaction.id),
                                               "type": interaction.type, "user": invoker}}
        payload = p.message(mid, channel, author or world.bot, body, kind=kind, flags=flags,
                            attachments=self.keep_files(channel_id, files),
                            known_users={int(m["user"]["id"]): m["user"]
                                         for m in world.members}) | extra
        stored = StoredMessage(payload, body, from_bot=author is None,
                               interaction_id=interaction.id if interaction else None)
        with self._cond:
            server.messages[mid] = stored
            self._cond.notify_all()
        return stored

    def edit(self, message: StoredMessage, body: Json, files: list[Json]) -> None:
        new = dict(message.payload)
        for key in ("content", "components"):
            if key in body:
                new[key] = body[key] or ("" if key == "content" else [])
        if "embeds" in body:
            new["embeds"] = [{"type": "rich", **e} for e in body["embeds"] or []]
        if "attachments" in body or files:
            kept = {str(a.get("id")) for a in body.get("attachments") or []}
            new["attachments"] = [a for a in new["attachments"] if a["id"] in kept] \
                + self.keep_files(message.channel_id, files)
        shown = {k: new[k] for k in ("content", "embeds", "components")}
        if errors := p.check_message(shown, creating=True, files=len(new["attachments"])):
            raise invalid(errors)
        if not new["flags"] & p.LOADING:  # filling in "thinking..." is not an edit
            new["edited_timestamp"] = now_iso()
        new["flags"] &= ~p.LOADING
        with self._cond:
            message.payload = new
            message.body = {**message.body, **body}
            message.edits.append(body)
            self._cond.notify_all()

    def keep_files(self, channel_id: int, files: list[Json]) -> list[Json]:
        out = []
        for f in files:
            aid = snowflake()
            name = f"{channel_id}/{aid}/{f['filename']}"
            self.server.files[name] = f["data"]
            url = f"http://127.0.0.1:{self.server.port}/attachments/{name}"
            out.append({"id": str(aid), "filename": f["filename"], "size": len(f["data"]),
                        "url": url, "proxy_url": url, "content_type": f.get("content_type")})
        return out

    def visible(self, payload: Json) -> Json:
        """Without the message content intent Discord blanks other people's guild messages,
        except ones that mention the bot (on the gateway and over REST alike)."""
        if "referenced_message" in payload:
            payload = {**payload, "referenced_message": self.visible(
                payload["referenced_message"])}
        me = str(self.server.bot_id)
        if (self.server.intents & p.PRIVILEGED_INTENTS["message_content"]
                or "guild_id" not in payload
                or payload["author"]["id"] == me
                or any(u["id"] == me for u in payload["mentions"])):
            return payload
        return {**payload, "content": "", "embeds": [], "attachments": [], "components": []}

    def for_gateway(self, message: StoredMessage) -> Json:
        payload = self.visible(message.payload)
        if "guild_id" in payload:  # gateway messages carry the author's member, minus user
            with contextlib.suppress(StopIteration):
                world = self.server.worlds.get(int(payload["guild_id"]), self.world)
                member = world.member_of(int(payload["author"]["id"]))
                payload = {**payload, "member": {k: v for k, v in member.items() if k != "user"}}
        return payload
