"""Serve one built package with Truss's own model server (`TrussServer`), as Baseten does.

Run with the Python of a venv that has the published truss *and* the server's
requirements (`make truss-venv` installs both; never chainsc's venv):

    /path/to/truss-venv/bin/python tests/truss_serve.py out/leaf --port 8003

The Baseten image lays a package out as `/app` (Truss's server code, `model/`,
`config.yaml` rewritten with every default, `data/`), `/packages` (the bundled
packages, on `sys.path`) and runs `python /app/main.py`, which is
`TrussServer(port, "config.yaml").start()`. This script builds the same `/app` in a
scratch directory (symbolic links to the package's files, nothing written into the
package) and runs that same call, with two differences, both for running on a
developer machine:

- it listens on `--host` (default 127.0.0.1; Truss binds 0.0.0.0), on a socket it
  opens itself, so `--port 0` works: the chosen port is printed as the first line of
  stdout, `{"port": N}`;
- the package's `packages/` goes on `sys.path` in place of `/packages`.

Everything else is Truss's: the routes (`POST /v1/models/model:predict`, readiness at
`GET /v1/models/model`), how it loads `model/model.py`, passes `config`, `data_dir`,
`secrets`, and how it reads secrets (`TRUSS_SECRET_<name>` variables or files in
`/secrets`). A Chainlet finds its dependencies in the `dynamic_chainlet_config` file,
from `$CHAINSC_DYNAMIC_CONFIG_DIR` (default `/etc/b10_dynamic_config`, where Baseten
mounts it). If `load()` fails, Truss's server exits.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import socket
import sys
import tempfile
from typing import Any

#: The names Truss's image gives things under `/app` (serving_image_builder.py).
SHARED_DIR_NAME = "_truss_shared"
CONFIG_FILE = "config.yaml"


def _truss_templates() -> pathlib.Path:
    import truss  # type: ignore[import-not-found]  # noqa: PLC0415 - only in the truss venv

    return pathlib.Path(truss.__file__).parent / "templates"


def prepare_app_dir(package: pathlib.Path, app_dir: pathlib.Path) -> dict[str, Any]:
    """Lay out `app_dir` as the image's `/app`; the config Truss's server reads.

    Returns:
        `TrussConfig.to_dict(verbose=True)` of the package's `config.yaml`: what the
        image build writes to `/app/config.yaml` (every field, defaults included).
    """
    from truss.base.truss_config import TrussConfig  # type: ignore[import-not-found]  # noqa: PLC0415

    templates = _truss_templates()
    config = TrussConfig.from_yaml(package / CONFIG_FILE)
    app_dir.mkdir(parents=True, exist_ok=True)
    (app_dir / SHARED_DIR_NAME).symlink_to(
        templates / "shared", target_is_directory=True
    )
    (app_dir / "model").symlink_to(
        package.resolve() / config.model_module_dir, target_is_directory=True
    )
    data = package / (config.data_dir or "data")
    if data.is_dir():
        (app_dir / "data").symlink_to(data.resolve(), target_is_directory=True)
    import yaml  # noqa: PLC0415 - truss's dependency

    verbose: dict[str, Any] = config.to_dict(verbose=True)
    (app_dir / CONFIG_FILE).write_text(yaml.dump(verbose), encoding="utf-8")
    return verbose


def serve(package: pathlib.Path, host: str, port: int, app_dir: pathlib.Path) -> None:
    """Start `TrussServer` on `package` from `app_dir`; returns when the server stops."""
    config = prepare_app_dir(package, app_dir)
    server_dir = _truss_templates() / "server"
    # /app first (the image's working directory and `python /app/main.py`'s path), then
    # the server code (in the image it is /app itself); the bundled packages last, as
    # Truss appends `/packages`.
    sys.path[:0] = [str(app_dir), str(server_dir)]
    sys.path.append(str(package.resolve() / config["bundled_packages_dir"]))
    os.chdir(app_dir)

    import truss_server  # type: ignore[import-not-found]  # noqa: PLC0415 - needs the path above
    import uvicorn  # noqa: PLC0415

    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((host, port))
    bound_port = listener.getsockname()[1]

    class _Config(uvicorn.Config):
        """Truss's uvicorn settings, with the address this script listens on."""

        def __init__(self, app: Any, **kwargs: Any) -> None:
            kwargs.update(host=host, port=bound_port)
            super().__init__(app, **kwargs)

    class _Server(uvicorn.Server):
        """Serves on the socket opened above (so the port is known before it starts)."""

        async def serve(self, sockets: list[socket.socket] | None = None) -> None:
            await super().serve(sockets=sockets or [listener])

    # `TrussServer.start()` builds `uvicorn.Config(..., host="0.0.0.0", port=...)` and
    # `uvicorn.Server(config)`; only those two names are swapped.
    truss_server.uvicorn = _UvicornNames(_Config, _Server)
    sys.stdout.write(json.dumps({"port": bound_port}) + "\n")
    sys.stdout.flush()
    truss_server.TrussServer(bound_port, CONFIG_FILE).start()


class _UvicornNames:
    """The `uvicorn` names `truss_server` uses, some replaced."""

    def __init__(self, config: type[Any], server: type[Any]) -> None:
        import uvicorn  # noqa: PLC0415

        self._uvicorn = uvicorn
        self.Config = config
        self.Server = server

    def __getattr__(self, name: str) -> Any:
        return getattr(self._uvicorn, name)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "package", type=pathlib.Path, help="a package directory of `chainsc build`"
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument(
        "--port", type=int, default=8080, help="0: any free port (printed)"
    )
    parser.add_argument(
        "--app-dir",
        type=pathlib.Path,
        help="where to lay out /app (default: a temporary directory)",
    )
    args = parser.parse_args(argv)
    if not (args.package / CONFIG_FILE).is_file():
        parser.error(
            f"{args.package} has no {CONFIG_FILE}: not a package of `chainsc build`"
        )
    if args.app_dir is not None:
        serve(args.package, args.host, args.port, args.app_dir)
        return 0
    with tempfile.TemporaryDirectory(prefix="truss-app-") as scratch:
        serve(args.package, args.host, args.port, pathlib.Path(scratch) / "app")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
