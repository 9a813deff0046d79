"""The thread-safe pool under concurrent threads."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, List

import pytest

import permd
from conftest import Server


def test_many_threads_share_a_bounded_pool(server: Server, uid: Callable[[str], str]) -> None:
    users = [uid(f"t{i}") for i in range(16)]
    with permd.Pool(server.host, server.port, token=server.admin_token, max_size=4) as pool:
        for i, user in enumerate(users):
            pool.user_add(id=user, organizations=["org_acme"], roles=["owner" if i % 2 else "viewer"])
        peak: List[int] = []

        def work(i: int) -> List[bool]:
            user = users[i % len(users)]
            answers = [pool.check(user, "org_acme", "delete:projects") for _ in range(100)]
            peak.append(pool.size)
            return answers

        with ThreadPoolExecutor(max_workers=12) as executor:
            results = list(executor.map(work, range(48)))
        for i, answers in enumerate(results):
            assert answers == [bool(i % len(users) % 2)] * 100
        assert 1 <= max(peak) <= 4 and pool.size <= 4


def test_a_lent_connection_serves_a_block_of_calls(server: Server, uid: Callable[[str], str]) -> None:
    with permd.Pool(server.host, server.port, token=server.admin_token, max_size=1) as pool:
        with pool.connection() as client:
            ana = uid("ana")
            client.user_add(id=ana, organizations=["org_acme"])
            assert client.roles(ana, "org_acme") == ["viewer"]
            lent = client
        with pool.connection() as again:
            assert again is lent, "the connection came back to the pool"
        assert list(pool.who("org_acme", "read:projects", page_size=1))


def test_a_waiting_thread_gets_the_connection_when_it_comes_back(server: Server) -> None:
    with permd.Pool(server.host, server.port, max_size=1) as pool:
        answers: List[bool] = []

        def wait_for_it() -> None:
            answers.append(pool.ping())

        with pool.connection():
            waiter = threading.Thread(target=wait_for_it)
            waiter.start()
            waiter.join(0.2)
            assert waiter.is_alive() and not answers, "the only connection is lent"
        waiter.join(5)
        assert answers == [True]


def test_a_failed_connection_is_not_returned(server: Server) -> None:
    with permd.Pool(server.host, server.port, max_size=2) as pool:
        with pytest.raises(OSError):
            with pool.connection() as client:
                client._connection.sock.close()  # type: ignore[union-attr]
                client.ping()
        assert pool.size == 0
        assert pool.ping() and pool.size == 1


def test_a_closed_pool_refuses_to_lend(server: Server) -> None:
    pool = permd.Pool(server.host, server.port)
    assert pool.ping()
    pool.close()
    assert pool.size == 0
    with pytest.raises(permd.ConnectionClosed):
        pool.ping()
