"""Pipelines: requests queued, sent in one write, their results read back in order."""

from __future__ import annotations

from typing import (
    Any,
    Awaitable,
    Callable,
    Dict,
    Generic,
    List,
    Optional,
    Sequence,
    Tuple,
    TypeVar,
    Union,
    overload,
)

from . import _protocol as p
from ._protocol import Request
from .errors import PermdError
from .results import Explanation, SignInResult, UserAdded, WhoPage

__all__ = ["Pending", "Pipeline", "AsyncPipeline"]

T = TypeVar("T")

_NOT_RUN = object()


class Pending(Generic[T]):
    """The result of a queued request, known once its pipeline has run."""

    __slots__ = ("_outcome",)

    def __init__(self) -> None:
        self._outcome: Any = _NOT_RUN

    @property
    def done(self) -> bool:
        """Whether the pipeline has run (and :attr:`value` is known)."""
        return self._outcome is not _NOT_RUN

    @property
    def value(self) -> T:
        """The result; raises the request's :class:`~permd.errors.PermdError` if it failed,
        or RuntimeError before the pipeline has run."""
        if self._outcome is _NOT_RUN:
            raise RuntimeError("the pipeline has not run yet")
        if isinstance(self._outcome, PermdError):
            raise self._outcome
        return self._outcome  # type: ignore[no-any-return]

    def __repr__(self) -> str:
        return "<Pending>" if self._outcome is _NOT_RUN else f"<Pending {self._outcome!r}>"


class _Queue:
    """The requests of a pipeline and every command as a method that queues one."""

    def __init__(self) -> None:
        self._requests: List[Request[Any]] = []
        self._pending: List[Pending[Any]] = []
        #: The results of the last run, in request order (a failed request's exception in
        #: its place).
        self.results: List[Any] = []

    def __len__(self) -> int:
        return len(self._requests)

    def _queue(self, request: Request[T]) -> Pending[T]:
        pending: Pending[T] = Pending()
        self._requests.append(request)
        self._pending.append(pending)
        return pending

    def _take(self) -> Tuple[List[Request[Any]], List[Pending[Any]]]:
        taken = (self._requests, self._pending)
        self._requests, self._pending = [], []
        return taken

    def _settle(
        self, requests: Sequence[Request[Any]], pending: Sequence[Pending[Any]], replies: Sequence[str], raise_on_error: bool
    ) -> List[Any]:
        results: List[Any] = []
        for request, slot, reply in zip(requests, pending, replies):
            try:
                outcome: Any = request.result(reply)
            except PermdError as error:
                outcome = error
            slot._outcome = outcome
            results.append(outcome)
        self.results = results
        if raise_on_error:
            for outcome in results:
                if isinstance(outcome, PermdError):
                    raise outcome
        return results

    def discard(self) -> None:
        """Forgets the queued requests without sending them."""
        self._take()

    # One method per command, as on the clients; each returns a Pending. -----------------

    @overload
    def check(self, user: str, org: str, perm: str, /) -> Pending[bool]: ...

    @overload
    def check(self, user: str, org: str, perm: str, perm2: str, /, *perms: str) -> Pending[List[bool]]: ...

    def check(self, user: str, org: str, *perms: str) -> Pending[Any]:
        """Queues ``CHECK`` (a bool for one permission, a list of bools for several)."""
        return self._queue(p.check(user, org, perms))

    def explain(self, user: str, org: str, perm: str) -> Pending[Explanation]:
        """Queues ``EXPLAIN``."""
        return self._queue(p.explain(user, org, perm))

    def perms(self, user: str, org: str) -> Pending[List[str]]:
        """Queues ``PERMS``."""
        return self._queue(p.perms(user, org))

    def roles(self, user: str, org: str) -> Pending[List[str]]:
        """Queues ``ROLES``."""
        return self._queue(p.roles(user, org))

    def orgs(self, user: str, perm: Optional[str] = None) -> Pending[List[str]]:
        """Queues ``ORGS``."""
        return self._queue(p.orgs(user, perm))

    def who_page(self, org: str, perm: str, after: Optional[str] = None, limit: Optional[int] = None) -> Pending[WhoPage]:
        """Queues one page of ``WHO`` (a pipeline cannot follow pages: the clients' ``who`` does)."""
        return self._queue(p.who_page(org, perm, after, limit))

    def revision(self) -> Pending[int]:
        """Queues ``REVISION``."""
        return self._queue(p.revision())

    def sync(self, revision: int, timeout_ms: Optional[int] = None) -> Pending[int]:
        """Queues ``SYNC``."""
        return self._queue(p.sync(revision, timeout_ms))

    def ping(self) -> Pending[bool]:
        """Queues ``PING``."""
        return self._queue(p.ping())

    def stats(self) -> Pending[Dict[str, Union[int, float, str]]]:
        """Queues ``STATS``."""
        return self._queue(p.stats())

    def commands(self) -> Pending[List[str]]:
        """Queues ``HELP``."""
        return self._queue(p.help_())

    def command(self, *words: str) -> Pending[str]:
        """Queues any request; its result is the reply line as it is."""
        return self._queue(p.command(words))

    def auth(self, token: str) -> Pending[None]:
        """Queues ``AUTH`` (it holds for the rest of the connection the pipeline runs on)."""
        return self._queue(p.auth(token))

    def user_add(self, **fields: Any) -> Pending[UserAdded]:
        """Queues ``USER.ADD`` (fields as for :meth:`permd.Client.user_add`)."""
        return self._queue(p.user_add(fields))

    def user_del(self, user: str) -> Pending[int]:
        """Queues ``USER.DEL``."""
        return self._queue(p.user_del(user))

    def org_add(self, code: str, *, name: Optional[str] = None, external_id: Optional[str] = None) -> Pending[int]:
        """Queues ``ORG.ADD``."""
        return self._queue(p.org_add(code, {"name": name, "external_id": external_id}))

    def org_del(self, code: str) -> Pending[int]:
        """Queues ``ORG.DEL``."""
        return self._queue(p.org_del(code))

    def member_add(self, user: str, org: str, *roles: str) -> Pending[int]:
        """Queues ``MEMBER.ADD``."""
        return self._queue(p.member_add(user, org, roles))

    def member_del(self, user: str, org: str) -> Pending[int]:
        """Queues ``MEMBER.DEL``."""
        return self._queue(p.member_del(user, org))

    def role_add(self, user: str, org: str, role: str) -> Pending[int]:
        """Queues ``ROLE.ADD``."""
        return self._queue(p.grant("ROLE.ADD", user, org, role, "role"))

    def role_del(self, user: str, org: str, role: str) -> Pending[int]:
        """Queues ``ROLE.DEL``."""
        return self._queue(p.grant("ROLE.DEL", user, org, role, "role"))

    def perm_add(self, user: str, org: str, perm: str) -> Pending[int]:
        """Queues ``PERM.ADD``."""
        return self._queue(p.grant("PERM.ADD", user, org, perm, "perm"))

    def perm_del(self, user: str, org: str, perm: str) -> Pending[int]:
        """Queues ``PERM.DEL``."""
        return self._queue(p.grant("PERM.DEL", user, org, perm, "perm"))

    def signin(self, provider: str, provider_user_id: str, **fields: Any) -> Pending[SignInResult]:
        """Queues ``SIGNIN`` (fields as for :meth:`permd.Client.signin`)."""
        return self._queue(p.signin(dict(fields, provider=provider, provider_user_id=provider_user_id)))

    def reload(self) -> Pending[int]:
        """Queues ``RELOAD``."""
        return self._queue(p.reload())


class Pipeline(_Queue):
    """A pipeline on a :class:`~permd.Client` or :class:`~permd.Pool` (``client.pipeline()``).

    Used as ``with client.pipeline() as p:`` it runs when the block ends without an
    exception; then each queued method's :class:`Pending` holds its result and
    :attr:`results` lists them in order. The first failed request's exception is raised
    after every reply has been read (``execute(raise_on_error=False)`` returns it in place).
    """

    def __init__(self, exchange: Callable[[Sequence[Request[Any]]], List[str]]) -> None:
        super().__init__()
        self._exchange = exchange

    def execute(self, raise_on_error: bool = True) -> List[Any]:
        """Sends the queued requests in one write and returns their results in order."""
        requests, pending = self._take()
        replies = self._exchange(requests) if requests else []
        return self._settle(requests, pending, replies, raise_on_error)

    def __enter__(self) -> "Pipeline":
        return self

    def __exit__(self, exc_type: Optional[type], *exc_info: object) -> None:
        if exc_type is None:
            self.execute()
        else:
            self.discard()


class AsyncPipeline(_Queue):
    """The asyncio pipeline (``async with client.pipeline() as p:``); as :class:`Pipeline`,
    with ``await p.execute()``."""

    def __init__(self, exchange: Callable[[Sequence[Request[Any]]], Awaitable[List[str]]]) -> None:
        super().__init__()
        self._exchange = exchange

    async def execute(self, raise_on_error: bool = True) -> List[Any]:
        """Sends the queued requests in one write and returns their results in order."""
        requests, pending = self._take()
        replies = await self._exchange(requests) if requests else []
        return self._settle(requests, pending, replies, raise_on_error)

    async def __aenter__(self) -> "AsyncPipeline":
        return self

    async def __aexit__(self, exc_type: Optional[type], *exc_info: object) -> None:
        if exc_type is None:
            await self.execute()
        else:
            self.discard()
