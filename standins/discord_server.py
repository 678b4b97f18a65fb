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

FakeDiscord keeps the state and the test API; its parts run on the server loop: the websocket
(discord_gateway.py), the HTTP API (discord_rest.py), messages and lookups (discord_store.py)."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import socket
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import discord
import yarl
from aiohttp import web
from discord.gateway import DiscordWebSocket
from discord.http import Route

from standins import discord_payloads as p
from standins.discord_gateway import Gateway
from standins.discord_payloads import (
    InteractionRef,
    Json,
    Recorded,
    StoredMessage,
    World,
    snowflake,
)
from standins.discord_rest import Rest
from standins.discord_store import Store


class FakeDiscord:
    """Discord for one bot in one guild (see World), or in several (`add_guild`). Every
    public method is thread-safe.

    State a test can read: recorded (REST requests), messages (id -> StoredMessage, users'
    and the bot's), interactions (id -> InteractionRef), commands (synced, by guild id or
    None), channels (incl. threads and DMs), identifies, gateway_queries, gateway_received,
    worlds (guild id -> World, every server known here), joined (ids of those the bot is in).
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
        self.worlds: dict[int, World] = {self.world.guild_id: self.world}
        self.joined: list[int] = [self.world.guild_id]  # the servers the bot is a member of
        self.channels: dict[int, Json] = {int(c["id"]): c for c in self.world.channels}
        self.commands: dict[int | None, list[Json]] = {}  # guild id (None: global) -> list
        self.interactions: dict[int, InteractionRef] = {}
        self.files: dict[str, bytes] = {}
        self._cond = threading.Condition()  # notified on every change a test may wait for
        self._gateway = Gateway(self)  # websocket sessions, heartbeats, dispatch
        self._store = Store(self)  # users, channels, messages as Discord keeps them
        self._rest = Rest(self, self._store, self._gateway)  # the HTTP API
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

    def add_guild(self, world: World | str, *, join: bool = True) -> World:
        """Another server (a World made with same_bot_as=server.world, or a name). Before
        start() the bot is in it from the first READY; once running, `join` is the bot
        being invited: a GUILD_CREATE for a server it was not in (discord.py calls
        on_guild_join). join=False: a server the bot is not in (yet), where a guild
        command sync gets 403 Missing Access; `invite` it later."""
        if isinstance(world, str):
            world = World(guild_name=world, same_bot_as=self.world)
        with self._cond:
            self.worlds[world.guild_id] = world
            self.channels |= {int(c["id"]): c for c in world.channels}
        if join:
            self.invite(world)
        return world

    def invite(self, world: World) -> None:
        """The bot joins a server known here (from the next READY, or at once if running)."""
        with self._cond:
            self.joined.append(world.guild_id)
        if self._loop is not None:
            joined = world.guild_create(bool(self.intents & p.PRIVILEGED_INTENTS["members"]))
            # Without "unavailable": a server joined, not one back after an outage.
            self.dispatch("GUILD_CREATE", {k: v for k, v in joined.items()
                                           if k != "unavailable"})

    def world_of(self, channel_id: int) -> World:
        """The server a channel belongs to (the first one for DMs)."""
        guild = self.channels.get(channel_id, {}).get("guild_id")
        return self.worlds.get(int(guild), self.world) if guild else self.world

    async def _serve(self) -> None:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_get("/gateway", self._gateway.handle)
        app.router.add_get("/attachments/{name:.*}", self._rest.attachment)
        app.router.add_route("*", "/api/v{version}/{tail:.*}", self._rest.handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        await web.SockSite(self._runner, sock).start()

    async def _shutdown(self) -> None:
        await self._gateway.close_all(1001)
        if self._runner is not None:
            await self._runner.cleanup()

    def _call(self, coro: Awaitable[Any], timeout: float = 10.0) -> Any:
        assert self._loop is not None, "FakeDiscord is not started"
        if threading.current_thread() is self._thread:
            raise RuntimeError("blocking call from the server's own loop")
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)  # type: ignore[arg-type]

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
            cid = channel_id or self.channel_id()
            who = author or int(self.world_of(cid).user["id"])
            stored = self._store.new_message(cid, body, files, author=self._store.user(who))
            await self._gateway.dispatch("MESSAGE_CREATE", self._store.for_gateway(stored))
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
        cid = channel_id or self.channel_id()
        uid = user or int(self.world_of(cid).user["id"])

        async def send() -> InteractionRef:
            store = self._store
            iid, token = snowflake(), "tok_" + secrets.token_urlsafe(24)
            payload = store.interaction_base(iid, token, type, uid, cid)
            if type in (2, 4):
                top = command_name.split()[0] if command_type == 1 else command_name
                cmd_id, guild = store.registered(top, command_type)
                payload["data"] = p.interaction_data(command_name, p.option_list(
                    options, focused), cmd_id, guild, command_type)
                if command_type == 3 and target_id is not None:  # message context menu
                    # The target's content is sent even without the message content intent.
                    target = store.message(cid, target_id).payload
                    payload["data"] |= {"target_id": str(target_id), "options": [],
                                        "resolved": {"messages": {str(target_id): target}}}
            elif type == 3:
                payload["message"] = store.for_gateway(store.message(cid, message_id or 0))
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
            await self._gateway.dispatch("INTERACTION_CREATE", payload)
            return ref
        return self._call(send())

    def slash(self, name: str, options: dict[str, Any] | None = None, **kw: Any) -> InteractionRef:
        return self.interaction_create(name, options, **kw)

    def click(self, custom_id: str, message_id: int, **kw: Any) -> InteractionRef:
        return self.interaction_create(type=3, custom_id=custom_id, message_id=message_id, **kw)

    # --- test controls -----------------------------------------------------------------

    def dispatch(self, event: str, payload: Json) -> None:
        """Send any gateway event to the bot (sequence numbers are handled here)."""
        self._call(self._gateway.dispatch(event, payload))

    def send_op(self, op: int, d: Any = None) -> None:
        """A raw non-dispatch op: 1 asks for a heartbeat, 7 reconnect, 9 invalid session."""
        self._call(self._gateway.send_all({"op": op, "d": d}))

    def drop_connection(self, code: int = 4000) -> None:
        """Close the gateway socket the way Discord does on errors; the bot should RESUME."""
        self._call(self._gateway.close_all(code))

    def fail_next(self, method: str, path_contains: str, status: int, *, code: int = 0,
                  message: str = "injected failure", retry_after: float = 0.1,
                  times: int = 1) -> None:
        """Answer the next `times` matching REST requests with an error (429 is retryable)."""
        body: Json = {"message": message, "code": code}
        if status == 429:
            body = {"message": "You are being rate limited.", "retry_after": retry_after,
                    "global": False}
        with self._cond:
            self._rest.failures.append((method.upper(), path_contains, status, body, times))

    # --- heartbeats --------------------------------------------------------------------

    def heartbeat_times(self) -> list[list[float]]:
        """Heartbeat arrival times (time.monotonic), one list per gateway connection."""
        return self._gateway.heartbeat_times()

    def heartbeat_gaps(self, include_open: bool = True) -> list[float]:
        """Seconds between consecutive heartbeats; with include_open, also since the last
        one on each live connection (a bot blocked right now shows up too)."""
        return self._gateway.heartbeat_gaps(include_open)

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
