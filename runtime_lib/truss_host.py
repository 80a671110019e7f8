"""Serve a Truss directory (a `TrussChainlet`'s package) on this machine, for `chainsc run`.

Part of the runtime (`chainsc_runtime`), but never vendored into a package (no
generated code imports it): `chainsc run` starts it, with chainsc's own interpreter, as
`python -m chainsc_runtime.truss_host --port N` in the package directory, where a
generated package would run its `server.py`. It does for a model-flavoured Truss (a
`model/model.py` class) what Truss's model server does, the part a chain's calls use:

- reads `config.yaml` (`model_module_dir`, `model_class_filename`, `model_class_name`,
  `bundled_packages_dir`, `secrets`), puts the directory and its bundled packages
  directory on `sys.path`, imports the model file as Truss's server does, constructs the
  class with the arguments its `__init__` takes (`config`, `data_dir`, `secrets`,
  `lazy_data_resolver`, `environment`) and runs its `load()` in a thread at start-up;
- `POST /v1/models/model:predict` (Truss's route), `POST /run_remote` (where
  `CHAINSC_SERVICES` points a dependent's `TrussHandle`) and `POST /sync/<route>` (what
  `http_call_args(sync_path=...)` gives): the JSON body through `preprocess` (if any),
  `predict` and `postprocess` (if any), each awaited if async or run in a thread if not;
  the JSON of the result, or a chunked stream of what a generator `predict` yields;
- `GET /healthz`, `GET /` (alive), `GET /readyz`, `GET /v1/models/model` (loaded, and
  `is_healthy()` if the model has one).

Secrets the config declares come from `CHAINSC_SECRET_<NAME>`, `TRUSS_SECRET_<name>` or
`$CHAINSC_SECRETS_DIR/<name>` (default `/secrets`), as Truss mounts them. A custom
server (`docker_server`), a TensorRT-LLM engine (`trt_llm`) or a model without
`model/model.py` is refused at start with a message. Stops on SIGTERM/SIGINT or when
`chainsc run` is gone (`CHAINSC_SUPERVISOR_FD`), as `server.py` does.
Imports the standard library and `.server`; PyYAML and uvicorn only in `main` (chainsc's
`run` extra has both); never imports `compiler`.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import inspect
import json
import logging
import os
import signal
import sys
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping, Sequence
from pathlib import Path
from types import FrameType, ModuleType
from typing import Any

from .server import _configure_logging, _watch_supervisor

__all__ = ["TrussHostApp", "load_truss_model", "main"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

#: Truss's predict route, and the routes `chainsc run`'s callers use for it.
PREDICT_PATHS = frozenset({"/v1/models/model:predict", "/run_remote"})
_SYNC_PREFIX = "/sync/"
_LIVE_PATHS = frozenset({"/healthz", "/"})
_READY_PATHS = frozenset({"/readyz", "/v1/models/model"})
#: The arguments Truss's server offers a model's `__init__` (each passed if it takes it).
_INIT_ARGS = ("config", "data_dir", "secrets", "lazy_data_resolver", "environment")
_LOG = logging.getLogger("chainsc.truss_host")


class TrussHostError(Exception):
    """A Truss directory this host cannot serve (said once, at start)."""


class _Secrets(dict[str, str]):
    """The secrets `config.yaml` declares, looked up like Truss's `SecretsResolver`."""

    def __init__(self, names: Sequence[str]) -> None:
        super().__init__()
        directory = Path(os.environ.get("CHAINSC_SECRETS_DIR") or "/secrets")
        for name in names:
            snake = "".join(c if c.isalnum() else "_" for c in name).upper()
            value = os.environ.get(f"CHAINSC_SECRET_{snake}") or os.environ.get(
                f"TRUSS_SECRET_{name}"
            )
            if not value and (directory / name).is_file():
                value = (directory / name).read_text(encoding="utf-8").rstrip("\r\n")
            if value:
                self[name] = value


def _import_model_file(path: Path) -> ModuleType:
    """Import `model/model.py` by its path, under the name Truss's server gives it."""
    stem, parent = path.stem, path.parent.name
    # `model/model.py` must not take `sys.modules["model"]`: that name is the package.
    name = f"{parent}.{stem}" if parent == stem else stem
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise TrussHostError(f"cannot import `{path}`")
    module = importlib.util.module_from_spec(spec)
    if "." in name:
        module.__package__ = None
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    return module


def load_truss_model(directory: Path, config: dict[str, Any]) -> Any:
    """Construct the Truss model of `directory` (not loaded yet): its class, with the arguments it takes.

    Raises:
        TrussHostError: the directory is not a model-flavoured Truss this host serves.
    """
    if config.get("docker_server"):
        raise TrussHostError(
            "it runs a custom server (`docker_server`), which only its image can run"
        )
    if config.get("trt_llm"):
        raise TrussHostError(
            "it is a TensorRT-LLM engine (`trt_llm`), which Baseten builds and serves"
        )
    module_dir = directory / str(config.get("model_module_dir") or "model")
    path = module_dir / str(config.get("model_class_filename") or "model.py")
    if not path.is_file():
        raise TrussHostError(f"it has no model file `{path.relative_to(directory)}`")
    for extra in (
        directory / str(config.get("bundled_packages_dir") or "packages"),
        directory,
    ):
        if extra.is_dir() and str(extra) not in sys.path:
            sys.path.insert(0, str(extra))
    module = _import_model_file(path)
    class_name = str(config.get("model_class_name") or "Model")
    model_class = getattr(module, class_name, None)
    if not isinstance(model_class, type):
        raise TrussHostError(f"`{path.name}` defines no class `{class_name}`")
    data_dir = directory / str(config.get("data_dir") or "data")
    offered: dict[str, object] = {
        "config": config,
        "data_dir": data_dir,
        "secrets": _Secrets(list(config.get("secrets") or {})),
        "lazy_data_resolver": None,
        "environment": None,
    }
    parameters = inspect.signature(model_class).parameters
    takes_all = any(
        p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()
    )
    return model_class(
        **{
            name: offered[name]
            for name in _INIT_ARGS
            if takes_all or name in parameters
        }
    )


async def _call(function: Callable[..., Any], *args: Any) -> Any:
    """Await an async method; run a sync one in a thread (as Truss's server does)."""
    if inspect.iscoroutinefunction(function):
        return await function(*args)
    return await asyncio.to_thread(function, *args)


async def _chunks(result: Any) -> AsyncIterator[bytes]:
    """What a generator `predict` yields, as bytes (`str` encoded as UTF-8)."""
    if inspect.isasyncgen(result):
        async for chunk in result:
            yield chunk if isinstance(chunk, bytes) else str(chunk).encode("utf-8")
        return
    done = object()
    while True:
        chunk = await asyncio.to_thread(next, result, done)
        if chunk is done:
            return
        yield chunk if isinstance(chunk, bytes) else str(chunk).encode("utf-8")


def _json_bytes(value: Any) -> bytes:
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        value = dump(mode="json")
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


class TrussHostApp:
    """The ASGI app around one Truss model (see the module docstring for the routes)."""

    def __init__(self, model: Any, *, name: str) -> None:
        self.model = model
        self.name = name
        self.loaded = False
        self.load_failed = False

    def start_loading(self) -> None:
        """Run the model's `load()` in a thread: the probes answer meanwhile."""
        threading.Thread(target=self._load, name="truss-load", daemon=True).start()

    def _load(self) -> None:
        try:
            load = getattr(self.model, "load", None)
            if callable(load):
                load()
        except Exception:
            _LOG.exception("`load()` of the Truss model failed")
            self.load_failed = True
            os.kill(os.getpid(), signal.SIGTERM)
            return
        self.loaded = True
        _LOG.info("Loaded")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """ASGI: the lifespan (start `load()`), then the routes."""
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    self.start_loading()
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        path, method = scope["path"], scope["method"]
        if path.startswith(_SYNC_PREFIX):
            path = "/" + path.removeprefix(_SYNC_PREFIX)
        if method == "GET" and path in _LIVE_PATHS:
            await _reply(send, 200, b'{"status":"alive"}')
        elif method == "GET" and path in _READY_PATHS:
            ready = self.loaded and await self._healthy()
            await _reply(send, 200 if ready else 503, b"{}")
        elif method == "POST" and path in PREDICT_PATHS:
            await self._predict(receive, send)
        else:
            await _reply(send, 404, _json_bytes({"error": f"no route {path}"}))

    async def _healthy(self) -> bool:
        check = getattr(self.model, "is_healthy", None)
        if not callable(check):
            return True
        try:
            return bool(await _call(check))
        except Exception:
            _LOG.exception("`is_healthy()` raised")
            return False

    async def _predict(self, receive: Receive, send: Send) -> None:
        if not self.loaded:
            await _reply(send, 503, b'{"error":"model is not loaded"}', retry=True)
            return
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return
            body += message.get("body", b"")
            if not message.get("more_body", False):
                break
        try:
            inputs = json.loads(body) if body else None
        except json.JSONDecodeError as exc:
            await _reply(send, 400, _json_bytes({"error": f"invalid JSON: {exc}"}))
            return
        try:
            for step in ("preprocess", "predict", "postprocess"):
                function = getattr(self.model, step, None)
                if callable(function):
                    inputs = await _call(function, inputs)
                    if inspect.isgenerator(inputs) or inspect.isasyncgen(inputs):
                        break
        except Exception as exc:
            _LOG.exception("The Truss model raised")
            await _reply(
                send, 500, _json_bytes({"error": f"{type(exc).__name__}: {exc}"})
            )
            return
        if inspect.isgenerator(inputs) or inspect.isasyncgen(inputs):
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [(b"content-type", b"application/octet-stream")],
                }
            )
            async for chunk in _chunks(inputs):
                await send(
                    {"type": "http.response.body", "body": chunk, "more_body": True}
                )
            await send({"type": "http.response.body", "body": b""})
            return
        await _reply(send, 200, _json_bytes(inputs))


async def _reply(send: Send, status: int, body: bytes, *, retry: bool = False) -> None:
    headers = [(b"content-type", b"application/json")]
    if retry:
        headers.append((b"retry-after", b"1"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m chainsc_runtime.truss_host [--host H] [--port P] [DIR]`; the exit code."""
    parser = argparse.ArgumentParser(
        prog="python -m chainsc_runtime.truss_host",
        description="Serve a Truss directory's model over HTTP (for `chainsc run`).",
    )
    parser.add_argument("directory", nargs="?", default=".", type=Path)
    parser.add_argument("--host", default=os.environ.get("HOST") or "127.0.0.1")
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT") or 8000))
    args = parser.parse_args(argv)
    directory: Path = args.directory.resolve()
    import uvicorn  # noqa: PLC0415 - only serving needs it
    import yaml  # noqa: PLC0415 - chainsc's `run` extra has it; packages never import this

    config = yaml.safe_load((directory / "config.yaml").read_text(encoding="utf-8"))
    name = str((config or {}).get("model_name") or directory.name)
    _configure_logging(name, os.environ.get("CHAINSC_LOG_LEVEL") or "info")
    # The Truss's own files are found from where Truss's server runs it: its directory.
    os.chdir(directory)
    try:
        model = load_truss_model(directory, dict(config or {}))
    except TrussHostError as exc:
        _LOG.error("Cannot serve the Truss directory `%s`: %s", directory.name, exc)
        return 1
    app = TrussHostApp(model, name=name)
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host=args.host,
            port=args.port,
            ws="none",
            lifespan="on",
            log_config=None,
            access_log=False,
            server_header=False,
        )
    )
    _watch_supervisor(server, _LOG)

    def stop(signum: int, frame: FrameType | None) -> None:
        server.should_exit = True

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, stop)
    server.run()
    return 1 if app.load_failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
