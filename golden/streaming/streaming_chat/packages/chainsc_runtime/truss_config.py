"""The `truss_config` helpers chain files use inside `remote_config`, for run time.

chainsc compiles `remote_config` into `config.yaml` at build time; at run time the
user's code may still evaluate these constructors (a class body, a module
constant kept for another reason). This module gives them the same names and
fields as `truss.base.truss_config`, accepting and keeping any field, so the
user's code runs without the `truss` package installed.
"""

from __future__ import annotations

import enum

import pydantic

__all__ = [
    "Accelerator",
    "DockerAuthSettings",
    "DockerAuthType",
    "ExternalDataItem",
    "GRPCOptions",
    "HTTPOptions",
    "HealthChecks",
    "ModelRepo",
    "ModelRepoSourceKind",
    "WebsocketOptions",
    "WeightsSource",
]


class Accelerator(str, enum.Enum):  # noqa: UP042 - StrEnum is 3.11+, packages may run on 3.10
    """GPU types, as `truss_config.Accelerator`."""

    T4 = "T4"
    L4 = "L4"
    A10G = "A10G"
    V100 = "V100"
    A100 = "A100"
    A100_40GB = "A100_40GB"
    H100 = "H100"
    H200 = "H200"
    H100_40GB = "H100_40GB"
    B200 = "B200"
    L40S = "L40S"
    RTX_PRO_6000 = "RTX_PRO_6000"
    B300 = "B300"
    GB300 = "GB300"


class ModelRepoSourceKind(str, enum.Enum):  # noqa: UP042 - StrEnum is 3.11+, packages may run on 3.10
    """Where a cached model repo comes from."""

    HF = "hf"
    GCS = "gcs"
    S3 = "s3"
    AZURE = "azure"


class DockerAuthType(str, enum.Enum):  # noqa: UP042 - StrEnum is 3.11+, packages may run on 3.10
    """How to authenticate to a custom image's registry."""

    GCP_SERVICE_ACCOUNT_JSON = "GCP_SERVICE_ACCOUNT_JSON"
    AWS_IAM = "AWS_IAM"
    AWS_OIDC = "AWS_OIDC"
    GCP_OIDC = "GCP_OIDC"
    REGISTRY_SECRET = "REGISTRY_SECRET"
    AWS_ASSUME_ROLE = "AWS_ASSUME_ROLE"


class _Config(pydantic.BaseModel):
    """Keeps every field given: the compiler already validated them."""

    model_config = pydantic.ConfigDict(extra="allow")


class ModelRepo(_Config):
    """A model repo cached at start-up."""

    repo_id: str
    revision: str = ""
    use_volume: bool = False


class ExternalDataItem(_Config):
    """A remote file downloaded into the data directory."""

    url: str
    local_data_path: str


class WeightsSource(_Config):
    """Weights mirrored and mounted before the container starts."""

    source: str
    mount_location: str


class HealthChecks(_Config):
    """Health check timing."""


class DockerAuthSettings(_Config):
    """Registry authentication of a custom image."""

    auth_method: DockerAuthType | str


class HTTPOptions(_Config):
    """HTTP transport options."""


class WebsocketOptions(_Config):
    """WebSocket transport options."""


class GRPCOptions(_Config):
    """gRPC transport options."""
