"""Typed results of the permd commands whose replies carry more than one value."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple, Optional, Tuple, Union

__all__ = [
    "Explanation",
    "WhoPage",
    "UserAdded",
    "SignedIn",
    "NewUser",
    "ChooseOrganization",
    "SignInResult",
]


@dataclass(frozen=True)
class Explanation:
    """Why a permission is allowed or denied (``EXPLAIN``); true when allowed.

    ``sources`` lists what grants it when allowed (``"role:<key>"`` or ``"direct"``);
    ``reason`` says why not when denied (``unknown-user``, ``unknown-org``, ``not-member``,
    ``unknown-permission`` or ``not-granted``).
    """

    allowed: bool
    sources: Tuple[str, ...] = ()
    reason: Optional[str] = None

    def __bool__(self) -> bool:
        return self.allowed

    @property
    def roles(self) -> Tuple[str, ...]:
        """The keys of the held roles that grant the permission."""
        return tuple(s[len("role:"):] for s in self.sources if s.startswith("role:"))

    @property
    def direct(self) -> bool:
        """Whether the permission is also granted directly."""
        return "direct" in self.sources


@dataclass(frozen=True)
class WhoPage:
    """One page of ``WHO``: the user ids, and whether more remain after the last one."""

    users: Tuple[str, ...]
    more: bool


class UserAdded(NamedTuple):
    """The answer to ``USER.ADD``: the user's id (generated when none was given) and the revision."""

    id: str
    revision: int


@dataclass(frozen=True)
class SignedIn:
    """``SIGNIN`` found the user: they are signed in to ``org``."""

    user: str
    org: str

    @property
    def new(self) -> bool:
        """Whether the sign-in created the user (see :class:`NewUser`)."""
        return False


@dataclass(frozen=True)
class NewUser(SignedIn):
    """``SIGNIN`` created the user (self sign-up), in the default organization: signed in too."""

    @property
    def new(self) -> bool:
        """Always true: this sign-in created the user."""
        return True


@dataclass(frozen=True)
class ChooseOrganization:
    """``SIGNIN`` found a user with several organizations and no ``org`` was given: ask the
    user to choose one of ``orgs``, then sign in again with ``org=``."""

    user: str
    orgs: Tuple[str, ...] = field(default=())


#: What :meth:`permd.Client.signin` returns.
SignInResult = Union[SignedIn, NewUser, ChooseOrganization]
