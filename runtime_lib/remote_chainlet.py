"""`truss_chains.remote_chainlet`, as far as chain code reaches it: its `truss_chainlet` module.

Part of the vendored runtime (`runtime_lib`, imported as `chainsc_runtime` in generated
packages), for chain code that spells `truss_chains.remote_chainlet.truss_chainlet`
through the package (`chains.remote_chainlet.truss_chainlet.TrussHandle`, or after
`import truss_chains.remote_chainlet.truss_chainlet`). Truss's other submodules of it
(`stub`, `utils`, ...) are internal: the compiler reports them (CSC005). Never imports
`compiler`.
"""

from __future__ import annotations

from . import truss_chainlet

__all__ = ["truss_chainlet"]
