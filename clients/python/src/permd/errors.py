"""The exceptions a permd server's ``ERR <CODE> <message>`` replies become.

Every reply that starts with ``ERR`` raises a subclass of :class:`PermdError`, one per code
(SPEC §5). Transport failures (refused connection, timeout, a server that hung up) stay
:class:`OSError`\\ s, so ``except PermdError`` means "the server answered no".
"""

from __future__ import annotations

from typing import Dict, Optional, Type

__all__ = [
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
    "ERROR_CLASSES",
    "error_from_reply",
]


class PermdError(Exception):
    """An ``ERR`` reply: :attr:`code` is the server's code, :attr:`message` its explanation."""

    #: The ``ERR`` code this class stands for (the base class stands for any unknown code).
    code: str = "ERR"

    def __init__(self, message: str, code: Optional[str] = None) -> None:
        if code is not None:
            self.code = code
        self.message = message
        super().__init__(f"{self.code} {message}" if message else self.code)


class RequestSyntaxError(PermdError):
    """``SYNTAX``: a malformed request (bad bytes in an identifier, bad JSON, a bad number)."""

    code = "SYNTAX"


class UnknownCommandError(PermdError):
    """``UNKNOWN_COMMAND``: the command word is not a command."""

    code = "UNKNOWN_COMMAND"


class ArityError(PermdError):
    """``ARITY``: the wrong number of words for the command."""

    code = "ARITY"


class TooLongError(PermdError):
    """``TOO_LONG``: the request line is longer than the server's limit."""

    code = "TOO_LONG"


class NoAuthError(PermdError):
    """``NOAUTH``: the command needs an ``AUTH`` not given on this connection, or a wrong token."""

    code = "NOAUTH"


class NotFoundError(PermdError):
    """``NOT_FOUND``: a write names an unknown user, organization, role or permission."""

    code = "NOT_FOUND"


class ConflictError(PermdError):
    """``CONFLICT``: a write would break an invariant (last organization, a taken email...)."""

    code = "CONFLICT"


class ForbiddenError(PermdError):
    """``FORBIDDEN``: a sign-in that the settings or the memberships refuse."""

    code = "FORBIDDEN"


class InvalidPolicyError(PermdError):
    """``INVALID``: ``RELOAD`` found errors in the policy files (the old index keeps serving)."""

    code = "INVALID"


class StaleError(PermdError):
    """``STALE``: ``SYNC`` timed out before the index reached the revision."""

    code = "STALE"

    @property
    def revision(self) -> Optional[int]:
        """The server's current revision, which the message holds; None if it holds no number."""
        word = self.message.split(" ", 1)[0]
        return int(word) if word.isdigit() else None


class BusyError(PermdError):
    """``BUSY``: the server's connection limit is reached (it closes the connection)."""

    code = "BUSY"


class UnavailableError(PermdError):
    """``UNAVAILABLE``: a write while the database cannot be reached; nothing was stored."""

    code = "UNAVAILABLE"


class InternalError(PermdError):
    """``INTERNAL``: anything else went wrong on the server (it logged the details)."""

    code = "INTERNAL"


class ProtocolError(PermdError):
    """A reply this client does not understand (a client and server of different versions)."""

    code = "PROTOCOL"


class ConnectionClosed(ConnectionError):
    """The server closed the connection before answering every request sent."""


#: The exception class for each ``ERR`` code of SPEC §5.
ERROR_CLASSES: Dict[str, Type[PermdError]] = {
    cls.code: cls
    for cls in (
        RequestSyntaxError,
        UnknownCommandError,
        ArityError,
        TooLongError,
        NoAuthError,
        NotFoundError,
        ConflictError,
        ForbiddenError,
        InvalidPolicyError,
        StaleError,
        BusyError,
        UnavailableError,
        InternalError,
    )
}


def error_from_reply(line: str) -> PermdError:
    """The exception for an ``ERR <CODE> <message>`` reply line (a code this client does not
    know yet becomes a plain :class:`PermdError` carrying it)."""
    _, _, rest = line.partition(" ")
    code, _, message = rest.partition(" ")
    cls = ERROR_CLASSES.get(code)
    if cls is None:
        return PermdError(message, code or "ERR")
    return cls(message)
