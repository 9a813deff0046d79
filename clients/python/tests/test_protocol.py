"""The request encoding and reply parsing, without a server."""

from __future__ import annotations

import json

import pytest

import permd
from permd import _protocol as p
from permd._wire import LineBuffer


@pytest.mark.parametrize("bad", ["", "a b", "a\nb", "a\rb", "trailing "])
def test_a_word_that_would_split_the_line_is_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        p.check("alice", bad, ("read:x",))


def test_a_word_must_be_a_string() -> None:
    with pytest.raises(TypeError):
        p.perms("alice", 42)  # type: ignore[arg-type]


def test_other_bytes_are_left_for_the_server_to_judge() -> None:
    assert p.perms("al\x01ce", "orgé").line == "PERMS al\x01ce orgé\n".encode()


def test_json_payloads_are_compact_ascii_and_leave_out_none() -> None:
    request = p.user_add({"id": "ana", "first_name": "Ana\nMaría", "phone": None, "roles": ["a", "b"]})
    line = request.line.decode("ascii")
    assert line.count("\n") == 1 and line.endswith("\n")
    verb, payload = line[:-1].split(" ", 1)
    assert verb == "USER.ADD"
    assert " " not in payload
    assert json.loads(payload) == {"id": "ana", "first_name": "Ana\nMaría", "roles": ["a", "b"]}


def test_org_add_sends_json_only_when_a_field_is_given() -> None:
    assert p.org_add("org_x", {"name": None, "external_id": None}).line == b"ORG.ADD org_x\n"
    assert p.org_add("org_x", {"name": "X", "external_id": None}).line == b'ORG.ADD org_x {"name":"X"}\n'


def test_who_starts_at_the_dash_and_sync_waits_as_long_as_the_server() -> None:
    assert p.who_page("org", "perm", None, 10).line == b"WHO org perm - 10\n"
    assert p.who_page("org", "perm", "u9", None).line == b"WHO org perm u9\n"
    assert p.sync(7, None).wait == 1.0
    assert p.sync(7, 2500).line == b"SYNC 7 2500\n" and p.sync(7, 2500).wait == 2.5


def test_replies_parse_into_typed_results() -> None:
    assert p.check("u", "o", ("a",)).result("ALLOW") is True
    assert p.check("u", "o", ("a", "b", "c")).result("ALLOW DENY ALLOW") == [True, False, True]
    allowed = p.explain("u", "o", "a").result("ALLOW role:billing direct")
    assert allowed and allowed.sources == ("role:billing", "direct") and allowed.roles == ("billing",) and allowed.direct
    denied = p.explain("u", "o", "a").result("DENY not-member")
    assert not denied and denied.reason == "not-member" and denied.sources == ()
    assert p.perms("u", "o").result("OK") == []
    assert p.who_page("o", "p", None, 2).result("OK a b MORE") == permd.WhoPage(("a", "b"), True)
    assert p.who_page("o", "p", None, 2).result("OK a") == permd.WhoPage(("a",), False)
    assert p.stats().result("OK revision=3 build_ms=1.5 name=x") == {"revision": 3, "build_ms": 1.5, "name": "x"}
    assert p.user_add({}).result("OK kp_1 12") == ("kp_1", 12)
    assert p.signin({}).result("OK ana org_acme") == permd.SignedIn("ana", "org_acme")
    assert p.signin({}).result("OK ana org_default NEW") == permd.NewUser("ana", "org_default")
    assert p.signin({}).result("SELECT ana org_a org_b") == permd.ChooseOrganization("ana", ("org_a", "org_b"))


def test_a_reply_out_of_contract_is_a_protocol_error() -> None:
    for request, reply in ((p.ping(), "OK"), (p.revision(), "OK x"), (p.check("u", "o", ("a",)), "MAYBE")):
        with pytest.raises(permd.ProtocolError):
            request.result(reply)


@pytest.mark.parametrize("code, cls", sorted(permd.ERROR_CLASSES.items()))
def test_each_err_code_raises_its_own_class(code: str, cls: type) -> None:
    with pytest.raises(cls) as caught:
        p.ping().result(f"ERR {code} something went wrong")
    assert isinstance(caught.value, permd.PermdError)
    assert caught.value.code == code and caught.value.message == "something went wrong"


def test_every_code_of_the_spec_has_a_class() -> None:
    assert set(permd.ERROR_CLASSES) == {
        "SYNTAX", "UNKNOWN_COMMAND", "ARITY", "TOO_LONG", "NOAUTH", "NOT_FOUND", "CONFLICT",
        "FORBIDDEN", "INVALID", "STALE", "BUSY", "UNAVAILABLE", "INTERNAL",
    }
    assert len(set(permd.ERROR_CLASSES.values())) == 13


def test_an_unknown_code_still_raises_the_base_class_with_its_code() -> None:
    with pytest.raises(permd.PermdError) as caught:
        p.ping().result("ERR SHINY new")
    assert type(caught.value) is permd.PermdError and caught.value.code == "SHINY"


def test_lines_split_the_same_whatever_the_chunks() -> None:
    data = b"OK a b\r\nPONG\n" + b"OK " + b"x" * 70000 + b"\nDENY\n"
    expected = ["OK a b", "PONG", "OK " + "x" * 70000, "DENY"]
    for size in (1, 7, 4096, len(data)):
        buffer, lines = LineBuffer(), []
        for start in range(0, len(data), size):
            buffer.feed(data[start:start + size])
            while (line := buffer.pop_line()) is not None:
                lines.append(line)
        assert lines == expected
