"""Plain data: what the system is about, with no I/O."""
