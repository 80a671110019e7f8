"""The TensorRT-LLM configuration names chain files use in `engine_builder_config`, for run time.

An `EngineBuilderLLMChainlet`'s `engine_builder_config` is compiled into its package's
`config.yaml` (`trt_llm`) at build time, and the engine runs on Baseten, never in a
package. The user's modules may still evaluate these constructors at run time (a module
constant kept for another reason, `from truss.base import trt_llm_config` next to the
`truss_config` import a package needs), so this module gives them the names of
`truss.base.trt_llm_config` (truss 0.18.36), accepting and keeping any field: the compiler
already checked them. The slice points `truss.base.trt_llm_config` imports here.
"""

from __future__ import annotations

import enum
from typing import Any

import pydantic

__all__ = [
    "CheckpointRepository",
    "CheckpointSource",
    "InferenceStack",
    "TRTLLMConfiguration",
    "TRTLLMConfigurationV1",
    "TRTLLMConfigurationV2",
    "TRTLLMRuntimeConfigurationV2",
    "TrussSpecDecMode",
    "TrussSpeculatorConfiguration",
    "TrussTRTLLMBatchSchedulerPolicy",
    "TrussTRTLLMBuildConfiguration",
    "TrussTRTLLMLoraConfiguration",
    "TrussTRTLLMModel",
    "TrussTRTLLMPluginConfiguration",
    "TrussTRTLLMQuantizationType",
    "TrussTRTLLMRuntimeConfiguration",
    "TrussTRTQuantizationConfiguration",
    "VersionsOverrides",
]


class TrussTRTLLMModel(str, enum.Enum):  # noqa: UP042 - StrEnum is 3.11+, packages may run on 3.10
    """What the engine serves (`decoder` for text generation)."""

    ENCODER = "encoder"
    ENCODER_BERT = "encoder_bert"
    DECODER = "decoder"
    PALMYRA = "palmyra"
    QWEN = "qwen"
    LLAMA = "llama"
    MISTRAL = "mistral"
    DEEPSEEK = "deepseek"
    WHISPER = "whisper"


class InferenceStack(str, enum.Enum):  # noqa: UP042 - StrEnum is 3.11+, packages may run on 3.10
    """Which engine stack serves the model."""

    v1 = "v1"
    v2 = "v2"


class TrussTRTLLMQuantizationType(str, enum.Enum):  # noqa: UP042 - StrEnum is 3.11+, packages may run on 3.10
    """How the weights (and the KV cache) are quantized."""

    NO_QUANT = "no_quant"
    WEIGHTS_ONLY_INT8 = "weights_int8"
    WEIGHTS_KV_INT8 = "weights_kv_int8"
    WEIGHTS_ONLY_INT4 = "weights_int4"
    WEIGHTS_INT4_KV_INT8 = "weights_int4_kv_int8"
    SMOOTH_QUANT = "smooth_quant"
    FP8 = "fp8"
    FP8_KV = "fp8_kv"
    FP8_MLP_ONLY = "fp8_mlp_only"
    FP4 = "fp4"
    FP4_KV = "fp4_kv"
    FP4_MLP_ONLY = "fp4_mlp_only"


class CheckpointSource(str, enum.Enum):  # noqa: UP042 - StrEnum is 3.11+, packages may run on 3.10
    """Where the model's checkpoint comes from."""

    HF = "HF"
    GCS = "GCS"
    S3 = "S3"
    AZURE = "AZURE"
    LOCAL = "LOCAL"
    REMOTE_URL = "REMOTE_URL"
    BASETEN_TRAINING = "BASETEN_TRAINING"


class TrussTRTLLMBatchSchedulerPolicy(str, enum.Enum):  # noqa: UP042 - StrEnum is 3.11+, packages may run on 3.10
    """How requests are scheduled on the engine."""

    MAX_UTILIZATION = "max_utilization"
    GUARANTEED_NO_EVICT = "guaranteed_no_evict"


class TrussSpecDecMode(str, enum.Enum):  # noqa: UP042 - StrEnum is 3.11+, packages may run on 3.10
    """The speculative decoding mode."""

    DRAFT_EXTERNAL = "DRAFT_TOKENS_EXTERNAL"
    LOOKAHEAD_DECODING = "LOOKAHEAD_DECODING"


class _Config(pydantic.BaseModel):
    """Keeps every field given: the compiler already validated them."""

    model_config = pydantic.ConfigDict(extra="allow")


class CheckpointRepository(_Config):
    """The checkpoint the engine is built from."""

    source: CheckpointSource | str
    repo: str


class TrussTRTLLMPluginConfiguration(_Config):
    """TensorRT-LLM plugin settings."""


class TrussTRTQuantizationConfiguration(_Config):
    """Calibration of a quantized build."""


class TrussTRTLLMRuntimeConfiguration(_Config):
    """Runtime settings of a v1 engine."""


class TRTLLMRuntimeConfigurationV2(_Config):
    """Runtime settings of a v2 engine."""


class TrussTRTLLMLoraConfiguration(_Config):
    """LoRA settings."""


class TrussSpeculatorConfiguration(_Config):
    """Speculative decoding settings."""


class TrussTRTLLMBuildConfiguration(_Config):
    """How the engine is built."""


class VersionsOverrides(_Config):
    """Engine image versions that override Baseten's defaults."""


class TRTLLMConfigurationV1(_Config):
    """The v1 inference stack's configuration."""

    build: Any


class TRTLLMConfigurationV2(_Config):
    """The v2 inference stack's configuration."""

    build: Any
    runtime: Any


class TRTLLMConfiguration(pydantic.RootModel[Any]):
    """`engine_builder_config`: a v1 or v2 configuration (`root`), or its fields as keywords."""
