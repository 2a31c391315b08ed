"""An example third-party site: event registration with "Link your Resonite account".

It uses the resonite-auth server only through standard OAuth 2.0 / OpenID Connect, with
Authlib's Starlette client, the way an outside developer would. It imports nothing from
`resonite_auth`.
"""
