"""The CLI's contract: names, flags, JSON output, errors on stderr with a non-zero exit."""

from __future__ import annotations

import pytest

from tests.support.databases import scalar
from tests.support.live import LiveServer


@pytest.fixture(scope="module")
def cli(database_url: str, workdir: object) -> LiveServer:
    live = LiveServer(database_url=database_url, workdir=workdir)  # type: ignore[arg-type]
    live.cli("migrate")
    return live


def test_users_create_json(cli: LiveServer) -> None:
    user = cli.cli_json(
        "users",
        "create",
        "--username",
        "CliUser",
        "--email",
        "cli@example.com",
        "--password-stdin",
        stdin="a good password\n",
    )
    assert set(user) == {"id", "username"}
    assert user["id"].startswith("U-") and user["username"] == "CliUser"
    stored = scalar(
        cli.database_url, "SELECT password_hash FROM accounts WHERE id = :i", i=user["id"]
    )
    assert stored.startswith("$argon2id$") and "a good password" not in stored
    admin = cli.cli_json(
        "users",
        "create",
        "--username",
        "CliAdmin",
        "--email",
        "adm@example.com",
        "--password-stdin",
        "--admin",
        stdin="a good password\n",
    )
    assert scalar(
        cli.database_url, "SELECT is_admin FROM accounts WHERE id = :i", i=admin["id"]
    ) in (True, 1)


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (
            ["--username", "CliUser", "--email", "x@example.com"],
            "a good password\n",
            "already taken",
        ),
        (["--username", "x", "--email", "y@example.com"], "a good password\n", "Usernames"),
        (["--username", "Valid Name", "--email", "not-an-email"], "a good password\n", "email"),
        (["--username", "Valid Name", "--email", "v@example.com"], "short\n", "at least"),
        (["--username", "Valid Name", "--email", "v@example.com"], "x" * 257 + "\n", "at most"),
    ],
)
def test_users_create_errors(cli: LiveServer, args: list[str], stdin: str, message: str) -> None:
    before = scalar(cli.database_url, "SELECT count(*) FROM accounts")
    result = cli.cli("users", "create", *args, "--password-stdin", stdin=stdin, check=False)
    assert result.returncode != 0
    assert message in result.stderr
    assert result.stdout == ""
    assert scalar(cli.database_url, "SELECT count(*) FROM accounts") == before


def test_users_create_needs_password_stdin(cli: LiveServer) -> None:
    result = cli.cli(
        "users", "create", "--username", "NoPass", "--email", "np@example.com", check=False
    )
    assert result.returncode == 2 and "--password-stdin" in result.stderr


def test_clients_create_json(cli: LiveServer) -> None:
    confidential = cli.cli_json(
        "clients",
        "create",
        "--name",
        "Events",
        "--redirect-uri",
        "https://events.example/cb",
        "--redirect-uri",
        "http://127.0.0.1:9000/cb",
        "--scope",
        "openid profile email patreon offline_access",
        "--approve",
    )
    assert confidential["status"] == "approved"
    assert len(confidential["client_secret"]) >= 43
    stored = scalar(
        cli.database_url,
        "SELECT digest FROM client_secrets WHERE client_id = :c",
        c=confidential["client_id"],
    )
    assert stored != confidential["client_secret"] and len(stored) == 64
    public = cli.cli_json(
        "clients", "create", "--name", "Native", "--redirect-uri", "http://127.0.0.1/cb", "--public"
    )
    assert public["status"] == "pending" and "client_secret" not in public


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--redirect-uri", "http://events.example/cb"], "https"),
        (["--redirect-uri", "https://events.example/cb#x"], "fragment"),
        (["--redirect-uri", "https://*.example/cb"], "wildcard"),
        (["--redirect-uri", "https://e.example/cb", "--scope", "openid admin"], "Unknown scope"),
    ],
)
def test_clients_create_errors(cli: LiveServer, args: list[str], message: str) -> None:
    before = scalar(cli.database_url, "SELECT count(*) FROM clients")
    result = cli.cli("clients", "create", "--name", "Bad", *args, "--json", check=False)
    assert result.returncode != 0 and message in result.stderr
    assert scalar(cli.database_url, "SELECT count(*) FROM clients") == before


def test_demo_seeds_once_and_rotates_the_demo_secret(cli: LiveServer) -> None:
    first = cli.cli_json("demo")
    second = cli.cli_json("demo")
    assert first["client_id"] == second["client_id"]
    assert first["client_secret"] != second["client_secret"]
    assert (
        scalar(cli.database_url, "SELECT count(*) FROM accounts WHERE username = 'DemoUser'") == 1
    )
