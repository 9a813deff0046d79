"""The blocking client: :class:`Client` (one connection) and :class:`Pool` (many, thread-safe)."""

from __future__ import annotations

import selectors
import socket
import threading
from contextlib import contextmanager
from typing import (
    Any,
    Dict,
    Iterator,
    List,
    Optional,
    Sequence,
    TypeVar,
    Union,
    overload,
)

from . import _protocol as p
from ._protocol import Request
from ._wire import LineBuffer, is_busy
from .errors import ConnectionClosed, PermdError, error_from_reply
from .pipeline import Pipeline
from .results import Explanation, SignInResult, UserAdded, WhoPage

__all__ = ["Client", "Pool", "DEFAULT_HOST", "DEFAULT_PORT", "DEFAULT_TIMEOUT"]

T = TypeVar("T")

#: Where ``permd serve`` listens by default.
DEFAULT_HOST = "127.0.0.1"
#: The default port of ``permd serve``.
DEFAULT_PORT = 7468
#: Seconds to wait for a connection or an answer (``SYNC`` adds its own wait).
DEFAULT_TIMEOUT = 5.0

# Up to this many bytes a request batch is written whole before reading: the replies of a
# batch this small fit the socket buffers, so the server can never stall on us.
_WRITE_WHOLE = 64 * 1024
_CHUNK = 64 * 1024


class _Connection:
    """One socket to permd and the replies read from it but not yet consumed."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.lines = LineBuffer()

    @classmethod
    def open(cls, host: str, port: int, unix: Optional[str], timeout: Optional[float]) -> "_Connection":
        """Connects over TCP, or to the Unix socket ``unix`` when given."""
        if unix is not None:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                sock.settimeout(timeout)
                sock.connect(unix)
            except BaseException:
                sock.close()
                raise
        else:
            sock = socket.create_connection((host, port), timeout=timeout)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return cls(sock)

    def exchange(self, payload: bytes, count: int, timeout: Optional[float]) -> List[str]:
        """Sends ``payload`` (``count`` request lines) and returns the ``count`` reply lines."""
        self.sock.settimeout(timeout)
        if len(payload) <= _WRITE_WHOLE:
            try:
                self.sock.sendall(payload)
            except (BrokenPipeError, ConnectionResetError):
                # The server may have said why before hanging up (ERR BUSY): say it too.
                error = self._parting_error()
                if error is not None:
                    raise error from None
                raise
        else:
            self._send_while_reading(payload, timeout)
        return [self._read_line() for _ in range(count)]

    def _read_line(self) -> str:
        while True:
            line = self.lines.pop_line()
            if line is not None:
                return line
            chunk = self.sock.recv(_CHUNK)
            if not chunk:
                raise ConnectionClosed("permd closed the connection before answering")
            self.lines.feed(chunk)

    def _send_while_reading(self, payload: bytes, timeout: Optional[float]) -> None:
        # The server stops reading a client that does not read its replies (SPEC §5), so a
        # large batch is written as the socket takes it while the replies are drained.
        pending = memoryview(payload)
        with selectors.DefaultSelector() as selector:
            selector.register(self.sock, selectors.EVENT_READ | selectors.EVENT_WRITE)
            self.sock.setblocking(False)
            try:
                while pending:
                    events = selector.select(timeout)
                    if not events:
                        raise socket.timeout("timed out sending a pipeline to permd")
                    for _, mask in events:
                        if mask & selectors.EVENT_READ:
                            chunk = self.sock.recv(_CHUNK)
                            if not chunk:
                                raise ConnectionClosed("permd closed the connection before answering")
                            self.lines.feed(chunk)
                        if mask & selectors.EVENT_WRITE and pending:
                            try:
                                sent = self.sock.send(pending)
                            except BlockingIOError:
                                continue
                            pending = pending[sent:]
            finally:
                self.sock.settimeout(timeout)

    def _parting_error(self) -> Optional[PermdError]:
        try:
            self.sock.setblocking(False)
            while True:
                chunk = self.sock.recv(_CHUNK)
                if not chunk:
                    break
                self.lines.feed(chunk)
        except OSError:
            pass
        line = self.lines.pop_line()
        return error_from_reply(line) if line is not None and line.startswith("ERR") else None

    def close(self) -> None:
        """Closes the socket."""
        try:
            self.sock.close()
        except OSError:
            pass


class _SyncCommands:
    """Every permd command as a blocking method, over :meth:`_exchange` (a batch of requests
    in, their reply lines out) which :class:`Client` and :class:`Pool` provide."""

    def _exchange(self, requests: Sequence[Request[Any]]) -> List[str]:
        raise NotImplementedError

    def _run(self, request: Request[T]) -> T:
        return request.result(self._exchange((request,))[0])

    def pipeline(self) -> Pipeline:
        """A pipeline: requests queued on it are sent in one write when it runs
        (at the end of its ``with`` block, or by :meth:`Pipeline.execute`)."""
        return Pipeline(self._exchange)

    # Queries -----------------------------------------------------------------------------

    @overload
    def check(self, user: str, org: str, perm: str, /) -> bool: ...

    @overload
    def check(self, user: str, org: str, perm: str, perm2: str, /, *perms: str) -> List[bool]: ...

    def check(self, user: str, org: str, *perms: str) -> Union[bool, List[bool]]:
        """Whether ``user`` holds each permission in ``org`` (``CHECK``, up to 64).

        One permission gives a bool, several a list of bools in the same order. Unknown
        users, organizations and permissions are simply denied.
        """
        return self._run(p.check(user, org, perms))

    def explain(self, user: str, org: str, perm: str) -> Explanation:
        """Why ``perm`` is allowed or denied to ``user`` in ``org`` (``EXPLAIN``)."""
        return self._run(p.explain(user, org, perm))

    def perms(self, user: str, org: str) -> List[str]:
        """The effective permissions of ``user`` in ``org``, sorted (``PERMS``)."""
        return self._run(p.perms(user, org))

    def roles(self, user: str, org: str) -> List[str]:
        """The roles assigned to ``user`` in ``org``, sorted (``ROLES``)."""
        return self._run(p.roles(user, org))

    def orgs(self, user: str, perm: Optional[str] = None) -> List[str]:
        """The organizations of ``user``; with ``perm``, only those where it holds it (``ORGS``)."""
        return self._run(p.orgs(user, perm))

    def who_page(self, org: str, perm: str, after: Optional[str] = None, limit: Optional[int] = None) -> WhoPage:
        """One page of the users holding ``perm`` in ``org``, after the id ``after`` (``WHO``)."""
        return self._run(p.who_page(org, perm, after, limit))

    def who(self, org: str, perm: str, *, page_size: int = 1000) -> Iterator[str]:
        """Every user holding ``perm`` in ``org``, sorted by id, fetched ``page_size`` at a time."""
        first = p.who_page(org, perm, None, page_size)
        return self._who_pages(first, org, perm, page_size)

    def _who_pages(self, request: Request[WhoPage], org: str, perm: str, page_size: int) -> Iterator[str]:
        while True:
            page = self._run(request)
            yield from page.users
            if not (page.more and page.users):
                return
            request = p.who_page(org, perm, page.users[-1], page_size)

    def revision(self) -> int:
        """The revision the server's index holds (``REVISION``)."""
        return self._run(p.revision())

    def sync(self, revision: int, timeout_ms: Optional[int] = None) -> int:
        """Waits until the index includes ``revision`` and returns the current one (``SYNC``).

        Raises :class:`~permd.errors.StaleError` (its ``revision`` is the current one) when
        the server's timeout (default 1000 ms) passes first.
        """
        return self._run(p.sync(revision, timeout_ms))

    def ping(self) -> bool:
        """True when the server answers ``PONG`` (``PING``)."""
        return self._run(p.ping())

    def stats(self) -> Dict[str, Union[int, float, str]]:
        """The server's counters (``STATS``), numbers as ints or floats."""
        return self._run(p.stats())

    def commands(self) -> List[str]:
        """The command words the server knows (``HELP``)."""
        return self._run(p.help_())

    def command(self, *words: str) -> str:
        """Sends any request (for commands this client has no method for) and returns the
        reply line as it is; an ``ERR`` reply still raises."""
        return self._run(p.command(words))

    # Writes ------------------------------------------------------------------------------

    def user_add(self, **fields: Any) -> UserAdded:
        """Adds or updates a user (``USER.ADD``); returns its id and the revision.

        Fields: ``id`` (generated when absent), ``email``, ``email_verified``, ``username``,
        ``phone``, ``first_name``, ``last_name``, ``picture``, ``organizations`` (codes),
        ``roles`` (keys). A field given as None is left out.
        """
        return self._run(p.user_add(fields))

    def user_del(self, user: str) -> int:
        """Deletes a user (``USER.DEL``); returns the revision."""
        return self._run(p.user_del(user))

    def org_add(self, code: str, *, name: Optional[str] = None, external_id: Optional[str] = None) -> int:
        """Adds or updates an organization (``ORG.ADD``); returns the revision."""
        return self._run(p.org_add(code, {"name": name, "external_id": external_id}))

    def org_del(self, code: str) -> int:
        """Deletes an organization (``ORG.DEL``); returns the revision."""
        return self._run(p.org_del(code))

    def member_add(self, user: str, org: str, *roles: str) -> int:
        """Adds ``user`` to ``org`` with ``roles`` (none: the default roles) (``MEMBER.ADD``)."""
        return self._run(p.member_add(user, org, roles))

    def member_del(self, user: str, org: str) -> int:
        """Removes ``user`` from ``org`` with its grants there (``MEMBER.DEL``)."""
        return self._run(p.member_del(user, org))

    def role_add(self, user: str, org: str, role: str) -> int:
        """Assigns ``role`` to ``user`` in ``org`` (``ROLE.ADD``); returns the revision."""
        return self._run(p.grant("ROLE.ADD", user, org, role, "role"))

    def role_del(self, user: str, org: str, role: str) -> int:
        """Unassigns ``role`` from ``user`` in ``org`` (``ROLE.DEL``); returns the revision."""
        return self._run(p.grant("ROLE.DEL", user, org, role, "role"))

    def perm_add(self, user: str, org: str, perm: str) -> int:
        """Grants ``perm`` directly to ``user`` in ``org`` (``PERM.ADD``); returns the revision."""
        return self._run(p.grant("PERM.ADD", user, org, perm, "perm"))

    def perm_del(self, user: str, org: str, perm: str) -> int:
        """Revokes the direct ``perm`` of ``user`` in ``org`` (``PERM.DEL``); returns the revision."""
        return self._run(p.grant("PERM.DEL", user, org, perm, "perm"))

    def signin(self, provider: str, provider_user_id: str, **fields: Any) -> SignInResult:
        """Signs in a user of an external provider (``SIGNIN``).

        Fields: ``email``, ``email_verified``, ``first_name``, ``last_name``, ``picture``,
        ``org``. Returns :class:`~permd.SignedIn`, :class:`~permd.NewUser` (a self sign-up)
        or :class:`~permd.ChooseOrganization`; a refused sign-in raises
        :class:`~permd.errors.ForbiddenError`.
        """
        return self._run(p.signin(dict(fields, provider=provider, provider_user_id=provider_user_id)))

    def reload(self) -> int:
        """Re-reads the policy files (``RELOAD``); returns the revision. Errors in them raise
        :class:`~permd.errors.InvalidPolicyError` and the old policies keep serving."""
        return self._run(p.reload())


class Client(_SyncCommands):
    """One connection to a permd server.

    Connects when created (TCP to ``host``:``port``, or the Unix socket ``unix``) and sends
    ``AUTH token`` first when a token is given (the admin token for writes, or the query
    token). Calls from several threads are safe but take turns; use a :class:`Pool` to run
    them side by side. A connection that broke (server restart, timeout) is replaced on the
    next call; a request is never sent twice.
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
        self._lock = threading.Lock()
        self._connection: Optional[_Connection] = None
        self._closed = False
        with self._lock:
            self._connect()

    @property
    def connected(self) -> bool:
        """Whether the client holds an open connection (false after a failure or close)."""
        return self._connection is not None

    def _connect(self) -> _Connection:
        connection = _Connection.open(self.host, self.port, self.unix, self.timeout)
        try:
            if self._token is not None:
                request = p.auth(self._token)
                request.result(connection.exchange(request.line, 1, self.timeout)[0])
        except BaseException:
            connection.close()
            raise
        self._connection = connection
        return connection

    def _exchange(self, requests: Sequence[Request[Any]]) -> List[str]:
        with self._lock:
            if self._closed:
                raise ConnectionClosed("the client is closed")
            connection = self._connection or self._connect()
            timeout = None if self.timeout is None else self.timeout + sum(r.wait for r in requests)
            try:
                replies = connection.exchange(b"".join(r.line for r in requests), len(requests), timeout)
            except socket.timeout as error:
                self._drop()
                raise TimeoutError(f"permd did not answer within {timeout} s") from error
            except BaseException:
                # Replies may still be in flight: this connection can no longer be trusted.
                self._drop()
                raise
            if replies and is_busy(replies[-1]):
                self._drop()
            return replies

    def _drop(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def auth(self, token: str) -> None:
        """Authenticates this connection (``AUTH``); the token is given again on a reconnect."""
        self._run(p.auth(token))
        self._token = token

    def close(self) -> None:
        """Closes the connection; later calls raise :class:`~permd.errors.ConnectionClosed`."""
        with self._lock:
            self._closed = True
            self._drop()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        where = self.unix if self.unix is not None else f"{self.host}:{self.port}"
        return f"<permd.Client {where}{'' if self.connected else ' (not connected)'}>"


class Pool(_SyncCommands):
    """A thread-safe pool of at most ``max_size`` :class:`Client` connections.

    Every command method borrows a connection for one request (a :meth:`who` iteration, for
    each page); :meth:`connection` lends one for a block of calls. Connections open when
    first needed; a thread waits when all ``max_size`` are lent. A connection that failed
    is closed instead of being returned.
    """

    def __init__(
        self,
        host: str = DEFAULT_HOST,
        port: int = DEFAULT_PORT,
        *,
        unix: Optional[str] = None,
        token: Optional[str] = None,
        timeout: Optional[float] = DEFAULT_TIMEOUT,
        max_size: int = 10,
    ) -> None:
        if max_size < 1:
            raise ValueError("max_size must be at least 1")
        self.host = host
        self.port = port
        self.unix = unix
        self.timeout = timeout
        self.max_size = max_size
        self._token = token
        self._slots = threading.BoundedSemaphore(max_size)
        self._lock = threading.Lock()
        self._idle: List[Client] = []
        self._open = 0
        self._closed = False

    @property
    def size(self) -> int:
        """How many connections are open (idle or lent)."""
        return self._open

    @contextmanager
    def connection(self) -> Iterator[Client]:
        """Lends a connection for the ``with`` block (waiting while every one is lent)."""
        if self._closed:
            raise ConnectionClosed("the pool is closed")
        self._slots.acquire()
        try:
            client = self._borrow()
            try:
                yield client
            finally:
                self._give_back(client)
        finally:
            self._slots.release()

    def _borrow(self) -> Client:
        with self._lock:
            if self._idle:
                return self._idle.pop()
            self._open += 1
        try:
            return Client(self.host, self.port, unix=self.unix, token=self._token, timeout=self.timeout)
        except BaseException:
            with self._lock:
                self._open -= 1
            raise

    def _give_back(self, client: Client) -> None:
        with self._lock:
            if client.connected and not self._closed:
                self._idle.append(client)
                return
            self._open -= 1
        client.close()

    def _exchange(self, requests: Sequence[Request[Any]]) -> List[str]:
        with self.connection() as client:
            return client._exchange(requests)

    def close(self) -> None:
        """Closes the idle connections now and the lent ones when they come back."""
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
            self._open -= len(idle)
        for client in idle:
            client.close()

    def __enter__(self) -> "Pool":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        where = self.unix if self.unix is not None else f"{self.host}:{self.port}"
        return f"<permd.Pool {where} {self._open}/{self.max_size} open>"
