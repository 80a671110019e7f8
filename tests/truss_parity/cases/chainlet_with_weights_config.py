"""truss: test_framework.py::test_chainlet_with_weights_config. Weights in `remote_config`: valid."""
# parity: truss accepts

from truss.base import truss_config

import truss_chains as chains


class Weighted(chains.ChainletBase):
    remote_config = chains.RemoteConfig(
        assets=chains.Assets(
            weights=[
                truss_config.WeightsSource(
                    source="hf://meta-llama/Llama-2-7b",
                    mount_location="/app/weights",
                )
            ]
        )
    )

    def run_remote(self) -> str:
        return "ok"
