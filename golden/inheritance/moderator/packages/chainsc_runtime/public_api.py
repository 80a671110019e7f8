"""`truss_chains.public_api`: the module where Truss Chains defines its functions.

Part of the vendored runtime (`runtime_lib`, imported as `chainsc_runtime` in generated
packages), for chain code that imports from the defining module (`from
truss_chains.public_api import depends`). Only re-exports the runtime's objects; `push`
deploys with Truss and is a build error in chainsc. Never imports `compiler`.
"""

from __future__ import annotations

from .definitions import depends, depends_context, mark_entrypoint
from .local import run_local

__all__ = ["depends", "depends_context", "mark_entrypoint", "run_local"]
