"""Linking a Resonite account: OpenID Connect with Authlib's Starlette client.

Authorization code flow with PKCE (S256), `state` and `nonce` (Authlib generates all three and
keeps them in the session). The ID token is validated by Authlib (signature against the
server's JWKS, `iss`, `aud`, `exp`, `nonce`, `at_hash`); the profile then comes from the
platform's `/api/user/profiles`, and the avatar URL from OIDC userinfo (`picture`).
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

import httpx
from authlib.common.errors import AuthlibBaseError
from authlib.integrations.base_client import MismatchingStateError
from authlib.integrations.starlette_client import OAuth
from joserfc.errors import JoseError
from starlette.requests import Request

from .settings import SiteSettings
from .store import LinkedAccount

BASE_SCOPES = "openid profile"
SUPPORTER_SCOPES = "openid profile patreon"
PROFILE_PATH = "/api/user/profiles"

log = logging.getLogger("event_registration")


class LinkFailed(Exception):
    """Linking did not happen; `title` and `message` are shown to the visitor as they are."""

    def __init__(self, title: str, message: str, status_code: int = 400) -> None:
        super().__init__(message)
        self.title = title
        self.message = message
        self.status_code = status_code


def unreachable() -> LinkFailed:
    return LinkFailed(
        "Resonite is not answering",
        "We could not reach the Resonite account server, so nothing was linked. "
        "Please try again in a few minutes.",
        503,
    )


def state_mismatch() -> LinkFailed:
    return LinkFailed(
        "This link attempt was not started here",
        "The answer from Resonite does not match a link attempt started in this browser "
        "(it may have expired, or been started in another tab or by another site). For your "
        "safety nothing was linked. Start again from the events page.",
    )


def resonite_client(settings: SiteSettings) -> Any:
    """The registered Authlib client (a StarletteOAuth2App), configured from discovery."""
    oauth = OAuth()
    oauth.register(
        "resonite",
        server_metadata_url=settings.discovery_url,
        client_id=settings.client_id,
        client_secret=settings.client_secret,
        client_kwargs={"scope": BASE_SCOPES, "code_challenge_method": "S256", "timeout": 10},
    )
    return oauth.create_client("resonite")


async def complete_link(client: Any, request: Request) -> LinkedAccount:
    """Turn the authorization response at the redirect URI into a verified linked account."""
    try:
        return await _complete(client, request)
    except LinkFailed:
        raise
    except MismatchingStateError as error:
        raise state_mismatch() from error
    except httpx.TransportError as error:
        log.warning("account server unreachable: %r", error)
        raise unreachable() from error
    except (httpx.HTTPError, AuthlibBaseError, JoseError, ValueError, KeyError) as error:
        log.warning("linking failed: %r", error)  # codes and tokens are never in these errors
        raise LinkFailed(
            "Linking failed",
            "Resonite's answer could not be verified, so nothing was linked. "
            f"Please start again. ({type(error).__name__}: {error})",
            502,
        ) from error


async def _complete(client: Any, request: Request) -> LinkedAccount:
    query = request.query_params
    state = query.get("state")
    # RFC 6749 §10.12: the answer must belong to a request this browser started, errors too.
    if not state or not await client.framework.get_state_data(request.session, state):
        raise state_mismatch()
    metadata = await client.load_server_metadata()
    # RFC 9207 §2.4: the answer names the server that issued it (mix-up defence).
    if metadata.get("authorization_response_iss_parameter_supported") and query.get(
        "iss"
    ) != metadata.get("issuer"):
        await client.framework.clear_state_data(request.session, state)
        raise LinkFailed(
            "Unexpected account server",
            "That answer did not come from the Resonite account server this site uses, "
            "so nothing was linked.",
        )
    if query.get("error"):
        await client.framework.clear_state_data(request.session, state)
        raise _refusal(query["error"], query.get("error_description"))
    token = await client.authorize_access_token(request)
    claims = token.get("userinfo")
    if not claims:
        raise LinkFailed("Linking failed", "Resonite sent no ID token, so nothing was linked.", 502)
    return await _read_account(client, token, metadata, subject=claims["sub"])


def _refusal(error: str, description: str | None) -> LinkFailed:
    if error == "access_denied":
        return LinkFailed(
            "Your account was not linked",
            "You chose not to share your Resonite account with Event Registration. Nothing "
            "was shared. You can link it any time to register for events.",
            200,
        )
    return LinkFailed(
        "Linking failed",
        f"Resonite could not complete the link ({error}"
        + (f": {description}" if description else "")
        + "). Nothing was linked.",
        502,
    )


async def _read_account(
    client: Any, token: dict[str, Any], metadata: dict[str, Any], *, subject: str
) -> LinkedAccount:
    response = await client.get(metadata["issuer"].rstrip("/") + PROFILE_PATH, token=token)
    response.raise_for_status()
    profile: dict[str, Any] = response.json()
    userinfo = await client.userinfo(token=token)
    # The profile and userinfo must describe the person the ID token names.
    if profile.get("id") != subject or userinfo.get("sub") != subject:
        raise LinkFailed("Linking failed", "Resonite's answers disagree about who you are.", 502)
    return LinkedAccount(
        user_id=subject,
        username=str(profile["username"]),
        picture=_viewable(userinfo.get("picture")),
        supporter_shared="isActiveSupporter" in profile,
        is_active_supporter=profile.get("isActiveSupporter") is True,
    )


def _viewable(url: Any) -> str | None:
    """Only http(s) image URLs reach an <img src>; anything else gets the placeholder."""
    if isinstance(url, str) and urlsplit(url).scheme in ("http", "https"):
        return url
    return None
