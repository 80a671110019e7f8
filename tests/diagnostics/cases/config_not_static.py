"""`remote_config` is read without running the file: values must be static."""

import os

import truss_chains as chains

from settings import load_settings

BASE_PACKAGES = ["numpy", "pydantic"]

GPU = "A10G"
for candidate in ("H100", "A100"):  # W: CSC003
    if candidate in os.environ.get("AVAILABLE_GPUS", ""):
        GPU = candidate


def gpu_for(model: str) -> str:
    return "H100" if "70b" in model else "A10G"


class Embedder(chains.ChainletBase):
    remote_config = chains.RemoteConfig(
        options=chains.ChainletOptions(
            env_variables={"HF_TOKEN": os.environ["HF_TOKEN"]},  # E: CSC401
        ),
    )

    def run_remote(self, text: str) -> list[float]:
        return [0.0]


class Generator(chains.ChainletBase):
    remote_config = chains.RemoteConfig(
        compute=chains.Compute(gpu=gpu_for("llama-70b")),  # E: CSC401
    )

    def run_remote(self, prompt: str) -> str:
        return prompt


class Summarizer(chains.ChainletBase):
    remote_config = chains.RemoteConfig(compute=chains.Compute(gpu=GPU))  # E: CSC401

    def run_remote(self, text: str) -> str:
        return text


class Ranker(chains.ChainletBase):
    remote_config = chains.RemoteConfig(
        docker_image=chains.DockerImage(
            pip_requirements=[f"{package}>=1" for package in BASE_PACKAGES],  # E: CSC401
        ),
    )

    def run_remote(self, query: str) -> list[str]:
        return [query]


@chains.mark_entrypoint
class Search(chains.ChainletBase):
    remote_config = load_settings("search")  # E: CSC401

    def __init__(
        self,
        embedder: Embedder = chains.depends(Embedder),
        generator: Generator = chains.depends(Generator),
        summarizer: Summarizer = chains.depends(Summarizer),
        ranker: Ranker = chains.depends(Ranker, timeout_sec=os.cpu_count()),  # E: CSC401
    ) -> None:
        self._embedder = embedder

    def run_remote(self, query: str) -> str:
        return query
