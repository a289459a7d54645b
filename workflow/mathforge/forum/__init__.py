"""Raw forum dumps -> normalized threads (one row per thread: first post + discussion)."""
