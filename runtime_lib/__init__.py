"""chainsc runtime: the Truss Chains authoring API, HTTP transport and serving adapter.

Vendored verbatim into every generated package as `chainsc_runtime` (the modules the
package's code imports, and what they import). Users import it as `runtime_lib` (the
same names as `truss_chains`) to write and type-check chains without Truss; generated
packages import it as `chainsc_runtime`. Inside it, imports are relative only; it never
imports `compiler`. `RUNTIME_VERSION`, `REQUIREMENTS`, `SERVER_REQUIREMENTS` and
`LAZY_ATTRIBUTES` are plain literals so tools can read them without importing.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

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

if TYPE_CHECKING:
    from . import (
        public_api,
        public_types,
        pydantic_numpy,
        streaming,
        truss_config,
        utils,
    )
    from .local import run_local
    from .stub import StubBase
    from .truss_config import WeightsSource

#: Version of the runtime; bumped with every change to its behaviour or wire protocol.
RUNTIME_VERSION = "0.6.0"

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

#: Names imported on first use (PEP 562 `__getattr__`): name -> the module (relative) that
#: defines it; a submodule maps to itself. A built package vendors only the modules its
#: code uses (the compiler reads this literal, and each module's relative imports), so the
#: Truss Chains submodules chain code reaches as `chains.<module>` or imports from load here.
LAZY_ATTRIBUTES: dict[str, str] = {
    "StubBase": "stub",
    "WeightsSource": "truss_config",
    "public_api": "public_api",
    "public_types": "public_types",
    "pydantic_numpy": "pydantic_numpy",
    "run_local": "local",
    "streaming": "streaming",
    "truss_config": "truss_config",
    "utils": "utils",
}


def __getattr__(name: str) -> Any:
    """Import a name of `LAZY_ATTRIBUTES` from its module on first use."""
    module = LAZY_ATTRIBUTES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    loaded = importlib.import_module(f".{module}", __name__)
    value = loaded if name == module else getattr(loaded, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """The module's names, the ones imported on first use included."""
    return sorted({*globals(), *LAZY_ATTRIBUTES})


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
