"""Repositories: small storage interfaces per capability, each bound to one connection."""
