"""Integration events each publishing service puts on its stream (contract §7)."""
