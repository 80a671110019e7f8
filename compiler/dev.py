"""`chainsc dev`: build, serve, and on a save rebuild and restart only what changed.

Stage: entry (it wires the build, `api.build_file`, to the serving stage, `chainsc.run`).
Each build is the one `chainsc build` makes; its packages are written into the dev cache
(`<cache dir>/dev/<hash of the chain path>/packages/<package>-<sha>/`, one directory per
package *version*, named by its `package_sha256`), so a package that is restarted gets a
new directory while the ones kept warm keep running from theirs, untouched. The cache
is `$CHAINSC_CACHE_DIR` (default `~/.cache/chainsc`), never a directory next to the
chain: the watcher must not see its own output, and the repository stays clean.

What is watched: every file under the chain root (`--root`, the only directory a build
may read; `watchfiles`' default filter leaves out `.git`, `__pycache__`, virtualenvs and
editor swap files). A save rebuilds; a rebuild that changes no package restarts nothing.
Watching the root rather than the files the last build read means a module or data file
the edit *adds* is seen too.

What restarts: a package whose `package_sha256` changed, a new Chainlet (started), a
removed one (stopped), one whose process died, and one whose port moved (the entrypoint
changed) together with its callers; every other package keeps running, warm, on its port,
so the URL its callers hold stays right. A build with errors changes nothing that runs.
Imports: api, confine, isolate, run (serve), watchfiles (lazily).
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import queue
import random
import shutil
import signal
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from chainsc import api, isolate
from chainsc.confine import absolute
from chainsc.run import (
    _STOP_SIGNALS,
    KIND_ENGINE_BUILDER,
    KIND_TRUSS,
    RunError,
    RunningChain,
    Service,
    StartFailedError,
    Supervisor,
    _free_ports,
    _report_start_failures,
    example_body,
    forget_running,
    missing_serving_stack,
    record_running,
    stop_order,
    websocket_hint,
)

#: How long file events are gathered into one change (an editor's save is several).
DEBOUNCE_MS = 50


class DevError(RunError):
    """A user-facing problem of `chainsc dev` (no serving stack, no watchfiles)."""


@dataclass(frozen=True, slots=True)
class DevOptions:
    """What the user chose."""

    chain: Path
    root: Path | None = None
    entrypoint: str | None = None
    port: int = 8000
    debug: bool = False


@dataclass(frozen=True, slots=True)
class Package:
    """One package of a build, as its manifest entry describes it."""

    chainlet_id: str
    name: str
    package: str
    sha256: str
    dependencies: tuple[str, ...]
    kind: str | None
    is_entrypoint: bool
    is_websocket: bool


@dataclass(frozen=True, slots=True)
class Build:
    """A build without errors: its files and its packages by display name."""

    files: Mapping[str, bytes]
    packages: Mapping[str, Package]

    @classmethod
    def of(cls, files: Mapping[str, bytes]) -> Build:
        """Read the packages from the build's manifest (`chain.json`)."""
        manifest = json.loads(files["chain.json"])
        entrypoint = manifest["entrypoint"]
        packages = {}
        for chainlet_id, info in manifest["chainlets"].items():
            packages[info["name"]] = Package(
                chainlet_id=chainlet_id,
                name=info["name"],
                package=info["package"],
                sha256=info["package_sha256"],
                dependencies=tuple(info.get("dependencies", ())),
                kind=info.get("kind"),
                is_entrypoint=chainlet_id == entrypoint,
                is_websocket=info.get("endpoint") == "websocket",
            )
        return cls(files, packages)

    def package_files(self, package: Package) -> dict[str, bytes]:
        """The files of one package, relative to its directory."""
        prefix = f"{package.package}/"
        return {
            path.removeprefix(prefix): data
            for path, data in self.files.items()
            if path.startswith(prefix)
        }


@dataclass(frozen=True, slots=True)
class Watched:
    """The files a build read, and the directories whose every file it read."""

    files: frozenset[Path]
    directories: frozenset[Path]

    def covers(self, path: Path) -> bool:
        """`path` was read, lies in a directory read whole, or is Python.

        Any Python file counts: the edit may add a module an import now finds.
        """
        return (
            path.suffix == ".py"
            or path in self.files
            or any(path.is_relative_to(d) for d in self.directories)
        )


def watched_files(options: DevOptions) -> Watched | None:
    """What a build of the chain reads: its sources, requirements and data files.

    From the build's own load stage (`api.build_inputs`), run again: the front end is
    a fraction of a restart. None (watch everything) if the chain has errors now.
    """
    checked, inputs = api.build_inputs(
        options.chain,
        api.CheckOptions(root=options.root, entrypoint=options.entrypoint),
    )
    if inputs is None:
        return None
    root = _root(options)
    files = {root / relative for relative in checked.sources}
    files |= {root / relative for relative in inputs.files}
    files |= set(inputs.contents)
    for found in inputs.data_paths.values():
        if isinstance(found, tuple):
            files |= {real for _, real in found}
    directories = {root / d for d in (*inputs.data_dirs, *inputs.truss_dirs)}
    return Watched(frozenset(files), frozenset(directories))


#: Where Linux takes the local ports of outgoing connections and of `bind(port 0)`.
_EPHEMERAL_RANGE_FILE = Path("/proc/sys/net/ipv4/ip_local_port_range")
#: The lowest port handed to a package (below it: well-known services' ports).
_LOWEST_PORT = 10000


def stable_ports(count: int, *, exclude: int) -> list[int]:
    """`count` free loopback ports that nothing takes while their package restarts.

    A restarted package binds its port again, which is free for that moment: a port of
    the ephemeral range (what `bind(0)` gives) may then be taken by any outgoing
    connection on the machine. So these come from below that range, where only a
    server binding that very port could take it; `run._free_ports` where the range is
    unknown (not Linux) or too small.
    """
    try:
        low = int(_EPHEMERAL_RANGE_FILE.read_text(encoding="utf-8").split()[0])
    except (OSError, ValueError, IndexError):
        return _free_ports(count, exclude=exclude)
    candidates = list(range(_LOWEST_PORT, low))
    random.SystemRandom().shuffle(candidates)
    ports: list[int] = []
    with contextlib.ExitStack() as stack:
        for port in candidates:
            if len(ports) == count:
                break
            if port == exclude:
                continue
            sock = stack.enter_context(
                socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            )
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            ports.append(port)
    return ports if len(ports) == count else _free_ports(count, exclude=exclude)


def _root(options: DevOptions) -> Path:
    """The chain root: `--root`, else the default one (`api.default_root`)."""
    chain = absolute(options.chain)
    return (
        absolute(options.root) if options.root is not None else api.default_root(chain)
    )


def dev_dir(chain: Path, environ: Mapping[str, str]) -> Path:
    """The dev cache of one chain file: `<cache dir>/dev/<sha256 of its absolute path>[:16]`."""
    key = hashlib.sha256(str(absolute(chain)).encode("utf-8")).hexdigest()[:16]
    return isolate.cache_dir(environ) / "dev" / key


def materialize(build: Build, package: Package, packages_dir: Path) -> Path:
    """Write one package into its own directory, named by its hash (kept when it exists)."""
    target = packages_dir / f"{package.package}-{package.sha256[:16]}"
    if target.is_dir():
        return target
    staging = packages_dir / f".{target.name}.{os.getpid()}.tmp"
    shutil.rmtree(staging, ignore_errors=True)
    for relative, data in sorted(build.package_files(package).items()):
        path = staging / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    staging.rename(target)
    return target


@dataclass
class DevSupervisor(Supervisor):
    """A supervisor whose packages can be stopped and started one by one."""

    #: The write ends of the pipes of packages started after `start` (see `Supervisor.start`).
    _more_lifelines: list[int] = field(default_factory=list)

    def start_some(self, services: Iterable[Service]) -> None:
        """Start these services (already in `services`), watching a pipe of their own."""
        width = max(len(s.name) for s in self.services)
        watched, lifeline = os.pipe()
        self._more_lifelines.append(lifeline)
        try:
            for service in services:
                self.spawn(service, watched, width)
        finally:
            os.close(watched)

    def stop_some(self, names: set[str]) -> None:
        """Stop these services, callers before the Chainlets they call; forget them."""
        callers = stop_order(self.services)
        deadline = time.monotonic() + self.stop_timeout()
        termed: dict[str, float] = {}
        killed: set[str] = set()
        while True:
            alive = {
                name
                for name in names
                if name in self.processes and self.processes[name].poll() is None
            }
            if not alive:
                break
            now = time.monotonic()
            for name in sorted(alive - termed.keys()):
                if now >= deadline or not alive.intersection(callers.get(name, ())):
                    self._signal(name, signal.SIGTERM)
                    termed[name] = now
            for name in sorted(alive & termed.keys() - killed):
                if self.hurry or now >= max(deadline, termed[name] + 5.0):
                    self._signal(name, signal.SIGKILL)
                    killed.add(name)
            time.sleep(0.02)
        for name in names:
            if name in self.processes:
                self._signal(name, signal.SIGKILL)  # what it left in its group
                relay = self._relays.pop(name, None)
                if relay is not None:
                    relay.join(timeout=1.0)
                del self.processes[name]
                self.startup_failures.pop(name, None)

    def stop(self, timeout: float | None = None, grace: float = 5.0) -> None:
        """Stop everything, then close the pipes of the packages started later."""
        super().stop(timeout, grace)
        for lifeline in self._more_lifelines:
            with contextlib.suppress(OSError):
                os.close(lifeline)
        self._more_lifelines.clear()

    def wait_some(
        self, services: list[Service], timeout: float = 120.0
    ) -> list[Service]:
        """Wait until these answer `/readyz`; those that exited first (their failures kept)."""
        from chainsc.run import _answers  # noqa: PLC0415

        deadline = time.monotonic() + timeout
        pending = list(services)
        failed: list[Service] = []
        while pending and not self.interrupted and time.monotonic() < deadline:
            for service in list(pending):
                if self.processes[service.name].poll() is not None:
                    pending.remove(service)
                    failed.append(service)
                elif _answers(f"{service.url}/readyz", self.api_key_header):
                    pending.remove(service)
            if pending:
                time.sleep(0.05)
        return failed


@dataclass
class DevLoop:
    """The state of one `chainsc dev` session."""

    options: DevOptions
    echo: Callable[[str], None]
    #: Renders a build's diagnostics (the CLI's usual text).
    report: Callable[[api.BuildResult], None]
    environ: Mapping[str, str]
    packages_dir: Path
    supervisor: DevSupervisor | None = None
    build: Build | None = None
    #: Display name -> port, kept across rebuilds.
    ports: dict[str, int] = field(default_factory=dict)
    #: Display name -> the package (version) its process runs.
    running: dict[str, Package] = field(default_factory=dict)
    #: Services reported dead (reported once; restarted by the next save).
    reported_dead: set[str] = field(default_factory=set)
    state: Path | None = None
    #: A stop was asked for (a signal).
    interrupted: bool = False
    #: Every package was up once: the URL was printed and the chain recorded.
    announced: bool = False
    #: What the last good build read, and what failed builds since read; None (every
    #: file under the root counts) until a build succeeds: the fix of a first build's
    #: errors may be any file (a data file it names created).
    watched: Watched | None = None

    def relevant(self, path: Path) -> bool:
        """A change to `path` may change the build (see `Watched`)."""
        return self.watched is None or self.watched.covers(path)

    def rebuild(self) -> Build | None:
        """Build the chain; None (its diagnostics shown) when it has errors."""
        result = api.build_file(
            self.options.chain,
            api.CheckOptions(
                root=self.options.root, entrypoint=self.options.entrypoint
            ),
        )
        if result.files is None or result.diagnostics:
            self.report(result)
        if result.files is None:
            # Still what the last good build read, and what this one got to read.
            if self.watched is not None:
                root = _root(self.options)
                self.watched = dataclasses.replace(
                    self.watched,
                    files=self.watched.files | {root / r for r in result.sources},
                )
            return None
        self.watched = watched_files(self.options)
        build = Build.of(result.files)
        engines = [
            p.name for p in build.packages.values() if p.kind == KIND_ENGINE_BUILDER
        ]
        if engines:
            from chainsc.run import engine_message  # noqa: PLC0415

            self.echo(f"chainsc dev: {engine_message(engines)} (with `chainsc run`)")
            return None
        return build

    def services_for(self, build: Build) -> list[Service]:
        """Services of a build: the entrypoint on the chosen port, the others on theirs."""
        names = sorted(
            build.packages, key=lambda n: (not build.packages[n].is_entrypoint, n)
        )
        needed = []
        for name in names:
            if build.packages[name].is_entrypoint:
                self.ports[name] = self.options.port
            elif self.ports.get(name, self.options.port) == self.options.port:
                needed.append(name)
        # Free now: the ports of running servers are bound, so none is handed out twice.
        for name, port in zip(
            needed, stable_ports(len(needed), exclude=self.options.port), strict=True
        ):
            self.ports[name] = port
        by_id = {p.chainlet_id: p for p in build.packages.values()}
        return [
            Service(
                p.chainlet_id,
                p.name,
                materialize(build, p, self.packages_dir),
                self.ports[p.name],
                p.is_entrypoint,
                dependencies=tuple(d for d in p.dependencies if d in by_id),
                kind=p.kind if p.kind == KIND_TRUSS else None,
                is_websocket=p.is_websocket,
            )
            for p in (build.packages[n] for n in names)
        ]

    def to_restart(self, build: Build, old_ports: Mapping[str, int]) -> set[str]:
        """Who restarts: new bytes, new, dead, a moved port, or a caller of a moved one."""
        assert self.supervisor is not None
        dead = {s.name for s in self.supervisor.dead_services()}
        restart = {
            name
            for name, package in build.packages.items()
            if name not in self.running
            or self.running[name].sha256 != package.sha256
            or name in dead
            or old_ports.get(name) != self.ports[name]
        }
        moved = {n for n in build.packages if old_ports.get(n) != self.ports[n]}
        moved |= set(self.running) - set(build.packages)
        by_id = {p.chainlet_id: p.name for p in build.packages.values()}
        old_ids = {p.chainlet_id: p.name for p in self.running.values()}
        for name, package in build.packages.items():
            if any(by_id.get(d, old_ids.get(d)) in moved for d in package.dependencies):
                restart.add(name)
        return restart

    def apply(self, build: Build, started_at: float) -> None:
        """Switch the running chain to `build`, restarting only what must."""
        assert self.supervisor is not None
        old_ports = dict(self.ports)
        services = self.services_for(build)
        restart = self.to_restart(build, old_ports)
        removed = set(self.running) - set(build.packages)
        kept = sorted(set(build.packages) - restart)
        if not restart and not removed:
            self.echo("chainsc dev: no package changed; nothing restarted")
            self.remove_unused()
            self.build = build
            return
        # Stop the old processes of what restarts or goes, callers first.
        self.supervisor.stop_some(
            {n for n in restart | removed if n in self.supervisor.processes}
        )
        self.supervisor.services = services
        starting = [s for s in services if s.name in restart]
        self.supervisor.start_some(starting)
        failed = self.supervisor.wait_some(starting)
        self.build = build
        for service in starting:
            self.running[service.name] = build.packages[service.name]
        for name in removed:
            self.running.pop(name, None)
        self.remove_unused()
        self.reported_dead = {s.name for s in failed}
        parts = []
        changed = sorted(restart)
        if changed:
            parts.append(f"restarted {', '.join(changed)}")
        if removed:
            parts.append(f"stopped {', '.join(sorted(removed))} (removed)")
        parts.append(f"kept warm: {', '.join(kept) if kept else 'none'}")
        if failed:
            _report_start_failures(
                [self.supervisor.failure(s) for s in failed],
                isolated=False,
                debug=self.options.debug,
                echo=self.echo,
            )
            self.echo(
                f"chainsc dev: {'; '.join(parts)}; "
                f"{', '.join(s.name for s in failed)} did not start: fix and save"
            )
            return
        elapsed = time.time() - started_at
        self.echo(f"chainsc dev: {'; '.join(parts)}")
        self.echo(f"chainsc dev: ready {elapsed:.2f} s after the save")
        if not self.announced:  # the first time every package is up
            self.announce()

    def remove_unused(self) -> None:
        """Remove package directories no process runs from (older versions)."""
        assert self.supervisor is not None
        used = {s.directory.name for s in self.supervisor.services}
        for directory in self.packages_dir.iterdir():
            if directory.is_dir() and directory.name not in used:
                shutil.rmtree(directory, ignore_errors=True)

    def announce(self) -> None:
        """The entrypoint's URL and how to call it; record the running chain."""
        assert self.supervisor is not None
        services = self.supervisor.services
        entry = next(s for s in services if s.is_entrypoint)
        self.echo(
            f"chainsc dev: {len(services)} Chainlet{'s' * (len(services) != 1)} ready; "
            f"entrypoint `{entry.name}` at {entry.url}"
        )
        if entry.is_websocket:
            self.echo(f"chainsc dev: {websocket_hint(entry)}")
        else:
            self.echo(
                f"chainsc dev: try  {example_chainsc_call(entry, self.supervisor)}"
            )
        self.echo("chainsc dev: watching for changes (Ctrl-C stops)")
        self.announced = True
        if self.state is not None:
            forget_running(self.state)
        self.state = record_running(
            RunningChain.now(
                entry.url,
                entry.name,
                self.packages_dir,
                command="dev",
                chain=self.options.chain,
            ),
            self.environ,
        )


def example_chainsc_call(service: Service, supervisor: Supervisor) -> str:
    """`chainsc call --json '...'` with a body built from the live schema (no `--url`)."""
    body: object = {}
    request = urllib.request.Request(
        f"{service.url}/openapi.json", headers=supervisor.api_key_header
    )
    try:
        with urllib.request.urlopen(request, timeout=2.0) as response:
            body = example_body(json.loads(response.read()))
    except (urllib.error.URLError, OSError, ValueError):
        pass
    text = json.dumps(body, ensure_ascii=False).replace("'", "'\\''")
    return f"chainsc call --json '{text}'"


def _watch(
    root: Path,
    ignored: Path,
    changes: queue.Queue[set[Path]],
    stop: threading.Event,
) -> None:
    """Put each batch of changed paths under `root` (not under `ignored`) on `changes`."""
    import watchfiles  # noqa: PLC0415 - only `chainsc dev` needs it

    class Filter(watchfiles.DefaultFilter):
        def __call__(self, change: watchfiles.Change, path: str) -> bool:
            return super().__call__(change, path) and not Path(path).is_relative_to(
                ignored
            )

    for batch in watchfiles.watch(
        root,
        watch_filter=Filter(),
        debounce=DEBOUNCE_MS,
        step=DEBOUNCE_MS,
        stop_event=stop,
        rust_timeout=500,
        yield_on_timeout=False,
    ):
        changes.put({Path(path) for _, path in batch})


def _saved_at(paths: Iterable[Path]) -> float:
    """When the change was made: the newest modification time among the paths (or now)."""
    times = []
    for path in paths:
        with contextlib.suppress(OSError):
            times.append(path.stat().st_mtime)
    now = time.time()
    return min(max(times), now) if times else now


def dev_chain(
    options: DevOptions,
    echo: Callable[[str], None],
    report: Callable[[api.BuildResult], None],
    environ: Mapping[str, str] = os.environ,
) -> int:
    """Build, serve and watch until Ctrl-C; the exit code (0 when stopped by a signal)."""
    try:
        import watchfiles  # noqa: F401, PLC0415 - checked before anything starts
    except ImportError:
        raise DevError(
            "`chainsc dev` watches files with watchfiles: `pip install 'chainsc[run,watch]'`"
        ) from None
    missing = missing_serving_stack()
    if missing:
        raise DevError(
            f"`chainsc dev` serves the packages with this Python, which lacks "
            f"{', '.join(missing)}: install the serving stack with `pip install 'chainsc[run,watch]'`"
        )
    chain = absolute(options.chain)
    options = dataclasses.replace(options, chain=chain)
    root = _root(options)
    cache = dev_dir(chain, environ)
    packages_dir = cache / "packages"
    shutil.rmtree(packages_dir, ignore_errors=True)  # what an earlier session left
    packages_dir.mkdir(parents=True, exist_ok=True)
    loop = DevLoop(options, echo, report, environ, packages_dir)
    changes: queue.Queue[set[Path]] = queue.Queue()
    stop_watching = threading.Event()
    watcher = threading.Thread(
        target=_watch, args=(root, cache, changes, stop_watching), daemon=True
    )

    def on_signal(signum: int, _frame: object) -> None:
        if loop.supervisor is not None:
            if loop.supervisor.interrupted:
                loop.supervisor.hurry = True
            loop.supervisor.interrupted = True
        loop.interrupted = True

    previous = {sig: signal.signal(sig, on_signal) for sig in _STOP_SIGNALS}
    try:
        watcher.start()
        echo(f"chainsc dev: building {options.chain.name} (cache: {cache})")
        build = loop.rebuild()
        while build is None and not loop.interrupted:
            echo("chainsc dev: the build has errors: fix and save")
            build = _next_build(loop, changes)
        if build is None:
            return 0
        code = _start(loop, build)
        if code is not None:
            return code
        _serve(loop, changes, root)
        return 0
    finally:
        stop_watching.set()
        if loop.supervisor is not None:
            echo("chainsc dev: stopping")
            loop.supervisor.stop()
        if loop.state is not None:
            forget_running(loop.state)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        shutil.rmtree(packages_dir, ignore_errors=True)


def _start(loop: DevLoop, build: Build) -> int | None:
    """Start every package of the first build; an exit code if that ends the session."""
    services = loop.services_for(build)
    supervisor = DevSupervisor(services, echo=loop.echo, environ=loop.environ)
    loop.supervisor = supervisor
    supervisor.interrupted = loop.interrupted
    supervisor.start()
    loop.build = build
    loop.running = dict(build.packages)
    try:
        supervisor.wait_ready()
    except StartFailedError as exc:
        # Reported, and the session goes on: the next save restarts what did not start.
        _report_start_failures(
            exc.failures, isolated=False, debug=loop.options.debug, echo=loop.echo
        )
        loop.reported_dead = {service.name for service, _, _ in exc.failures}
        loop.echo(
            f"chainsc dev: {', '.join(sorted(loop.reported_dead))} did not start: "
            "fix and save (watching for changes; Ctrl-C stops)"
        )
        return None
    except RunError as exc:  # not ready in time
        loop.echo(f"chainsc dev: {exc}")
        return 1
    if loop.interrupted:
        return 0
    loop.announce()
    return None


def _serve(loop: DevLoop, changes: queue.Queue[set[Path]], root: Path) -> None:
    """Rebuild on each change until a signal; report packages that die."""
    assert loop.supervisor is not None
    while not loop.interrupted:
        try:
            paths = changes.get(timeout=0.1)
        except queue.Empty:
            for service in loop.supervisor.dead_services():
                if service.name not in loop.reported_dead:
                    loop.reported_dead.add(service.name)
                    code = loop.supervisor.processes[service.name].returncode
                    loop.echo(
                        f"chainsc dev: `{service.name}` exited with code {code}; "
                        "save a change to restart it"
                    )
            continue
        _drain(changes, paths)
        paths = {p for p in paths if loop.relevant(p)}
        if not paths:
            continue
        started_at = _saved_at(paths)
        shown = sorted(_shown(p, root) for p in paths)
        loop.echo(f"chainsc dev: changed: {', '.join(shown)}; rebuilding")
        build = loop.rebuild()
        if build is None:
            loop.echo(
                "chainsc dev: the build has errors; the running chain is unchanged"
            )
            continue
        loop.apply(build, started_at)


def _next_build(loop: DevLoop, changes: queue.Queue[set[Path]]) -> Build | None:
    """Wait for a change and build again (before anything runs)."""
    while not loop.interrupted:
        try:
            paths = changes.get(timeout=0.1)
        except queue.Empty:
            continue
        _drain(changes, paths)
        return loop.rebuild()
    return None


def _drain(changes: queue.Queue[set[Path]], paths: set[Path]) -> None:
    """Add every batch already queued to `paths` (one rebuild for them all)."""
    while True:
        try:
            paths |= changes.get_nowait()
        except queue.Empty:
            return


def _shown(path: Path, root: Path) -> str:
    """A changed path as the user knows it: relative to the chain root."""
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)
