# E@10:40: CSC002
"""A chain with an unclosed parenthesis: nothing else can be checked."""

import truss_chains as chains


class Summarizer(chains.ChainletBase):
    remote_config = chains.RemoteConfig(
        compute=chains.Compute(cpu_count=2, memory="4Gi"),
        docker_image=chains.DockerImage(pip_requirements=["transformers"],

    def run_remote(self, text: str) -> str:
        return text[:100]
