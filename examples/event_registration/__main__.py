"""`python -m event_registration` (from `examples/`): serve the site with uvicorn."""

from __future__ import annotations

import sys

import uvicorn

from .app import create_app
from .settings import MissingSetting, SiteSettings


def main() -> None:
    try:
        settings = SiteSettings.from_env()
    except MissingSetting as error:
        print(f"event_registration: {error}", file=sys.stderr)
        raise SystemExit(2) from None
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level="warning")


if __name__ == "__main__":
    main()
