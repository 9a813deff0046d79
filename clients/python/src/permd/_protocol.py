"""The line protocol without I/O: each request is built here with the parser of its reply.

The clients (sync, pipelined, asyncio) only move bytes; this module is the one place that
knows how a command is spelled and how its answer reads (SPEC §5).
"""

from __future__ import annotations

import json
from typing import Any, Callable, Dict, Generic, List, Mapping, Optional, Tuple, TypeVar, Union

from .errors import ProtocolError, error_from_reply
from .results import (
    ChooseOrganization,
    Explanation,
    NewUser,
    SignedIn,
    SignInResult,
    UserAdded,
    WhoPage,
)

T = TypeVar("T")

#: The characters that would split a word or end the line: the only ones refused client-side.
_FRAMING = (" ", "\n", "\r")

#: How long ``SYNC`` waits on the server when no timeout is given (SPEC §5).
SYNC_DEFAULT_TIMEOUT_MS = 1000


class Request(Generic[T]):
    """One request line and the function that turns its reply line into a result.

    ``wait`` is how many seconds the server may legitimately take beyond a normal answer
    (``SYNC`` waits for the index), added to the client's read timeout.
    """

    __slots__ = ("line", "parse", "wait")

    def __init__(self, words: Tuple[str, ...], parse: Callable[[str], T], wait: float = 0.0) -> None:
        self.line = (" ".join(words) + "\n").encode("utf-8")
        self.parse = parse
        self.wait = wait

    def result(self, reply: str) -> T:
        """The result of ``reply``; an ``ERR`` reply raises its :class:`PermdError`."""
        if reply.startswith("ERR ") or reply == "ERR":
            raise error_from_reply(reply)
        return self.parse(reply)


def word(value: str, what: str = "argument") -> str:
    """``value`` as one protocol word; ValueError if it is empty or would split the line.

    Anything else (non-ASCII, control bytes) goes to the server, which is the judge.
    """
    if not isinstance(value, str):
        raise TypeError(f"{what} must be a str, not {type(value).__name__}")
    if not value:
        raise ValueError(f"{what} must not be empty")
    for bad in _FRAMING:
        if bad in value:
            raise ValueError(f"{what} {value!r} must not contain spaces or line breaks")
    return value


def compact_json(payload: Mapping[str, Any]) -> str:
    """``payload`` as compact, ASCII-only JSON (so it can never break the line)."""
    return json.dumps(dict(payload), separators=(",", ":"), ensure_ascii=True)


def _fields(given: Mapping[str, Any]) -> Dict[str, Any]:
    """The fields that were given (None means "not given")."""
    return {k: v for k, v in given.items() if v is not None}


# Reply parsers -----------------------------------------------------------------------------


def _unexpected(reply: str) -> ProtocolError:
    return ProtocolError(f"unexpected reply {reply!r}")


def _ok_words(reply: str) -> List[str]:
    """The words after ``OK``."""
    if reply == "OK":
        return []
    if not reply.startswith("OK "):
        raise _unexpected(reply)
    return reply[3:].split()


def _ok_none(reply: str) -> None:
    if reply != "OK":
        raise _unexpected(reply)


def _ok_int(reply: str) -> int:
    words = _ok_words(reply)
    if len(words) != 1 or not words[0].isdigit():
        raise _unexpected(reply)
    return int(words[0])


def _verdict(word_: str, reply: str) -> bool:
    if word_ == "ALLOW":
        return True
    if word_ == "DENY":
        return False
    raise _unexpected(reply)


def _check_one(reply: str) -> bool:
    return _verdict(reply, reply)


def _check_many(reply: str) -> List[bool]:
    return [_verdict(w, reply) for w in reply.split()]


def _explanation(reply: str) -> Explanation:
    head, _, rest = reply.partition(" ")
    if head == "ALLOW":
        return Explanation(True, tuple(rest.split()))
    if head == "DENY" and rest:
        return Explanation(False, (), rest)
    raise _unexpected(reply)


def _who_page(reply: str) -> WhoPage:
    users = _ok_words(reply)
    more = bool(users) and users[-1] == "MORE"
    if more:
        users.pop()
    return WhoPage(tuple(users), more)


def _stat_value(text: str) -> Union[int, float, str]:
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return text


def _stats(reply: str) -> Dict[str, Union[int, float, str]]:
    stats: Dict[str, Union[int, float, str]] = {}
    for item in _ok_words(reply):
        key, sep, value = item.partition("=")
        if not sep:
            raise _unexpected(reply)
        stats[key] = _stat_value(value)
    return stats


def _pong(reply: str) -> bool:
    if reply != "PONG":
        raise _unexpected(reply)
    return True


def _user_added(reply: str) -> UserAdded:
    words = _ok_words(reply)
    if len(words) != 2 or not words[1].isdigit():
        raise _unexpected(reply)
    return UserAdded(words[0], int(words[1]))


def _signin(reply: str) -> SignInResult:
    words = reply.split()
    if words[:1] == ["OK"] and len(words) == 3:
        return SignedIn(words[1], words[2])
    if words[:1] == ["OK"] and len(words) == 4 and words[3] == "NEW":
        return NewUser(words[1], words[2])
    if words[:1] == ["SELECT"] and len(words) >= 3:
        return ChooseOrganization(words[1], tuple(words[2:]))
    raise _unexpected(reply)


def _raw(reply: str) -> str:
    return reply


# Request builders, one per command ---------------------------------------------------------


def check(user: str, org: str, perms: Tuple[str, ...]) -> Request[Union[bool, List[bool]]]:
    """``CHECK``: a bool for one permission, a list of bools for several (none: ARITY)."""
    words = ("CHECK", word(user, "user"), word(org, "org")) + tuple(word(p, "perm") for p in perms)
    parse: Callable[[str], Union[bool, List[bool]]] = _check_one if len(perms) == 1 else _check_many
    return Request(words, parse)


def explain(user: str, org: str, perm: str) -> Request[Explanation]:
    """``EXPLAIN``."""
    return Request(("EXPLAIN", word(user, "user"), word(org, "org"), word(perm, "perm")), _explanation)


def perms(user: str, org: str) -> Request[List[str]]:
    """``PERMS``."""
    return Request(("PERMS", word(user, "user"), word(org, "org")), _ok_words)


def roles(user: str, org: str) -> Request[List[str]]:
    """``ROLES``."""
    return Request(("ROLES", word(user, "user"), word(org, "org")), _ok_words)


def orgs(user: str, perm: Optional[str]) -> Request[List[str]]:
    """``ORGS``, optionally only where the user holds ``perm``."""
    words: Tuple[str, ...] = ("ORGS", word(user, "user"))
    if perm is not None:
        words += (word(perm, "perm"),)
    return Request(words, _ok_words)


def who_page(org: str, perm: str, after: Optional[str], limit: Optional[int]) -> Request[WhoPage]:
    """``WHO <org> <perm> <after> [<limit>]`` (``after`` None: from the start, ``-``)."""
    words: Tuple[str, ...] = ("WHO", word(org, "org"), word(perm, "perm"), word(after or "-", "after"))
    if limit is not None:
        words += (str(int(limit)),)
    return Request(words, _who_page)


def revision() -> Request[int]:
    """``REVISION``."""
    return Request(("REVISION",), _ok_int)


def sync(revision_: int, timeout_ms: Optional[int]) -> Request[int]:
    """``SYNC``; the read may wait as long as the server does."""
    words: Tuple[str, ...] = ("SYNC", str(int(revision_)))
    wait = SYNC_DEFAULT_TIMEOUT_MS
    if timeout_ms is not None:
        words += (str(int(timeout_ms)),)
        wait = max(int(timeout_ms), 0)
    return Request(words, _ok_int, wait / 1000.0)


def ping() -> Request[bool]:
    """``PING``."""
    return Request(("PING",), _pong)


def stats() -> Request[Dict[str, Union[int, float, str]]]:
    """``STATS``: numbers become ints or floats."""
    return Request(("STATS",), _stats)


def help_() -> Request[List[str]]:
    """``HELP``: the command words."""
    return Request(("HELP",), _ok_words)


def auth(token: str) -> Request[None]:
    """``AUTH``."""
    return Request(("AUTH", word(token, "token")), _ok_none)


def command(words: Tuple[str, ...]) -> Request[str]:
    """Any request, its reply line returned as it is (``ERR`` still raises)."""
    if not words:
        raise ValueError("a command needs at least its command word")
    return Request(tuple(word(w) for w in words), _raw)


def user_add(fields: Mapping[str, Any]) -> Request[UserAdded]:
    """``USER.ADD <json>``."""
    return Request(("USER.ADD", compact_json(_fields(fields))), _user_added)


def user_del(user: str) -> Request[int]:
    """``USER.DEL``."""
    return Request(("USER.DEL", word(user, "user")), _ok_int)


def org_add(code: str, fields: Mapping[str, Any]) -> Request[int]:
    """``ORG.ADD <code> [<json>]`` (the JSON only when a field is given)."""
    words: Tuple[str, ...] = ("ORG.ADD", word(code, "org"))
    given = _fields(fields)
    if given:
        words += (compact_json(given),)
    return Request(words, _ok_int)


def org_del(code: str) -> Request[int]:
    """``ORG.DEL``."""
    return Request(("ORG.DEL", word(code, "org")), _ok_int)


def member_add(user: str, org: str, roles_: Tuple[str, ...]) -> Request[int]:
    """``MEMBER.ADD`` (no roles: the default roles)."""
    words = ("MEMBER.ADD", word(user, "user"), word(org, "org")) + tuple(word(r, "role") for r in roles_)
    return Request(words, _ok_int)


def member_del(user: str, org: str) -> Request[int]:
    """``MEMBER.DEL``."""
    return Request(("MEMBER.DEL", word(user, "user"), word(org, "org")), _ok_int)


def grant(verb: str, user: str, org: str, key: str, what: str) -> Request[int]:
    """``ROLE.ADD``, ``ROLE.DEL``, ``PERM.ADD`` or ``PERM.DEL``."""
    return Request((verb, word(user, "user"), word(org, "org"), word(key, what)), _ok_int)


def signin(fields: Mapping[str, Any]) -> Request[SignInResult]:
    """``SIGNIN <json>``."""
    return Request(("SIGNIN", compact_json(_fields(fields))), _signin)


def reload() -> Request[int]:
    """``RELOAD``."""
    return Request(("RELOAD",), _ok_int)
