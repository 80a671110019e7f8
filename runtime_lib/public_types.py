"""`truss_chains.public_types`: the module where Truss Chains defines its public types.

Part of the vendored runtime (`runtime_lib`, imported as `chainsc_runtime` in generated
packages). Chain code that imports from the defining module (`from
truss_chains.public_types import DeploymentContext`, as IDEs auto-import it) gets the
runtime's objects, the same ones `truss_chains` exports. Only re-exports; never imports
`compiler`.
"""

from __future__ import annotations

from .definitions import (
    CHAIN_API_KEY_NAME,
    CHAIN_API_KEY_SECRET_NAME,
    CPU_COUNT,
    DEFAULT_CONCURRENCY_LIMIT,
    DEFAULT_TIMEOUT_SEC,
    SECRET_DUMMY,
    AbsPath,
    Assets,
    AssetSpec,
    BasetenImage,
    ChainletOptions,
    Compute,
    ComputeSpec,
    CpuCountT,
    CustomImage,
    DeployedServiceDescriptor,
    DeploymentContext,
    DockerImage,
    Environment,
    JsonType,
    RemoteConfig,
    RPCOptions,
)
from .engine_builder import EngineBuilderLLMInput
from .errors import (
    ChainsDeploymentError,
    ChainsRuntimeError,
    ChainsUsageError,
    GenericRemoteException,
    MissingDependencyError,
    RemoteErrorDetail,
)
from .websocket import WebSocketProtocol

__all__ = [
    "CHAIN_API_KEY_NAME",
    "CHAIN_API_KEY_SECRET_NAME",
    "CPU_COUNT",
    "DEFAULT_CONCURRENCY_LIMIT",
    "DEFAULT_TIMEOUT_SEC",
    "SECRET_DUMMY",
    "AbsPath",
    "AssetSpec",
    "Assets",
    "BasetenImage",
    "ChainletOptions",
    "ChainsDeploymentError",
    "ChainsRuntimeError",
    "ChainsUsageError",
    "Compute",
    "ComputeSpec",
    "CpuCountT",
    "CustomImage",
    "DeployedServiceDescriptor",
    "DeploymentContext",
    "DockerImage",
    "EngineBuilderLLMInput",
    "Environment",
    "GenericRemoteException",
    "JsonType",
    "MissingDependencyError",
    "RPCOptions",
    "RemoteConfig",
    "RemoteErrorDetail",
    "WebSocketProtocol",
]
