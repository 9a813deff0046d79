"""Every method of the blocking client against a real server."""

from __future__ import annotations

import socket
import time
from typing import Callable

import pytest

import permd
from conftest import ADMIN_TOKEN, Server


def test_ping_revision_commands_and_stats(admin: permd.Client) -> None:
    assert admin.ping() is True
    revision = admin.revision()
    assert isinstance(revision, int) and revision >= 1
    assert {"CHECK", "WHO", "USER.ADD", "SIGNIN", "RELOAD"} <= set(admin.commands())
    stats = admin.stats()
    for key in ("revision", "users", "organizations", "memberships", "roles", "permissions", "index_bytes",
                "build_ms", "connections", "checks", "allows", "denies", "uptime_s"):
        assert key in stats, key
    assert stats["roles"] == 3 and stats["permissions"] == 4 and stats["revision"] >= revision
    assert admin.command("PING") == "PONG"


def test_check_gives_a_bool_for_one_permission_and_a_list_for_several(admin: permd.Client, uid: Callable[[str], str]) -> None:
    ana = uid("ana")
    admin.user_add(id=ana, organizations=["org_acme"], roles=["billing"])
    assert admin.check(ana, "org_acme", "write:invoices") is True
    assert admin.check(ana, "org_acme", "delete:projects") is False
    assert admin.check(ana, "org_acme", "read:invoices", "delete:projects", "write:invoices") == [True, False, True]
    assert admin.check(ana, "org_globex", "read:invoices") is False
    assert admin.check(uid("nobody"), "org_acme", "read:invoices") is False


def test_explain_allow_with_sources_and_deny_with_a_reason(admin: permd.Client, uid: Callable[[str], str]) -> None:
    ana = uid("ana")
    admin.user_add(id=ana, organizations=["org_acme"], roles=["billing"])
    admin.perm_add(ana, "org_acme", "write:invoices")
    allowed = admin.explain(ana, "org_acme", "write:invoices")
    assert allowed.allowed and allowed.sources == ("role:billing", "direct")
    assert allowed.roles == ("billing",) and allowed.direct and allowed.reason is None
    assert admin.explain(ana, "org_acme", "delete:projects") == permd.Explanation(False, (), "not-granted")
    assert admin.explain(ana, "org_globex", "read:invoices").reason == "not-member"
    assert admin.explain(uid("ghost"), "org_acme", "read:invoices").reason == "unknown-user"
    assert admin.explain(ana, "org_nowhere", "read:invoices").reason == "unknown-org"
    assert admin.explain(ana, "org_acme", "fly:planes").reason == "unknown-permission"
    assert not admin.explain(ana, "org_acme", "fly:planes")


def test_perms_roles_and_orgs(admin: permd.Client, uid: Callable[[str], str]) -> None:
    ana = uid("ana")
    added = admin.user_add(id=ana, organizations=["org_acme", "org_globex"], roles=["billing"])
    assert added.id == ana and added == (ana, added.revision)
    assert admin.perms(ana, "org_acme") == ["read:invoices", "read:projects", "write:invoices"]
    assert admin.roles(ana, "org_acme") == ["billing"]
    assert admin.orgs(ana) == ["org_acme", "org_globex"]
    assert admin.role_del(ana, "org_globex", "billing") > added.revision
    assert admin.orgs(ana, "write:invoices") == ["org_acme"]
    assert admin.perms(uid("ghost"), "org_acme") == [] and admin.roles(ana, "org_nowhere") == []


def test_who_follows_every_page(admin: permd.Client, uid: Callable[[str], str]) -> None:
    org = uid("org_who")
    admin.org_add(org, name="Who's who")
    users = sorted(uid(f"u{i:02d}") for i in range(7))
    for user in users:
        admin.user_add(id=user, organizations=[org], roles=["owner"])
    assert list(admin.who(org, "delete:projects", page_size=3)) == users
    assert list(admin.who(org, "delete:projects")) == users
    first = admin.who_page(org, "delete:projects", limit=3)
    assert first == permd.WhoPage(tuple(users[:3]), True)
    last = admin.who_page(org, "delete:projects", after=users[5], limit=3)
    assert last == permd.WhoPage((users[6],), False)
    assert list(admin.who(uid("org_none"), "delete:projects")) == []


def test_a_whole_page_of_exactly_the_limit_then_an_empty_one(admin: permd.Client, uid: Callable[[str], str]) -> None:
    org = uid("org_even")
    admin.org_add(org)
    users = sorted(uid(f"u{i}") for i in range(4))
    for user in users:
        admin.user_add(id=user, organizations=[org])
    assert list(admin.who(org, "read:projects", page_size=2)) == users


def test_sync_answers_once_the_index_has_the_revision(admin: permd.Client, uid: Callable[[str], str]) -> None:
    _, revision = admin.user_add(id=uid("ana"))
    assert admin.sync(revision) >= revision
    assert admin.sync(revision, timeout_ms=10) >= revision


def test_the_writes_answer_their_revision(admin: permd.Client, uid: Callable[[str], str]) -> None:
    ana, org = uid("ana"), uid("org_w")
    start = admin.revision()
    revisions = [admin.org_add(org, name="W", external_id=uid("ext"))]
    generated = admin.user_add(email=f"{ana}@example.com", first_name="Ana")
    assert generated.id and generated.id != ana
    revisions.append(generated.revision)
    revisions.append(admin.user_add(id=ana).revision)
    revisions.append(admin.member_add(ana, org))
    assert admin.roles(ana, org) == ["viewer"], "no roles given: the default roles"
    revisions.append(admin.role_add(ana, org, "owner"))
    assert admin.check(ana, org, "delete:projects") is True
    revisions.append(admin.role_del(ana, org, "owner"))
    revisions.append(admin.perm_add(ana, org, "delete:projects"))
    assert admin.explain(ana, org, "delete:projects").sources == ("direct",)
    revisions.append(admin.perm_del(ana, org, "delete:projects"))
    revisions.append(admin.member_del(ana, org))
    revisions.append(admin.member_add(ana, org, "billing", "owner"))
    assert admin.roles(ana, org) == ["billing", "owner"]
    revisions.append(admin.user_del(ana))
    revisions.append(admin.user_del(generated.id))
    revisions.append(admin.org_del(org))
    assert revisions == sorted(revisions) and revisions[0] > start
    assert len(set(revisions)) == len(revisions)
    assert admin.revision() >= revisions[-1]
    assert admin.orgs(ana) == []


def test_adding_what_exists_answers_the_current_revision(admin: permd.Client, uid: Callable[[str], str]) -> None:
    ana = uid("ana")
    _, revision = admin.user_add(id=ana, organizations=["org_acme"])
    assert admin.member_add(ana, "org_acme") >= revision


def test_reload_answers_a_revision(admin: permd.Client) -> None:
    before = admin.revision()
    assert admin.reload() > before


def test_signin_signed_in_choose_and_new_user(admin: permd.Client, uid: Callable[[str], str]) -> None:
    subject = uid("sub")
    email = f"{uid('ana')}@acme.io"
    first = admin.signin("google", subject, email=email, email_verified=True, first_name="Ana")
    assert isinstance(first, permd.NewUser) and isinstance(first, permd.SignedIn)
    assert first.new and first.org == "org_default"
    again = admin.signin("google", subject)
    assert type(again) is permd.SignedIn and not again.new and again.user == first.user
    admin.member_add(first.user, "org_acme")
    choose = admin.signin("google", subject)
    assert choose == permd.ChooseOrganization(first.user, ("org_acme", "org_default"))
    chosen = admin.signin("google", subject, org="org_acme")
    assert chosen == permd.SignedIn(first.user, "org_acme")


def test_auth_on_an_open_connection(server: Server, uid: Callable[[str], str]) -> None:
    with server.client(token=None) as client:
        with pytest.raises(permd.NoAuthError):
            client.org_add(uid("org_a"))
        client.auth(ADMIN_TOKEN)
        assert client.org_add(uid("org_a")) > 0


def test_unix_socket(server: Server, uid: Callable[[str], str]) -> None:
    with permd.Client(unix=server.unix, token=ADMIN_TOKEN) as client:
        assert client.ping()
        ana = uid("ana")
        client.user_add(id=ana, organizations=["org_acme"], roles=["owner"])
        assert client.check(ana, "org_acme", "delete:projects") is True
        assert server.unix in repr(client)


def test_a_broken_connection_is_replaced_on_the_next_call(start_server: Callable[..., Server], uid: Callable[[str], str]) -> None:
    running = start_server(args=["--idle-timeout", "1"])
    with running.client() as client:
        assert client.ping()
        time.sleep(1.6)  # the server closes the idle connection
        with pytest.raises(OSError):
            client.ping()
        assert not client.connected
        assert client.ping() is True
        assert client.org_add(uid("org_r")) > 0, "the token is given again on the new connection"


def test_a_closed_client_refuses_calls(server: Server) -> None:
    client = server.client()
    client.close()
    with pytest.raises(permd.ConnectionClosed):
        client.ping()


def test_no_server_is_a_connection_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(ConnectionRefusedError):
        permd.Client("127.0.0.1", port)


def test_the_read_timeout_stretches_for_sync(admin: permd.Client, server: Server) -> None:
    with server.client(timeout=0.3) as client:
        started = time.monotonic()
        with pytest.raises(permd.StaleError):
            client.sync(client.revision() + 1_000_000, timeout_ms=800)
        assert time.monotonic() - started >= 0.7
        assert client.ping(), "the connection survived the long wait"
