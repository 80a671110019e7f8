"""`chainsc push`: deploy a built chain to Baseten as one chain, with truss's own upload.

Stage: after build, over built packages, like `run`: it reads OUT and never writes it.
Baseten mounts each Chainlet's `dynamic_chainlet_config` only for Chainlets pushed
together, as one chain: what `truss chains push` does once it has generated its Truss
directories. Here the packages in OUT are those directories, and the rest is truss's own
code: its options (`PushOptionsBaseten`: an environment implies publish, `--promote` means
the production environment), its chain upload (`_create_baseten_chain`, which calls the
remote's `push_chain_atomic` with the entrypoint's artifact first), its remote
(`~/.trussrc`, `truss login`) and its status polling.

What is uploaded is a copy of each package holding exactly the files `chain.json` lists
for it, checked against the package's `package_sha256`: a file changed, added or missing
since chainsc wrote OUT (an edit, a `__pycache__`, a half-copied tree) cannot slip into a
deployment. In the copy, `config.yaml`'s `model_name` becomes `<display name>-<8 hex>`,
as `truss chains push` names each Chainlet's model (a new model per deployment), and a
`.truss_ignore` without patterns replaces truss's default one, which would silently drop
built files such as a module directory named `lib/` or `build/`. Every package is loaded
with truss's own loader and config parser before anything is sent (`--dryrun` stops
there).

truss is the `baseten` extra: imported here only, inside functions, never by the rest
of chainsc.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import re
import shutil
import stat
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chainsc.wording import plural

#: The manifest a build writes (`compiler/emit/LAYOUT.md`).
MANIFEST = "chain.json"
#: The extra that brings truss, named in every message about a missing truss.
EXTRA = "chainsc[baseten]"
#: The truss release `chainsc push` is tested with.
TESTED_TRUSS = "0.18.36"
#: What `truss chains push --promote` deploys to.
PRODUCTION_ENVIRONMENT = "production"
#: truss's own rule for deployment names (`BasetenRemote._prepare_push`).
DEPLOYMENT_NAME = re.compile(r"^[0-9a-zA-Z_\-\.]*$")
#: Seconds between two status polls while waiting, as `truss chains push`.
POLL_INTERVAL_SEC = 2.0
#: The `.truss_ignore` of each uploaded copy: no patterns, so every built file goes.
TRUSS_IGNORE = (
    b"# Written by chainsc push: this copy holds exactly the files chainsc built\n"
    b"# (chain.json); none is ignored.\n"
)
_CONFIG = "config.yaml"
_MODEL_NAME_LINE = re.compile(rb"^model_name:.*$", re.MULTILINE)


class PushError(Exception):
    """A problem `chainsc push` reports in one message (no traceback).

    `usage`: the arguments are at fault (a bad option, an OUT that is not a chainsc
    build as it was written): exit 2, as for any usage error; else exit 1.
    """

    def __init__(self, message: str, *, usage: bool = False) -> None:
        super().__init__(message)
        self.usage = usage


@dataclass(frozen=True, slots=True)
class Package:
    """One Chainlet's package in OUT, as `chain.json` lists it."""

    chainlet_id: str
    #: The Chainlet's display name: the chainlet's name on Baseten.
    display_name: str
    #: Its class name (truss's `ChainletArtifact.name`).
    name: str
    #: Its directory, a child of OUT.
    package: str
    #: Its files, relative to its directory, sorted.
    files: tuple[str, ...]
    #: `chain.json`'s hash of those files (`emit/plan.py` `_tree_hash`).
    sha256: str
    is_entrypoint: bool


@dataclass(frozen=True, slots=True)
class BuiltChain:
    """What `chainsc build` wrote to OUT: the chain's name and its packages."""

    out_dir: Path
    name: str
    #: The entrypoint first, then its dependencies, each after those it calls.
    packages: tuple[Package, ...]


@dataclass(frozen=True, slots=True)
class PushOptions:
    """The options of `chainsc push`, named and defaulted as `truss chains push` has them."""

    name: str | None = None
    #: None: not given (a published deployment, truss's default).
    publish: bool | None = None
    promote: bool = False
    environment: str | None = None
    deployment_name: str | None = None
    remote: str | None = None
    wait: bool = True
    dryrun: bool = False


@dataclass(frozen=True, slots=True)
class PushPlan:
    """The options once truss's implications are applied, and what was overridden."""

    chain_name: str
    publish: bool
    environment: str | None
    deployment_name: str | None
    #: What an option did not do (said to the user, as truss says it).
    notes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Artifact:
    """One package as it is uploaded: a checked copy with its model name."""

    package: Package
    #: Where the package is in OUT (as the user named OUT).
    source: Path
    #: The copy truss uploads.
    staged: Path
    model_name: str


# --- OUT -------------------------------------------------------------------------


def read_built_chain(out_dir: Path) -> BuiltChain:
    """Read `chain.json`; every listed package must be a directory in OUT.

    Raises `PushError` (usage) when OUT is not a chainsc build: no manifest, someone
    else's `chain.json`, a package missing.
    """
    manifest_path = out_dir / MANIFEST
    data = _read_regular(manifest_path)
    if data is None:
        raise PushError(
            f"`{out_dir}` has no {MANIFEST}: it is not a chain built by chainsc; "
            f"build it first (`chainsc build CHAIN.py -o {out_dir}`)",
            usage=True,
        )
    manifest = _parse_manifest(data)
    if manifest is None:
        raise PushError(
            f"`{manifest_path}` was not written by chainsc (or is damaged); "
            f"build the chain again (`chainsc build CHAIN.py -o {out_dir}`)",
            usage=True,
        )
    chain_name, entrypoint, chainlets, files = manifest
    by_package: dict[str, list[str]] = {}
    for path in files:
        head, _, rest = path.partition("/")
        if rest:
            by_package.setdefault(head, []).append(rest)
    packages: dict[str, Package] = {}
    for chainlet_id, info in chainlets.items():
        directory = out_dir / info.package
        if not _is_real_dir(directory):
            raise PushError(
                f"the package `{info.package}` of `{info.name}` is missing from `{out_dir}` "
                f"({MANIFEST} lists it): build the chain again",
                usage=True,
            )
        listed = tuple(sorted(by_package.get(info.package, ())))
        if _CONFIG not in listed:
            raise PushError(
                f"`{manifest_path}` lists no {_CONFIG} for `{info.package}`: "
                "it was not written by chainsc",
                usage=True,
            )
        packages[chainlet_id] = Package(
            chainlet_id=chainlet_id,
            display_name=info.name,
            name=chainlet_id.rpartition(".")[2],
            package=info.package,
            files=listed,
            sha256=info.sha256,
            is_entrypoint=chainlet_id == entrypoint,
        )
    order = _upload_order(entrypoint, {i: c.dependencies for i, c in chainlets.items()})
    return BuiltChain(out_dir, chain_name, tuple(packages[i] for i in order))


@dataclass(frozen=True, slots=True)
class _ChainletEntry:
    name: str
    package: str
    dependencies: tuple[str, ...]
    sha256: str


def _parse_manifest(
    data: bytes,
) -> tuple[str, str, dict[str, _ChainletEntry], tuple[str, ...]] | None:
    """(chain name, entrypoint id, chainlets, files) of a chainsc manifest, else None."""
    try:
        manifest = json.loads(data)
    except ValueError:
        return None
    if not isinstance(manifest, dict) or manifest.get("generated_by") != "chainsc":
        return None
    name, entrypoint = manifest.get("chain"), manifest.get("entrypoint")
    chainlets, files = manifest.get("chainlets"), manifest.get("files")
    if not (
        isinstance(name, str)
        and name.strip()
        and isinstance(chainlets, dict)
        and isinstance(entrypoint, str)
        and entrypoint in chainlets
        and isinstance(files, list)
        and MANIFEST in files
        and all(isinstance(p, str) and _is_relative_posix(p) for p in files)
    ):
        return None
    entries: dict[str, _ChainletEntry] = {}
    for chainlet_id, info in chainlets.items():
        if not isinstance(info, dict):
            return None
        display, package = info.get("name"), info.get("package")
        dependencies, sha256 = info.get("dependencies", []), info.get("package_sha256")
        if not (
            isinstance(display, str)
            and display
            and isinstance(package, str)
            and _is_relative_posix(package)
            and "/" not in package
            and isinstance(sha256, str)
            and isinstance(dependencies, list)
            and all(isinstance(d, str) and d in chainlets for d in dependencies)
        ):
            return None
        entries[chainlet_id] = _ChainletEntry(
            display, package, tuple(sorted(dependencies)), sha256
        )
    packages = [e.package for e in entries.values()]
    names = [e.name for e in entries.values()]
    if len(set(packages)) != len(packages) or len(set(names)) != len(names):
        return None
    return name, entrypoint, entries, tuple(files)


def _upload_order(
    entrypoint: str, dependencies: Mapping[str, Sequence[str]]
) -> list[str]:
    """The entrypoint first, then the others, each after the Chainlets it calls.

    `push_chain_atomic` takes the entrypoint and a list of dependencies; `truss chains
    push` lists them in the order they were defined, which is topological. Ties go by id.
    """
    order: list[str] = []
    seen: set[str] = set()

    def visit(node: str) -> None:
        if node in seen:
            return
        seen.add(node)
        for dependency in dependencies[node]:
            visit(dependency)
        order.append(node)

    for node in sorted(dependencies):
        visit(node)
    order.remove(entrypoint)
    return [entrypoint, *order]


def _is_relative_posix(path: str) -> bool:
    parts = path.split("/")
    return (
        bool(path) and "\\" not in path and all(p not in {"", ".", ".."} for p in parts)
    )


def _is_real_dir(path: Path) -> bool:
    try:
        return stat.S_ISDIR(path.lstat().st_mode)
    except OSError:
        return False


def _read_regular(path: Path) -> bytes | None:
    """The bytes of a regular file (a symbolic link is not followed), else None."""
    try:
        if not stat.S_ISREG(path.lstat().st_mode):
            return None
        return path.read_bytes()
    except OSError:
        return None


# --- options ---------------------------------------------------------------------


def plan_push(chain: BuiltChain, options: PushOptions) -> PushPlan:
    """Apply truss's implications to the options; reject what truss would reject mid-push.

    As `truss chains push`: the chain is named `--name`, else as the chain file names it
    (its entrypoint's display name unless `mark_entrypoint` names the chain); published
    unless `--no-publish`; `--promote` deploys to the production environment; an
    environment implies publish (and `--promote` is then ignored). A deployment name
    needs a published deployment and truss's characters. Names truss writes into its
    GraphQL requests as they are must not hold a quote, a backslash or a control
    character.
    """
    notes: list[str] = []
    chain_name = chain.name if options.name is None else options.name
    _check_quoted(chain_name, "--name")
    if not chain_name.strip():
        raise PushError("the chain name is empty", usage=True)
    publish = True if options.publish is None else options.publish
    environment = options.environment
    if environment is not None:
        _check_quoted(environment, "--environment")
        if not environment.strip():
            raise PushError("`--environment` is empty", usage=True)
        if options.promote:
            notes.append(
                "`--promote` and `--environment` were both given: `--promote` is ignored"
            )
    elif options.promote:
        environment = PRODUCTION_ENVIRONMENT
    if environment is not None and not publish:
        notes.append(
            f"`--no-publish` is ignored: deploying to the `{environment}` environment "
            "needs a published deployment"
        )
        publish = True
    deployment_name = options.deployment_name
    if deployment_name is not None:
        if not publish:
            raise PushError(
                "`--deployment-name` names a published deployment: it cannot be used "
                "with `--no-publish` (a development deployment)",
                usage=True,
            )
        if not deployment_name or not DEPLOYMENT_NAME.match(deployment_name):
            raise PushError(
                "`--deployment-name` may only hold letters, digits, `-`, `_` and `.`",
                usage=True,
            )
    return PushPlan(chain_name, publish, environment, deployment_name, tuple(notes))


def _check_quoted(value: str, option: str) -> None:
    bad = sorted({c for c in value if c in '"\\' or ord(c) < 0x20 or ord(c) == 0x7F})
    if bad:
        raise PushError(
            f"`{option}` holds {', '.join(repr(c) for c in bad)}: truss writes names "
            "into its requests to Baseten's API as they are, where that breaks the request",
            usage=True,
        )


# --- the copies truss uploads ----------------------------------------------------


@contextmanager
def staged_artifacts(chain: BuiltChain) -> Iterator[list[Artifact]]:
    """A checked copy of every package, with its model name, removed afterwards.

    Each file is read once: its bytes are hashed and written to the copy, so what is
    uploaded is what was checked against `chain.json`. Raises `PushError` (usage) when
    a package differs from what chainsc built.
    """
    root = Path(tempfile.mkdtemp(prefix="chainsc-push-"))
    try:
        yield [_stage(chain.out_dir, package, root) for package in chain.packages]
    finally:
        shutil.rmtree(root, ignore_errors=True)


def model_name(display_name: str) -> str:
    """`<display name>-<8 hex>`: a new Baseten model per deployment, as `truss chains push`."""
    return f"{display_name}-{uuid.uuid4().hex[:8]}"


def _stage(out_dir: Path, package: Package, root: Path) -> Artifact:
    source = out_dir / package.package
    staged = root / package.package
    digest = hashlib.sha256()
    missing: list[str] = []
    contents: dict[str, bytes] = {}
    for relative in package.files:
        data = _read_regular(source.joinpath(*relative.split("/")))
        if data is None:
            missing.append(relative)
            continue
        contents[relative] = data
        digest.update(
            f"{package.package}/{relative}".encode()
            + b"\0"
            + hashlib.sha256(data).digest()
        )
    if missing:
        shown = ", ".join(f"`{m}`" for m in missing[:5])
        more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
        raise PushError(
            f"in `{source}`, {shown}{more} is missing or no longer a regular file "
            f"({MANIFEST} lists what chainsc built): build the chain again",
            usage=True,
        )
    if digest.hexdigest() != package.sha256:
        raise PushError(
            f"`{source}` differs from what chainsc built (its files no longer match "
            f"`package_sha256` in {MANIFEST}): build the chain again; push uploads "
            "packages only as chainsc wrote them",
            usage=True,
        )
    name = model_name(package.display_name)
    contents[_CONFIG] = _with_model_name(contents[_CONFIG], name, source)
    contents[".truss_ignore"] = TRUSS_IGNORE
    for relative, data in contents.items():
        target = staged.joinpath(*relative.split("/"))
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return Artifact(package, source, staged, name)


def _with_model_name(config: bytes, name: str, source: Path) -> bytes:
    """`config.yaml` with its one top-level `model_name` line set to `name`.

    Only that line changes (Baseten keeps the raw file); the name is written as a JSON
    string, which YAML reads as the same string. truss reads it back before upload.
    """
    lines = _MODEL_NAME_LINE.findall(config)
    if len(lines) != 1:
        raise PushError(
            f"`{source / _CONFIG}` has no single top-level `model_name`: "
            "it was not written by chainsc",
            usage=True,
        )
    line = b"model_name: " + json.dumps(name).encode("ascii")
    return _MODEL_NAME_LINE.sub(lambda _: line, config, count=1)


# --- truss -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Truss:
    """Everything `chainsc push` uses of truss, in one place (truss ships no type hints)."""

    version: str
    #: `truss.truss_handle.build.load`: a Truss directory as `push_chain_atomic` loads it.
    load: Any
    #: `truss.base.truss_config.TrussConfig`: the config parser.
    TrussConfig: Any
    #: `truss.remote.remote_factory.RemoteFactory`: the remotes of `~/.trussrc`.
    RemoteFactory: Any
    #: `truss.remote.baseten.custom_types.ChainletArtifact`.
    ChainletArtifact: Any
    #: `truss_chains.private_types.PushOptionsBaseten`: `truss chains push`'s options.
    PushOptionsBaseten: Any
    #: `truss_chains.deployment.deployment_client._create_baseten_chain`: the upload.
    create_baseten_chain: Any
    #: The statuses of a Chainlet that is ready, and of one still on its way.
    active_status: str
    deploying_statuses: frozenset[str]


@functools.cache
def _truss() -> _Truss:
    """truss, imported once; `PushError` naming the extra when it is not installed.

    Some truss modules log at import about optional packages of Baseten's server image
    (`prometheus_client`), which has nothing to do with an upload: a root handler held
    during the import keeps those lines (and the `basicConfig` a bare `logging.warning`
    makes) out of the output.
    """
    root = logging.getLogger()
    quiet = logging.NullHandler()
    root.addHandler(quiet)
    try:
        # The `baseten` extra: only `chainsc push` imports truss, never chainsc's core.
        import truss  # type: ignore[import-not-found]  # noqa: PLC0415
        from truss.base.truss_config import TrussConfig  # type: ignore[import-not-found]  # noqa: PLC0415
        from truss.remote.baseten import core  # type: ignore[import-not-found]  # noqa: PLC0415
        from truss.remote.baseten.custom_types import ChainletArtifact  # type: ignore[import-not-found]  # noqa: PLC0415
        from truss.remote.remote_factory import RemoteFactory  # type: ignore[import-not-found]  # noqa: PLC0415
        from truss.truss_handle import build  # type: ignore[import-not-found]  # noqa: PLC0415
        from truss_chains import private_types  # type: ignore[import-not-found]  # noqa: PLC0415
        from truss_chains.deployment import deployment_client  # type: ignore[import-not-found]  # noqa: PLC0415
    except ImportError as exc:
        raise PushError(
            f"`chainsc push` uploads with truss, which this Python cannot import ({exc}): "
            f"install it with `pip install '{EXTRA}'` (truss {TESTED_TRUSS} is the one "
            "chainsc is tested with)"
        ) from None
    finally:
        root.removeHandler(quiet)
    try:
        return _Truss(
            version=str(truss.__version__),
            load=build.load,
            TrussConfig=TrussConfig,
            RemoteFactory=RemoteFactory,
            ChainletArtifact=ChainletArtifact,
            PushOptionsBaseten=private_types.PushOptionsBaseten,
            create_baseten_chain=deployment_client._create_baseten_chain,
            active_status=str(core.ACTIVE_STATUS),
            deploying_statuses=frozenset(core.DEPLOYING_STATUSES),
        )
    except AttributeError as exc:
        raise PushError(
            f"this truss ({truss.__version__}) lacks what `chainsc push` uses ({exc}): "
            f"install truss {TESTED_TRUSS} (`pip install '{EXTRA}'`)"
        ) from None


def truss_version() -> str:
    """The installed truss's version (`PushError` naming the extra when there is none)."""
    return _truss().version


def validate(artifacts: Sequence[Artifact], plan: PushPlan) -> None:
    """Load every copy with truss's loader and config parser, as its upload will.

    `truss_build.load` (the `TrussHandle` `push_chain_atomic` builds), the model name
    truss reads, `TrussConfig.from_yaml`, `validate_forbid_extra` (what
    `_prepare_push` runs before it uploads) and `to_dict` (what it sends). An
    engine-builder Chainlet needs a published deployment, as `truss chains push` says.
    Every package is checked; all failures are reported together.
    """
    truss = _truss()
    failures: list[str] = []
    for artifact in artifacts:
        where = f"`{artifact.source}` ({artifact.package.display_name})"
        try:
            handle = truss.load(str(artifact.staged))
            config = handle.spec.config
            parsed = truss.TrussConfig.from_yaml(artifact.staged / _CONFIG)
            parsed.validate_forbid_extra()
            config.validate_forbid_extra()
            config.to_dict()
        except Exception as exc:  # whatever truss rejects, said per package
            failures.append(f"{where}: truss rejects it: {type(exc).__name__}: {exc}")
            continue
        if config.model_name != artifact.model_name:
            failures.append(
                f"{where}: truss reads the model name {config.model_name!r}, "
                f"not {artifact.model_name!r}"
            )
        if getattr(config, "trt_llm", None) is not None and not plan.publish:
            failures.append(
                f"{where}: an engine-builder Chainlet cannot be a development "
                "deployment: push without `--no-publish`"
            )
    if failures:
        raise PushError(
            "truss would not upload this chain:\n"
            + "\n".join("  " + f.replace("\n", "\n    ") for f in failures)
        )


def choose_remote(remote: str | None) -> str:
    """The remote in `~/.trussrc` to push to, without asking, as truss decides it.

    `--remote` when given; else the only one there is (or the one
    `BASETEN_TRUSS_AUTH_REMOTE_URL`/`BASETEN_TRUSS_AUTH_API_KEY` define). None, or
    several without `--remote`, is a usage error (truss would prompt).
    """
    try:
        names = [str(n) for n in _truss().RemoteFactory.get_available_config_names()]
    except ValueError as exc:  # only one of the two environment variables is set
        raise PushError(str(exc), usage=True) from None
    if remote is not None:
        return remote
    if not names:
        raise PushError(
            "no Baseten remote is configured: run `truss login` (it writes `~/.trussrc` "
            "with your API key), or set BASETEN_TRUSS_AUTH_REMOTE_URL and "
            "BASETEN_TRUSS_AUTH_API_KEY",
            usage=True,
        )
    if len(names) > 1:
        raise PushError(
            f"`~/.trussrc` has several remotes ({', '.join(sorted(names))}): "
            "choose one with `--remote NAME`",
            usage=True,
        )
    return names[0]


@dataclass(frozen=True, slots=True)
class Deployment:
    """What Baseten answered: the chain deployment and where to call it."""

    chain_deployment_id: str
    status_page_url: str
    run_remote_url: str
    #: truss's `BasetenChainService`, for the status polls.
    service: Any


def upload(
    artifacts: Sequence[Artifact], plan: PushPlan, remote: str, working_dir: Path
) -> Deployment:
    """Push the copies as one chain with truss's `_create_baseten_chain`, the entrypoint first.

    The same call, with the same options object, `truss chains push` makes once it has
    generated its Truss directories; git info goes with it when truss's settings ask.
    """
    truss = _truss()
    truss_artifacts = [
        truss.ChainletArtifact(
            truss_dir=artifact.staged,
            name=artifact.package.name,
            display_name=artifact.package.display_name,
        )
        for artifact in artifacts
    ]
    try:
        options = truss.PushOptionsBaseten.create(
            chain_name=plan.chain_name,
            publish=plan.publish,
            promote=False,  # already applied: `plan.environment`
            only_generate_trusses=False,
            remote=remote,
            include_git_info=False,  # truss's settings may still ask for it
            working_dir=working_dir,
            environment=plan.environment,
            deployment_name=plan.deployment_name,
        )
        service = truss.create_baseten_chain(
            options, truss_artifacts[0], truss_artifacts[1:], progress_bar=None
        )
        return Deployment(
            chain_deployment_id=str(service.chain_deployment_id),
            status_page_url=str(service.status_page_url),
            run_remote_url=str(service.run_remote_url),
            service=service,
        )
    except Exception as exc:  # truss's and Baseten's errors, said in one line
        raise PushError(_truss_failure(exc)) from exc


def _truss_failure(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    hint = ""
    if type(exc).__name__ == "AuthorizationError" or re.match(r"40[13]\b", text):
        hint = (
            " (check the API key of the remote in `~/.trussrc`, or run `truss login`)"
        )
    return f"the push failed: {type(exc).__name__}: {text}{hint}"


@dataclass(frozen=True, slots=True)
class ChainletStatus:
    """One Chainlet of the deployment, as Baseten reports it."""

    name: str
    status: str
    is_entrypoint: bool
    logs_url: str


def statuses(deployment: Deployment) -> list[ChainletStatus]:
    """Every Chainlet's status now (truss's `get_info`), the entrypoint first."""
    try:
        chainlets = deployment.service.get_info()
    except Exception as exc:  # the remote's errors, said in one line
        raise PushError(_truss_failure(exc)) from exc
    found = [
        ChainletStatus(
            str(c.name), str(c.status), bool(c.is_entrypoint), str(c.logs_url)
        )
        for c in chainlets
    ]
    return sorted(found, key=lambda s: (not s.is_entrypoint, s.name))


def wait_until_ready(
    deployment: Deployment,
    echo: Callable[[str], None],
    sleep: Callable[[float], None] = time.sleep,
) -> list[ChainletStatus]:
    """Poll until every Chainlet is active, or one failed (`PushError`), as truss waits.

    Each change of a Chainlet's status is echoed. Ctrl-C deactivates the deployment,
    as `truss chains push` does, and is raised again.
    """
    truss = _truss()
    shown: dict[str, str] = {}
    try:
        while True:
            current = statuses(deployment)
            for chainlet in current:
                if shown.get(chainlet.name) != chainlet.status:
                    shown[chainlet.name] = chainlet.status
                    echo(f"  {chainlet.name}: {chainlet.status}")
            failed = [
                c
                for c in current
                if c.status != truss.active_status
                and c.status not in truss.deploying_statuses
            ]
            if failed:
                raise PushError(
                    "the deployment failed:\n"
                    + "\n".join(
                        f"  {c.name}: {c.status} (logs: {c.logs_url})" for c in failed
                    )
                )
            if current and all(c.status == truss.active_status for c in current):
                return current
            sleep(POLL_INTERVAL_SEC)
    except KeyboardInterrupt:
        echo(
            f"Stopped waiting: deactivating chain deployment `{deployment.chain_deployment_id}`"
        )
        try:
            deployment.service.deactivate()
        except Exception as exc:  # said, then the interrupt goes on
            echo(
                f"Could not deactivate it ({type(exc).__name__}: {exc}); it may still be "
                f"deploying: {deployment.status_page_url}"
            )
        raise


def invoke_url(deployment: Deployment, environment: str | None) -> str:
    """The URL to call the chain at: its environment's when it has one, as truss prints it."""
    url = deployment.run_remote_url
    if environment:
        index = url.find("deployment")
        if index != -1:
            return url[:index] + f"environments/{environment}/run_remote"
    return url


def artifact_rows(artifacts: Sequence[Artifact]) -> list[tuple[str, str, str, str]]:
    """(display name, name, directory, model name) of each artifact, in upload order."""
    return [
        (a.package.display_name, a.package.name, str(a.source), a.model_name)
        for a in artifacts
    ]


# --- the command -----------------------------------------------------------------


def describe(
    chain: BuiltChain,
    plan: PushPlan,
    artifacts: Sequence[Artifact],
    *,
    remote: str | None,
    version: str,
) -> list[str]:
    """What is (or would be) uploaded, one fact a line, the artifacts as a table."""
    rows = [
        ("display_name", "name", "directory", "model_name"),
        *artifact_rows(artifacts),
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    entrypoint = next(p for p in chain.packages if p.is_entrypoint)
    lines = [
        f"chain: {plan.chain_name}",
        f"entrypoint: {entrypoint.display_name}",
        f"publish: {'yes' if plan.publish else 'no (a development deployment)'}",
        f"environment: {plan.environment or '-'}",
        f"deployment name: {plan.deployment_name or '-'}",
        f"remote: {remote if remote is not None else '-'}",
        f"truss: {version}",
        f"artifacts ({len(artifacts)}, in upload order, the entrypoint first):",
    ]
    lines += [
        "  "
        + "  ".join(
            cell.ljust(width) for cell, width in zip(row[:3], widths, strict=True)
        )
        + "  "
        + row[3]
        for row in rows
    ]
    return lines


def push(
    out_dir: Path,
    options: PushOptions,
    echo: Callable[[str], None],
    note: Callable[[str], None],
) -> None:
    """`chainsc push OUT`: check OUT, check every package with truss, upload, wait.

    `echo`: what was (or would be) uploaded and where to call the chain (stdout);
    `note`: progress and what an option did not do (stderr). Raises `PushError`.
    Nothing leaves this machine before every package is checked. OUT and the options
    are checked before truss is needed, so a user without truss learns about those too.
    """
    chain = read_built_chain(out_dir)
    plan = plan_push(chain, options)
    with staged_artifacts(chain) as artifacts:
        version = truss_version()
        remote = None if options.dryrun else choose_remote(options.remote)
        for text in plan.notes:
            note(text)
        validate(artifacts, plan)
        for line in describe(chain, plan, artifacts, remote=remote, version=version):
            echo(line)
        if remote is None:
            echo(
                "dry run: every package loaded by truss's loader and config parser; "
                "nothing was uploaded"
            )
            return
        note(
            f"Uploading {plural(len(artifacts), 'package')} to Baseten as chain `{plan.chain_name}` ..."
        )
        deployment = upload(artifacts, plan, remote, out_dir.resolve())
    echo(f"chain deployment: {deployment.chain_deployment_id}")
    echo(f"status page: {deployment.status_page_url}")
    url = invoke_url(deployment, plan.environment)
    if options.wait:
        note(
            "Waiting until every Chainlet is ready (Ctrl-C deactivates the deployment) ..."
        )
        wait_until_ready(deployment, note)
        echo("deployed: every Chainlet is active")
    else:
        echo("pushed: Baseten builds and deploys it now (`--wait` follows it)")
    echo(f"invoke: {url}")
    echo(
        f"curl -X POST '{url}' -H \"Authorization: Api-Key $BASETEN_API_KEY\" "
        "-d '<JSON_INPUT>'  # the entrypoint's arguments by name"
    )
