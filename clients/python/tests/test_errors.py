"""Each ERR code the tests can provoke on a real server raises its own exception class."""

from __future__ import annotations

import json
from typing import Callable

import pytest

import permd
from conftest import ADMIN_TOKEN, QUERY_TOKEN, Server, invitation_only


def test_not_found(admin: permd.Client, uid: Callable[[str], str]) -> None:
    with pytest.raises(permd.NotFoundError) as caught:
        admin.user_del(uid("ghost"))
    assert caught.value.code == "NOT_FOUND" and "ghost" in caught.value.message
    ana = uid("ana")
    admin.user_add(id=ana, organizations=["org_acme"])
    with pytest.raises(permd.NotFoundError):
        admin.role_add(ana, "org_acme", "astronaut")
    with pytest.raises(permd.NotFoundError):
        admin.org_del(uid("org_nowhere"))


def test_conflict(admin: permd.Client, uid: Callable[[str], str]) -> None:
    ana = uid("ana")
    admin.user_add(id=ana, organizations=["org_acme"])
    with pytest.raises(permd.ConflictError) as caught:
        admin.member_del(ana, "org_acme")
    assert "organization" in caught.value.message
    with pytest.raises(permd.ConflictError):
        admin.org_del("org_acme")  # declared in the policy files
    assert admin.orgs(ana) == ["org_acme"], "nothing changed"


def test_noauth_without_and_with_a_wrong_token(server: Server, uid: Callable[[str], str]) -> None:
    with server.client(token=None) as anonymous:
        assert anonymous.ping(), "queries need no token"
        with pytest.raises(permd.NoAuthError):
            anonymous.user_add(id=uid("ana"))
    with pytest.raises(permd.NoAuthError):
        server.client(token="not-the-token")


def test_arity(admin: permd.Client) -> None:
    with pytest.raises(permd.ArityError):
        admin.check("ana", "org_acme")  # type: ignore[call-overload]
    with pytest.raises(permd.ArityError):
        admin.command("ORGS")


def test_syntax(admin: permd.Client) -> None:
    with pytest.raises(permd.RequestSyntaxError):
        admin.check("an\x01a", "org_acme", "read:invoices")
    with pytest.raises(permd.RequestSyntaxError):
        admin.who_page("org_acme", "read:invoices", limit=0)
    with pytest.raises(permd.RequestSyntaxError):
        admin.user_add(id=5)
    with pytest.raises(permd.RequestSyntaxError):
        admin.signin("google", "1", email_verified="yes")


def test_unknown_command(admin: permd.Client) -> None:
    with pytest.raises(permd.UnknownCommandError) as caught:
        admin.command("FLY", "away")
    assert caught.value.code == "UNKNOWN_COMMAND"


def test_too_long_then_the_connection_keeps_working(admin: permd.Client) -> None:
    with pytest.raises(permd.TooLongError):
        admin.check("a" * 9000, "org_acme", "read:invoices")
    assert admin.ping()


def test_stale_carries_the_current_revision(admin: permd.Client) -> None:
    current = admin.revision()
    with pytest.raises(permd.StaleError) as caught:
        admin.sync(current + 1000, timeout_ms=10)
    assert caught.value.revision is not None and current <= caught.value.revision < current + 1000


def test_forbidden_sign_in_to_an_organization_the_user_is_not_in(admin: permd.Client, uid: Callable[[str], str]) -> None:
    new = admin.signin("github", uid("sub"))
    with pytest.raises(permd.ForbiddenError):
        admin.signin("github", uid("sub"), org="org_globex")
    assert isinstance(new, permd.NewUser)


def test_forbidden_sign_up_by_invitation_only(start_server: Callable[..., Server], uid: Callable[[str], str]) -> None:
    running = start_server(invitation_only())
    with running.client() as client:
        with pytest.raises(permd.ForbiddenError) as caught:
            client.signin("google", uid("sub"), email=f"{uid('x')}@acme.io", email_verified=True)
        assert "invitation" in caught.value.message
        assert client.stats()["users"] == 0, "nothing stored"
        invited = client.user_add(email=f"{uid('ana')}@acme.io").id
        assert client.signin("google", uid("sub2"), email=f"{uid('ana')}@acme.io", email_verified=True) == permd.SignedIn(
            invited, "org_default"
        )


def test_invalid_policies_keep_the_old_ones_serving(start_server: Callable[..., Server], uid: Callable[[str], str]) -> None:
    running = start_server()
    with running.client() as client:
        ana = uid("ana")
        client.user_add(id=ana, organizations=["org_acme"], roles=["billing"])
        broken = running.policy_dir / "broken.json"
        broken.write_text(json.dumps({"roles": [{"key": "spy", "permissions": ["read:secrets"]}]}))
        with pytest.raises(permd.InvalidPolicyError) as caught:
            client.reload()
        assert caught.value.code == "INVALID" and "read:secrets" in caught.value.message
        assert client.check(ana, "org_acme", "write:invoices") is True
        broken.unlink()
        assert client.reload() > 0


def test_busy_past_the_connection_limit(start_server: Callable[..., Server]) -> None:
    running = start_server(args=["--max-connections", "1"])
    with running.client_when_free() as first:
        with pytest.raises(permd.BusyError):
            running.client()  # AUTH is its first request
        with pytest.raises(permd.BusyError):
            running.client(token=None).ping()
        assert first.ping()


def test_a_query_token_server_needs_auth_for_everything(start_server: Callable[..., Server]) -> None:
    running = start_server(query_token=QUERY_TOKEN)
    with running.client(token=None) as anonymous:
        with pytest.raises(permd.NoAuthError):
            anonymous.ping()
    with running.client(token=QUERY_TOKEN) as reader:
        assert reader.ping()
        with pytest.raises(permd.NoAuthError):
            reader.org_add("org_q")
    with running.client(token=ADMIN_TOKEN) as writer:
        assert writer.ping() and writer.org_add("org_q") > 0


def test_without_an_admin_token_writes_go_through_the_unix_socket_only(start_server: Callable[..., Server]) -> None:
    running = start_server(admin_token=None)
    with running.client() as network:
        with pytest.raises(permd.NoAuthError):
            network.org_add("org_net")
    with permd.Client(unix=running.unix) as local:
        assert local.org_add("org_local") > 0


def test_errors_leave_the_connection_usable_and_share_a_base(admin: permd.Client) -> None:
    for call in (lambda: admin.command("NOPE"), lambda: admin.user_del("missing-user-x")):
        with pytest.raises(permd.PermdError):
            call()
    assert admin.ping()
