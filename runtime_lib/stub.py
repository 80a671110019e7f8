"""`StubBase`: hand-written clients of already deployed models (Truss Chains' name).

Part of the vendored runtime (`runtime_lib`, imported as `chainsc_runtime` in generated
packages). A user subclass defines `run_remote` and calls `predict_sync` /
`predict_async` / `predict_async_stream`, which post the inputs as JSON to the model's
predict URL through the runtime's transport (retries, timeout, concurrency limit).
Imports `.transport`, `.definitions`, `.errors`; never imports `compiler`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any, TypeVar, overload

import pydantic

from .definitions import (
    CHAIN_API_KEY_SECRET_NAME,
    SECRET_DUMMY,
    DeployedServiceDescriptor,
    DeploymentContext,
    RPCOptions,
)
from .errors import MissingDependencyError
from .transport import ChainletClient, ServiceTarget

__all__ = ["StubBase"]

_StubT = TypeVar("_StubT", bound="StubBase")
_ModelT = TypeVar("_ModelT", bound=pydantic.BaseModel)


_JSON: pydantic.TypeAdapter[Any] = pydantic.TypeAdapter(Any)


def _as_json(inputs: pydantic.BaseModel | Mapping[str, Any]) -> Mapping[str, Any]:
    if isinstance(inputs, pydantic.BaseModel):
        dumped: dict[str, Any] = inputs.model_dump(mode="json", by_alias=True)
        return dumped
    return inputs


class StubBase:
    """Base class of clients for deployed models.

    Example::

        class DeployedWhisper(chains.StubBase):
            async def run_remote(self, audio_b64: str) -> WhisperOutput:
                return await self.predict_async(
                    {"audio": audio_b64}, output_model=WhisperOutput
                )

        # in a Chainlet's __init__:
        self._whisper = DeployedWhisper.from_url(WHISPER_URL, context)
    """

    def __init__(
        self, service_descriptor: DeployedServiceDescriptor, api_key: str | None
    ) -> None:
        """Create a stub from a service descriptor.

        Requests go to its `predict_url` as it is, or, when it has an `internal_url`
        (which wins, as in Truss), to the gateway URL with the `Host` header.
        """
        if not (service_descriptor.predict_url or service_descriptor.internal_url):
            raise MissingDependencyError(
                f"No predict URL for `{service_descriptor.name}` in its service descriptor."
            )
        self._name = service_descriptor.name
        self._client = ChainletClient(
            service=service_descriptor.display_name,
            target=ServiceTarget.of_urls(service_descriptor),
            options=service_descriptor.options,
            api_key=api_key,
        )
        self._adapters: dict[type[Any], pydantic.TypeAdapter[Any]] = {}

    @classmethod
    def from_url(
        cls: type[_StubT],
        predict_url: str,
        context_or_api_key: DeploymentContext | str,
        options: RPCOptions | None = None,
    ) -> _StubT:
        """A stub of the model at `predict_url`.

        Args:
            predict_url: the full URL of the deployed model's predict endpoint.
            context_or_api_key: the Chainlet's `DeploymentContext` (its secret
                `baseten_chain_api_key` is the API key; unlike Truss, requests are sent
                without a key when that secret is absent) or an API key.
            options: retries, timeout, concurrency limit.
        """
        if isinstance(context_or_api_key, str):
            api_key: str | None = context_or_api_key
        else:
            api_key = context_or_api_key.secrets.get(CHAIN_API_KEY_SECRET_NAME)
            api_key = None if api_key == SECRET_DUMMY else api_key
        name = cls.__name__
        descriptor = DeployedServiceDescriptor(
            name=name,
            display_name=name,
            options=options or RPCOptions(),
            predict_url=predict_url,
        )
        return cls(descriptor, api_key)

    @property
    def name(self) -> str:
        """The service name (the stub class name for `from_url`)."""
        return self._name

    def _adapter(self, output_model: type[Any] | None) -> pydantic.TypeAdapter[Any]:
        if output_model is None:
            return _JSON
        adapter = self._adapters.get(output_model)
        if adapter is None:
            adapter = self._adapters[output_model] = pydantic.TypeAdapter(output_model)
        return adapter

    @overload
    def predict_sync(
        self,
        inputs: pydantic.BaseModel | Mapping[str, Any],
        output_model: type[_ModelT],
    ) -> _ModelT: ...

    @overload
    def predict_sync(
        self, inputs: pydantic.BaseModel | Mapping[str, Any], output_model: None = None
    ) -> Any: ...

    def predict_sync(
        self,
        inputs: pydantic.BaseModel | Mapping[str, Any],
        output_model: type[_ModelT] | None = None,
    ) -> _ModelT | Any:
        """Post `inputs` (a model or a JSON dict); the reply as `output_model` or JSON."""
        return self._client.call(_as_json(inputs), self._adapter(output_model))

    @overload
    async def predict_async(
        self,
        inputs: pydantic.BaseModel | Mapping[str, Any],
        output_model: type[_ModelT],
    ) -> _ModelT: ...

    @overload
    async def predict_async(
        self, inputs: pydantic.BaseModel | Mapping[str, Any], output_model: None = None
    ) -> Any: ...

    async def predict_async(
        self,
        inputs: pydantic.BaseModel | Mapping[str, Any],
        output_model: type[_ModelT] | None = None,
    ) -> _ModelT | Any:
        """Async `predict_sync`."""
        return await self._client.acall(_as_json(inputs), self._adapter(output_model))

    async def predict_async_stream(
        self, inputs: pydantic.BaseModel | Mapping[str, Any]
    ) -> AsyncIterator[bytes]:
        """Post `inputs`; an async iterator of the reply's raw chunks.

        Used as in Truss: `async for chunk in await stub.predict_async_stream(...)`.
        """
        return self._client.astream(_as_json(inputs), bytes)

    def close(self) -> None:
        """Close the sync connection pool."""
        self._client.close()

    async def aclose(self) -> None:
        """Close both connection pools."""
        await self._client.aclose()
