"""resonite-auth: OAuth 2.0 / OpenID Connect server of a Resonite-style platform."""

__version__ = "0.1.0"
