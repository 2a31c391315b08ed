"""The load benchmark's harness: servers, data preparation, wrk runs and the report."""
