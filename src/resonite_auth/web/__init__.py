"""HTTP: the app factory, routes (one file per endpoint family), templates and static files."""
