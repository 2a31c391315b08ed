"""`resonite-auth intake …` and `resonite-auth clients …` review commands: output and errors."""

from __future__ import annotations

from tests.support.live import LiveServer

CALLBACK = "https://cli.example/callback"


def pending_client(server: LiveServer, name: str) -> str:
    created = server.create_client([CALLBACK], name=name, approve=False)
    assert created["status"] == "pending" and "client_secret" not in created
    return str(created["client_id"])


def test_list_filters_by_status_and_puts_pending_first(server: LiveServer) -> None:
    approved = server.create_client([CALLBACK], name="Already Approved")["client_id"]
    pending = pending_client(server, "Waiting One")
    everything = server.cli_json("clients", "list")
    ids = [row["client_id"] for row in everything]
    assert ids.index(pending) < ids.index(approved)
    row = next(row for row in everything if row["client_id"] == pending)
    assert set(row) >= {"client_id", "name", "status", "redirect_uris", "scopes", "public"}
    assert "client_secret" not in row
    only_pending = server.cli_json("clients", "list", "--status", "pending")
    assert {row["status"] for row in only_pending} == {"pending"}
    assert pending in [row["client_id"] for row in only_pending]
    text = server.cli("clients", "list", "--status", "approved").stdout
    assert approved in text and pending not in text


def test_bad_input_is_refused_with_a_message(server: LiveServer) -> None:
    bad_status = server.cli("clients", "list", "--status", "maybe", check=False)
    assert bad_status.returncode == 2 and "--status must be one of" in bad_status.stderr
    client_id = pending_client(server, "Reasonless")
    missing = server.cli("clients", "reject", client_id, check=False)
    assert missing.returncode == 2 and "--reason" in missing.stderr
    blank = server.cli("clients", "reject", client_id, "--reason", " ", check=False)
    assert blank.returncode == 1 and "Give a reason" in blank.stderr
    unknown = server.cli("clients", "approve", "no-such-client", check=False)
    assert unknown.returncode == 1 and "No application with client id" in unknown.stderr
    assert server.cli_json("clients", "list", "--status", "pending")  # still pending
    not_suspended = server.cli("clients", "reinstate", client_id, check=False)
    assert not_suspended.returncode == 1 and "only suspended" in not_suspended.stderr


def test_intake_commands_print_the_state(server: LiveServer) -> None:
    assert server.cli("intake", "status").stdout.strip() == "intake is open"
    assert server.cli("intake", "close").stdout.strip() == "intake is closed"
    assert server.cli_json("intake", "status") == {"intake": "closed"}
    assert server.cli("intake", "open").stdout.strip() == "intake is open"


def test_approve_prints_the_secret_in_text_too(server: LiveServer) -> None:
    client_id = pending_client(server, "Texty")
    output = server.cli("clients", "approve", client_id).stdout
    assert f"client_id: {client_id}" in output
    assert "client_secret: " in output and "(shown only now)" in output
