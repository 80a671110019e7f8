"""chainsc runtime: the Truss Chains authoring API, HTTP transport and serving adapter.

Vendored verbatim into every generated package as `chainsc_runtime`.
Users import it as `runtime_lib` (the same names as `truss_chains`) to write and
type-check chains without Truss; generated packages import it as `chainsc_runtime`.
Inside it, imports are relative only; it never imports `compiler`. `RUNTIME_VERSION`,
`REQUIREMENTS` and `SERVER_REQUIREMENTS` are plain literals so tools can read them
without importing.
"""

from __future__ import annotations

# The Truss Chains submodules chain code reaches as `chains.<module>` or imports from.
from . import public_api, public_types, pydantic_numpy, streaming, truss_config, utils
from .definitions import (
    AbsPath,
    Assets,
    BasetenImage,
    ChainletBase,
    ChainletOptions,
    Compute,
    CustomImage,
    DeployedServiceDescriptor,
    DeploymentContext,
    DockerImage,
    Environment,
    ModelBase,
    RemoteConfig,
    RPCOptions,
    depends,
    depends_context,
    make_abs_path_here,
    mark_entrypoint,
)
from .errors import (
    ChainsRuntimeError,
    ChainsUsageError,
    GenericRemoteException,
    MissingDependencyError,
    RemoteErrorDetail,
)
from .local import run_local
from .stub import StubBase
from .truss_config import WeightsSource

#: Version of the runtime; bumped with every change to its behaviour or wire protocol.
RUNTIME_VERSION = "0.5.0"

#: pip requirements of the runtime; the emitters copy them into requirements.txt.
REQUIREMENTS: tuple[str, ...] = (
    # Async calls to dependencies (`.transport`); sync ones use httpx.
    "aiohttp>=3.9,<4",
    "httpx>=0.27,<1",
    # The body of `use_binary=True` calls (`.binary`).
    "msgpack>=1.0,<2",
    "pydantic>=2.7,<3",
)

#: Extra pip requirements of a package's standalone `server.py` (`.server`), on top of
#: `REQUIREMENTS`. Not in requirements.txt: Truss deployments bring their own server.
SERVER_REQUIREMENTS: tuple[str, ...] = (
    "uvicorn>=0.30,<1",
    "httptools>=0.6,<1",
    'uvloop>=0.19,<1; sys_platform != "win32"',
)

__all__ = [
    "REQUIREMENTS",
    "RUNTIME_VERSION",
    "SERVER_REQUIREMENTS",
    "AbsPath",
    "Assets",
    "BasetenImage",
    "ChainletBase",
    "ChainletOptions",
    "ChainsRuntimeError",
    "ChainsUsageError",
    "Compute",
    "CustomImage",
    "DeployedServiceDescriptor",
    "DeploymentContext",
    "DockerImage",
    "Environment",
    "GenericRemoteException",
    "MissingDependencyError",
    "ModelBase",
    "RPCOptions",
    "RemoteConfig",
    "RemoteErrorDetail",
    "StubBase",
    "WeightsSource",
    "depends",
    "depends_context",
    "make_abs_path_here",
    "mark_entrypoint",
    "public_api",
    "public_types",
    "pydantic_numpy",
    "run_local",
    "streaming",
    "truss_config",
    "utils",
]
