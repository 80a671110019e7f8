"""truss: test_framework.py::test_raises_engine_builder_validation. `engine_builder_config` of the wrong type."""
# parity: truss rejects

from truss.base import truss_config

import truss_chains as chains


class Llama(chains.EngineBuilderLLMChainlet):
    remote_config = chains.RemoteConfig(
        compute=chains.Compute(gpu=truss_config.Accelerator.H100),
        assets=chains.Assets(secret_keys=["hf_access_token"]),
    )
    engine_builder_config = 123  # E@14:29: CSC341
