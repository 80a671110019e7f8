"""Truss Chains' own `TrussHandle` answers, for the test that holds chainsc's equal to it.

Run with the Python of the truss venv (`make truss-venv`):

    truss-venv/bin/python tests/runtime/truss_handle_check.py < request.json

The request is `{"dir": DIR, "calls": [{"name", "method", "kwargs"}, ...]}`: DIR holds
a `dynamic_chainlet_config` file (Baseten's mount, which truss reads from
`/etc/b10_dynamic_config`: pointed at DIR here), and each call is one
`TrussHandle(name).<method>(**kwargs)`. Prints a JSON list, one result per call:
`{"url": ..., "headers": {...}}`, or `{"error": <exception class>}`.
"""

from __future__ import annotations

import json
import sys

from truss.templates.shared import (  # type: ignore[import-not-found]  # only in the truss venv
    dynamic_config_resolver,
)
from truss_chains.remote_chainlet import (  # type: ignore[import-not-found]
    truss_chainlet,
    utils,
)


def main() -> int:
    request = json.loads(sys.stdin.read())
    dynamic_config_resolver.DYNAMIC_CONFIG_MOUNT_DIR = request["dir"]
    utils.load_dynamic_chainlet_config.cache_clear()
    results: list[dict[str, object]] = []
    for call in request["calls"]:
        try:
            handle = truss_chainlet.TrussHandle(call["name"])
            args = getattr(handle, call["method"])(**call["kwargs"])
            results.append({"url": args.url, "headers": args.headers})
        except Exception as exc:  # any failure is the answer
            results.append({"error": type(exc).__name__})
    json.dump(results, sys.stdout)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
