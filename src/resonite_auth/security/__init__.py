"""Cryptographic building blocks: passwords, random tokens and digests, signing keys, CSRF."""
