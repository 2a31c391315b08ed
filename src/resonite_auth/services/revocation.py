"""`POST /connect/revocation` (RFC 7009): a client revokes its own access or refresh tokens."""

from __future__ import annotations

from resonite_auth.domain.audit import AuditEvent
from resonite_auth.domain.grants import TokenKind
from resonite_auth.oauth.metadata import REVOCATION_PATH
from resonite_auth.oauth.params import Params
from resonite_auth.security.tokens import digest
from resonite_auth.services.audit import record
from resonite_auth.services.clients import authenticate_client, read_credentials
from resonite_auth.services.context import Context
from resonite_auth.storage.repositories.grants import TokenRepository


async def revoke(
    ctx: Context, params: Params, authorization: str | None, *, ip: str | None = None
) -> None:
    """Revoke the token if it is this client's; answer the same either way (RFC 7009 §2.2).

    Unknown tokens and other clients' tokens both end in 200 with nothing done: the client
    can do nothing useful with an error, and a different answer would tell it that another
    client's token exists.
    """
    params.check_no_repeats()
    client = await authenticate_client(
        ctx, read_credentials(params, authorization), endpoint=ctx.settings.url(REVOCATION_PATH)
    )
    token = params.require("token")
    # token_type_hint (§2.1) only says where to look first; one lookup covers both kinds, and
    # an unknown hint value is ignored, as the server must search further anyway.
    now = ctx.clock()
    async with ctx.db.transaction() as connection:
        repository = TokenRepository(connection)
        found = await repository.by_digest(digest(token))
        if found is None or found.client_id != client.client_id:
            return
        if found.kind is TokenKind.REFRESH:
            # §2.1: revoking a refresh token should also invalidate the access tokens of the
            # same grant; the person's consent itself stays.
            count = await repository.revoke_all_of_grant(found.grant_id, now)
        else:
            count = await repository.revoke(found.digest, now)
        await record(
            connection,
            AuditEvent(
                "token.revoked",
                actor=client.client_id,
                account_id=found.account_id,
                client_id=client.client_id,
                ip=ip,
                detail={"kind": found.kind.value, "grant_id": found.grant_id, "count": count},
            ),
            now,
        )
