"""The asyncio client: :class:`AsyncClient`, whose concurrent calls share one pipelined connection."""

from __future__ import annotations

import asyncio
from typing import (
    Any,
    AsyncIterator,
    Deque,
    Dict,
    List,
    Optional,
    Sequence,
    Tuple,
    TypeVar,
    Union,
    overload,
)
from collections import deque

from . import _protocol as p
from ._protocol import Request
from ._wire import LineBuffer, is_busy
from .client import DEFAULT_HOST, DEFAULT_PORT, DEFAULT_TIMEOUT
from .errors import ConnectionClosed
from .pipeline import AsyncPipeline
from .results import Explanation, SignInResult, UserAdded, WhoPage

__all__ = ["AsyncClient"]

T = TypeVar("T")

_CHUNK = 64 * 1024


class _Waiter:
    """A batch written to the server: how many reply lines it awaits, and where they go."""

    __slots__ = ("future", "count", "wait")

    def __init__(self, future: "asyncio.Future[List[str]]", count: int, wait: float) -> None:
        self.future = future
        self.count = count
        self.wait = wait


class _Link:
    """One open connection: its streams, and a task that hands each batch its replies."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.lines = LineBuffer()
        self.waiters: Deque[_Waiter] = deque()
        # The seconds the queued batches may legitimately make the server take (SYNC): a
        # batch's answer comes after theirs, so its timeout includes them.
        self.queued_wait = 0.0
        self.wakeup = asyncio.Event()
        self.drain_lock = asyncio.Lock()
        self.open = True
        self.task = asyncio.ensure_future(self._read_replies())

    def send(self, payload: bytes, count: int, wait: float) -> "Tuple[asyncio.Future[List[str]], float]":
        """Writes a batch now (so batches reach the server in call order); returns the
        future of its replies and how long the server may take beyond a quick answer."""
        future: asyncio.Future[List[str]] = asyncio.get_running_loop().create_future()
        self.waiters.append(_Waiter(future, count, wait))
        self.queued_wait += wait
        self.writer.write(payload)
        self.wakeup.set()
        return future, self.queued_wait

    async def drain(self) -> None:
        """Waits while the socket's send buffer is full (the replies keep being read)."""
        # Older Pythons refuse concurrent drain() calls on one writer.
        async with self.drain_lock:
            await self.writer.drain()

    async def _read_replies(self) -> None:
        try:
            while True:
                while not self.waiters:
                    self.wakeup.clear()
                    await self.wakeup.wait()
                waiter = self.waiters[0]
                replies = [await self._read_line() for _ in range(waiter.count)]
                self.waiters.popleft()
                self.queued_wait = max(self.queued_wait - waiter.wait, 0.0)
                # A caller that timed out or was cancelled no longer waits: its replies are
                # consumed all the same, which keeps every later batch in step.
                if not waiter.future.done():
                    waiter.future.set_result(replies)
                if replies and is_busy(replies[-1]):
                    raise ConnectionClosed("permd is at its connection limit")
        except asyncio.CancelledError:
            self.fail(ConnectionClosed("the client is closed"))
            raise
        except BaseException as error:  # noqa: B902 - every waiter must learn of it
            self.fail(error if isinstance(error, Exception) else ConnectionClosed(str(error)))

    async def _read_line(self) -> str:
        while True:
            line = self.lines.pop_line()
            if line is not None:
                return line
            chunk = await self.reader.read(_CHUNK)
            if not chunk:
                raise ConnectionClosed("permd closed the connection before answering")
            self.lines.feed(chunk)

    def fail(self, error: Exception) -> None:
        """Closes the connection and fails every batch still waiting with ``error``."""
        self.open = False
        self.writer.close()
        self.queued_wait = 0.0
        while self.waiters:
            future = self.waiters.popleft().future
            if not future.done():
                future.set_exception(error)

    async def close(self) -> None:
        """Stops the reader and closes the connection."""
        self.task.cancel()
        try:
            await self.task
        except (asyncio.CancelledError, Exception):
            pass
        self.fail(ConnectionClosed("the client is closed"))
        try:
            await self.writer.wait_closed()
        except (OSError, asyncio.CancelledError):
            pass


class _AsyncCommands:
    """Every permd command as a coroutine method, over :meth:`_exchange`."""

    async def _exchange(self, requests: Sequence[Request[Any]]) -> List[str]:
        raise NotImplementedError

    async def _run(self, request: Request[T]) -> T:
        return request.result((await self._exchange((request,)))[0])

    def pipeline(self) -> AsyncPipeline:
        """A pipeline: ``async with client.pipeline() as p:`` sends what was queued in one
        write when the block ends."""
        return AsyncPipeline(self._exchange)

    @overload
    async def check(self, user: str, org: str, perm: str, /) -> bool: ...

    @overload
    async def check(self, user: str, org: str, perm: str, perm2: str, /, *perms: str) -> List[bool]: ...

    async def check(self, user: str, org: str, *perms: str) -> Union[bool, List[bool]]:
        """``CHECK``: a bool for one permission, a list of bools for several."""
        return await self._run(p.check(user, org, perms))

    async def explain(self, user: str, org: str, perm: str) -> Explanation:
        """``EXPLAIN``: why ``perm`` is allowed or denied."""
        return await self._run(p.explain(user, org, perm))

    async def perms(self, user: str, org: str) -> List[str]:
        """``PERMS``: the effective permissions, sorted."""
        return await self._run(p.perms(user, org))

    async def roles(self, user: str, org: str) -> List[str]:
        """``ROLES``: the roles assigned in ``org``, sorted."""
        return await self._run(p.roles(user, org))

    async def orgs(self, user: str, perm: Optional[str] = None) -> List[str]:
        """``ORGS``: the user's organizations (with ``perm``: where it holds it)."""
        return await self._run(p.orgs(user, perm))

    async def who_page(self, org: str, perm: str, after: Optional[str] = None, limit: Optional[int] = None) -> WhoPage:
        """One page of ``WHO``."""
        return await self._run(p.who_page(org, perm, after, limit))

    def who(self, org: str, perm: str, *, page_size: int = 1000) -> AsyncIterator[str]:
        """Every user holding ``perm`` in ``org`` (``async for``), ``page_size`` per request."""
        first = p.who_page(org, perm, None, page_size)
        return self._who_pages(first, org, perm, page_size)

    async def _who_pages(self, request: Request[WhoPage], org: str, perm: str, page_size: int) -> AsyncIterator[str]:
        while True:
            page = await self._run(request)
            for user in page.users:
                yield user
            if not (page.more and page.users):
                return
            request = p.who_page(org, perm, page.users[-1], page_size)

    async def revision(self) -> int:
        """``REVISION``."""
        return await self._run(p.revision())

    async def sync(self, revision: int, timeout_ms: Optional[int] = None) -> int:
        """``SYNC``: waits until the index includes ``revision`` (else StaleError)."""
        return await self._run(p.sync(revision, timeout_ms))

    async def ping(self) -> bool:
        """``PING``."""
        return await self._run(p.ping())

    async def stats(self) -> Dict[str, Union[int, float, str]]:
        """``STATS`` as a dict."""
        return await self._run(p.stats())

    async def commands(self) -> List[str]:
        """``HELP``: the command words."""
        return await self._run(p.help_())

    async def command(self, *words: str) -> str:
        """Any request; returns the reply line as it is (``ERR`` still raises)."""
        return await self._run(p.command(words))

    async def user_add(self, **fields: Any) -> UserAdded:
        """``USER.ADD`` (fields as for :meth:`permd.Client.user_add`); returns (id, revision)."""
        return await self._run(p.user_add(fields))

    async def user_del(self, user: str) -> int:
        """``USER.DEL``."""
        return await self._run(p.user_del(user))

    async def org_add(self, code: str, *, name: Optional[str] = None, external_id: Optional[str] = None) -> int:
        """``ORG.ADD``."""
        return await self._run(p.org_add(code, {"name": name, "external_id": external_id}))

    async def org_del(self, code: str) -> int:
        """``ORG.DEL``."""
        return await self._run(p.org_del(code))

    async def member_add(self, user: str, org: str, *roles: str) -> int:
        """``MEMBER.ADD`` (no roles: the default roles)."""
        return await self._run(p.member_add(user, org, roles))

    async def member_del(self, user: str, org: str) -> int:
        """``MEMBER.DEL``."""
        return await self._run(p.member_del(user, org))

    async def role_add(self, user: str, org: str, role: str) -> int:
        """``ROLE.ADD``."""
        return await self._run(p.grant("ROLE.ADD", user, org, role, "role"))

    async def role_del(self, user: str, org: str, role: str) -> int:
        """``ROLE.DEL``."""
        return await self._run(p.grant("ROLE.DEL", user, org, role, "role"))

    async def perm_add(self, user: str, org: str, perm: str) -> int:
        """``PERM.ADD``."""
        return await self._run(p.grant("PERM.ADD", user, org, perm, "perm"))

    async def perm_del(self, user: str, org: str, perm: str) -> int:
        """``PERM.DEL``."""
        return await self._run(p.grant("PERM.DEL", user, org, perm, "perm"))

    async def signin(self, provider: str, provider_user_id: str, **fields: Any) -> SignInResult:
        """``SIGNIN`` (fields as for :meth:`permd.Client.signin`)."""
        return await self._run(p.signin(dict(fields, provider=provider, provider_user_id=provider_user_id)))

    async def reload(self) -> int:
        """``RELOAD``."""
        return await self._run(p.reload())


class AsyncClient(_AsyncCommands):
    """An asyncio connection to a permd server, with the methods of :class:`permd.Client`
    as coroutines.

    It connects on ``await client.connect()``, ``async with``, or the first call, and sends
    ``AUTH token`` first when a token is given. Calls made concurrently from many tasks are
    written as they come and share the connection, pipelined: each gets its own replies.
    ``timeout`` bounds the connect and the wait for each answer (``SYNC`` adds its own
    wait); a call that times out raises TimeoutError and closes the connection, failing
    the calls still waiting on it. A broken connection is replaced on the next call; a
    request is never sent twice.
    """

    def __init__(
        self,
        host: str = DEFAULT_HOST,
        port: int = DEFAULT_PORT,
        *,
        unix: Optional[str] = None,
        token: Optional[str] = None,
        timeout: Optional[float] = DEFAULT_TIMEOUT,
    ) -> None:
        self.host = host
        self.port = port
        self.unix = unix
        self.timeout = timeout
        self._token = token
        self._link: Optional[_Link] = None
        self._connecting: Optional[asyncio.Lock] = None
        self._closed = False

    @property
    def connected(self) -> bool:
        """Whether the client holds an open connection."""
        return self._link is not None and self._link.open

    async def connect(self) -> "AsyncClient":
        """Opens the connection (and authenticates) unless it is open; returns the client."""
        await self._open_link()
        return self

    async def _open_link(self) -> _Link:
        if self._closed:
            raise ConnectionClosed("the client is closed")
        if self._connecting is None:
            self._connecting = asyncio.Lock()
        async with self._connecting:
            if self._link is not None and self._link.open:
                return self._link
            if self.unix is not None:
                opening = asyncio.open_unix_connection(self.unix)
            else:
                opening = asyncio.open_connection(self.host, self.port)
            try:
                reader, writer = await asyncio.wait_for(opening, self.timeout)
            except asyncio.TimeoutError as error:
                raise TimeoutError(f"no connection to permd within {self.timeout} s") from error
            link = _Link(reader, writer)
            if self._token is not None:
                # Written before any other task's request can be: the server reads it first.
                request = p.auth(self._token)
                try:
                    request.result((await self._await(link, *link.send(request.line, 1, request.wait)))[0])
                except BaseException:
                    await link.close()
                    raise
            self._link = link
            return link

    async def _await(self, link: _Link, replies: "asyncio.Future[List[str]]", wait: float) -> List[str]:
        await link.drain()
        timeout = None if self.timeout is None else self.timeout + wait
        try:
            return await asyncio.wait_for(replies, timeout)
        except asyncio.TimeoutError as error:
            # Every later call would queue behind the missing answer: start afresh instead.
            link.fail(ConnectionClosed(f"dropped: permd did not answer within {timeout} s"))
            raise TimeoutError(f"permd did not answer within {timeout} s") from error

    async def _exchange(self, requests: Sequence[Request[Any]]) -> List[str]:
        link = self._link if self._link is not None and self._link.open else await self._open_link()
        sent = link.send(b"".join(r.line for r in requests), len(requests), sum(r.wait for r in requests))
        return await self._await(link, *sent)

    async def auth(self, token: str) -> None:
        """``AUTH``; the token is given again on a reconnect."""
        await self._run(p.auth(token))
        self._token = token

    async def close(self) -> None:
        """Closes the connection; later calls raise :class:`~permd.errors.ConnectionClosed`."""
        self._closed = True
        link, self._link = self._link, None
        if link is not None:
            await link.close()

    async def __aenter__(self) -> "AsyncClient":
        return await self.connect()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    def __repr__(self) -> str:
        where = self.unix if self.unix is not None else f"{self.host}:{self.port}"
        return f"<permd.AsyncClient {where}{'' if self.connected else ' (not connected)'}>"
