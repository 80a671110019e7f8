"""`chainsc run --isolated`: each package in a virtualenv of its own requirements, made by uv.

Stage: after build, outside the compile pipeline; reads a package's `config.yaml`, its
requirements file and its vendored runtime's `SERVER_REQUIREMENTS`, and writes only
under the cache directory. A package then runs with exactly what it declares, so an
import it forgot to declare fails here, as it would in production, instead of being
served by whatever chainsc's own interpreter happens to have.

Cache: `<cache>/venvs/<key>/`, `key` a hash of what decides the install (the
requirements, the server requirements, the Python interpreter). Packages with the same
key share one venv; a later run with the same key reuses it without calling uv. A venv
is built in a temporary directory beside its final place and renamed into it when
complete (uv makes it relocatable), under a per-key lock file, so two runs starting at
once build it once and a crash never leaves a half-made venv where a run would use it.

Imports: the standard library, `chainsc.requirements` (pure) and, lazily, yaml.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from chainsc.requirements import (
    PYPROJECT_TOML,
    REQUIREMENTS_TXT,
    UV_LOCK,
    logical_lines,
    normalize_name,
    requirement_name,
)
from chainsc.runtime_files import runtime_constant

#: Where the venvs live (default `$XDG_CACHE_HOME/chainsc`, else `~/.cache/chainsc`).
CACHE_DIR_ENV_VAR = "CHAINSC_CACHE_DIR"
#: Written last into a complete venv, before it is renamed into place; names its key.
MARKER = "chainsc-venv.json"
#: Part of every key: bump when the way a venv is made changes.
LAYOUT_VERSION = 1
#: How many of uv's last output lines a failed install shows.
UV_TAIL_LINES = 12
#: The vendored runtime inside a package, where `SERVER_REQUIREMENTS` is read.
_VENDORED_RUNTIME_INIT = Path("packages/chainsc_runtime/__init__.py")
_KEY_LENGTH = 24


class IsolateError(Exception):
    """A package's environment cannot be made (no uv, a bad requirements file, a failed install)."""


@dataclass(frozen=True, slots=True)
class EnvSpec:
    """What decides a package's venv: its requirements file, the server's, the interpreter."""

    #: The requirements file's base name, as `config.yaml` names it: `requirements.txt`,
    #: `pyproject.toml` or `uv.lock` (then with its sibling `pyproject.toml`).
    kind: str
    #: The requirements: the logical lines of `requirements.txt` (comments do not
    #: count), or `name:sha256` of each project file.
    requirements: tuple[str, ...]
    #: `SERVER_REQUIREMENTS` of the package's vendored runtime (`server.py` needs them).
    server_requirements: tuple[str, ...]
    #: The interpreter the venv is made from: implementation, version, installation.
    python: str

    @property
    def key(self) -> str:
        """The cache key: equal specs share one venv."""
        document = {
            "layout": LAYOUT_VERSION,
            "kind": self.kind,
            "requirements": list(self.requirements),
            "server_requirements": list(self.server_requirements),
            "python": self.python,
        }
        digest = hashlib.sha256(
            json.dumps(document, sort_keys=True).encode("utf-8")
        ).hexdigest()
        return digest[:_KEY_LENGTH]


@dataclass(frozen=True, slots=True)
class Environment:
    """A ready venv and how it was obtained."""

    path: Path
    #: `created`, `cached`, or `waited` (another chainsc made it while this one waited).
    outcome: str


def python_identity() -> str:
    """The running interpreter, as far as a venv made from it depends on it."""
    return f"{sys.implementation.name} {platform.python_version()} {sys.base_prefix}"


def cache_dir(environ: Mapping[str, str]) -> Path:
    """`$CHAINSC_CACHE_DIR`, else `$XDG_CACHE_HOME/chainsc`, else `~/.cache/chainsc`."""
    if environ.get(CACHE_DIR_ENV_VAR):
        return Path(environ[CACHE_DIR_ENV_VAR]).expanduser()
    if environ.get("XDG_CACHE_HOME"):
        return Path(environ["XDG_CACHE_HOME"]).expanduser() / "chainsc"
    return Path("~/.cache/chainsc").expanduser()


def venv_dir(cache: Path, key: str) -> Path:
    """Where the venv of `key` lives."""
    return cache / "venvs" / key


def venv_python(venv: Path) -> Path:
    """The interpreter of a venv."""
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def requirements_file(package_dir: Path) -> str:
    """The base name of the package's requirements file, from its `config.yaml`."""
    import yaml  # noqa: PLC0415 - only --isolated reads config.yaml

    path = package_dir / "config.yaml"
    try:
        config = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise IsolateError(f"cannot read `{path}`: {exc}") from exc
    name = config.get("requirements_file") if isinstance(config, dict) else None
    if not isinstance(name, str) or not name:
        return REQUIREMENTS_TXT  # a package without one needs only the runtime's (Truss's default)
    return Path(name).name


def env_spec(package_dir: Path, python: str) -> EnvSpec:
    """The spec of a built package's venv (reads its requirements and vendored runtime)."""
    kind = requirements_file(package_dir)
    if kind in (PYPROJECT_TOML, UV_LOCK):
        names = (UV_LOCK, PYPROJECT_TOML) if kind == UV_LOCK else (PYPROJECT_TOML,)
        requirements = tuple(
            f"{name}:{hashlib.sha256(_read_bytes(package_dir / name)).hexdigest()}"
            for name in names
        )
    else:
        path = package_dir / kind
        requirements = (
            tuple(
                logical_lines(
                    _read_bytes(path).decode("utf-8", errors="replace").splitlines()
                )
            )
            if path.exists()
            else ()
        )
    init = package_dir / _VENDORED_RUNTIME_INIT
    server = (
        runtime_constant(init.read_text(encoding="utf-8"), "SERVER_REQUIREMENTS")
        if init.is_file()
        else None
    )
    if server is None:
        raise IsolateError(
            f"`{init}` has no SERVER_REQUIREMENTS: rebuild the chain with this chainsc"
        )
    return EnvSpec(kind, requirements, server, python)


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise IsolateError(f"cannot read `{path}`: {exc.strerror or exc}") from exc


def find_uv(environ: Mapping[str, str]) -> str:
    """`uv` on PATH, else the binary of the `uv` Python package (`chainsc[isolated]`)."""
    found = shutil.which("uv", path=environ.get("PATH"))
    if found:
        return found
    try:
        import uv  # noqa: PLC0415 - optional: the `isolated` extra

        return str(uv.find_uv_bin())
    except (ImportError, FileNotFoundError):
        raise IsolateError(
            "--isolated needs uv: `pip install 'chainsc[isolated]'` (or `pip install uv`), "
            "or put `uv` on PATH"
        ) from None


def is_ready(venv: Path) -> bool:
    """A complete venv: its marker (written last) and its interpreter are there."""
    return (venv / MARKER).is_file() and venv_python(venv).exists()


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[bool]:
    """Hold an exclusive lock on `path`; yields whether another process held it first."""
    import fcntl  # noqa: PLC0415 - POSIX only, like the rest of `chainsc run`

    with path.open("a") as handle:
        waited = False
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            waited = True
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield waited
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def ensure_env(
    spec: EnvSpec,
    package_dir: Path,
    cache: Path,
    *,
    python: str,
    find: Callable[[], str],
    on_wait: Callable[[], None] = lambda: None,
    on_create: Callable[[], None] = lambda: None,
) -> Environment:
    """The venv of `spec`: from the cache, or made with uv from `package_dir`'s requirements.

    Raises:
        IsolateError: uv is missing or the install failed (`InstallError`).
    """
    final = venv_dir(cache, spec.key)
    if is_ready(final):
        return Environment(final, "cached")
    final.parent.mkdir(parents=True, exist_ok=True)
    lock = final.parent / f"{spec.key}.lock"
    with _locked(lock) as waited:
        if waited:
            on_wait()
        if is_ready(final):
            return Environment(final, "waited" if waited else "cached")
        # Holding the lock, nobody else builds this key: whatever is left is debris.
        for debris in final.parent.glob(f".tmp-{spec.key}-*"):
            shutil.rmtree(debris, ignore_errors=True)
        if final.exists():  # a venv someone emptied of its marker
            shutil.rmtree(final, ignore_errors=True)
        staging = Path(tempfile.mkdtemp(prefix=f".tmp-{spec.key}-", dir=final.parent))
        try:
            uv = find()
            on_create()
            _build(spec, package_dir, staging, uv=uv, python=python)
            (staging / MARKER).write_text(
                json.dumps(
                    {
                        "key": spec.key,
                        "kind": spec.kind,
                        "requirements": list(spec.requirements),
                        "server_requirements": list(spec.server_requirements),
                        "python": spec.python,
                    },
                    indent=2,
                    sort_keys=True,
                )
                + "\n",
                encoding="utf-8",
            )
            try:
                staging.rename(final)
            except OSError:
                # Only a process that ignored the lock can have put it there first.
                if not is_ready(final):
                    raise
                return Environment(final, "waited")
        finally:
            if staging.exists():
                shutil.rmtree(staging, ignore_errors=True)
    return Environment(final, "created")


class InstallError(IsolateError):
    """uv could not install a package's requirements."""

    def __init__(self, command: str, output: str) -> None:
        super().__init__(f"`uv {command}` failed")
        self.command = command
        self.output = output


def _uv_environment() -> dict[str, str]:
    """The environment of uv: never download an interpreter, no progress bars, no venv of ours."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("VIRTUAL_ENV", "CONDA_PREFIX")
    }
    env["UV_PYTHON_DOWNLOADS"] = "never"
    env["UV_NO_PROGRESS"] = "1"
    return env


def _uv(uv: str, args: Sequence[str], *, cwd: Path | None = None) -> None:
    process = subprocess.run(
        [uv, *args],
        cwd=cwd,
        env=_uv_environment(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        check=False,
    )
    if process.returncode != 0:
        command = " ".join(
            arg for arg in args[:2] if not arg.startswith("-")
        )  # `pip install`, `venv`, `export`
        raise InstallError(command, process.stdout.decode("utf-8", errors="replace"))


def _build(
    spec: EnvSpec, package_dir: Path, venv: Path, *, uv: str, python: str
) -> None:
    """Make a venv at `venv` with the package's requirements and the server's, as Truss installs them.

    `requirements.txt` and `pyproject.toml` are installed with `uv pip install -r`;
    a `uv.lock` is first exported to requirements (as Truss does, minus the hashes,
    so they install together with the server's in one resolution).
    """
    _uv(uv, ["venv", "--quiet", "--relocatable", "--python", python, str(venv)])
    requirements = package_dir / spec.kind
    if spec.kind == UV_LOCK:
        requirements = venv / "chainsc-uv-lock-requirements.txt"
        _uv(
            uv,
            [
                "export",
                "--frozen",
                "--format",
                "requirements-txt",
                "--no-hashes",
                "--no-emit-project",
                "--quiet",
                "--output-file",
                str(requirements),
            ],
            cwd=package_dir,
        )
    command = ["pip", "install", "--python", str(venv_python(venv))]
    if requirements.exists():
        command += ["-r", str(requirements)]
    _uv(uv, [*command, *spec.server_requirements])


def failed_requirements(output: str, package_dir: Path, spec: EnvSpec) -> list[str]:
    """The requirements uv's error output names, each with where it comes from.

    uv names the distributions it could not resolve, download or build; every
    requirement line whose name appears in that output is listed, the package's own
    lines first (with their line number in its requirements file), then the server's.
    """
    mentioned = {
        normalize_name(word)
        for word in re.findall(r"[A-Za-z0-9][A-Za-z0-9._-]*", output)
    }
    found: list[str] = []
    if spec.kind == REQUIREMENTS_TXT:
        path = package_dir / REQUIREMENTS_TXT
        text = (
            path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""
        )
        section = (
            ""  # the generated file's section comments say where a line comes from
        )
        for number, line in enumerate(text.splitlines(), start=1):
            if line.startswith("# from ") or line == "# chainsc runtime":
                section = f", {line[2:]}"
            for requirement in logical_lines([line]):
                if requirement_name(requirement) in mentioned:
                    found.append(
                        f"`{requirement}` ({package_dir.name}/{REQUIREMENTS_TXT} line {number}{section})"
                    )
    elif spec.kind in (PYPROJECT_TOML, UV_LOCK):
        found += _project_requirements(package_dir / PYPROJECT_TOML, mentioned)
    for requirement in spec.server_requirements:
        name = requirement_name(requirement)
        if name is not None and name in mentioned:
            found.append(f"`{requirement}` (server requirement)")
    return found


def _project_requirements(path: Path, mentioned: set[str]) -> list[str]:
    import tomllib  # noqa: PLC0415

    try:
        project = tomllib.loads(path.read_text(encoding="utf-8")).get("project", {})
    except (OSError, tomllib.TOMLDecodeError):
        return []
    dependencies = project.get("dependencies", []) if isinstance(project, dict) else []
    return [
        f"`{item}` ({path.parent.name}/{PYPROJECT_TOML})"
        for item in dependencies
        if isinstance(item, str) and requirement_name(item) in mentioned
    ]


def uv_tail(output: str, lines: int = UV_TAIL_LINES) -> list[str]:
    """The last meaningful lines of uv's output (not its `Using Python ...` preamble)."""
    kept = [
        line.rstrip()
        for line in output.splitlines()
        if line.strip() and not line.startswith("Using Python")
    ]
    return kept[-lines:]


def prepare(
    packages: Sequence[Path],
    *,
    environ: Mapping[str, str],
    python: str = sys.executable,
    echo: Callable[[str], None],
) -> dict[str, Path]:
    """The venv of every package by directory name, made or reused; equal specs share one.

    Raises:
        IsolateError: with the message to show (the packages, the requirement that
            failed and uv's last lines for a failed install).
    """
    cache = cache_dir(environ)
    identity = python_identity()
    groups: dict[str, tuple[EnvSpec, list[Path]]] = {}
    for package_dir in packages:
        spec = env_spec(package_dir, identity)
        groups.setdefault(spec.key, (spec, []))[1].append(package_dir)
    venvs: dict[str, Path] = {}
    uv_path: list[str] = []

    def find() -> str:
        if not uv_path:
            uv_path.append(find_uv(environ))
        return uv_path[0]

    for key, (spec, members) in groups.items():
        names = ", ".join(f"'{member.name}'" for member in members)
        label = f"environment of {names}"
        final = venv_dir(cache, key)
        started = time.monotonic()
        try:
            environment = ensure_env(
                spec,
                members[0],
                cache,
                python=python,
                find=find,
                on_wait=functools.partial(
                    echo,
                    f"chainsc run: {label}: waiting for another chainsc that is creating it",
                ),
                on_create=functools.partial(
                    echo,
                    f"chainsc run: {label}: creating {final} with uv (the first run takes a while; later runs reuse it)",
                ),
            )
        except InstallError as exc:
            raise IsolateError(_install_failure_message(exc, members, spec)) from None
        except OSError as exc:
            raise IsolateError(
                f"cannot create the {label} under {cache}: {exc}"
            ) from exc
        if environment.outcome == "created":
            echo(f"chainsc run: {label}: created in {time.monotonic() - started:.1f} s")
        else:
            echo(f"chainsc run: {label}: cached ({environment.path})")
        for member in members:
            venvs[member.name] = environment.path
    return venvs


def _install_failure_message(
    exc: InstallError, members: Sequence[Path], spec: EnvSpec
) -> str:
    """The packages, the requirement(s) uv names, and uv's last lines."""
    names = ", ".join(f"'{member.name}'" for member in members)
    plural = "s" if len(members) > 1 else ""
    failed = failed_requirements(exc.output, members[0], spec)
    what = (
        f"; failed requirement{'s' * (len(failed) > 1)}: {', '.join(failed)}"
        if failed
        else ""
    )
    tail = "\n".join(f"  uv | {line}" for line in uv_tail(exc.output))
    return f"cannot install the requirements of package{plural} {names} (`uv {exc.command}`){what}\n{tail}"
