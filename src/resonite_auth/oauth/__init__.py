"""Pure protocol rules (no I/O): scopes, PKCE, request validation, metadata, ID tokens."""
