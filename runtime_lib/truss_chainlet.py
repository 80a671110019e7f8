"""`TrussHandle`: what a Chainlet gets for a dependency on a `TrussChainlet`.

Part of the vendored runtime (`runtime_lib`, imported as `chainsc_runtime` in generated
packages); chain code imports it as `truss_chains.remote_chainlet.truss_chainlet`, as
under Truss. A `TrussChainlet` is an existing Truss directory with no typed endpoint:
its dependents call it over HTTP themselves (its `predict`, or any route of a custom
server), and the handle gives them where and with which headers
(`http_call_args()`, `ws_call_args()`), as Truss Chains' `TrussHandle` does (truss
0.18.36): the same methods, arguments and answers.

Where the handle points: a dependency's handle is made by `ChainletModel.load()`
(where the TrussChainlet's class stood in the dependent's code, the slice has a
subclass of `TrussHandle` of the same name), at the URL `transport.find_services`
found for the TrussChainlet's display name: Baseten's `dynamic_chainlet_config`
(`predict_url`, or `internal_url` with its `Host`), or chainsc's `CHAINSC_SERVICES`
(`chainsc run`: `<base>/run_remote`, which `chainsc_runtime.truss_host` serves as the
model's predict). A handle made by the user (`TrussHandle("Name")`, `TrussHandle(Cls)`)
looks the name up the same way.

The API key (`Authorization: Api-Key <key>`) is the `api_key` argument, else the
handle's (what `load()` resolved: `CHAINSC_API_KEY` or the secret
`baseten_chain_api_key`), else `get_baseten_chain_api_key()`. A target found in the
platform's config needs one (`MissingDependencyError` otherwise, as in Truss); a local
one (`chainsc run`) is called without it when none is set.
Imports `.definitions`, `.errors`, `.serving`, `.transport`; never imports `compiler`.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Any, ClassVar, NamedTuple

from .definitions import CHAIN_API_KEY_SECRET_NAME, SECRET_DUMMY, ServiceDescriptorUrls
from .errors import MissingDependencyError
from .serving import (
    API_KEY_ENV_VAR,
    DEFAULT_SECRETS_DIR,
    SECRETS_DIR_ENV_VAR,
    secret_env_var,
)
from .transport import ServiceTarget, find_service

__all__ = [
    "CallArgs",
    "TrussHandle",
    "get_baseten_chain_api_key",
    "get_service_urls",
]

#: The suffix of a Chainlet's URL on Baseten (and of `chainsc run`'s), which
#: `sync_path` and the websocket URL replace.
_RUN_REMOTE = "/run_remote"


class CallArgs(NamedTuple):
    """`(url, headers)` of a call to a TrussChainlet: hand them to `httpx` or `websockets`."""

    url: str
    headers: dict[str, str]


def _chain_api_key() -> str | None:
    """`CHAINSC_API_KEY`, else the secret `baseten_chain_api_key` (env var, then file); `***` is unset."""
    value = os.environ.get(API_KEY_ENV_VAR) or os.environ.get(
        secret_env_var(CHAIN_API_KEY_SECRET_NAME)
    )
    if not value:
        path = (
            Path(os.environ.get(SECRETS_DIR_ENV_VAR) or DEFAULT_SECRETS_DIR)
            / CHAIN_API_KEY_SECRET_NAME
        )
        try:
            value = path.read_text(encoding="utf-8").rstrip("\r\n")
        except OSError:
            value = None
    return value if value and value != SECRET_DUMMY else None


@functools.lru_cache(maxsize=1)
def get_baseten_chain_api_key() -> str:
    """The key Chainlets call each other with (cached per process).

    Raises:
        MissingDependencyError: neither `CHAINSC_API_KEY` nor the secret
            `baseten_chain_api_key` is set.
    """
    value = _chain_api_key()
    if value is None:
        raise MissingDependencyError(
            f"No `{CHAIN_API_KEY_SECRET_NAME}` secret: set "
            f"`{secret_env_var(CHAIN_API_KEY_SECRET_NAME)}` (or `{API_KEY_ENV_VAR}`), or "
            f"write the file `{os.environ.get(SECRETS_DIR_ENV_VAR) or DEFAULT_SECRETS_DIR}/"
            f"{CHAIN_API_KEY_SECRET_NAME}`. Required to call a TrussChainlet on Baseten."
        )
    return value


def _display_name(target: object) -> str:
    """A Chainlet's display name: its `remote_config.name`, else its class name."""
    service = getattr(target, "SERVICE", None)
    if isinstance(service, str):
        return service
    config = getattr(target, "remote_config", None)
    name = getattr(config, "name", None)
    if isinstance(name, str) and name:
        return name
    return str(getattr(target, "__name__", target))


def get_service_urls(target: str | type[Any]) -> ServiceDescriptorUrls:
    """Where a Chainlet of the chain is served, by its display name or its class.

    Raises:
        TypeError: `target` is neither.
        MissingDependencyError: it is found nowhere (see `transport.find_services`).
    """
    if isinstance(target, str):
        name = target
    elif isinstance(target, type):
        name = _display_name(target)
    else:
        raise TypeError(
            "`get_service_urls` takes a Chainlet class or its display name, "
            f"got {type(target).__name__!r}."
        )
    return _urls(find_service(name))


def _urls(target: ServiceTarget) -> ServiceDescriptorUrls:
    """The URLs of a target: the whole entry it was found as (both URLs), else its own."""
    if target.urls is not None:
        return target.urls
    return ServiceDescriptorUrls.model_validate(target.descriptor_urls())


class TrussHandle:
    """Where a TrussChainlet is served and how to call it: build once, then ask for call args.

    `TrussHandle("Name")` or `TrussHandle(TrussChainletClass)` finds it by display name;
    `ChainletModel.load()` makes the handle of a dependency from the target it found.
    """

    #: The TrussChainlet's display name (set on the subclass that stands for its class).
    SERVICE: ClassVar[str | None] = None

    urls: ServiceDescriptorUrls

    def __init__(
        self,
        target: str | type[Any] | ServiceTarget | None = None,
        *,
        service: str | None = None,
        options: object = None,
        api_key: str | None = None,
    ) -> None:
        self._api_key = api_key
        self._from_platform = True
        if isinstance(target, ServiceTarget):
            self._from_platform = target.from_platform
            self.urls = _urls(target)
            self._service = service or self.SERVICE or type(self).__name__
            return
        if target is None:
            target = service or self.SERVICE or type(self).__name__
        name = target if isinstance(target, str) else _display_name(target)
        found = find_service(name)
        self._from_platform = found.from_platform
        self._service = name
        self.urls = _urls(found)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(service={self._service!r}, urls={self.urls!r})"

    def _key(self, api_key: str | None) -> str | None:
        if api_key is not None:
            return api_key
        if self._api_key:
            return self._api_key
        if self._from_platform:
            return get_baseten_chain_api_key()
        return _chain_api_key()

    def http_call_args(
        self,
        *,
        prefer_internal: bool = False,
        sync_path: str | None = None,
        api_key: str | None = None,
    ) -> CallArgs:
        """The URL of its predict (or of `sync_path`) and the headers to send.

        Args:
            prefer_internal: use the in-cluster gateway URL (and its `Host` header)
                when there is one.
            sync_path: a route of the Truss's server instead of its predict: the URL
                becomes `<base>/sync/<sync_path>`.
            api_key: the key to send instead of the chain's.
        """
        key = self._key(api_key)
        headers = {"Authorization": f"Api-Key {key}"} if key else {}
        internal = self.urls.internal_url
        if (prefer_internal or self.urls.predict_url is None) and internal is not None:
            url = internal.gateway_run_remote_url
            headers["Host"] = internal.hostname
        else:
            assert (
                self.urls.predict_url is not None
            )  # the descriptor has one of the two
            url = self.urls.predict_url
        if sync_path is not None:
            url = f"{url.removesuffix(_RUN_REMOTE)}/sync/{sync_path.lstrip('/')}"
        return CallArgs(url=url, headers=headers)

    def ws_call_args(
        self, *, sync_path: str | None = None, api_key: str | None = None
    ) -> CallArgs:
        """A `ws://`/`wss://` URL (its `/websocket`, or `/sync/<sync_path>`) and the auth header.

        Raises:
            MissingDependencyError: the target has no `predict_url` (a websocket
                cannot go through the in-cluster gateway, as in Truss).
        """
        if self.urls.predict_url is None:
            raise MissingDependencyError(
                f"`{self._service}` has no `predict_url`: a websocket call needs the "
                "chain's URL, not the in-cluster gateway."
            )
        key = self._key(api_key)
        base = self.urls.predict_url.removesuffix(_RUN_REMOTE)
        suffix = (
            f"sync/{sync_path.lstrip('/')}" if sync_path is not None else "websocket"
        )
        url = f"{base}/{suffix}"
        if url.startswith("https://"):
            url = "wss://" + url.removeprefix("https://")
        elif url.startswith("http://"):
            url = "ws://" + url.removeprefix("http://")
        return CallArgs(
            url=url, headers={"Authorization": f"Api-Key {key}"} if key else {}
        )

    def close(self) -> None:
        """Nothing to close: the handle holds no connection (the caller's client does)."""

    async def aclose(self) -> None:
        """Nothing to close (see `close`)."""
