"""`python -m chainsc`: the chainsc CLI."""

from __future__ import annotations

from chainsc.cli import main

raise SystemExit(main())
