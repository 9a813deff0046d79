"""Fixtures: a real ``permd serve`` on a free port, with a small policy set and a SQLite db.

The binary is ``$PERMD_BIN`` (default ``<repo>/.build/debug/permd``). Tests import the
package from ``src/`` here; ``test_install.py`` checks the ``pip install`` a user runs.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional

import pytest

PACKAGE_ROOT = Path(__file__).resolve().parents[1]
REPO_ROOT = PACKAGE_ROOT.parents[1]
sys.path.insert(0, str(PACKAGE_ROOT / "src"))

import permd  # noqa: E402

ADMIN_TOKEN = "admin-7f3c9e2b"
QUERY_TOKEN = "query-51d0a8e4"

#: The policy set every test server serves unless told otherwise.
POLICIES: Dict[str, Any] = {
    "permissions": [
        {"key": "read:invoices"},
        {"key": "write:invoices"},
        {"key": "read:projects"},
        {"key": "delete:projects"},
    ],
    "roles": [
        {"key": "viewer", "permissions": ["read:*"], "default_for_new_users": True},
        {"key": "billing", "includes": ["viewer"], "permissions": ["write:invoices"]},
        {"key": "owner", "permissions": ["*"]},
    ],
    "organizations": [
        {"code": "org_default", "name": "Default"},
        {"code": "org_acme", "name": "Acme", "external_id": "crm-1"},
        {"code": "org_globex", "name": "Globex"},
    ],
    "settings": {"default_organization": "org_default", "allow_self_signup": True},
}


def invitation_only() -> Dict[str, Any]:
    """The policy set with self sign-up turned off."""
    policies = json.loads(json.dumps(POLICIES))
    policies["settings"]["allow_self_signup"] = False
    return policies


def free_port() -> int:
    """A TCP port nobody listens on right now (bound to port 0, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def permd_binary() -> Path:
    """The permd executable the tests run."""
    return Path(os.environ.get("PERMD_BIN", REPO_ROOT / ".build" / "debug" / "permd"))


class Server:
    """One ``permd serve`` process in its own folder, stopped by :meth:`stop`."""

    def __init__(
        self,
        binary: Path,
        policies: Optional[Dict[str, Any]] = None,
        *,
        admin_token: Optional[str] = ADMIN_TOKEN,
        query_token: Optional[str] = None,
        args: Optional[List[str]] = None,
    ) -> None:
        # A short folder: a Unix socket path holds at most ~104 bytes.
        self.root = Path(tempfile.mkdtemp(prefix="permd-py-"))
        self.policy_dir = self.root / "policies"
        self.policy_dir.mkdir()
        (self.policy_dir / "policies.json").write_text(json.dumps(POLICIES if policies is None else policies))
        self.db = self.root / "permd.db"
        self.unix = str(self.root / "permd.sock")
        self.host = "127.0.0.1"
        self.port = free_port()
        self.admin_token = admin_token
        self.query_token = query_token
        command = [
            str(binary), "serve",
            "--policies", str(self.policy_dir),
            "--db", str(self.db),
            "--listen", f"{self.host}:{self.port}",
            "--unix", self.unix,
        ]
        for option, token in (("--admin-token-file", admin_token), ("--query-token-file", query_token)):
            if token is not None:
                path = self.root / option.strip("-")
                path.write_text(token + "\n")
                path.chmod(0o600)
                command += [option, str(path)]
        command += args or []
        self.log_path = self.root / "serve.log"
        self._log = open(self.log_path, "wb")
        self.process = subprocess.Popen(command, stdout=self._log, stderr=subprocess.STDOUT)
        try:
            self._wait_until_ready()
        except BaseException:
            self.stop()
            raise

    def _wait_until_ready(self, seconds: float = 30.0) -> None:
        deadline = time.monotonic() + seconds
        hello = b"PING\n" if self.query_token is None else f"AUTH {self.query_token}\nPING\n".encode()
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"permd serve exited with {self.process.returncode}:\n{self.log()}")
            try:
                with socket.create_connection((self.host, self.port), timeout=1) as probe:
                    probe.sendall(hello)
                    answers = probe.makefile("rb")
                    if any(answers.readline() == b"PONG\n" for _ in range(hello.count(b"\n"))):
                        return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"permd serve did not answer PING within {seconds} s:\n{self.log()}")

    def log(self) -> str:
        """What the server printed so far."""
        self._log.flush()
        return self.log_path.read_text(errors="replace")

    def client(self, **options: Any) -> permd.Client:
        """A TCP client with the admin token (override with ``token=``)."""
        options.setdefault("token", self.admin_token)
        return permd.Client(self.host, self.port, **options)

    def client_when_free(self, **options: Any) -> permd.Client:
        """A client once the server has a free connection slot: a connection just closed
        (the readiness probe's) counts until the server has seen it close."""
        deadline = time.monotonic() + 5
        while True:
            try:
                return self.client(**options)
            except permd.BusyError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.02)

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it lingers; removes the folder."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="session")
def permd_bin() -> Path:
    """The permd binary; fails (not skips) when it is missing, so `make test` cannot pass without it."""
    binary = permd_binary()
    if not os.access(binary, os.X_OK):
        pytest.fail(f"no permd binary at {binary}: run `swift build` or set PERMD_BIN", pytrace=False)
    return binary


@pytest.fixture(scope="session")
def server(permd_bin: Path) -> Iterator[Server]:
    """The shared server (admin token, TCP and Unix socket); tests use their own ids."""
    running = Server(permd_bin)
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def start_server(permd_bin: Path) -> Iterator[Callable[..., Server]]:
    """Starts servers with other settings for one test; all are stopped after it."""
    started: List[Server] = []

    def start(policies: Optional[Dict[str, Any]] = None, **options: Any) -> Server:
        running = Server(permd_bin, policies, **options)
        started.append(running)
        return running

    try:
        yield start
    finally:
        for running in started:
            running.stop()


@pytest.fixture
def admin(server: Server) -> Iterator[permd.Client]:
    """A client of the shared server holding the admin token."""
    with server.client() as client:
        yield client


@pytest.fixture
def uid() -> Callable[[str], str]:
    """Makes ids unique to the test, so tests sharing the server never meet."""
    tag = uuid.uuid4().hex[:8]
    return lambda name: f"{name}-{tag}"
