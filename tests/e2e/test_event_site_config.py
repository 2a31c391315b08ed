"""The example event site stands alone: configured by its environment, no project imports."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

from tests.support.event_site import EXAMPLES

SITE = EXAMPLES / "event_registration"


def test_missing_settings_are_named_and_exit_2(tmp_path: Path) -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith("EVENTS_")}
    env.update(PYTHONPATH=str(EXAMPLES), EVENTS_CLIENT_ID="some-client")
    result = subprocess.run(
        [sys.executable, "-m", "event_registration"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "EVENTS_DISCOVERY_URL" in result.stderr
    assert "EVENTS_SESSION_SECRET" in result.stderr
    assert "EVENTS_CLIENT_ID" not in result.stderr
    assert "Traceback" not in result.stderr


def test_the_site_imports_nothing_from_the_server() -> None:
    imported: set[str] = set()
    for path in SITE.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                imported.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                imported.add(node.module)
    assert "authlib.integrations.starlette_client" in imported
    assert not [name for name in imported if name.split(".")[0] == "resonite_auth"]
    assert (SITE / "README.md").is_file()
