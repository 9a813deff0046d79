"""The asyncio client against a real server (run with asyncio.run: no plugin needed)."""

from __future__ import annotations

import asyncio
import time
from typing import Any, Awaitable, Callable, List, TypeVar

import pytest

import permd
from conftest import ADMIN_TOKEN, Server, invitation_only

T = TypeVar("T")


def run(make: Callable[[], Awaitable[T]]) -> T:
    return asyncio.run(make())  # type: ignore[arg-type]


def aclient(server: Server, **options: Any) -> permd.AsyncClient:
    options.setdefault("token", server.admin_token)
    return permd.AsyncClient(server.host, server.port, **options)


def test_every_method(server: Server, uid: Callable[[str], str]) -> None:
    async def scenario() -> None:
        ana, org = uid("ana"), uid("org_async")
        async with aclient(server) as client:
            assert await client.ping() is True
            assert "CHECK" in await client.commands()
            start = await client.revision()
            assert (await client.stats())["revision"] >= start
            assert await client.org_add(org, name="Async", external_id=uid("ext")) > start
            added = await client.user_add(id=ana, organizations=[org], roles=["billing"])
            assert added.id == ana
            assert await client.sync(added.revision) >= added.revision
            assert await client.check(ana, org, "write:invoices") is True
            assert await client.check(ana, org, "write:invoices", "delete:projects") == [True, False]
            assert (await client.explain(ana, org, "write:invoices")).sources == ("role:billing",)
            assert await client.perms(ana, org) == ["read:invoices", "read:projects", "write:invoices"]
            assert await client.roles(ana, org) == ["billing"]
            assert await client.orgs(ana) == [org] and await client.orgs(ana, "delete:projects") == []
            await client.member_add(ana, "org_acme", "viewer")
            await client.member_del(ana, "org_acme")
            await client.role_add(ana, org, "owner")
            await client.role_del(ana, org, "owner")
            await client.perm_add(ana, org, "delete:projects")
            assert await client.orgs(ana, "delete:projects") == [org]
            await client.perm_del(ana, org, "delete:projects")
            users = sorted([ana] + [(await client.user_add(id=uid(f"w{i}"), organizations=[org])).id for i in range(4)])
            assert [u async for u in client.who(org, "read:projects", page_size=2)] == users
            assert (await client.who_page(org, "read:projects", limit=2)).more
            new = await client.signin("async", uid("sub"))
            assert isinstance(new, permd.NewUser)
            assert await client.signin("async", uid("sub")) == permd.SignedIn(new.user, "org_default")
            assert await client.command("PING") == "PONG"
            assert await client.reload() > added.revision
            for user in users:
                await client.user_del(user)
            assert await client.org_del(org) > 0

    run(scenario)


def test_concurrent_tasks_share_one_pipelined_connection(server: Server, uid: Callable[[str], str]) -> None:
    async def scenario() -> None:
        async with aclient(server) as client:
            users = [uid(f"c{i}") for i in range(10)]
            await asyncio.gather(
                *(client.user_add(id=u, organizations=["org_acme"], roles=["owner" if i % 2 else "viewer"])
                  for i, u in enumerate(users))
            )
            calls = [client.check(users[i % 10], "org_acme", "delete:projects") for i in range(2000)]
            answers = await asyncio.gather(*calls)
            assert answers == [bool(i % 10 % 2) for i in range(2000)]
            mixed = await asyncio.gather(client.ping(), client.perms(users[0], "org_acme"), client.revision())
            assert mixed[0] is True and mixed[1] == ["read:invoices", "read:projects"] and isinstance(mixed[2], int)
            assert (await client.stats())["connections"] >= 1

    run(scenario)


def test_async_pipeline(server: Server, uid: Callable[[str], str]) -> None:
    async def scenario() -> None:
        async with aclient(server) as client:
            ana = uid("ana")
            async with client.pipeline() as p:
                added = p.user_add(id=ana, organizations=["org_acme"], roles=["billing"])
                check = p.check(ana, "org_acme", "write:invoices")
                for _ in range(20_000):
                    p.check(ana, "org_acme", "delete:projects")
            assert added.value.id == ana and check.value is True
            assert p.results[2:] == [False] * 20_000
            with pytest.raises(permd.NotFoundError):
                async with client.pipeline() as q:
                    q.user_del(uid("ghost"))
                    last = q.ping()
            assert last.value is True
            r = client.pipeline()
            r.command("ORGS")
            assert isinstance((await r.execute(raise_on_error=False))[0], permd.ArityError)

    run(scenario)


def test_async_errors(server: Server, start_server: Callable[..., Server], uid: Callable[[str], str]) -> None:
    async def scenario() -> None:
        async with aclient(server, token=None) as anonymous:
            with pytest.raises(permd.NoAuthError):
                await anonymous.org_add(uid("org_x"))
            await anonymous.auth(ADMIN_TOKEN)
            assert await anonymous.org_add(uid("org_x")) > 0
            with pytest.raises(permd.NotFoundError):
                await anonymous.user_del(uid("ghost"))
            with pytest.raises(permd.StaleError):
                await anonymous.sync(10**12, timeout_ms=5)
            with pytest.raises(permd.UnknownCommandError):
                await anonymous.command("NOPE")
            assert await anonymous.ping()
        with pytest.raises(permd.NoAuthError):
            await aclient(server, token="wrong").connect()
        invite_only = start_server(invitation_only())
        async with aclient(invite_only) as client:
            with pytest.raises(permd.ForbiddenError):
                await client.signin("google", uid("sub"))

    run(scenario)


def test_async_unix_socket(server: Server, uid: Callable[[str], str]) -> None:
    async def scenario() -> None:
        async with permd.AsyncClient(unix=server.unix, token=ADMIN_TOKEN) as client:
            ana = uid("ana")
            await client.user_add(id=ana, organizations=["org_globex"], roles=["owner"])
            assert await client.check(ana, "org_globex", "delete:projects") is True

    run(scenario)


def test_async_reconnects_after_the_server_closed_the_connection(start_server: Callable[..., Server], uid: Callable[[str], str]) -> None:
    running = start_server(args=["--idle-timeout", "1"])

    async def scenario() -> None:
        client = aclient(running)
        assert await client.ping()
        await asyncio.sleep(1.6)
        with pytest.raises(OSError):
            await client.ping()
        assert await client.ping() is True
        assert await client.org_add(uid("org_r")) > 0, "the token is given again"
        await client.close()
        with pytest.raises(permd.ConnectionClosed):
            await client.ping()

    run(scenario)


def test_a_cancelled_or_timed_out_call_leaves_the_others_in_step(server: Server) -> None:
    async def scenario() -> None:
        async with aclient(server, timeout=0.2) as client:
            current = await client.revision()
            slow = asyncio.ensure_future(client.sync(current + 10**9, timeout_ms=1500))
            await asyncio.sleep(0.05)
            slow.cancel()
            with pytest.raises(asyncio.CancelledError):
                await slow
            started = time.monotonic()
            assert await client.ping() is True, "answered after the cancelled SYNC's reply"
            assert time.monotonic() - started >= 1.0
        async with aclient(server, timeout=0.2) as client:
            # A raw SYNC: the client cannot know that the server may take 1.5 s.
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(client.command("SYNC", str(10**12), "1500"), 5)
            assert not client.connected
            started = time.monotonic()
            assert await client.ping() is True, "a new connection, not stuck behind the SYNC"
            assert time.monotonic() - started < 1.0

    run(scenario)


def test_busy_on_the_async_client(start_server: Callable[..., Server]) -> None:
    running = start_server(args=["--max-connections", "1"])

    async def scenario() -> List[bool]:
        first = aclient(running)
        for _ in range(250):  # until the server has seen the readiness probe's connection close
            try:
                await first.connect()
                break
            except permd.BusyError:
                await asyncio.sleep(0.02)
        async with first:
            with pytest.raises(permd.BusyError):
                await aclient(running).connect()
            return [await first.ping()]

    assert run(scenario) == [True]
