"""Imports of the chains API that the generated packages cannot rewrite.

Only module-level imports (also in `if`/`try` blocks) become imports of the vendored
runtime; one inside a function or class body would import the real `truss_chains` in
the package. `import truss_chains.utils` without `as` binds `truss_chains` itself.
"""

import typing

import truss_chains.utils  # E: CSC007
import truss_chains.streaming as streaming

try:
    import truss_chains as chains
except ImportError:
    chains = None

if typing.TYPE_CHECKING:
    from truss_chains import DeploymentContext


def lazy_utils() -> object:
    from truss_chains import utils  # E: CSC007

    return utils


def lazy_runtime() -> object:
    import runtime_lib  # E: CSC007

    return runtime_lib


def lazy_config() -> object:
    from truss.base import truss_config  # E: CSC007

    return truss_config.Accelerator


class Echo(chains.ChainletBase):
    import truss_chains.pydantic_numpy as numpy_fields  # E: CSC007

    def run_remote(self, text: str) -> str:
        return text + str(truss_chains.utils.expect_one([1]) + len(streaming.__name__))
