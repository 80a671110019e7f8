"""An engine builder's `engine_builder_config`: what truss refuses when it reads `trt_llm`."""

from typing import AsyncIterator

import truss_chains as chains
from truss.base import trt_llm_config as trt
from truss.base import truss_config


REPO = trt.CheckpointRepository(source=trt.CheckpointSource.HF, repo="org/model")


class Parallel(chains.EngineBuilderLLMChainlet):
    remote_config = chains.RemoteConfig(compute=chains.Compute(gpu="H100"))
    engine_builder_config = trt.TRTLLMConfiguration(
        root=trt.TRTLLMConfigurationV1(
            build=trt.TrussTRTLLMBuildConfiguration(
                checkpoint_repository=REPO,
                tensor_parallel_count=2,  # E: CSC430
            )
        )
    )


class NoCheckpoint(chains.EngineBuilderLLMChainlet):
    remote_config = chains.RemoteConfig(compute=chains.Compute(gpu="H100"))
    engine_builder_config = trt.TRTLLMConfiguration(
        trt.TRTLLMConfigurationV1(
            build=trt.TrussTRTLLMBuildConfiguration(max_batch_size=8),  # E: CSC431
        )
    )


class Renamed(chains.EngineBuilderLLMChainlet):
    remote_config = chains.RemoteConfig(
        compute=chains.Compute(gpu=truss_config.Accelerator.A100)
    )
    engine_builder_config = trt.TRTLLMConfiguration(
        build=trt.TrussTRTLLMBuildConfiguration(
            base_model=trt.TrussTRTLLMModel.LLAMA,  # E: CSC432
            checkpoint_repository=REPO,
            quantization_type=trt.TrussTRTLLMQuantizationType.FP8,  # E: CSC432
        )
    )


class OutOfBounds(chains.EngineBuilderLLMChainlet):
    remote_config = chains.RemoteConfig(compute=chains.Compute(gpu="L4"))
    engine_builder_config = trt.TRTLLMConfiguration(
        root=trt.TRTLLMConfigurationV1(
            build=trt.TrussTRTLLMBuildConfiguration(
                checkpoint_repository=REPO,
                max_batch_size=4096,  # E: CSC433
                max_num_tokens="8192",  # E: CSC433
                quantization_config=trt.TrussTRTQuantizationConfiguration(
                    calib_size=100  # E: CSC433
                ),
            ),
            runtime=trt.TrussTRTLLMRuntimeConfiguration(
                request_default_max_tokens=0  # E: CSC433
            ),
        )
    )


class NoGpu(chains.EngineBuilderLLMChainlet):
    engine_builder_config = trt.TRTLLMConfiguration(  # E: CSC430
        root=trt.TRTLLMConfigurationV1(
            build=trt.TrussTRTLLMBuildConfiguration(checkpoint_repository=REPO)
        )
    )


@chains.mark_entrypoint
class Caller(chains.ChainletBase):
    def __init__(
        self,
        a: Parallel = chains.depends(Parallel),
        b: NoCheckpoint = chains.depends(NoCheckpoint),
        c: Renamed = chains.depends(Renamed),
        d: OutOfBounds = chains.depends(OutOfBounds),
        e: NoGpu = chains.depends(NoGpu),
    ) -> None:
        self._engines = [a, b, c, d, e]

    async def run_remote(self, prompt: str) -> AsyncIterator[str]:
        async for chunk in self._engines[0].run_remote(
            chains.EngineBuilderLLMInput(prompt=prompt)
        ):
            yield chunk
