"""``serve --metrics-listen``'s ``/metrics`` read by Prometheus's own parser (prometheus_client)."""

from __future__ import annotations

import urllib.error
import urllib.request

import pytest

from conftest import free_port

parser = pytest.importorskip("prometheus_client.parser", reason="pip install prometheus-client (make test installs it)")


def test_prometheus_parses_every_series(start_server) -> None:
    port = free_port()
    server = start_server(args=["--metrics-listen", f"127.0.0.1:{port}"])
    with server.client() as client:
        client.user_add(id="ana")
        assert client.check("ana", "org_default", "read:invoices", "delete:projects") == [True, False]
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as answer:
        assert answer.headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
        text = answer.read().decode()
    families = {family.name: family for family in parser.text_string_to_metric_families(text)}
    # prometheus_client names counters without their _total suffix.
    for name in ("permd_requests", "permd_checks", "permd_errors", "permd_connections", "permd_revision",
                 "permd_index_bytes", "permd_index_memberships", "permd_index_build_seconds",
                 "permd_write_commit_seconds", "permd_reloads", "permd_policy_info"):
        assert name in families, name
        assert families[name].documentation, name
    assert families["permd_write_commit_seconds"].type == "histogram"
    checks = {sample.labels["result"]: sample.value for sample in families["permd_checks"].samples}
    assert checks == {"allow": 1.0, "deny": 1.0}
    digest = families["permd_policy_info"].samples[0].labels["digest"]
    assert len(digest) == 12 and all(c in "0123456789abcdef" for c in digest)

    with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5) as answer:
        assert answer.status == 200 and answer.read() == b"ready\n"
    with pytest.raises(urllib.error.HTTPError) as missing:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/nothing", timeout=5)
    assert missing.value.code == 404
