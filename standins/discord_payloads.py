"""Discord API object builders and request checks for the fake server in discord_server.py.

Shapes follow what discord.py 2.7's parsers read (state.py, guild.py, message.py,
interactions.py) and the public API docs; limits are the documented ones, so a bot that
would get a 400 from Discord gets one here too."""

from __future__ import annotations

import itertools
import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

Json = dict[str, Any]

DISCORD_EPOCH_MS = 1420070400000
_counter = itertools.count()

# Permission bits (https://discord.com/developers/docs/topics/permissions).
ADMINISTRATOR = 1 << 3
MANAGE_GUILD = 1 << 5
ADD_REACTIONS = 1 << 6
VIEW_CHANNEL = 1 << 10
SEND_MESSAGES = 1 << 11
EMBED_LINKS = 1 << 14
ATTACH_FILES = 1 << 15
READ_MESSAGE_HISTORY = 1 << 16
USE_APPLICATION_COMMANDS = 1 << 31
CREATE_PUBLIC_THREADS = 1 << 35
CREATE_PRIVATE_THREADS = 1 << 36
SEND_MESSAGES_IN_THREADS = 1 << 38
ALL_PERMISSIONS = (1 << 51) - 1
EVERYONE_PERMISSIONS = (VIEW_CHANNEL | SEND_MESSAGES | READ_MESSAGE_HISTORY | ADD_REACTIONS
                        | EMBED_LINKS | ATTACH_FILES | USE_APPLICATION_COMMANDS
                        | CREATE_PUBLIC_THREADS | SEND_MESSAGES_IN_THREADS)

# Gateway intents that must be switched on in the developer portal.
PRIVILEGED_INTENTS = {"members": 1 << 1, "presences": 1 << 8, "message_content": 1 << 15}
EPHEMERAL, LOADING = 1 << 6, 1 << 7


def snowflake() -> int:
    """A real-looking snowflake, so discord.py's created_at values are sane."""
    return ((int(time.time() * 1000) - DISCORD_EPOCH_MS) << 22) | (next(_counter) & 0x3FFFFF)


def now_iso() -> str:
    return datetime.now(UTC).isoformat()


def user(uid: int, name: str, *, bot: bool = False) -> Json:
    return {"id": str(uid), "username": name, "global_name": name, "discriminator": "0",
            "avatar": None, "bot": bot, "public_flags": 0}


def role(rid: int, name: str, permissions: int, position: int, **extra: Any) -> Json:
    return {"id": str(rid), "name": name, "permissions": str(permissions), "position": position,
            "color": 0, "colors": {"primary_color": 0, "secondary_color": None,
                                   "tertiary_color": None},
            "hoist": False, "managed": False, "mentionable": False, "flags": 0, "icon": None,
            "unicode_emoji": None, **extra}


def member(user_payload: Json, role_ids: list[int], **extra: Any) -> Json:
    return {"user": user_payload, "roles": [str(r) for r in role_ids], "joined_at": now_iso(),
            "deaf": False, "mute": False, "flags": 0, "nick": None, "avatar": None,
            "pending": False, "premium_since": None, "communication_disabled_until": None,
            **extra}


def text_channel(cid: int, guild_id: int, name: str, position: int, kind: int = 0) -> Json:
    return {"id": str(cid), "type": kind, "guild_id": str(guild_id), "name": name,
            "position": position, "topic": None, "nsfw": False, "parent_id": None,
            "permission_overwrites": [], "rate_limit_per_user": 0, "last_message_id": None}


def thread(tid: int, guild_id: int, parent_id: int, owner_id: int, name: str,
           kind: int = 11, auto_archive: int = 1440) -> Json:
    stamp = now_iso()
    return {"id": str(tid), "type": kind, "guild_id": str(guild_id), "parent_id": str(parent_id),
            "owner_id": str(owner_id), "name": name, "last_message_id": None,
            "message_count": 0, "member_count": 1, "total_message_sent": 0,
            "rate_limit_per_user": 0, "flags": 0,
            "thread_metadata": {"archived": False, "auto_archive_duration": auto_archive,
                                "archive_timestamp": stamp, "locked": False,
                                "create_timestamp": stamp},
            "member": {"id": str(tid), "user_id": str(owner_id), "join_timestamp": stamp,
                       "flags": 0}}


@dataclass
class World:
    """A guild the fake reports, with ids a test can use. Mutate before start(). A second
    server of the same bot is `World(guild_name=..., same_bot_as=first)`."""

    bot_name: str = "newsbot"
    guild_name: str = "Newsroom"
    channel_names: tuple[str, ...] = ("general", "news", "bot-log")
    same_bot_as: World | None = field(default=None, repr=False)
    bot: Json = field(init=False)
    app_id: int = field(init=False)
    guild_id: int = field(init=False)
    admin: Json = field(init=False)
    user: Json = field(init=False)
    roles: list[Json] = field(init=False)
    members: list[Json] = field(init=False)
    channels: list[Json] = field(init=False)

    def __post_init__(self) -> None:
        if self.same_bot_as is not None:
            self.app_id, self.bot = self.same_bot_as.app_id, self.same_bot_as.bot
        else:
            self.app_id = snowflake()
            self.bot = user(self.app_id, self.bot_name, bot=True)  # bot user id == app id
        self.guild_id = snowflake()
        self.admin = user(snowflake(), "editor")
        self.user = user(snowflake(), "reader")
        admin_role, bot_role = snowflake(), snowflake()
        self.roles = [
            role(self.guild_id, "@everyone", EVERYONE_PERMISSIONS, 0),
            role(admin_role, "Editors", MANAGE_GUILD, 1),
            role(bot_role, self.bot_name, EVERYONE_PERMISSIONS, 2, managed=True,
                 tags={"bot_id": str(self.app_id)}),
        ]
        self.members = [member(self.bot, [bot_role]), member(self.admin, [admin_role]),
                        member(self.user, [])]
        self.channels = [text_channel(snowflake(), self.guild_id, name, i)
                         for i, name in enumerate(self.channel_names)]

    def channel_id(self, name: str) -> int:
        return next(int(c["id"]) for c in self.channels if c["name"] == name)

    def member_of(self, uid: int) -> Json:
        return next(m for m in self.members if int(m["user"]["id"]) == uid)

    def set_bot_permission(self, bit: int, allowed: bool) -> None:
        """Grant or take away a server-wide permission of the bot (on @everyone and on its
        own role), as a server's admin does in its settings."""
        bot_roles = {self.guild_id, *(int(r) for r in self.member_of(self.app_id)["roles"])}
        for r in self.roles:
            if int(r["id"]) in bot_roles:
                held = int(r["permissions"])
                r["permissions"] = str(held | bit if allowed else held & ~bit)

    def permissions(self, uid: int) -> int:
        """Guild-level permissions: @everyone plus the member's roles; admin means all."""
        held = {int(r) for r in self.member_of(uid)["roles"]} | {self.guild_id}
        perms = 0
        for r in self.roles:
            if int(r["id"]) in held:
                perms |= int(r["permissions"])
        return ALL_PERMISSIONS if perms & ADMINISTRATOR else perms

    def guild_create(self, include_members: bool) -> Json:
        # Without the members intent Discord only sends the bot's own member.
        members = self.members if include_members else [self.member_of(self.app_id)]
        return {"id": str(self.guild_id), "name": self.guild_name, "icon": None,
                "owner_id": self.admin["id"], "roles": self.roles, "emojis": [],
                "stickers": [], "features": [], "member_count": len(self.members),
                "members": members, "channels": self.channels, "threads": [],
                "presences": [], "voice_states": [], "stage_instances": [],
                "guild_scheduled_events": [], "soundboard_sounds": [], "large": False,
                "unavailable": False, "joined_at": now_iso(), "preferred_locale": "en-US",
                "system_channel_id": self.channels[0]["id"] if self.channels else None,
                "verification_level": 0, "default_message_notifications": 0,
                "explicit_content_filter": 0, "mfa_level": 0, "nsfw_level": 0,
                "premium_tier": 0, "afk_timeout": 300, "description": None}

    def app_info(self, flags: int) -> Json:
        return {"id": str(self.app_id), "name": self.bot_name, "icon": None,
                "description": "", "summary": "", "rpc_origins": [], "bot_public": True,
                "bot_require_code_grant": False, "owner": self.admin, "team": None,
                "verify_key": "0" * 64, "flags": flags, "bot": self.bot, "tags": [],
                "redirect_uris": [], "interactions_endpoint_url": None,
                "approximate_guild_count": 1}


# --- request checks: return {"field.path": "why"}; empty means valid -------------------

def _cap(errors: dict[str, str], where: str, value: Any, limit: int) -> None:
    if value is not None and len(value) > limit:
        errors[where] = f"Must be {limit} or fewer in length."


def check_message(body: Json, *, creating: bool, files: int = 0) -> dict[str, str]:
    errors: dict[str, str] = {}
    _cap(errors, "content", body.get("content"), 2000)
    embeds = body.get("embeds") or []
    _cap(errors, "embeds", embeds, 10)
    total = 0
    for i, e in enumerate(embeds):
        for key, limit in (("title", 256), ("description", 4096)):
            _cap(errors, f"embeds.{i}.{key}", e.get(key), limit)
            total += len(e.get(key) or "")
        _cap(errors, f"embeds.{i}.fields", e.get("fields"), 25)
        for j, f in enumerate(e.get("fields") or []):
            _cap(errors, f"embeds.{i}.fields.{j}.name", f.get("name"), 256)
            _cap(errors, f"embeds.{i}.fields.{j}.value", f.get("value"), 1024)
            if not f.get("name") or not f.get("value"):
                errors[f"embeds.{i}.fields.{j}"] = "Field name and value are required."
            total += len(f.get("name") or "") + len(f.get("value") or "")
        _cap(errors, f"embeds.{i}.footer.text", (e.get("footer") or {}).get("text"), 2048)
        _cap(errors, f"embeds.{i}.author.name", (e.get("author") or {}).get("name"), 256)
    if total > 6000:
        errors["embeds"] = "Embed size exceeds maximum size of 6000"
    rows = body.get("components") or []
    _cap(errors, "components", rows, 5)
    for i, row in enumerate(rows):
        for j, c in enumerate(row.get("components") or []):
            where = f"components.{i}.components.{j}"
            _cap(errors, f"{where}.custom_id", c.get("custom_id"), 100)
            _cap(errors, f"{where}.label", c.get("label"), 80)
            if c.get("type") == 2 and (c.get("style") == 5) != bool(c.get("url")):
                errors[where] = "Link buttons need a url and other buttons must not have one."
            if c.get("type") == 2 and c.get("style") != 5 and not c.get("custom_id"):
                errors[f"{where}.custom_id"] = "This field is required"
    mentions = body.get("allowed_mentions") or {}
    for kind in ("users", "roles"):
        if kind in (mentions.get("parse") or []) and mentions.get(kind):
            errors[f"allowed_mentions.{kind}"] = f'Cannot parse "{kind}" and list {kind}.'
    has_body = body.get("content") or embeds or rows or files or body.get("sticker_ids") \
        or body.get("poll")
    if creating and not has_body and not errors:
        errors["_empty"] = "Cannot send an empty message"
    return errors


_NAME = re.compile(r"^[-_'\w]{1,32}$")


def check_commands(commands: list[Json]) -> dict[str, str]:
    errors: dict[str, str] = {}
    seen: set[tuple[int, str]] = set()
    for i, cmd in enumerate(commands):
        kind, name = cmd.get("type", 1), cmd.get("name", "")
        if (kind, name) in seen:
            errors[f"{i}.name"] = "Application command names must be unique"
        seen.add((kind, name))
        if kind == 1:
            errors.update(_check_option_like(cmd, str(i)))
        elif not 1 <= len(name) <= 32:
            errors[f"{i}.name"] = "Must be between 1 and 32 in length."
    return errors


def _check_option_like(item: Json, where: str) -> dict[str, str]:
    errors: dict[str, str] = {}
    name, desc = item.get("name", ""), item.get("description", "")
    if not _NAME.match(name) or name != name.lower():
        errors[f"{where}.name"] = "Invalid application command name (1-32 lowercase)."
    if not 1 <= len(desc) <= 100:
        errors[f"{where}.description"] = "Must be between 1 and 100 in length."
    options = item.get("options") or []
    _cap(errors, f"{where}.options", options, 25)
    optional_seen = False
    for j, opt in enumerate(options):
        errors.update(_check_option_like(opt, f"{where}.options.{j}"))
        _cap(errors, f"{where}.options.{j}.choices", opt.get("choices"), 25)
        if opt.get("required"):
            if optional_seen:
                errors[f"{where}.options.{j}.required"] = "Required options must be first."
        elif opt.get("type") not in (1, 2):
            optional_seen = True
    return errors


def option_list(options: dict[str, Any] | list[Json] | None,
                focused: str | None = None) -> list[Json]:
    """{"query": "rates", "limit": 3} as interaction options, types inferred from values."""
    if options is None:
        return []
    if isinstance(options, list):
        return options
    out: list[Json] = []
    for name, value in options.items():
        kind = 5 if isinstance(value, bool) else 4 if isinstance(value, int) else \
            10 if isinstance(value, float) else 3
        opt: Json = {"name": name, "type": kind, "value": value}
        if name == focused:
            opt["focused"] = True
        out.append(opt)
    return out


_MENTION = re.compile(r"<@!?(\d+)>")


def message(mid: int, channel: Json, author: Json, body: Json, *, kind: int = 0,
            flags: int = 0, attachments: list[Json] | None = None,
            known_users: dict[int, Json] | None = None) -> Json:
    """A message object as Discord returns it; `body` is what the sender asked for."""
    users = known_users or {}
    mentioned = {int(u) for u in _MENTION.findall(body.get("content") or "")}
    payload: Json = {
        "id": str(mid), "channel_id": channel["id"], "author": author,
        "content": body.get("content") or "", "timestamp": now_iso(),
        "edited_timestamp": None, "tts": bool(body.get("tts")), "mention_everyone": False,
        "mentions": [users[u] for u in sorted(mentioned) if u in users],
        "mention_roles": [], "attachments": attachments or [],
        "embeds": [{"type": "rich", **e} for e in body.get("embeds") or []],
        "components": body.get("components") or [], "pinned": False, "type": kind,
        "flags": flags | (body.get("flags") or 0),
    }
    if "guild_id" in channel:
        payload["guild_id"] = channel["guild_id"]
    if body.get("nonce") is not None:
        payload["nonce"] = body["nonce"]
    return payload


def interaction_data(name: str, options: list[Json], command_id: int,
                     guild_id: int | None, kind: int = 1) -> Json:
    """Slash-command data; "news search" nests a subcommand, "a b c" a group and subcommand.
    Context-menu names (kind 2 or 3) may hold spaces and have no subcommands."""
    parts = name.split() if kind == 1 else [name]
    if len(parts) == 3:
        options = [{"type": 2, "name": parts[1],
                    "options": [{"type": 1, "name": parts[2], "options": options}]}]
    elif len(parts) == 2:
        options = [{"type": 1, "name": parts[1], "options": options}]
    data: Json = {"id": str(command_id), "name": parts[0], "type": kind, "options": options}
    if guild_id is not None:
        data["guild_id"] = str(guild_id)
    return data


# --- what the fake server keeps, for tests to assert on ---------------------------------

@dataclass
class Recorded:
    """One REST request the bot made, and the answer it got."""

    method: str
    path: str  # after /api/v10, e.g. /channels/123/messages
    query: dict[str, str]
    json: Any  # the JSON body, or a multipart request's payload_json
    headers: dict[str, str]
    files: list[Json]  # multipart file parts: field, filename, content_type, data
    at: float  # time.monotonic() on arrival
    status: int = 0
    response: Any = None


@dataclass
class StoredMessage:
    """A message the server knows: `payload` as Discord returns it, `body` as it was sent."""

    payload: Json
    body: Json = field(default_factory=dict)
    from_bot: bool = False
    interaction_id: int | None = None
    deleted: bool = False
    edits: list[Json] = field(default_factory=list)  # PATCH bodies, in order
    reactions: list[str] = field(default_factory=list)  # emoji the bot added

    @property
    def id(self) -> int:
        return int(self.payload["id"])

    @property
    def channel_id(self) -> int:
        return int(self.payload["channel_id"])

    @property
    def content(self) -> str:
        return self.payload["content"]

    @property
    def embeds(self) -> list[Json]:
        return self.payload["embeds"]

    @property
    def components(self) -> list[Json]:
        return self.payload["components"]

    @property
    def flags(self) -> int:
        return self.payload["flags"]

    @property
    def ephemeral(self) -> bool:
        return bool(self.payload["flags"] & EPHEMERAL)

    @property
    def allowed_mentions(self) -> Json | None:
        return self.body.get("allowed_mentions")

    @property
    def message_reference(self) -> Json | None:
        return self.payload.get("message_reference")


@dataclass
class InteractionRef:
    """An interaction the server sent, and how the bot answered it."""

    id: int
    token: str
    payload: Json
    created: float  # time.monotonic()
    acked: int | None = None  # callback type of the first (only allowed) response
    original: int | None = None  # message id that @original refers to
    choices: list[Json] | None = None  # autocomplete result (callback 8)
    modal: Json | None = None  # modal the bot opened (callback 9)

    @property
    def type(self) -> int:
        return int(self.payload["type"])

    @property
    def channel_id(self) -> int:
        return int(self.payload["channel_id"])
