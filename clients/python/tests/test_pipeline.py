"""Pipelines: queued requests sent in one write, results in order."""

from __future__ import annotations

from typing import Any, Callable, List

import pytest

import permd
from conftest import Server


class _CountingSocket:
    """Stands in for a client's socket and counts the writes that go through it."""

    def __init__(self, sock: Any) -> None:
        self._sock = sock
        self.writes: List[bytes] = []

    def sendall(self, data: bytes) -> None:
        self.writes.append(bytes(data))
        self._sock.sendall(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


def test_results_come_back_in_order_after_one_write(admin: permd.Client, uid: Callable[[str], str]) -> None:
    ana = uid("ana")
    admin.user_add(id=ana, organizations=["org_acme"], roles=["billing"])
    counting = _CountingSocket(admin._connection.sock)  # type: ignore[union-attr]
    admin._connection.sock = counting  # type: ignore[union-attr,assignment]
    with admin.pipeline() as p:
        ping = p.ping()
        allowed = p.check(ana, "org_acme", "write:invoices")
        several = p.check(ana, "org_acme", "read:invoices", "delete:projects")
        why = p.explain(ana, "org_acme", "write:invoices")
        perms = p.perms(ana, "org_acme")
        roles = p.roles(ana, "org_acme")
        orgs = p.orgs(ana)
        page = p.who_page("org_acme", "write:invoices", limit=100000)
        revision = p.revision()
        stats = p.stats()
        assert not ping.done and len(p) == 10
        with pytest.raises(RuntimeError):
            ping.value
    assert len(counting.writes) == 1 and counting.writes[0].count(b"\n") == 10
    assert ping.value is True and allowed.value is True and several.value == [True, False]
    assert why.value.sources == ("role:billing",)
    assert perms.value == ["read:invoices", "read:projects", "write:invoices"]
    assert roles.value == ["billing"] and orgs.value == ["org_acme"] and ana in page.value.users
    assert revision.value == stats.value["revision"]
    assert p.results[0] is True and len(p.results) == 10


def test_writes_in_a_pipeline(admin: permd.Client, uid: Callable[[str], str]) -> None:
    ana, org = uid("ana"), uid("org_p")
    with admin.pipeline() as p:
        p.org_add(org, name="P")
        added = p.user_add(id=ana, organizations=[org])
        p.member_add(ana, "org_acme", "owner")
        p.role_add(ana, org, "billing")
        p.perm_add(ana, org, "delete:projects")
        check = p.check(ana, org, "delete:projects", "write:invoices")
        p.perm_del(ana, org, "delete:projects")
        p.role_del(ana, org, "billing")
        p.member_del(ana, "org_acme")
        synced = p.sync(0)
        signin = p.signin("pipeline", uid("sub"))
        p.command("PING")
    assert added.value.id == ana and check.value == [True, True]
    revisions = [r for r in p.results if isinstance(r, int)]
    assert revisions == sorted(revisions)
    assert synced.value >= added.value.revision
    assert isinstance(signin.value, permd.NewUser)
    assert admin.orgs(ana) == [org] and admin.roles(ana, org) == ["viewer"]
    with admin.pipeline() as p:
        p.user_del(ana)
        p.org_del(org)
        p.reload()
    assert all(isinstance(r, int) for r in p.results)


def test_the_first_error_is_raised_after_every_reply_is_read(admin: permd.Client, uid: Callable[[str], str]) -> None:
    with pytest.raises(permd.NotFoundError):
        with admin.pipeline() as p:
            first = p.ping()
            missing = p.user_del(uid("ghost"))
            unknown = p.command("NOPE")
            last = p.ping()
    assert first.value is True and last.value is True
    assert isinstance(p.results[1], permd.NotFoundError) and isinstance(p.results[2], permd.UnknownCommandError)
    with pytest.raises(permd.NotFoundError):
        missing.value
    with pytest.raises(permd.UnknownCommandError):
        unknown.value
    assert admin.ping(), "the connection is still in step"


def test_execute_can_return_errors_in_place(admin: permd.Client) -> None:
    p = admin.pipeline()
    p.ping()
    p.command("ORGS")
    p.revision()
    results = p.execute(raise_on_error=False)
    assert results[0] is True and isinstance(results[1], permd.ArityError) and isinstance(results[2], int)
    assert len(p) == 0 and p.execute() == []


def test_an_exception_in_the_block_sends_nothing(admin: permd.Client, uid: Callable[[str], str]) -> None:
    org = uid("org_never")
    with pytest.raises(KeyError):
        with admin.pipeline() as p:
            p.org_add(org)
            raise KeyError("changed my mind")
    assert not p.results
    with pytest.raises(permd.NotFoundError):
        admin.org_del(org)


def test_a_pipeline_larger_than_the_socket_buffers(admin: permd.Client, uid: Callable[[str], str]) -> None:
    ana = uid("ana")
    admin.user_add(id=ana, organizations=["org_acme"], roles=["billing"])
    count = 50_000
    with admin.pipeline() as p:
        for i in range(count):
            p.check(ana, "org_acme", "write:invoices" if i % 2 else "delete:projects")
            if i % 1000 == 0:
                p.perms(ana, "org_acme")
    checks = [r for r in p.results if isinstance(r, bool)]
    assert len(checks) == count and checks == [bool(i % 2) for i in range(count)]
    assert admin.ping()


def test_a_pool_runs_pipelines_on_a_borrowed_connection(server: Server, uid: Callable[[str], str]) -> None:
    with permd.Pool(server.host, server.port, token=server.admin_token, max_size=2) as pool:
        ana = uid("ana")
        with pool.pipeline() as p:
            added = p.user_add(id=ana, organizations=["org_globex"], roles=["owner"])
            check = p.check(ana, "org_globex", "delete:projects")
        assert added.value.id == ana and check.value is True
        assert pool.size == 1
