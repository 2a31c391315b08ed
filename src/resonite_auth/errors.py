"""Errors. OAuth errors carry the RFC's code, a public description and a private detail.

The public `description` goes to the client (RFC 6749 §4.1.2.1, §5.2); `detail` only to logs.
"""

from __future__ import annotations


class ResoniteAuthError(Exception):
    """Base of every error this package raises on purpose."""


class OAuthError(ResoniteAuthError):
    error: str = "server_error"
    status_code: int = 400

    def __init__(self, description: str, *, detail: str | None = None) -> None:
        super().__init__(description)
        self.description = description
        self.detail = detail or description


class InvalidRequest(OAuthError):
    error = "invalid_request"


class RequestTooLarge(InvalidRequest):
    status_code = 413  # RFC 9110 §15.5.14


class InvalidClient(OAuthError):
    error = "invalid_client"
    status_code = 401


class InvalidGrant(OAuthError):
    error = "invalid_grant"


class UnauthorizedClient(OAuthError):
    error = "unauthorized_client"


class UnsupportedGrantType(OAuthError):
    error = "unsupported_grant_type"


class UnsupportedResponseType(OAuthError):
    error = "unsupported_response_type"


class InvalidScope(OAuthError):
    error = "invalid_scope"


class AccessDenied(OAuthError):
    error = "access_denied"


class AuthorizationPending(OAuthError):
    """RFC 8628 §3.5: the person has not decided yet; keep polling."""

    error = "authorization_pending"


class SlowDown(OAuthError):
    """RFC 8628 §3.5: polling too fast; the interval grew by 5 seconds."""

    error = "slow_down"


class ExpiredToken(OAuthError):
    """RFC 8628 §3.5: the device code expired; start again."""

    error = "expired_token"


class LoginRequired(OAuthError):
    error = "login_required"


class ConsentRequired(OAuthError):
    error = "consent_required"


class InteractionRequired(OAuthError):
    error = "interaction_required"


class RequestNotSupported(OAuthError):
    error = "request_not_supported"


class RequestUriNotSupported(OAuthError):
    error = "request_uri_not_supported"


class InvalidToken(OAuthError):
    """RFC 6750 §3.1: the bearer token is missing, unknown, expired or revoked."""

    error = "invalid_token"
    status_code = 401


class MissingToken(InvalidToken):
    """RFC 6750 §3.1: no credentials at all; the challenge then carries no error code."""


class InsufficientScope(OAuthError):
    """RFC 6750 §3.1: the token lacks a scope the resource needs."""

    error = "insufficient_scope"
    status_code = 403

    def __init__(self, description: str, *, scope: str) -> None:
        super().__init__(description)
        self.scope = scope


class UnverifiedRedirect(ResoniteAuthError):
    """An authorization request whose client or redirect URI cannot be trusted.

    RFC 6749 §4.1.2.1: the server must not redirect; it shows an error page instead.
    """

    def __init__(self, title: str, message: str) -> None:
        super().__init__(message)
        self.title = title
        self.message = message


class ValidationFailed(ResoniteAuthError):
    """Input a person typed (CLI or page) that cannot be accepted; message is shown as is."""


class FormInvalid(ValidationFailed):
    """A form with mistakes: one readable message per field, shown next to that field."""

    def __init__(self, fields: dict[str, str]) -> None:
        super().__init__(" ".join(fields.values()))
        self.fields = fields


class NotFound(ResoniteAuthError):
    """A named thing (user, client) does not exist."""


class Conflict(ResoniteAuthError):
    """A unique thing (username, email) already exists."""
