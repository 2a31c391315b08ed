"""The ceiling of the HTTP stack on this machine: bare Starlette on uvicorn, a fixed small JSON.

Same server (uvicorn with httptools and uvloop, the same one-send protocol, and with several
workers the same even spread of connections over them, as `resonite-auth serve` runs it:
bench/harness/ceiling.py), same
framework underneath FastAPI, no database, no middleware: nothing an identity provider can beat.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


async def fixed(_: Request) -> JSONResponse:
    return JSONResponse({"sub": "U-ceiling", "preferred_username": "Ceiling", "picture": None})


app = Starlette(routes=[Route("/", fixed)])
