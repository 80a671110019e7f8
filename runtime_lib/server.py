"""HTTP server of one Chainlet: the entry of each package's generated `server.py`.

Part of the vendored runtime (`runtime_lib`, imported as `chainsc_runtime` in generated
packages). This module is the process: the command line (`main`), logging, and `serve`,
which runs the package's `Model` in a `app.ChainletApp` (the routes: see `app.py`; the
OpenAPI document: `openapi.py`) on uvicorn (httptools parser and uvloop where
installed), drains on SIGTERM and watches the supervisor.

`load()` runs in a thread at startup, so `/healthz` answers during a slow `__init__`; if
it raises, the error is logged and the process exits with code 1. When
`CHAINSC_API_KEY` is set, every request except the probes needs it (see `app.py`).
SIGTERM/SIGINT: stop accepting, let in-flight requests finish (including the calls they
make to dependencies) for up to `CHAINSC_DRAIN_TIMEOUT` seconds (default 30), exit 0. With
`CHAINSC_SUPERVISOR_FD` (set by `chainsc run`), the server also stops that way when the
supervisor is gone: the variable names the read end of a pipe whose write end only the
supervisor holds, so end of file means it died, however it died. Logs go to stdout,
prefixed with the Chainlet name (and, for what is logged while a request runs, its
request id and trace id): one line per request at debug level (`CHAINSC_LOG_LEVEL=debug`),
errors at error level.

Imports the standard library, `.app`, `.openapi`, `.serving` and `.tracing` at import time; `uvicorn`
only in `serve()` (see `SERVER_REQUIREMENTS` in the package `__init__`), so the rest of
the runtime never needs it. Never imports `compiler`.
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import signal
import stat
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from types import FrameType
from typing import Any

from .app import ChainletApp, Stoppable
from .openapi import openapi_document
from .serving import API_KEY_ENV_VAR, DATA_DIR_ENV_VAR, ChainletModel
from .tracing import LogContextFilter

__all__ = [
    "DEFAULT_DRAIN_TIMEOUT_SEC",
    "DRAIN_TIMEOUT_ENV_VAR",
    "LOG_LEVEL_ENV_VAR",
    "SUPERVISOR_FD_ENV_VAR",
    "ChainletApp",
    "main",
    "openapi_document",
    "serve",
]

#: Seconds that in-flight requests get to finish after SIGTERM/SIGINT.
DRAIN_TIMEOUT_ENV_VAR = "CHAINSC_DRAIN_TIMEOUT"
DEFAULT_DRAIN_TIMEOUT_SEC = 30.0
#: `debug` logs one line per request; default `info`.
LOG_LEVEL_ENV_VAR = "CHAINSC_LOG_LEVEL"
#: The read end of a pipe from the supervisor (`chainsc run`): end of file = it is gone.
SUPERVISOR_FD_ENV_VAR = "CHAINSC_SUPERVISOR_FD"
#: The largest websocket message accepted: Truss's server's (100 MiB).
WEBSOCKET_MAX_MESSAGE_BYTES = 100 * (1 << 20)


class _Formatter(logging.Formatter):
    def __init__(self, display_name: str) -> None:
        name = display_name.replace("%", "%%")
        super().__init__(
            f"%(asctime)s %(levelname)s [{name}] %(chainsc_request)s%(message)s",
            datefmt="%Y-%m-%dT%H:%M:%S",
        )


def _configure_logging(display_name: str, level: str) -> None:
    """Every log record (ours, uvicorn's, the user's) to stdout, with the name.

    A record made while a request runs also names its request id and trace id.
    """
    handler = logging.StreamHandler(sys.stdout)
    handler.addFilter(LogContextFilter())
    handler.setFormatter(_Formatter(display_name))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # uvicorn's "Uvicorn running on ..." and drain messages stay at info.
    logging.getLogger("uvicorn").setLevel(max(root.level, logging.INFO))
    # httpx logs every dependency call at info: one line per hop would drown the log.
    for noisy in ("httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(max(root.level, logging.WARNING))


def serve(
    model_cls: type[ChainletModel],
    *,
    host: str,
    port: int,
    predict_concurrency: int,
    display_name: str,
    data_dir: str | os.PathLike[str] | None = None,
    drain_timeout: float = DEFAULT_DRAIN_TIMEOUT_SEC,
    log_level: str = "info",
    websocket_ping_interval: float | None = None,
    websocket_ping_timeout: float | None = None,
) -> int:
    """Serve `model_cls` on `host:port` until SIGTERM/SIGINT; the process exit code.

    Args:
        model_cls: the package's `Model` (a `ChainletModel` subclass).
        host: the bind address.
        port: the TCP port (0: any free port).
        predict_concurrency: the most requests that run at once.
        display_name: the Chainlet's name (logs, OpenAPI title).
        data_dir: `DeploymentContext.data_dir` (`$CHAINSC_DATA_DIR` wins when set).
        drain_timeout: seconds in-flight requests get after SIGTERM/SIGINT.
        log_level: `debug` logs a line per request.
        websocket_ping_interval: a websocket endpoint's `WebsocketOptions`
            `ping_interval_seconds` (None: uvicorn's default), as Truss's server.
        websocket_ping_timeout: its `ping_timeout_seconds`, likewise.

    Returns:
        0 after a graceful stop, 1 when `load()` failed.
    """
    try:
        import uvicorn  # noqa: PLC0415  # only the server needs it
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise SystemExit(
            f"chainsc: server.py needs uvicorn: pip install 'uvicorn[standard]' ({exc})"
        ) from exc
    websocket: dict[str, Any] = {"ws": "none"}
    if model_cls.endpoint.is_websocket:
        websocket = _websocket_settings(websocket_ping_interval, websocket_ping_timeout)
    _configure_logging(display_name, log_level)
    model = model_cls(data_dir=os.environ.get(DATA_DIR_ENV_VAR) or data_dir)
    app = ChainletApp(
        model,
        display_name=display_name,
        predict_concurrency=predict_concurrency,
        api_key=os.environ.get(API_KEY_ENV_VAR) or None,
    )
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        loop="auto",  # uvloop when installed
        http="auto",  # httptools when installed
        lifespan="on",
        interface="asgi3",
        log_config=None,
        access_log=False,
        server_header=False,
        proxy_headers=False,
        timeout_graceful_shutdown=math.ceil(drain_timeout),
        **websocket,
    )
    server = uvicorn.Server(config)
    app.attach(server)
    _watch_supervisor(server, app.log)

    # uvicorn handles SIGTERM/SIGINT while serving and re-raises the signal afterwards
    # with the handler it found: this one, so the process ends with our exit code.
    def stop(signum: int, frame: FrameType | None) -> None:
        server.should_exit = True

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, stop)
    server.run()
    if app.load_failed:
        return 1
    if app.busy_threads:
        app.log.error(
            "%d request(s) still running after the %g s drain timeout; exiting",
            app.busy_threads,
            drain_timeout,
        )
        logging.shutdown()
        sys.stdout.flush()
        os._exit(0)  # the worker threads of the cut requests would block a normal exit
    app.log.info("Stopped")
    return 0


def _websocket_settings(
    ping_interval: float | None, ping_timeout: float | None
) -> dict[str, Any]:
    """The uvicorn settings of a websocket endpoint (those of Truss's server).

    Raises:
        SystemExit: no websocket implementation for uvicorn is installed.
    """
    try:
        import websockets  # noqa: F401, PLC0415  # uvicorn's websocket protocol
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise SystemExit(
            "chainsc: this Chainlet serves a websocket, and server.py needs the "
            f"`websockets` package for that: pip install 'websockets>=13,<18' ({exc})"
        ) from exc
    settings: dict[str, Any] = {
        "ws": "auto",
        "ws_max_size": WEBSOCKET_MAX_MESSAGE_BYTES,
    }
    # Only when set, so uvicorn's defaults stay (as Truss's server does).
    if ping_interval:
        settings["ws_ping_interval"] = ping_interval
    if ping_timeout:
        settings["ws_ping_timeout"] = ping_timeout
    return settings


def _watch_supervisor(server: Stoppable, log: logging.Logger) -> None:
    """Stop `server` as on SIGTERM once the supervisor that started it is gone.

    Only when `$CHAINSC_SUPERVISOR_FD` names an inherited pipe (`chainsc run` sets it;
    Truss's server and a user running `server.py` do not). Nothing is ever written to
    the pipe: a read returns end of file when the last write end closes, which the
    kernel does when the supervisor exits, even by SIGKILL. A thread blocked on that
    read notices at once, without polling and without a parent-death signal (Linux
    only, and tied to the thread that forked). The variable is removed and the fd made
    non-inheritable, so processes the Chainlet starts do not take it along.
    """
    raw = os.environ.pop(SUPERVISOR_FD_ENV_VAR, None)
    if not raw:
        return
    try:
        fd = int(raw)
        is_pipe = stat.S_ISFIFO(os.fstat(fd).st_mode)
    except (ValueError, OSError):
        is_pipe = False
    if not is_pipe:
        log.warning(
            "`%s=%s` is not an inherited pipe: not watching the supervisor",
            SUPERVISOR_FD_ENV_VAR,
            raw,
        )
        return
    os.set_inheritable(fd, False)

    def watch() -> None:
        try:
            while os.read(fd, 512):
                pass
        except OSError:
            pass
        if not server.should_exit:
            log.warning("The supervisor (chainsc run) is gone: stopping")
            server.should_exit = True

    threading.Thread(target=watch, name="supervisor-watch", daemon=True).start()


def _env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if not raw:
        return default
    try:
        return float(raw)
    except ValueError:
        raise SystemExit(f"chainsc: `{name}` must be a number, got {raw!r}") from None


def main(
    model_cls: type[ChainletModel],
    argv: Sequence[str] | None = None,
    *,
    display_name: str,
    predict_concurrency: int,
    data_dir: str | os.PathLike[str] | None = None,
    websocket_ping_interval: float | None = None,
    websocket_ping_timeout: float | None = None,
) -> int:
    """The command line of a package's `server.py`; the process exit code.

    Args:
        model_cls: the package's `Model`.
        argv: the arguments (default `sys.argv[1:]`).
        display_name: the Chainlet's name.
        predict_concurrency: `remote_config.compute.predict_concurrency` (the default
            of `--predict-concurrency`).
        data_dir: the package's `data/` directory.
        websocket_ping_interval: a websocket endpoint's `ping_interval_seconds`.
        websocket_ping_timeout: a websocket endpoint's `ping_timeout_seconds`.
    """
    parser = argparse.ArgumentParser(
        prog="server.py",
        description=f"Serve the `{display_name}` Chainlet over HTTP.",
    )
    parser.add_argument(
        "--host",
        default=os.environ.get("HOST") or "127.0.0.1",
        help="bind address (default: $HOST or 127.0.0.1)",
    )
    parser.add_argument(
        "--port",
        type=int,
        default=int(os.environ.get("PORT") or 8000),
        help="TCP port (default: $PORT or 8000)",
    )
    parser.add_argument(
        "--predict-concurrency",
        type=int,
        default=predict_concurrency,
        help=f"requests run at once (default: {predict_concurrency}, from remote_config)",
    )
    parser.add_argument(
        "--drain-timeout",
        type=float,
        default=_env_float(DRAIN_TIMEOUT_ENV_VAR, DEFAULT_DRAIN_TIMEOUT_SEC),
        help=f"seconds in-flight requests get on SIGTERM (default: "
        f"${DRAIN_TIMEOUT_ENV_VAR} or {DEFAULT_DRAIN_TIMEOUT_SEC:.0f})",
    )
    parser.add_argument(
        "--log-level",
        choices=["debug", "info", "warning", "error"],
        default=(os.environ.get(LOG_LEVEL_ENV_VAR) or "info").lower(),
        help=f"debug logs every request (default: ${LOG_LEVEL_ENV_VAR} or info)",
    )
    args = parser.parse_args(argv)
    if args.log_level not in ("debug", "info", "warning", "error"):
        parser.error(f"${LOG_LEVEL_ENV_VAR} must be debug, info, warning or error")
    if args.predict_concurrency < 1:
        parser.error("--predict-concurrency must be at least 1")
    return serve(
        model_cls,
        host=args.host,
        port=args.port,
        predict_concurrency=args.predict_concurrency,
        display_name=display_name,
        data_dir=Path(data_dir) if data_dir is not None else None,
        drain_timeout=max(0.0, args.drain_timeout),
        log_level=args.log_level,
        websocket_ping_interval=websocket_ping_interval,
        websocket_ping_timeout=websocket_ping_timeout,
    )
