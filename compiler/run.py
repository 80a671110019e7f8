"""`chainsc run` and `chainsc call`: serve a built chain on this machine and call it.

Stage: after build, outside the compile pipeline; reads only `out/` (the
manifest and each package's `server.py`). Every package runs as its own
process, as it would deploy: nothing is shared but the loopback network.
With `--isolated`, each also runs in a virtualenv of its own requirements
(`chainsc.isolate`). A package that cannot be imported says so in one JSON
line (its `server.py`, under `CHAINSC_STARTUP_REPORT=json`), which becomes one
clear message here instead of a traceback per process.
Two kinds of package are no chainsc server (the manifest's `kind`): a TrussChainlet's
Truss directory runs under the runtime's Truss host (`python -m
chainsc_runtime.truss_host`, with chainsc's own interpreter), and an engine builder's
TensorRT-LLM engine cannot run here at all: `run` refuses the chain, saying so, unless
`--service NAME=URL` sends that Chainlet's calls to an engine the user serves (any
Chainlet can be replaced that way: its callers post to the URL as it is).
Stopping (Ctrl-C, SIGTERM, SIGHUP) goes in reverse dependency order, as the
manifest records the graph: the entrypoint stops accepting first, and each other
package is sent SIGTERM only once every package that calls it has exited, so a
request in flight finds every hop it still needs. Each package watches a pipe
from this process (`CHAINSC_SUPERVISOR_FD`, see `runtime_lib/server.py`), so
none outlives it, even when it is killed with SIGKILL.
Imports: the standard library and `chainsc.isolate`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import http.client
import json
import math
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from chainsc import isolate
from chainsc.requirements import (
    REQUIREMENTS_TXT,
    UV_LOCK,
    logical_lines,
    normalize_name,
    requirement_name,
)
from chainsc.runtime_files import installed_constant
from chainsc.wording import plural

#: How long a package may take to report ready (its `__init__` loads models).
READY_TIMEOUT_SEC = 120.0
#: How long stopping may take before every package left gets SIGKILL: a package's own
#: drain timeout (`CHAINSC_DRAIN_TIMEOUT`, default 30 s) plus a margin to exit.
STOP_TIMEOUT_SEC = 35.0
#: The least time a package gets between its SIGTERM and a SIGKILL: one whose callers
#: took the whole stop timeout still gets this long to close (it has nothing in flight).
KILL_GRACE_SEC = 5.0
#: The server's variable for its drain timeout; a longer one lengthens the stop timeout.
DRAIN_TIMEOUT_ENV_VAR = "CHAINSC_DRAIN_TIMEOUT"
#: The API key the packages require from callers (and send to each other).
API_KEY_ENV_VAR = "CHAINSC_API_KEY"
#: Names the read end of the pipe each package watches (`runtime_lib/server.py`).
SUPERVISOR_FD_ENV_VAR = "CHAINSC_SUPERVISOR_FD"
#: After one package failed to start, how long the others get to finish importing,
#: so every package that cannot start is reported, not only the first.
SETTLE_TIMEOUT_SEC = 30.0
#: Tells a package's `server.py` to report an import failure as one JSON line.
STARTUP_REPORT_ENV_VAR = "CHAINSC_STARTUP_REPORT"
#: The prefix of that line (see `codegen_templates/chainlet/server.py.jinja`).
STARTUP_ERROR_PREFIX = "chainsc-startup-error: "
#: Environment variables that would let a venv's interpreter see chainsc's packages.
_LEAKY_ENV_VARS = (
    "PYTHONPATH",
    "PYTHONHOME",
    "PYTHONSTARTUP",
    "PYTHONUSERBASE",
    "CONDA_PREFIX",
)


#: The signals that stop `chainsc run` in order (SIGHUP: its terminal closed).
_STOP_SIGNALS = tuple(
    getattr(signal, name)
    for name in ("SIGINT", "SIGTERM", "SIGHUP")
    if hasattr(signal, name)
)


class RunError(Exception):
    """A user-facing problem running a chain (bad `out/`, a process that died)."""


def missing_serving_stack() -> list[str]:
    """The distributions the packages' servers need that this interpreter lacks.

    What the vendored runtime and its server require (`chainsc_runtime.REQUIREMENTS`,
    `SERVER_REQUIREMENTS`), for this platform; a plain `pip install chainsc` has none of
    them (they come with the `run` extra).
    """
    import importlib.metadata  # noqa: PLC0415 - only `run` asks

    from packaging.requirements import Requirement  # noqa: PLC0415

    missing = []
    for line in (
        *installed_constant("REQUIREMENTS"),
        *installed_constant("SERVER_REQUIREMENTS"),
    ):
        requirement = Requirement(line)
        if requirement.marker is not None and not requirement.marker.evaluate():
            continue
        try:
            importlib.metadata.distribution(requirement.name)
        except importlib.metadata.PackageNotFoundError:
            missing.append(requirement.name)
    return sorted(missing)


@dataclass(frozen=True, slots=True)
class Service:
    """One package to serve."""

    chainlet_id: str
    name: str
    directory: Path
    port: int
    is_entrypoint: bool
    #: The virtualenv it runs in (`--isolated`); None: chainsc's own interpreter.
    venv: Path | None = None
    #: The ids of the Chainlets it calls (the manifest's graph).
    dependencies: tuple[str, ...] = ()
    #: The manifest's `kind` of a package that is no chainsc server (`truss`), else None.
    kind: str | None = None
    #: Its endpoint serves a websocket (the manifest's `"endpoint": "websocket"`).
    is_websocket: bool = False

    @property
    def url(self) -> str:
        """Base URL on loopback."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def class_name(self) -> str:
        """The Chainlet's class name (its id is `module.Class`)."""
        return self.chainlet_id.rpartition(".")[2]


@dataclass(frozen=True, slots=True)
class StartupFailure:
    """Why a package could not be imported, as its `server.py` reported it."""

    exception: str
    message: str
    #: The module that could not be imported (ImportError), if any.
    module: str | None
    #: The innermost place in the package on the way, relative to it (`packages/app.py`).
    file: str | None
    line: int | None
    traceback: str

    @classmethod
    def parse(cls, text: str) -> StartupFailure | None:
        """The report in a `chainsc-startup-error: {...}` line; None if it is not one."""
        try:
            data = json.loads(text)
        except json.JSONDecodeError:
            return None
        if not isinstance(data, dict) or not isinstance(data.get("message"), str):
            return None

        def text_or_none(key: str) -> str | None:
            value = data.get(key)
            return value if isinstance(value, str) else None

        line = data.get("line")
        return cls(
            exception=text_or_none("exception") or "Exception",
            message=data["message"],
            module=text_or_none("module"),
            file=text_or_none("file"),
            line=line if isinstance(line, int) else None,
            traceback=text_or_none("traceback") or "",
        )


class StartFailedError(RunError):
    """Packages exited before they were ready: each, its exit code and its report if it made one."""

    def __init__(
        self, failures: list[tuple[Service, int, StartupFailure | None]]
    ) -> None:
        super().__init__(
            ", ".join(f"`{service.name}`" for service, _, _ in failures)
            + " did not start"
        )
        self.failures = failures


#: The manifest's kinds of packages that are no chainsc server (`chain.json`, LAYOUT.md).
KIND_ENGINE_BUILDER = "engine_builder"
KIND_TRUSS = "truss"
#: The module that serves a Truss directory (`runtime_lib/truss_host.py`).
TRUSS_HOST_MODULE = "chainsc_runtime.truss_host"


def plan_services(
    out_dir: Path, entry_port: int, external: Mapping[str, str] | None = None
) -> list[Service]:
    """Read the manifest; give the entrypoint `entry_port` and the others free ports.

    `external` (display name -> URL, `--service`) are not started: their callers post
    to the URL. An engine builder must be one of them.

    Raises:
        RunError: the manifest is missing or not chainsc's, a package is incomplete, an
            engine builder has no `--service`, or a `--service` names no Chainlet.
    """
    external = external or {}
    manifest_path = out_dir / "chain.json"
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise RunError(
            f"`{out_dir}` has no chain.json: build the chain first (`chainsc build CHAIN.py -o {out_dir}`)"
        ) from exc
    except json.JSONDecodeError as exc:
        raise RunError(f"`{manifest_path}` is not valid JSON: {exc}") from exc
    entrypoint = manifest.get("entrypoint")
    chainlets = manifest.get("chainlets")
    if not isinstance(chainlets, dict) or entrypoint not in chainlets:
        raise RunError(f"`{manifest_path}` is not a chainsc manifest")
    services = []
    engines: list[str] = []
    names = {info.get("name") for info in chainlets.values()}
    unknown = sorted(set(external) - names)
    if unknown:
        raise RunError(
            f"`--service {unknown[0]}=...` names no Chainlet of the chain: its Chainlets "
            f"are {', '.join(f'`{name}`' for name in sorted(map(str, names)))}"
        )
    ports = iter(_free_ports(len(chainlets) - 1, exclude=entry_port))
    for chainlet_id, info in sorted(
        chainlets.items(), key=lambda item: item[0] != entrypoint
    ):
        directory = out_dir / info["package"]
        kind = info.get("kind")
        if info["name"] in external:
            if chainlet_id == entrypoint:
                raise RunError(
                    f"`--service {info['name']}=...`: the entrypoint is what `chainsc run` "
                    "serves; `--service` replaces the Chainlets it calls"
                )
            continue
        if kind == KIND_ENGINE_BUILDER:
            engines.append(info["name"])
            continue
        if kind == KIND_TRUSS:
            if not (directory / "config.yaml").is_file():
                raise RunError(
                    f"`{directory}/config.yaml` is missing: rebuild the chain with this chainsc"
                )
        elif not (directory / "server.py").is_file():
            raise RunError(
                f"`{directory}/server.py` is missing: rebuild the chain with this chainsc"
            )
        dependencies = info.get("dependencies", [])
        if not isinstance(dependencies, list) or not all(
            d in chainlets for d in dependencies
        ):
            raise RunError(
                f"`{manifest_path}` is not a chainsc manifest (dependencies of `{chainlet_id}`)"
            )
        is_entry = chainlet_id == entrypoint
        port = entry_port if is_entry else next(ports)
        services.append(
            Service(
                chainlet_id,
                info["name"],
                directory,
                port,
                is_entry,
                dependencies=tuple(dependencies),
                kind=kind if kind == KIND_TRUSS else None,
                is_websocket=info.get("endpoint") == "websocket",
            )
        )
    if engines:
        raise RunError(engine_message(engines))
    return services


def engine_message(engines: Sequence[str]) -> str:
    """Why `chainsc run` cannot run an engine builder, and how to run the rest of the chain."""
    listed = ", ".join(f"`{name}`" for name in engines)
    several = len(engines) > 1
    return (
        f"{listed} {'are TensorRT-LLM engines' if several else 'is a TensorRT-LLM engine'} "
        f"(`EngineBuilderLLMChainlet`): Baseten builds {'them' if several else 'it'} from "
        "`engine_builder_config` and serves "
        f"{'them' if several else 'it'} on GPUs, which `chainsc run` cannot do. To run the "
        "rest of the chain, send its calls to an engine you serve (one that takes the "
        "OpenAI-style `EngineBuilderLLMInput` JSON and streams its reply): "
        + " ".join(
            f"`--service {name}=http://HOST:PORT/v1/models/model:predict`"
            for name in engines
        )
    )


def stop_order(services: Sequence[Service]) -> dict[str, list[str]]:
    """Each service's callers (by name): it is stopped once all of them have exited."""
    by_id = {s.chainlet_id: s for s in services}
    callers: dict[str, list[str]] = {s.name: [] for s in services}
    for service in services:
        for dependency in service.dependencies:
            if dependency in by_id:
                callers[by_id[dependency].name].append(service.name)
    return callers


def _free_ports(count: int, *, exclude: int) -> list[int]:
    """`count` distinct free loopback ports, none of them `exclude`.

    Every socket stays bound until all are chosen: ports asked for one at a time may
    come back equal once the first socket is closed (two packages on one port).
    """
    with contextlib.ExitStack() as stack:
        ports: list[int] = []
        while len(ports) < count:
            sock = stack.enter_context(
                socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            )
            sock.bind(("127.0.0.1", 0))
            port: int = sock.getsockname()[1]
            if port != exclude:
                ports.append(port)
        return ports


@dataclass
class Supervisor:
    """Starts every package, relays their logs, stops them all together."""

    services: list[Service]
    python: str = sys.executable
    echo: Callable[[str], None] = print
    #: Chainlets served elsewhere (`--service NAME=URL`): their callers post to the URL.
    external: Mapping[str, str] = field(default_factory=dict)
    #: The environment the packages inherit (and the API key, if any, comes from).
    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    #: Import failures the packages reported, by service name.
    startup_failures: dict[str, StartupFailure] = field(default_factory=dict)
    #: A stop was asked for (a signal): stop waiting for readiness. Plain flags, not
    #: `threading.Event`s: a signal handler sets them, and an Event's lock could be held
    #: by the very code the handler interrupted.
    interrupted: bool = False
    #: SIGKILL whatever still runs while stopping (a second Ctrl-C).
    hurry: bool = False
    _relays: dict[str, threading.Thread] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    #: The write end of the pipe the packages watch; it closes when this process ends.
    _lifeline: int | None = None

    @property
    def api_key_header(self) -> dict[str, str]:
        """What a caller of the packages sends: `Authorization: Api-Key <key>` when one is set."""
        return _api_key_header(self.environ)

    def environment(
        self, service: Service, lifeline: int | None = None
    ) -> dict[str, str]:
        """The child's environment: every dependency URL, its own port, its venv if any.

        `lifeline`: the pipe end by which it sees this process go.
        """
        urls: dict[str, object] = {s.name: s.url for s in self.services}
        # A URL posted to as it is (`transport.find_services`), not a chainsc server's base.
        urls.update({name: {"predict_url": url} for name, url in self.external.items()})
        env = dict(self.environ)
        env["CHAINSC_SERVICES"] = json.dumps(urls, sort_keys=True)
        env["PORT"] = str(service.port)
        env["HOST"] = "127.0.0.1"
        env["PYTHONUNBUFFERED"] = "1"
        env[STARTUP_REPORT_ENV_VAR] = "json"
        if lifeline is not None:
            env[SUPERVISOR_FD_ENV_VAR] = str(lifeline)
        if service.venv is not None:
            for name in _LEAKY_ENV_VARS:
                env.pop(name, None)
            env["VIRTUAL_ENV"] = str(service.venv)
            env["PATH"] = os.pathsep.join(
                [
                    str(isolate.venv_python(service.venv).parent),
                    env.get("PATH", os.defpath),
                ]
            )
        return env

    def interpreter(self, service: Service) -> str:
        """The Python that runs the service: its venv's, else chainsc's."""
        return (
            str(isolate.venv_python(service.venv))
            if service.venv is not None
            else self.python
        )

    def start(self) -> None:
        """Start every process (the entrypoint first, as `plan_services` orders them).

        Each gets the read end of one pipe (`pass_fds`, named by `CHAINSC_SUPERVISOR_FD`);
        only this process holds the write end (not inheritable), so when it ends, by any
        signal, every package reads end of file and stops. A preexec `prctl` would be
        Linux-only and unsafe with the relay threads running; the pipe is neither.
        """
        width = max(len(s.name) for s in self.services)
        watched, self._lifeline = os.pipe()
        try:
            for service in self.services:
                self.spawn(service, watched, width)
        finally:
            os.close(watched)

    def spawn(self, service: Service, watched: int, width: int) -> None:
        """Start one package's process, watching the pipe end `watched`; relay its lines."""
        # A Truss directory runs under the runtime's Truss host; the others, their server.py.
        entry = (
            ["-m", TRUSS_HOST_MODULE] if service.kind == KIND_TRUSS else ["server.py"]
        )
        process = subprocess.Popen(
            [
                self.interpreter(service),
                *entry,
                "--host",
                "127.0.0.1",
                "--port",
                str(service.port),
            ],
            cwd=service.directory,
            env=self.environment(service, watched),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            pass_fds=(watched,),
            start_new_session=True,  # Ctrl-C reaches us only; we stop the children in order
        )
        self.processes[service.name] = process
        thread = threading.Thread(
            target=self._relay, args=(service.name, width, process), daemon=True
        )
        thread.start()
        self._relays[service.name] = thread

    def _relay(self, name: str, width: int, process: subprocess.Popen[bytes]) -> None:
        """Echo the process's lines with its name; keep its startup report instead of echoing it."""
        assert process.stdout is not None
        prefix = name.ljust(width)
        for raw in iter(process.stdout.readline, b""):
            line = raw.decode("utf-8", errors="replace").rstrip("\n")
            if line.startswith(STARTUP_ERROR_PREFIX):
                failure = StartupFailure.parse(line.removeprefix(STARTUP_ERROR_PREFIX))
                if failure is not None:
                    self.startup_failures[name] = failure
                    continue
            with self._lock, contextlib.suppress(OSError, ValueError):
                # Keep reading when the terminal is gone (SIGHUP), so no package blocks on a full pipe.
                self.echo(f"{prefix} | {line}")

    def dead(self) -> Service | None:
        """A service whose process has exited, if any."""
        return next(iter(self.dead_services()), None)

    def dead_services(self) -> list[Service]:
        """The services whose process has exited."""
        return [s for s in self.services if self.processes[s.name].poll() is not None]

    def failure(self, service: Service) -> tuple[Service, int, StartupFailure | None]:
        """An exited service, its exit code and its startup report (after its last line is read)."""
        relay = self._relays.get(service.name)
        if relay is not None:
            relay.join(timeout=2.0)
        return (
            service,
            self.processes[service.name].returncode,
            self.startup_failures.get(service.name),
        )

    def settle(self, timeout: float = SETTLE_TIMEOUT_SEC) -> None:
        """Wait until every process has exited or got past its imports (`/healthz` answers)."""
        deadline = time.monotonic() + timeout
        pending = list(self.services)
        while pending and time.monotonic() < deadline and not self.interrupted:
            pending = [
                s
                for s in pending
                if self.processes[s.name].poll() is None
                and not _answers(f"{s.url}/healthz", self.api_key_header)
            ]
            if pending:
                time.sleep(0.1)

    def wait_ready(self, timeout: float = READY_TIMEOUT_SEC) -> bool:
        """Block until every `/readyz` answers 200; False when `interrupted` first.

        The probes carry the API key when one is set, as any caller does: the packages
        of this chainsc answer `/readyz` without it, those of an older one did not.

        Raises:
            StartFailedError: processes exited first (every one that fails to start,
                once the others got past their imports).
            RunError: time ran out.
        """
        deadline = time.monotonic() + timeout
        pending = list(self.services)
        while pending:
            if self.interrupted:
                return False
            if self.dead() is not None:
                self.settle()
                raise StartFailedError([self.failure(s) for s in self.dead_services()])
            pending = [
                s
                for s in pending
                if not _answers(f"{s.url}/readyz", self.api_key_header)
            ]
            if pending and time.monotonic() > deadline:
                names = ", ".join(f"`{s.name}`" for s in pending)
                raise RunError(f"not ready after {timeout:.0f} s: {names}")
            if pending:
                time.sleep(0.1)
        return True

    def stop_timeout(self) -> float:
        """`STOP_TIMEOUT_SEC`, or longer when the packages drain for longer (`CHAINSC_DRAIN_TIMEOUT`)."""
        try:
            drain = float(self.environ.get(DRAIN_TIMEOUT_ENV_VAR) or 0.0)
        except ValueError:
            drain = 0.0  # the packages refuse to start with it: nothing to wait for
        return (
            max(STOP_TIMEOUT_SEC, drain + KILL_GRACE_SEC)
            if math.isfinite(drain)
            else STOP_TIMEOUT_SEC
        )

    def stop(self, timeout: float | None = None, grace: float = KILL_GRACE_SEC) -> None:
        """Stop every package in reverse dependency order; SIGKILL what outlives the bounds.

        A package gets SIGTERM (it stops accepting, finishes what is in flight, exits)
        once every package that calls it has exited: the entrypoint first, then each
        dependency after all its callers drained, so no hop disappears under a request
        that still needs it. A package still running `timeout` seconds after the stop
        began (and at least `grace` seconds after its own SIGTERM) gets SIGKILL, and at
        `timeout` those not yet told get SIGTERM regardless (a caller that hangs, or a
        cycle in a hand-edited manifest). `hurry` (a second Ctrl-C) kills all at once.
        """
        if timeout is None:
            timeout = self.stop_timeout()
        callers = stop_order(self.services)
        deadline = time.monotonic() + timeout
        termed: dict[str, float] = {}
        killed: set[str] = set()
        while True:
            alive = {
                name
                for name, process in self.processes.items()
                if process.poll() is None
            }
            if not alive:
                break
            now = time.monotonic()
            for service in self.services:
                name = service.name
                if name not in alive or name in termed:
                    continue
                if (
                    now >= deadline
                    or self.hurry
                    or not alive.intersection(callers[name])
                ):
                    self._signal(name, signal.SIGTERM)
                    termed[name] = now
            for name in sorted(alive & termed.keys() - killed):
                if self.hurry or now >= max(deadline, termed[name] + grace):
                    self._signal(name, signal.SIGKILL)
                    killed.add(name)
            time.sleep(0.02)
        for name in self.processes:  # what a package started and left in its group
            self._signal(name, signal.SIGKILL)
        if self._lifeline is not None:
            os.close(self._lifeline)
            self._lifeline = None
        for thread in self._relays.values():
            thread.join(timeout=1.0)

    def _signal(self, name: str, signum: int) -> None:
        """Send `signum` to the package's process group (the server and anything it started).

        The group's id is the server's pid, which the kernel gives no new process while
        the group has members, so this never reaches another program.
        """
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.processes[name].pid, signum)


def _answers(url: str, headers: Mapping[str, str]) -> bool:
    """`GET url` (with `headers`) answers 200."""
    try:
        with urllib.request.urlopen(
            urllib.request.Request(url, headers=dict(headers)), timeout=1.0
        ) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError, TimeoutError):
        return False


def example_call(
    service: Service, api_key_header: Mapping[str, str] | None = None
) -> str:
    """A curl command for the entrypoint that works as printed.

    The body is built from the endpoint's live `/openapi.json`: every required
    argument with a value of its type (nested models, lists of one item, the first
    member of an enum); arguments with defaults are left out. Without the schema,
    the body is `{}`. With an API key (`api_key_header`, which the schema request
    carries), the command sends `Authorization: Api-Key $CHAINSC_API_KEY`: the
    shell fills in the key, so it is never printed.
    """
    body: object = {}
    request = urllib.request.Request(
        f"{service.url}/openapi.json", headers=dict(api_key_header or {})
    )
    try:
        with urllib.request.urlopen(request, timeout=2.0) as response:
            document = json.loads(response.read())
        body = example_body(document)
    except (urllib.error.URLError, OSError, ValueError):
        pass
    text = json.dumps(body, ensure_ascii=False).replace(
        "'", "'\\''"
    )  # quoted for a POSIX shell
    key = f' -H "Authorization: Api-Key ${API_KEY_ENV_VAR}"' if api_key_header else ""
    return f"curl -s {service.url}/run_remote -H 'Content-Type: application/json'{key} -d '{text}'"


def websocket_hint(service: Service) -> str:
    """Where a websocket entrypoint takes sessions, and a client to try it with.

    Truss's route (`/v1/websocket`) and chainsc's (`/run_remote`) both answer.
    """
    url = f"ws://127.0.0.1:{service.port}"
    return (
        f"`{service.name}` serves a websocket at {url}/v1/websocket (and {url}/run_remote); "
        f"try  python -m websockets {url}/v1/websocket   (or the package's client.py: "
        "`async with client.connect(url) as websocket: ...`)"
    )


def example_body(document: Mapping[str, object]) -> object:
    """An example request body for `POST /run_remote` from an OpenAPI document."""
    paths = document.get("paths")
    operation = (
        paths.get("/run_remote", {}).get("post", {}) if isinstance(paths, dict) else {}
    )
    content = (
        operation.get("requestBody", {}).get("content", {}).get("application/json", {})
    )
    components = document.get("components")
    schemas = components.get("schemas", {}) if isinstance(components, dict) else {}
    schema = content.get("schema")
    return _example(schema, schemas, depth=0) if schema else {}


#: Nesting beyond this gets `null` (a recursive model would not end).
_EXAMPLE_DEPTH = 8
#: From this depth on, an Optional is `null`.
_OPTIONAL_AS_NULL_DEPTH = 4
#: Example values of the JSON schema scalar types.
_EXAMPLE_SCALARS: dict[str, object] = {
    "string": "text",
    "integer": 1,
    "number": 1.5,
    "boolean": True,
    "null": None,
}
#: Strings of the formats pydantic writes for standard-library types (`datetime`, `UUID`, ...).
_EXAMPLE_FORMATS = {
    "date-time": "2024-01-01T12:00:00Z",
    "date": "2024-01-01",
    "time": "12:00:00",
    "duration": "PT1H",
    "uuid": "00000000-0000-4000-8000-000000000000",
    **{
        f"uuid{version}": f"00000000-0000-{version}000-8000-000000000000"
        for version in (1, 3, 4, 5)
    },
    "path": "data.txt",
    "file-path": "data.txt",
    "directory-path": ".",
    "ipv4": "127.0.0.1",
    "ipv6": "::1",
    "ipv4network": "127.0.0.0/8",
    "ipv6network": "::1/128",
    "ipv4interface": "127.0.0.1/8",
    "ipv6interface": "::1/128",
}


def _example(
    schema: Mapping[str, object], schemas: Mapping[str, object], *, depth: int
) -> object:
    """A value that validates against `schema` (as pydantic writes JSON schemas)."""
    if depth > _EXAMPLE_DEPTH or not isinstance(schema, Mapping):
        return None
    ref = schema.get("$ref")
    if isinstance(ref, str):
        target = schemas.get(ref.rpartition("/")[2], {})
        return _example(
            target if isinstance(target, Mapping) else {}, schemas, depth=depth + 1
        )
    if "const" in schema:
        return schema["const"]
    enum = schema.get("enum")
    if isinstance(enum, list) and enum:
        return enum[0]
    for key in ("anyOf", "oneOf", "allOf"):
        options = schema.get(key)
        if isinstance(options, list) and options:
            # The first option that is not `null` (an Optional's value, not its absence),
            # except deep down, where `null` ends a recursive model.
            nulls = [
                o for o in options if isinstance(o, Mapping) and o.get("type") == "null"
            ]
            values = [
                o for o in options if isinstance(o, Mapping) and o.get("type") != "null"
            ]
            chosen = (
                nulls[0]
                if nulls and (depth >= _OPTIONAL_AS_NULL_DEPTH or not values)
                else values[0]
            )
            return _example(chosen, schemas, depth=depth + 1)
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        properties = schema.get("properties", {})
        required = schema.get("required", [])
        if not isinstance(properties, Mapping) or not isinstance(required, list):
            return {}
        return {
            name: _example(properties.get(name, {}), schemas, depth=depth + 1)
            for name in required
        }
    if kind == "array":
        items = schema.get("prefixItems") or schema.get("items", {})
        if isinstance(items, list):  # a tuple: one value per position
            return [_example(item, schemas, depth=depth + 1) for item in items]
        if not isinstance(items, Mapping):
            return []
        return [_example(items, schemas, depth=depth + 1)] * _within(
            1, schema.get("minItems"), schema.get("maxItems")
        )
    if kind == "string":
        example_format = schema.get("format")
        if isinstance(example_format, str) and example_format in _EXAMPLE_FORMATS:
            return _EXAMPLE_FORMATS[example_format]
        text = str(_EXAMPLE_SCALARS["string"])
        size = _within(len(text), schema.get("minLength"), schema.get("maxLength"))
        return (text * (size // len(text) + 1))[:size]
    if kind in ("integer", "number"):
        return _number(schema, integer=kind == "integer")
    if isinstance(kind, str):
        return _EXAMPLE_SCALARS.get(kind)
    return None


def _within(size: int, low: object, high: object) -> int:
    """`size`, moved into `[low, high]` (constrained types: `min_length`, `max_length`)."""
    if isinstance(low, int) and size < low:
        size = low
    if isinstance(high, int) and size > high:
        size = high
    return size


def _number(schema: Mapping[str, object], *, integer: bool) -> int | float:
    """The example number, moved into the schema's bounds (`conint(ge=5)`, `PositiveFloat`)."""
    value = _EXAMPLE_SCALARS["integer" if integer else "number"]
    assert isinstance(value, int | float)
    bounds = {
        key: schema.get(key)
        for key in ("minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum")
    }
    low, high = bounds["minimum"], bounds["maximum"]
    xlow, xhigh = bounds["exclusiveMinimum"], bounds["exclusiveMaximum"]
    lows = [b for b in (low, xlow) if isinstance(b, int | float)]
    highs = [b for b in (high, xhigh) if isinstance(b, int | float)]
    floor, ceiling = (max(lows) if lows else None), (min(highs) if highs else None)
    if integer:
        if isinstance(xlow, int | float) and xlow == floor:
            floor = math.floor(xlow) + 1
        if isinstance(xhigh, int | float) and xhigh == ceiling:
            ceiling = math.ceil(xhigh) - 1
        floor = math.ceil(floor) if floor is not None else None
        ceiling = math.floor(ceiling) if ceiling is not None else None
        if floor is not None and value < floor:
            value = floor
        if ceiling is not None and value > ceiling:
            value = ceiling
        return int(value)
    if floor is not None and ceiling is not None and not floor < value < ceiling:
        return (floor + ceiling) / 2  # strictly inside, so exclusive bounds hold too
    if floor is not None and value <= floor:
        return floor + 1.0
    if ceiling is not None and value >= ceiling:
        return ceiling - 1.0
    return float(value)


def run_chain(  # noqa: PLR0915 - one sequence: plan, start, wait, serve, stop
    out_dir: Path,
    port: int,
    echo: Callable[[str], None] = print,
    *,
    isolated: bool = False,
    debug: bool = False,
    environ: Mapping[str, str] = os.environ,
    external: Mapping[str, str] | None = None,
) -> int:
    """Serve every package until Ctrl-C/SIGTERM or until one dies; the exit code.

    Args:
        out_dir: the built chain.
        port: the entrypoint's port.
        echo: where every line goes.
        isolated: run each package in a venv of its own requirements (`chainsc.isolate`).
        debug: print the traceback of a package that cannot start (else: to a log file).
        environ: the environment (the cache directory of `isolated`).
        external: Chainlets served elsewhere, display name -> the URL their callers
            post to (`--service`); an engine builder must be one.
    """
    external = dict(external or {})
    services = plan_services(out_dir, port, external)
    if not isolated:
        missing = missing_serving_stack()
        if missing:
            raise RunError(
                f"`chainsc run` serves the packages with this Python ({sys.executable}), which lacks "
                f"{', '.join(missing)}: install the serving stack with `pip install 'chainsc[run]'`, "
                "or run each package in a virtualenv of its own with `chainsc run --isolated`"
            )
    truss = [s.name for s in services if s.kind == KIND_TRUSS]
    if isolated and truss:
        raise RunError(
            f"{', '.join(f'`{name}`' for name in truss)}: a TrussChainlet's Truss directory "
            "runs in chainsc's own Python, not in a virtualenv of its own: run without "
            "`--isolated` (with what its `config.yaml` requires installed), or serve it "
            "yourself and pass `--service NAME=URL`"
        )
    if isolated:
        try:
            venvs = isolate.prepare(
                [s.directory for s in services], environ=environ, echo=echo
            )
        except isolate.IsolateError as exc:
            echo(f"chainsc run: {exc}")
            return 1
        services = [
            dataclasses.replace(s, venv=venvs[s.directory.name]) for s in services
        ]
    supervisor = Supervisor(services, echo=echo, environ=environ, external=external)

    def on_signal(signum: int, _frame: object) -> None:
        if supervisor.interrupted:  # a second Ctrl-C: do not wait for the drain
            supervisor.hurry = True
        supervisor.interrupted = True

    previous = {sig: signal.signal(sig, on_signal) for sig in _STOP_SIGNALS}
    state: Path | None = None  # the state file `chainsc call` finds the chain by
    try:
        supervisor.start()
        try:
            ready = supervisor.wait_ready()
        except StartFailedError as exc:
            supervisor.stop()  # first, so the report is the last thing printed
            _report_start_failures(
                exc.failures, isolated=isolated, debug=debug, echo=echo
            )
            return 1
        except RunError as exc:
            echo(f"chainsc: {exc}")
            return 1
        if ready:
            entry = next(s for s in services if s.is_entrypoint)
            echo(
                f"chainsc: {plural(len(services), 'Chainlet')} ready; entrypoint `{entry.name}` at {entry.url}"
            )
            state = record_running(
                RunningChain.now(entry.url, entry.name, out_dir, command="run"),
                environ,
            )
            if entry.is_websocket:
                echo(f"chainsc: {websocket_hint(entry)}")
            else:
                echo(f"chainsc: try  {example_call(entry, supervisor.api_key_header)}")
        while not supervisor.interrupted:
            dead = supervisor.dead()
            if dead is not None:
                code = supervisor.processes[dead.name].returncode
                echo(
                    f"chainsc: `{dead.name}` exited with code {code}; stopping the others"
                )
                return 1
            time.sleep(0.1)
        echo(
            "chainsc: stopping (the entrypoint first, then each Chainlet once its callers are done)"
        )
        return 0
    finally:
        supervisor.stop()
        if state is not None:
            forget_running(state)
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _report_start_failures(
    failures: Sequence[tuple[Service, int, StartupFailure | None]],
    *,
    isolated: bool,
    debug: bool,
    echo: Callable[[str], None],
) -> None:
    """One line per package that did not start; the tracebacks printed (`debug`) or in a file."""
    reported = [
        (service, failure) for service, _, failure in failures if failure is not None
    ]
    if debug:
        width = max((len(service.name) for service, _ in reported), default=0)
        for service, failure in reported:
            for line in failure.traceback.splitlines():
                echo(f"{service.name.ljust(width)} | {line}")
    for service, code, report in failures:
        if (
            report is None
        ):  # a package built by an older chainsc, or a crash after its imports
            echo(
                f"chainsc: `{service.name}` exited with code {code} before it was ready (its log is above)"
            )
        else:
            echo(f"chainsc run: {startup_message(service, report, isolated=isolated)}")
    if reported and not debug:
        with tempfile.NamedTemporaryFile(
            "w", encoding="utf-8", prefix="chainsc-run-", suffix=".log", delete=False
        ) as log:
            for service, failure in reported:
                log.write(
                    f"== package '{service.directory.name}' ({service.name}) ==\n{failure.traceback}\n"
                )
        several = len(reported) > 1
        echo(
            f"chainsc run: the traceback{'s are' if several else ' is'} in {log.name} (`chainsc --debug run ...` prints {'them' if several else 'it'})"
        )


def startup_message(
    service: Service, failure: StartupFailure, *, isolated: bool
) -> str:
    """One line: the package, what failed where, and how to fix it when it is a missing module."""
    if failure.exception in ("ModuleNotFoundError", "ImportError"):
        what = failure.message
    else:
        what = f"{failure.exception}: {failure.message}"
    if failure.file is not None:
        verb = "imported by" if failure.module is not None else "raised in"
        what += f" ({verb} {failure.file} line {failure.line})"
    fix = None
    if failure.exception == "ModuleNotFoundError" and failure.module:
        fix = missing_module_fix(service, failure.module, isolated=isolated)
    return f"package '{service.directory.name}' cannot start: {what}" + (
        f"; {fix}" if fix else ""
    )


def missing_module_fix(service: Service, module: str, *, isolated: bool) -> str:
    """How to make `module` importable by the package: declare it, install it, or rebuild."""
    top = module.partition(".")[0]
    packages = service.directory / "packages"
    if (
        (packages / f"{top}.py").is_file()
        or (packages / top).is_dir()
        or (service.directory / top).is_dir()
    ):
        return "a module of the chain is missing from the package: rebuild it (`chainsc build`)"
    try:
        kind = isolate.requirements_file(service.directory)
    except isolate.IsolateError:
        kind = REQUIREMENTS_TXT
    if kind == REQUIREMENTS_TXT:
        declare = f"pip_requirements of {service.class_name}"
    else:
        declare = f"the dependencies of {service.class_name}'s pyproject.toml" + (
            " (then `uv lock`)" if kind == UV_LOCK else ""
        )
    import importlib.metadata  # noqa: PLC0415 - only when a package cannot start

    providers = sorted(importlib.metadata.packages_distributions().get(top, []))
    it = (
        f"`{providers[0]}` (it provides `{top}`)"
        if providers and normalize_name(providers[0]) != normalize_name(top)
        else "it"
    )
    if isolated:
        here = (
            "; chainsc's own environment has it, the package does not declare it"
            if providers
            else ""
        )
        return f"add {it} to {declare}{here}"
    if kind == REQUIREMENTS_TXT and _declares(
        service.directory / REQUIREMENTS_TXT, top
    ):
        return f"it is in {service.directory.name}/{REQUIREMENTS_TXT} but not installed here: install it, or use `chainsc run --isolated`"
    return f"add {it} to {declare}, or install it"


def _declares(requirements: Path, name: str) -> bool:
    """`requirements` has a line for the distribution named like the module (a guess)."""
    try:
        lines = logical_lines(requirements.read_text(encoding="utf-8").splitlines())
    except OSError:
        return False
    return normalize_name(name) in {requirement_name(line) for line in lines}


def call_chain(
    url: str, body: str, timeout: float, write: Callable[[bytes], None]
) -> int:
    """POST `body` to `url/run_remote` and stream the reply to `write`; the exit code."""
    try:
        json.loads(body)
    except json.JSONDecodeError as exc:
        raise RunError(f"--json is not valid JSON: {exc}") from exc
    request = urllib.request.Request(
        f"{url.rstrip('/')}/run_remote",
        data=body.encode("utf-8"),
        headers={"Content-Type": "application/json", **_api_key_header()},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            for chunk in iter(lambda: response.read1(65536), b""):
                write(chunk)
    except urllib.error.HTTPError as exc:
        write(exc.read())
        return 1
    except http.client.IncompleteRead as exc:
        # A stream whose endpoint raised after its first chunk: the server cut it.
        raise RunError(
            f"the stream of {url} broke off: the Chainlet raised while streaming (its "
            "error is in the `chainsc run` log)"
        ) from exc
    except (urllib.error.URLError, OSError) as exc:
        raise RunError(f"cannot reach {url}: {exc}") from exc
    return 0


def _api_key_header(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """`Authorization: Api-Key <key>` when `CHAINSC_API_KEY` is set (as the packages check it)."""
    key = (os.environ if environ is None else environ).get(API_KEY_ENV_VAR)
    return {"Authorization": f"Api-Key {key}"} if key else {}


# --- the running chains, for `chainsc call` without `--url` -----------------------

#: Overrides the directory of the state files (tests; several users of one account).
STATE_DIR_ENV_VAR = "CHAINSC_STATE_DIR"


def state_dir(environ: Mapping[str, str] | None = None) -> Path:
    """Where running chains are recorded (`chainsc call` looks there).

    `$CHAINSC_STATE_DIR`, else `$XDG_RUNTIME_DIR/chainsc` (per user, emptied at logout),
    else `<cache dir>/running`.
    """
    environ = os.environ if environ is None else environ
    if environ.get(STATE_DIR_ENV_VAR):
        return Path(environ[STATE_DIR_ENV_VAR]).expanduser()
    if environ.get("XDG_RUNTIME_DIR"):
        return Path(environ["XDG_RUNTIME_DIR"]) / "chainsc"
    return isolate.cache_dir(environ) / "running"


@dataclass(frozen=True, slots=True)
class RunningChain:
    """What `chainsc run` or `chainsc dev` records while it serves a chain."""

    #: The process serving it (`chainsc run` / `chainsc dev` itself).
    pid: int
    #: The entrypoint's base URL.
    url: str
    #: The entrypoint's display name.
    entrypoint: str
    #: The output directory served (absolute).
    out_dir: str
    #: The directory it was started in (absolute).
    cwd: str
    #: `run` or `dev`.
    command: str
    #: The chain file (`chainsc dev`), absolute; None for `chainsc run`.
    chain: str | None = None
    #: When it became ready (seconds since the epoch): the most recent one wins.
    started: float = 0.0

    @classmethod
    def now(
        cls,
        url: str,
        entrypoint: str,
        out_dir: Path,
        *,
        command: str,
        chain: Path | None = None,
    ) -> RunningChain:
        """This process's record, ready now."""
        return cls(
            pid=os.getpid(),
            url=url,
            entrypoint=entrypoint,
            out_dir=str(Path(out_dir).absolute()),
            cwd=str(Path.cwd()),
            command=command,
            chain=str(Path(chain).absolute()) if chain is not None else None,
            started=time.time(),
        )

    def is_for(self, directory: Path) -> bool:
        """It was started in `directory`, serves an output there, or a chain file there."""
        here = str(directory.absolute())
        places = {self.cwd, self.out_dir, str(Path(self.out_dir).parent)}
        if self.chain is not None:
            places.add(str(Path(self.chain).parent))
        return here in places


def record_running(chain: RunningChain, environ: Mapping[str, str]) -> Path | None:
    """Write the state file of a running chain (`<state dir>/run-<pid>.json`); its path.

    None when it cannot be written (a read-only home): serving does not depend on it.
    """
    directory = state_dir(environ)
    path = directory / f"run-{chain.pid}.json"
    staged = directory / f".run-{chain.pid}.json.tmp"
    try:
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        staged.write_text(
            json.dumps(dataclasses.asdict(chain), sort_keys=True), encoding="utf-8"
        )
        staged.replace(path)
    except OSError:
        return None
    return path


def forget_running(path: Path) -> None:
    """Remove a state file (the chain stopped)."""
    with contextlib.suppress(OSError):
        path.unlink()


def _pid_alive(pid: int) -> bool:
    """A process with this id exists (it may belong to another user)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def running_chains(environ: Mapping[str, str] | None = None) -> list[RunningChain]:
    """The recorded chains whose process still runs, the most recent first.

    A state file whose process is gone (killed with SIGKILL, a crash) is stale: it is
    ignored and removed.
    """
    directory = state_dir(environ)
    found = []
    for path in sorted(directory.glob("run-*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            chain = RunningChain(**data)
        except (OSError, ValueError, TypeError):
            continue
        if chain.pid != os.getpid() and not _pid_alive(chain.pid):
            forget_running(path)
            continue
        found.append(chain)
    return sorted(found, key=lambda c: c.started, reverse=True)


def find_running(
    directory: Path, environ: Mapping[str, str] | None = None
) -> RunningChain | None:
    """The chain `chainsc call` calls without `--url`; None if none runs.

    The most recent one started for `directory` (`RunningChain.is_for`), else the most
    recent of all.
    """
    chains = running_chains(environ)
    for chain in chains:
        if chain.is_for(directory):
            return chain
    return chains[0] if chains else None
