"""Names of `truss_chains` the chainsc runtime does not provide: internal modules, typos.

Every other line uses a name the runtime provides (top level, `utils`, `streaming`,
`public_types`, `public_api`), shadows `chains` with a local, or sits where chainsc
leaves code out of the packages: none of those is reported.
"""

import truss_chains as chains
import truss_chains.framework as framework
from truss_chains import ChainletBase, utils, utlis
from truss_chains.framework import ModelBase
from truss_chains.public_api import depends
from truss_chains.public_types import CPU_COUNT, DeploymentContext
from truss_chains.streaming import StreamReaderWithHeader, StreamWriterFull, stream_writers
from truss_chains.utils import expect_one, random_fail
# The columns of the findings above: the module or the name.
# E@9:8: CSC005
# E@10:47: CSC005
# E@11:6: CSC005
# E@14:78: CSC005


def helper(items: list[int]) -> int:
    """Not code: `chains.framework.ChainletBase`, `utils.radnom_fail`."""
    # Nor is this: chains.push(...)
    utils.random_fail(0.0, "never")
    utils.radnom_fail(0.0, "typo")  # E: CSC005
    chains.streaming.StreamWriterWithFooter
    chains.pydantic_numpy.NumpyArrayField
    chains.framework.ChainletBase  # E: CSC005
    chains.utils.setup_dev_logging()
    chains.DeploymentContext.model_fields
    return expect_one(items)


def shadowed(chains: dict[str, int]) -> int:
    utils = chains
    return utils.anything + chains.whatever + sum(x.nope for chains in [1] for x in [chains])


class Echo(ChainletBase):
    def __init__(self, context: DeploymentContext = chains.depends_context()) -> None:
        self._context = context

    def run_remote(self, text: str) -> str:
        random_fail(0.0, "never")
        return text + str(helper([1])) + chains.public_types.CPU_COUNT


if __name__ == "__main__":
    chains.framework.run_local_only_here()
