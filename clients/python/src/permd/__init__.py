"""A client for permd, the authorization server: sync, pooled, pipelined and asyncio.

>>> import permd
>>> with permd.Client("127.0.0.1", 7468) as client:          # doctest: +SKIP
...     client.check("alice", "org_acme", "read:invoices")
True

Standard library only. Every ``ERR`` reply raises a :class:`PermdError` subclass.
"""

from __future__ import annotations

from .aio import AsyncClient
from .client import DEFAULT_HOST, DEFAULT_PORT, DEFAULT_TIMEOUT, Client, Pool
from .errors import (
    ERROR_CLASSES,
    ArityError,
    BusyError,
    ConflictError,
    ConnectionClosed,
    ForbiddenError,
    InternalError,
    InvalidPolicyError,
    NoAuthError,
    NotFoundError,
    PermdError,
    ProtocolError,
    RequestSyntaxError,
    StaleError,
    TooLongError,
    UnavailableError,
    UnknownCommandError,
)
from .pipeline import AsyncPipeline, Pending, Pipeline
from .results import ChooseOrganization, Explanation, NewUser, SignedIn, SignInResult, UserAdded, WhoPage

__version__ = "0.1.0"

__all__ = [
    "AsyncClient",
    "AsyncPipeline",
    "Client",
    "Pending",
    "Pipeline",
    "Pool",
    "DEFAULT_HOST",
    "DEFAULT_PORT",
    "DEFAULT_TIMEOUT",
    "ChooseOrganization",
    "Explanation",
    "NewUser",
    "SignedIn",
    "SignInResult",
    "UserAdded",
    "WhoPage",
    "ERROR_CLASSES",
    "PermdError",
    "RequestSyntaxError",
    "UnknownCommandError",
    "ArityError",
    "TooLongError",
    "NoAuthError",
    "NotFoundError",
    "ConflictError",
    "ForbiddenError",
    "InvalidPolicyError",
    "StaleError",
    "BusyError",
    "UnavailableError",
    "InternalError",
    "ProtocolError",
    "ConnectionClosed",
]
