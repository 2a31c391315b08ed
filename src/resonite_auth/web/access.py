"""Who may open the developer portal and the admin pages."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import Response

from resonite_auth.domain.accounts import Account
from resonite_auth.errors import UnverifiedRedirect
from resonite_auth.web.http import error_page, signed_in, signin_redirect

ADMINS_ONLY = UnverifiedRedirect(
    "Admins only",
    "This page is for platform administrators. Your account is not one, so nothing was changed.",
)
NOT_YOURS = UnverifiedRedirect(
    "Application not found",
    "None of your applications has this client id. It may have been deleted.",
)


async def member(request: Request) -> Account | Response:
    """The signed-in person, or a redirect to sign in and come back."""
    current = await signed_in(request)
    return signin_redirect(request) if current is None else current[1]


async def admin(request: Request) -> Account | Response:
    """The signed-in admin; a signed-in non-admin gets a 403 page and nothing happens."""
    person = await member(request)
    if isinstance(person, Account) and not person.is_admin:
        return error_page(request, ADMINS_ONLY, status_code=403)
    return person
