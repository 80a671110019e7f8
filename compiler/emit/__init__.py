"""Back end: plan the output tree of a build from the IR (no I/O here)."""
