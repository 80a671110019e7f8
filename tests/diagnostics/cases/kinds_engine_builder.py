"""Engine builders: their configuration, their final `run_remote`, no dependencies."""

from typing import AsyncIterator

import truss_chains as chains
from truss.base import trt_llm_config, truss_config

ENGINE = trt_llm_config.TRTLLMConfiguration(
    root=trt_llm_config.TRTLLMConfigurationV1(
        build=trt_llm_config.TrussTRTLLMBuildConfiguration(
            checkpoint_repository=trt_llm_config.CheckpointRepository(
                source=trt_llm_config.CheckpointSource.HF, repo="org/model"
            ),
        ),
    )
)
GPU = chains.Compute(gpu=truss_config.Accelerator.H100)


class Unconfigured(chains.EngineBuilderLLMChainlet):  # E: CSC340
    remote_config = chains.RemoteConfig(compute=GPU)


class WrongConfig(chains.EngineBuilderLLMChainlet):
    remote_config = chains.RemoteConfig(compute=GPU)
    engine_builder_config = {"build": {"base_model": "decoder"}}  # E: CSC341


class WithImage(chains.EngineBuilderLLMChainlet):
    remote_config = chains.RemoteConfig(
        compute=GPU,
        docker_image=chains.DockerImage(pip_requirements=["torch"]),  # E: CSC342
        options=chains.ChainletOptions(
            health_checks=truss_config.HealthChecks(restart_threshold_seconds=60)  # E: CSC342
        ),
    )
    engine_builder_config = ENGINE


class OwnEndpoint(chains.EngineBuilderLLMChainlet):
    remote_config = chains.RemoteConfig(compute=GPU)
    engine_builder_config = ENGINE

    async def run_remote(  # E: CSC343
        self, llm_input: chains.EngineBuilderLLMInput
    ) -> AsyncIterator[str]:
        yield "no"


class Helper(chains.ChainletBase):
    def run_remote(self) -> str:
        return "help"


class WithDependency(chains.EngineBuilderLLMChainlet):
    remote_config = chains.RemoteConfig(compute=GPU)
    engine_builder_config = ENGINE

    def __init__(
        self,
        helper: Helper = chains.depends(Helper),  # E: CSC344
        context: chains.DeploymentContext = chains.depends_context(),
    ) -> None:
        self._helper = helper


@chains.mark_entrypoint
class Caller(chains.ChainletBase):
    def __init__(
        self,
        a: Unconfigured = chains.depends(Unconfigured),
        b: WrongConfig = chains.depends(WrongConfig),
        c: chains.EngineBuilderLLMChainlet = chains.depends(WithImage),
        d: OwnEndpoint = chains.depends(OwnEndpoint),
        e: WithDependency = chains.depends(WithDependency),
        f: chains.ChainletBase = chains.depends(Helper),
    ) -> None:
        self._engines = [a, b, c, d, e]

    async def run_remote(self, prompt: str) -> AsyncIterator[str]:
        llm_input = chains.EngineBuilderLLMInput(prompt=prompt)
        async for chunk in self._engines[0].run_remote(llm_input):
            yield chunk
