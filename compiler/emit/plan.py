"""Plan stage: the whole build output as an in-memory tree of bytes.

Stage: after the load stage (`emit.inputs`), only for chains without errors.
`plan(chain, inputs)` computes each Chainlet's slice and view models, renders the
templates, and returns `{relative path: bytes}` (the manifest included). Pure: it
reads no file (everything it needs from disk is in `PlanInputs`, a test runs it with
file access forbidden) and never parses what it generates (the slice and the import
tables say, as data, what the generated code uses of the runtime).
Imports: ir, emit.* (`emit.inputs` only for the type of its result), data_files
(`literal_target`), confine (`PathProblem`), graph, graph_render, ir_dump, validate, jinja2.
"""

from __future__ import annotations

import functools
import hashlib
import json
import posixpath
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import jinja2

from chainsc import interface, ir
from chainsc.confine import PathProblem
from chainsc.data_files import literal_target
from chainsc.diagnostics import InternalError
from chainsc.emit import slice as slicing
from chainsc.emit.clients import (
    CLIENT_BASE,
    ParamView,
    module_at_path,
)
from chainsc.emit.deploy import (
    KUBERNETES_DIR,
    DeployOptions,
    dockerfile_context,
    kubernetes_files,
)
from chainsc.emit.pycode import Imports, default_expression, render_annotation
from chainsc.emit.truss_config import (
    engine_config,
    render_config_yaml,
    truss_config,
    truss_directory_config,
    websocket_transport,
)
from chainsc.graph import reachable
from chainsc.graph_render import render_mermaid
from chainsc.ir_dump import render_signature
from chainsc.requirements import requirements_file_name, requirements_txt
from chainsc.validate import package_dir_name

if TYPE_CHECKING:
    # Types only: the planner never calls the loaders, nor the resolver.
    from chainsc.emit.inputs import PlanInputs
    from chainsc.resolve import ModuleInfo

#: chainsc's version, as `chain.json` records it (a test holds it equal to the package metadata's:
#: reading that at every build costs more than the build of a small chain).
CHAINSC_VERSION = "0.1.0"
MANIFEST = "chain.json"
#: Each package with code of its own: its OpenAPI document (`chainsc.interface`).
OPENAPI_FILE = "openapi.json"
#: Tells review tools (GitHub's linguist) which files of `out/` are generated or vendored,
#: so a diff folds them.
GITATTRIBUTES = ".gitattributes"
#: The import name of the vendored runtime inside a package.
RUNTIME_PACKAGE = slicing.RUNTIME_MODULE
#: What `chainlet/server.py.jinja` imports from the runtime (`from chainsc_runtime import server`).
SERVER_RUNTIME_IMPORTS = ("server",)
#: What an in-place client uses of the runtime (its base class, `transport.ChainletClient`).
CLIENT_RUNTIME_IMPORTS = (CLIENT_BASE.removeprefix(f"{RUNTIME_PACKAGE}."),)
#: The runtime module of the client of a Chainlet with no code of its own, by its kind:
#: what stands where its class stood, and what that imports (`macros/client.jinja`).
KIND_CLIENT_MODULES = {
    ir.ChainletKind.ENGINE_BUILDER: "engine_client",
    ir.ChainletKind.TRUSS: "truss_chainlet",
}
#: The key `chain.json` records the kind of such a Chainlet under (`chainsc run` reads it).
MANIFEST_KIND = "kind"


@dataclass(frozen=True, slots=True)
class HeaderContext:
    """Context of files that are only the generated header."""

    source: str


@dataclass(frozen=True, slots=True)
class GeneratedInitContext:
    """`chainsc_generated/__init__.py`: states and checks the runtime version it was generated for."""

    source: str
    runtime_version: str


@dataclass(frozen=True, slots=True)
class SourceView:
    """One user module of `chainsc_generated/sources.py`."""

    #: Its path under `packages/`.
    path: str
    #: The user's file: its path relative to the chain root.
    source: str
    runs: tuple[slicing.LineRun, ...]


@dataclass(frozen=True, slots=True)
class SourcesContext:
    """`chainsc_generated/sources.py`: where the lines of the carried modules come from."""

    source: str
    modules: tuple[SourceView, ...]


@dataclass(frozen=True, slots=True)
class EndpointContext:
    """`chainsc_generated/endpoint.py`."""

    source: str
    chainlet_class: str
    endpoint_name: str
    imports: tuple[str, ...]
    params: tuple[ParamView, ...]
    is_async: bool
    is_streaming: bool
    returns: str
    #: A websocket endpoint: no arguments on the wire, the session instead.
    is_websocket: bool = False


@dataclass(frozen=True, slots=True)
class ClientView:
    """One typed client class (`macros/client.jinja`)."""

    name: str
    #: How the module spells `chainsc_runtime.transport.ChainletClient`.
    base: str
    service: str
    endpoint_name: str
    is_async: bool
    is_streaming: bool
    #: The `ChainletClient` method the endpoint calls: `call`, `acall`, `stream`, `astream`.
    method: str
    params: tuple[ParamView, ...]
    returns: str
    #: Streams: `str` or `bytes`, the type of each chunk (None for calls).
    item_type: str | None
    #: Streams: the target's `streaming_read_timeout` (seconds to wait for each chunk).
    streaming_read_timeout: int | None = None


@dataclass(frozen=True, slots=True)
class OwnClientContext:
    """`client.py`: the typed client of the package's own Chainlet, for callers outside the chain."""

    source: str
    #: The package directory's name (for the usage example).
    package: str
    imports: tuple[str, ...]
    #: How the module spells `chainsc_runtime.RPCOptions`.
    rpc_options: str
    client: ClientView
    #: A websocket endpoint: `connect` opens a session with `websocket.connect`, spelled
    #: so (`chainsc_runtime.websocket`); empty otherwise.
    websocket_module: str = ""


@dataclass(frozen=True, slots=True)
class DependencyView:
    """One `DependencySpec` of `model/model.py`."""

    param: str
    client: str
    service: str
    retries: int
    timeout_sec: float
    use_binary: bool
    concurrency_limit: int


@dataclass(frozen=True, slots=True)
class ModelContext:
    """`model/model.py`."""

    source: str
    display_name: str
    chainlet_class: str
    endpoint_name: str
    #: The import of the Chainlet's own module, which comes first (see LAYOUT.md).
    chainlet_import: str
    imports: tuple[str, ...]
    dependencies: tuple[DependencyView, ...]
    context_param: str
    secret_keys: tuple[str, ...]
    is_async: bool
    #: A websocket endpoint: `websocket(ws)` instead of `predict` (Truss's contract).
    is_websocket: bool = False


@dataclass(frozen=True, slots=True)
class ServerContext:
    """`server.py`: the standalone HTTP entry of a package."""

    source: str
    display_name: str
    predict_concurrency: int
    #: `pip install` arguments of the server's own requirements, shell-quoted.
    server_requirements: str
    #: A websocket endpoint, served at `/v1/websocket` and `/run_remote`.
    is_websocket: bool = False
    #: `server.main` keyword arguments of its `WebsocketOptions` pings: (name, value).
    websocket_options: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class ReadmeRow:
    """One Chainlet in the chain README."""

    name: str
    package: str
    signature: str
    dependencies: str


@dataclass(frozen=True, slots=True)
class ChainReadmeContext:
    """The chain's `README.md`."""

    source: str
    name: str
    entrypoint: str
    #: The entrypoint's endpoint method name (`run_remote`).
    endpoint_name: str
    mermaid: str
    rows: tuple[ReadmeRow, ...]
    #: Running under Truss's server locally: (package, port), the entrypoint first on
    #: 8000, and the `dynamic_chainlet_config` that points at those ports (JSON).
    truss_ports: tuple[tuple[str, int], ...]
    truss_dynamic_config: str
    #: Display names of the engine builders (their package is only a `config.yaml`).
    engines: tuple[str, ...] = ()
    #: Display names of the TrussChainlets (their package is their Truss directory).
    truss_chainlets: tuple[str, ...] = ()
    #: The entrypoint serves a websocket (at `/v1/websocket`).
    is_websocket: bool = False


#: The route of a model on Truss's server (`TrussServer`), which a Chainlet is there.
TRUSS_PREDICT_ROUTE = "/v1/models/model:predict"


@functools.lru_cache(maxsize=4)
def _environment(templates: tuple[tuple[str, str], ...]) -> jinja2.Environment:
    """A jinja environment over the loaded templates (sources in memory: nothing is read here).

    Cached by the templates' contents: one environment a process, so each template is
    compiled once, not once a build.
    """
    return jinja2.Environment(
        loader=jinja2.DictLoader(dict(templates)),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
    )


@dataclass(slots=True)
class _Planner:
    chain: ir.Chain
    inputs: PlanInputs
    env: jinja2.Environment
    #: The deployment files asked for (`--with`): none by default.
    deploy: DeployOptions
    # Tables every package uses, computed once per build (`__post_init__`).
    by_id: dict[str, ir.Chainlet] = field(init=False)
    #: Chainlet id -> the class name of `client.py`'s client: the class name, unless
    #: two Chainlets share it.
    client_names: dict[str, str] = field(init=False)
    #: (module, top-level class) of every Chainlet -> its in-place client (made on demand).
    client_classes: slicing.ClientsOnDemand = field(init=False)
    #: The slice analysis of every module, shared by all packages.
    analysis: slicing.Analysis = field(init=False)
    #: Where each module is under `packages/` -> the directory that path is relative to in
    #: the sources (the root, or the chain file's directory for a module imported through it).
    bases: dict[str, Path] = field(init=False)
    #: Where each module is under `packages/` -> its path relative to the chain root.
    display_paths: dict[str, str] = field(init=False)
    #: What the interface reads from the sources (`interface.source_facts`), on demand.
    interface_facts: interface.SourceFacts | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        chainlets = self.chain.chainlets
        self.by_id = {c.id: c for c in chainlets}
        counts: dict[str, int] = {}
        for chainlet in chainlets:
            counts[chainlet.name] = counts.get(chainlet.name, 0) + 1
        self.client_names = {
            c.id: c.name.replace(".", "_")
            if counts[c.name] == 1
            else c.id.replace(".", "_")
            for c in chainlets
        }
        by_class = {self.top_level(c.id): c for c in chainlets}
        self.client_classes = slicing.ClientsOnDemand(
            by_class, lambda key: self.in_place_client(by_class[key])
        )
        sources = {
            name: slicing.ModuleSource.of(m, m.layout)
            for name, m in self.inputs.modules.items()
        }
        self.bases = {m.layout: m.base for m in self.inputs.modules.values()}
        self.display_paths = {m.layout: m.path for m in self.inputs.modules.values()}
        self.analysis = slicing.analyse_modules(sources)

    def render(self, template: str, ctx: object) -> bytes:
        text = self.env.get_template(template).render(ctx=ctx)
        return text.encode("utf-8")

    # -- the whole tree ---------------------------------------------------------

    def plan(self) -> dict[str, bytes]:
        chain = self.chain
        edges = {c.id: [d.target for d in c.dependencies] for c in chain.chainlets}
        deployed = reachable(edges, chain.entrypoint)
        files: dict[str, bytes] = {}
        packages: dict[str, str] = {}
        for chainlet in chain.chainlets:
            if chainlet.id not in deployed:
                continue
            directory = package_dir_name(chainlet.display_name)
            packages[chainlet.id] = directory
            if chainlet.kind is ir.ChainletKind.ENGINE_BUILDER:
                package_files = self.engine_package(chainlet)
            elif chainlet.kind is ir.ChainletKind.TRUSS:
                package_files = self.truss_package(chainlet)
            else:
                package_files = self.package(chainlet)
                if self.deploy.docker:
                    package_files["Dockerfile"] = self.dockerfile(
                        chainlet, package_files
                    )
            for path, content in package_files.items():
                files[f"{directory}/{path}"] = content
        if self.deploy.kubernetes:
            files.update(self.kubernetes(packages))
        files["README.md"] = self.readme(packages)
        files[GITATTRIBUTES] = _gitattributes(
            sorted(packages.values()), deploy=self.deploy.kubernetes
        )
        files[MANIFEST] = self.manifest(packages, files)
        return dict(sorted(files.items()))

    def manifest(
        self, packages: Mapping[str, str], files: Mapping[str, bytes]
    ) -> bytes:
        by_package: dict[str, dict[str, bytes]] = {}
        for path, content in files.items():
            by_package.setdefault(path.partition("/")[0], {})[path] = content
        source_text = next(
            m.parsed.source.text
            for m in self.inputs.modules.values()
            if m.path == self.chain.source
        )
        by_id = self.by_id
        document = {
            "generated_by": "chainsc",
            "chainsc_version": CHAINSC_VERSION,
            "runtime_version": self.inputs.runtime.version,
            "source": self.chain.source,
            "source_sha256": hashlib.sha256(source_text.encode("utf-8")).hexdigest(),
            "chain": self.chain.name,
            "entrypoint": self.chain.entrypoint,
            "chainlets": {
                chainlet_id: {
                    "name": by_id[chainlet_id].display_name,
                    "package": directory,
                    "dependencies": sorted(
                        d.target for d in by_id[chainlet_id].dependencies
                    ),
                    "package_sha256": _tree_hash(by_package.get(directory, {})),
                    # The endpoint's schemas, for review and `chainsc breaking`.
                    "interface": self.endpoint_interface(by_id[chainlet_id]),
                    # Only for a package that is no chainsc server (`chainsc run` reads it).
                    **(
                        {MANIFEST_KIND: by_id[chainlet_id].kind.value}
                        if not by_id[chainlet_id].has_code
                        else {}
                    ),
                    # Only for websocket endpoints (`chainsc run` says where to connect);
                    # an HTTP one has no key, as before websockets.
                    **(
                        {"endpoint": ir.EndpointKind.WEBSOCKET.value}
                        if by_id[chainlet_id].endpoint.is_websocket
                        else {}
                    ),
                }
                for chainlet_id, directory in sorted(packages.items())
            },
            "files": sorted([*files, MANIFEST]),
        }
        return (json.dumps(document, indent=2, sort_keys=True) + "\n").encode("utf-8")

    def readme(self, packages: Mapping[str, str]) -> bytes:
        by_id = self.by_id
        rows = tuple(
            ReadmeRow(
                name=chainlet.display_name,
                package=packages[chainlet.id],
                signature=(
                    f"Truss directory {chainlet.truss_dir}/ (its predict)"
                    if chainlet.kind is ir.ChainletKind.TRUSS
                    else render_signature(
                        chainlet.endpoint, {t.id: t for t in self.chain.types}
                    )
                ).replace("|", "\\|"),
                dependencies=", ".join(
                    f"`{by_id[d.target].display_name}`" for d in chainlet.dependencies
                )
                or "none",
            )
            for chainlet in self.chain.chainlets
            if chainlet.id in packages
        )
        engines = tuple(
            c.display_name
            for c in self.chain.chainlets
            if c.id in packages and c.kind is ir.ChainletKind.ENGINE_BUILDER
        )
        # The entrypoint on 8000 (as `chainsc run`), the others after it in README order;
        # an engine runs nowhere here: its callers are pointed at one you serve.
        ordered = sorted(
            (row for row in rows if row.name not in engines),
            key=lambda row: row.name != by_id[self.chain.entrypoint].display_name,
        )
        ports = {
            row.name: (row.package, 8000 + index) for index, row in enumerate(ordered)
        }
        dynamic_config: dict[str, dict[str, str]] = {
            name: {"predict_url": f"http://127.0.0.1:{port}{TRUSS_PREDICT_ROUTE}"}
            for name, (_, port) in ports.items()
            if name != by_id[self.chain.entrypoint].display_name
        }
        dynamic_config.update(
            (
                name,
                {"predict_url": f"http://ENGINE_HOST:ENGINE_PORT{TRUSS_PREDICT_ROUTE}"},
            )
            for name in engines
        )
        ctx = ChainReadmeContext(
            source=self.chain.source,
            name=self.chain.name,
            entrypoint=by_id[self.chain.entrypoint].display_name,
            endpoint_name=by_id[self.chain.entrypoint].endpoint.name,
            mermaid=render_mermaid(self.chain),
            rows=rows,
            truss_ports=tuple(ports.values()),
            truss_dynamic_config=json.dumps(dynamic_config, indent=2, sort_keys=True),
            engines=engines,
            truss_chainlets=tuple(
                c.display_name
                for c in self.chain.chainlets
                if c.id in packages and c.kind is ir.ChainletKind.TRUSS
            ),
            is_websocket=by_id[self.chain.entrypoint].endpoint.is_websocket,
        )
        return self.render("chain/README.md.jinja", ctx)

    def kubernetes(self, packages: Mapping[str, str]) -> dict[str, bytes]:
        """`deploy/kubernetes/`: the manifests and the README of their deployment."""
        files, readme = kubernetes_files(self.chain, packages)
        files[f"{KUBERNETES_DIR}/README.md"] = self.render(
            "deploy/kubernetes/README.md.jinja", readme
        )
        return files

    # -- one package -------------------------------------------------------------

    def engine_package(self, chainlet: ir.Chainlet) -> dict[str, bytes]:
        """An engine builder's package: its `config.yaml` only, as Truss Chains writes it.

        Baseten builds and serves the engine from it; there is no code to carry.
        """
        config = engine_config(chainlet)
        return {
            "config.yaml": render_config_yaml(config, self.chain.source).encode("utf-8")
        }

    def truss_package(self, chainlet: ir.Chainlet) -> dict[str, bytes]:
        """A TrussChainlet's package: its Truss directory, byte for byte, with its `config.yaml`'s `model_name` set.

        The files Truss copies (its fixed ignore patterns left out), loaded before
        planning (`PlanInputs.truss_dirs`).
        """
        relative = chainlet.truss_dir
        listed = self.inputs.truss_dirs.get(relative) if relative is not None else None
        if listed is None:
            raise InternalError(
                f"`truss_dir` {relative!r} was not loaded before planning"
            )
        files = {path: self.inputs.content(real) for path, real in listed}
        text = files.get("config.yaml")
        if text is None:
            raise InternalError(f"`{relative}/config.yaml` was not loaded")
        config = truss_directory_config(text.decode("utf-8-sig"), chainlet.display_name)
        files["config.yaml"] = render_config_yaml(config, self.chain.source).encode(
            "utf-8"
        )
        return files

    def dockerfile(
        self, chainlet: ir.Chainlet, package_files: Mapping[str, bytes]
    ) -> bytes:
        """The package's `Dockerfile` (its requirements file decides how they install)."""
        return self.render(
            "chainlet/Dockerfile.jinja",
            dockerfile_context(
                chainlet,
                self.chain.source,
                package_files,
                self.inputs.runtime.server_requirements,
            ),
        )

    def package(self, chainlet: ir.Chainlet) -> dict[str, bytes]:
        header = HeaderContext(self.chain.source)
        files: dict[str, bytes] = {}
        types = {t.id: t for t in self.chain.types}
        owner = self.endpoint_owner(chainlet)
        extra: set[tuple[str, str]] = set()

        endpoint_imports = Imports()
        endpoint_imports.reserve("Input", "ENDPOINT")  # what endpoint.py defines
        endpoint_imports.module("pydantic")
        endpoint_imports.name("chainsc_runtime", "serving")
        is_websocket = chainlet.endpoint.is_websocket
        # A websocket endpoint takes the session, nothing on the wire: no input field.
        params = (
            ()
            if is_websocket
            else self.params(chainlet.endpoint, owner, types, endpoint_imports, extra)
        )
        # A stream's output adapter validates each item (`str` or `bytes`), not the iterator.
        wire_returns = (
            chainlet.endpoint.returns.args[0]
            if chainlet.endpoint.is_streaming
            else chainlet.endpoint.returns
        )
        returns = render_annotation(wire_returns, types, endpoint_imports, owner, extra)
        self.keep_types(chainlet.types, types, extra)
        # model.py imports the clients of the dependencies from where their classes stood
        # (which also carries a module reached only as `pkg.mod.Target`).
        extra.update(self.top_level(d.target) for d in chainlet.dependencies)

        own = {
            self.top_level(chainlet_id)
            for chainlet_id in (chainlet.id, *chainlet.bases)
        }
        # Every Chainlet's class by (module, top-level name); the slice skips the package's own.
        others = self.client_classes
        analysis = self.analysis
        package_slice = slicing.slice_package(
            analysis.modules,
            slicing.SliceRequest(frozenset(own), others, frozenset(extra)),
            analysis,
        )
        sliced = package_slice.texts
        for path, text in sliced.items():
            files[f"packages/{path}"] = text.encode("utf-8")
        for path, content in self.data_files(package_slice.path_literals).items():
            files.setdefault(f"packages/{path}", content)
        for path in _package_inits(sliced, self.bases, self.inputs.init_files):
            files.setdefault(f"packages/{path}", b"")

        files["packages/chainsc_generated/__init__.py"] = self.render(
            "chainlet/packages/chainsc_generated/__init__.py.jinja",
            GeneratedInitContext(self.chain.source, self.inputs.runtime.version),
        )
        files["packages/chainsc_generated/sources.py"] = self.render(
            "chainlet/packages/chainsc_generated/sources.py.jinja",
            SourcesContext(
                self.chain.source,
                tuple(
                    SourceView(path, self.display_paths[path], runs)
                    for path, runs in sorted(package_slice.lines.items())
                ),
            ),
        )
        files["packages/chainsc_generated/endpoint.py"] = self.render(
            "chainlet/packages/chainsc_generated/endpoint.py.jinja",
            EndpointContext(
                source=self.chain.source,
                chainlet_class=chainlet.name,
                endpoint_name=chainlet.endpoint.name,
                imports=tuple(endpoint_imports.lines()),
                params=params,
                is_async=chainlet.endpoint.is_async,
                is_streaming=chainlet.endpoint.is_streaming,
                returns=returns,
                is_websocket=is_websocket,
            ),
        )
        own_client, own_client_imports = self.own_client(chainlet, types)
        files["client.py"] = self.render("chainlet/client.py.jinja", own_client)
        files["model/__init__.py"] = self.render(
            "chainlet/model/__init__.py.jinja", header
        )
        model, model_imports = self.model_context(chainlet)
        files["model/model.py"] = self.render("chainlet/model/model.py.jinja", model)
        runtime = self.inputs.runtime
        files["server.py"] = self.render(
            "chainlet/server.py.jinja",
            ServerContext(
                source=self.chain.source,
                display_name=chainlet.display_name,
                predict_concurrency=chainlet.remote_config.compute.predict_concurrency,
                server_requirements=" ".join(
                    shlex.quote(line) for line in runtime.server_requirements
                ),
                is_websocket=is_websocket,
                websocket_options=_websocket_options(chainlet) if is_websocket else (),
            ),
        )
        # The runtime modules the package's code uses, and what they import: the generated
        # code's imports, the in-place clients', and the runtime names the kept user code spells.
        by_class = {self.top_level(c.id): c for c in self.chain.chainlets}
        references = {
            *endpoint_imports.references(RUNTIME_PACKAGE),
            *own_client_imports.references(RUNTIME_PACKAGE),
            *model_imports.references(RUNTIME_PACKAGE),
            *SERVER_RUNTIME_IMPORTS,
            *CLIENT_RUNTIME_IMPORTS,
            # The runtime's clients of engine builders and TrussChainlets in the slice.
            *(
                KIND_CLIENT_MODULES[by_class[key].kind]
                for key in package_slice.clients
                if key in by_class and by_class[key].kind in KIND_CLIENT_MODULES
            ),
            *(
                word
                for word in package_slice.spelled
                if word in runtime.lazy or word == "*"
            ),
        }
        for path in runtime.closure(references):
            files[f"packages/{RUNTIME_PACKAGE}/{path}"] = runtime.files[path]
        config = truss_config(chainlet)
        files["config.yaml"] = render_config_yaml(config, self.chain.source).encode(
            "utf-8"
        )
        files.update(self.requirements(chainlet))
        files.update(self.data_dir(chainlet))
        document = self.openapi(chainlet)
        if document is not None:
            files[OPENAPI_FILE] = document
        return files

    def source_facts(self) -> interface.SourceFacts:
        """What the interface reads from the sources, once, from the front end's trees."""
        if self.interface_facts is None:
            modules = self.inputs.modules
            self.interface_facts = interface.source_facts(
                self.chain,
                {name: m.parsed.tree for name, m in modules.items()},
                {name: m.path for name, m in modules.items()},
            )
        return self.interface_facts

    def openapi(self, chainlet: ir.Chainlet) -> bytes | None:
        """`openapi.json`: what the package's server answers at `GET /openapi.json`."""
        types = {t.id: t for t in self.chain.types}
        document = interface.openapi_document(chainlet, types, self.source_facts())
        return None if document is None else interface.openapi_bytes(document)

    def endpoint_interface(self, chainlet: ir.Chainlet) -> dict[str, object]:
        """`chain.json`'s `interface` of a Chainlet (what `chainsc breaking` compares)."""
        types = {t.id: t for t in self.chain.types}
        return interface.endpoint_interface(chainlet, types, self.source_facts())

    def requirements(self, chainlet: ir.Chainlet) -> dict[str, bytes]:
        """`requirements.txt`, or the user's complete `uv.lock` and its `pyproject.toml` as they are.

        What Truss provides on Baseten and the package's code imports without
        declaring it is added (`chainsc.requirements_check`, CSC461). When a
        `uv.lock` is not complete the package gets a `requirements.txt` instead,
        and `config.yaml` (rendered before from the IR alone) is rendered again to
        name it.
        """
        inputs = self.inputs
        additions = inputs.additions[chainlet.id]
        result = requirements_txt(
            chainlet,
            inputs.runtime.requirements,
            inputs.read_text,
            self.chain.source,
            additions,
        )
        files: dict[str, bytes] = {}
        if (
            requirements_file_name(chainlet.remote_config.docker_image)
            != result.filename
        ):
            config = truss_config(chainlet)
            config["requirements_file"] = result.filename
            files["config.yaml"] = render_config_yaml(config, self.chain.source).encode(
                "utf-8"
            )
        if result.text is not None:
            files[result.filename] = result.text.encode("utf-8")
        for relative in result.copy_files:
            content = inputs.files.get(relative)
            if content is None:
                raise InternalError(f"`{relative}` was not loaded before planning")
            files[relative.rpartition("/")[2]] = content
        return files

    def data_files(
        self, path_literals: Mapping[str, frozenset[str]]
    ) -> dict[str, bytes]:
        """Files next to a module that its kept code names in a string (`HERE / "prompts"`).

        Real chain files read prompts, vocabularies and configs relative to
        `__file__` at import time; Truss copies the whole workspace for that. Only
        the files and directories the kept code names are carried, never code.
        `path_literals` (module path -> its kept string constants) comes from the
        slice; what each names was looked up before planning (`PlanInputs.data_paths`).
        """
        found: dict[str, bytes] = {}
        data_paths = self.inputs.data_paths
        for module_path, literals in sorted(path_literals.items()):
            # Relative to the directory the module's own path is: a module imported through
            # the chain file's directory (`app/helpers.py` as `helpers.py`) carries the files
            # next to it as they are under that directory, as Truss copies it.
            base = self.bases[module_path]
            directory = posixpath.dirname(module_path)
            for literal in sorted(literals):
                if literal_target(directory, literal) is None:
                    continue
                listed = data_paths.get((base, directory, literal), ())
                if isinstance(listed, PathProblem):
                    # The front end reported every kept literal that names a link out of
                    # the root or a loop (CSC011, CSC012).
                    raise InternalError(
                        f"the data file `{literal}` was not checked: {listed.describe()}"
                    )
                for carried, real in listed:
                    found[carried] = self.inputs.content(real)
        return found

    def data_dir(self, chainlet: ir.Chainlet) -> dict[str, bytes]:
        """`DockerImage.data_dir` copied to `data/` (files in sorted order, bytes as they are)."""
        relative = chainlet.remote_config.docker_image.data_dir
        if relative is None:
            return {}
        listed = self.inputs.data_dirs.get(relative)
        if listed is None:
            raise InternalError(
                f"`data_dir` {relative!r} was not loaded before planning"
            )
        return {f"data/{path}": self.inputs.content(real) for path, real in listed}

    def top_level(self, chainlet_id: str) -> tuple[str, str]:
        chainlet = self.by_id.get(chainlet_id)
        if chainlet is not None:
            return chainlet.module, chainlet.name.split(".")[0]
        module, _, name = chainlet_id.rpartition(".")
        while module and module not in self.inputs.modules:
            module, _, parent = module.rpartition(".")
            name = parent
        return module, name

    def endpoint_owner(self, chainlet: ir.Chainlet) -> ModuleInfo:
        """The module whose source spells the endpoint (its defaults' names live there)."""
        return module_at_path(
            self.inputs.modules, chainlet.endpoint.span.path, chainlet.module
        )

    def keep_types(
        self,
        type_ids: tuple[str, ...],
        types: Mapping[str, ir.TypeDef],
        extra: set[tuple[str, str]],
    ) -> None:
        for type_id in type_ids:
            typedef = types.get(type_id)
            if typedef is not None:
                extra.add((typedef.module, typedef.qualname.split(".")[0]))

    def params(
        self,
        endpoint: ir.Endpoint,
        owner: ModuleInfo,
        types: dict[str, ir.TypeDef],
        imports: Imports,
        extra: set[tuple[str, str]],
    ) -> tuple[ParamView, ...]:
        views = []
        for param in endpoint.params:
            annotation = render_annotation(param.type, types, imports, owner, extra)
            default = None
            if param.default_source is not None:
                default, needed = default_expression(
                    param.default_source, owner, imports
                )
                extra.update((owner.name, name) for name in needed)
            views.append(ParamView(param.name, annotation, default))
        return tuple(views)

    def client(
        self,
        target: ir.Chainlet,
        name: str,
        base: str,
        params: tuple[ParamView, ...],
        returns: str,
    ) -> ClientView:
        """The view of a client class of `target` with the given spellings."""
        endpoint = target.endpoint
        item_type: str | None = None
        if endpoint.is_streaming:
            method = "astream" if endpoint.is_async else "stream"
            item_type = endpoint.returns.args[0].name
        else:
            method = "acall" if endpoint.is_async else "call"
        return ClientView(
            name=name,
            base=base,
            service=target.display_name,
            endpoint_name=endpoint.name,
            is_async=endpoint.is_async,
            is_streaming=endpoint.is_streaming,
            method=method,
            params=params,
            returns=returns,
            item_type=item_type,
            streaming_read_timeout=(
                target.remote_config.options.streaming_read_timeout
                if endpoint.is_streaming
                else None
            ),
        )

    def in_place_client(self, target: ir.Chainlet) -> slicing.ClientCode:
        """The client class that stands in for `target`'s class in other packages' slices.

        Its signature is the endpoint's own text, so it means in the client's module
        what it meant there (see `emit.clients`).
        """
        _, top = self.top_level(target.id)
        if target.kind in KIND_CLIENT_MODULES:
            return self.kind_client(target, top)
        resolved = self.inputs.clients[target.id]
        signature, reach = resolved.signature, resolved.reach
        view = self.client(
            target, top, CLIENT_BASE, signature.params, signature.returns
        )
        text = self.env.get_template("macros/client.jinja").module.client_class(view)  # type: ignore[attr-defined]
        return slicing.ClientCode(
            text=str(text), imports=reach.imports, uses=reach.uses
        )

    def kind_client(self, target: ir.Chainlet, name: str) -> slicing.ClientCode:
        """The runtime's client of an engine builder or a TrussChainlet, where its class stood.

        A subclass of `engine_client.EngineBuilderLLMClient` (Truss's `run_remote` of
        an engine) or of `truss_chainlet.TrussHandle` (a Truss directory's URL and
        headers), named like the class; it reads nothing of the user's modules.
        """
        module = KIND_CLIENT_MODULES[target.kind]
        view = self.client(target, name, f"{RUNTIME_PACKAGE}.{module}", (), "")
        macro = (
            "engine_client_class"
            if target.kind is ir.ChainletKind.ENGINE_BUILDER
            else "truss_handle_class"
        )
        text = getattr(self.env.get_template("macros/client.jinja").module, macro)(view)
        return slicing.ClientCode(
            text=str(text),
            imports=(f"import {RUNTIME_PACKAGE}.{module}",),
            uses=frozenset(),
        )

    def own_client(
        self, chainlet: ir.Chainlet, types: dict[str, ir.TypeDef]
    ) -> tuple[OwnClientContext, Imports]:
        """The context of `client.py` (this Chainlet's client, as its dependents get it) and its imports."""
        imports = Imports()
        # What client.py defines or imports before the user's types.
        name = self.client_names[chainlet.id]
        imports.reserve(name, "connect", "sys", "Path", "contextlib")
        if chainlet.endpoint.is_websocket:
            # No call to type: `connect` opens the caller's side of a session.
            websocket = imports.name("chainsc_runtime", "websocket")
            transport = rpc_options = ""
            params: tuple[ParamView, ...] = ()
            returns = "None"
        else:
            websocket = ""
            transport = imports.name("chainsc_runtime", "transport")
            rpc_options = imports.name("chainsc_runtime", "RPCOptions")
            # The types are imported from the package's own slice, which keeps them for
            # the endpoint (endpoint.py names the same ones, so `keep` adds nothing new).
            owner = self.endpoint_owner(chainlet)
            params = self.params(chainlet.endpoint, owner, types, imports, extra=set())
            returns = render_annotation(
                chainlet.endpoint.returns, types, imports, owner, set()
            )
        client = self.client(
            chainlet, name, f"{transport}.ChainletClient", params, returns
        )
        package = package_dir_name(chainlet.display_name)
        context = OwnClientContext(
            source=self.chain.source,
            package=package,
            imports=tuple(imports.lines()),
            rpc_options=rpc_options,
            client=client,
            websocket_module=websocket,
        )
        return context, imports

    def model_context(self, chainlet: ir.Chainlet) -> tuple[ModelContext, Imports]:
        # The Chainlet's own module is imported first, on a line of its own, as Truss
        # imports it: the user's modules then load in the order they did under Truss.
        # Clients of dependencies defined in that module come on the same line.
        module, top = chainlet.module, chainlet.name.split(".")[0]
        own = Imports()
        own.reserve(
            "Model", "serving", "RPCOptions", "endpoint", "sources"
        )  # what model.py defines or imports
        local = own.name(module, top)
        chainlet_class = local + chainlet.name[len(top) :]
        targets = {d.target: self.top_level(d.target) for d in chainlet.dependencies}
        clients = {
            target: own.name(*where)
            for target, where in targets.items()
            if where[0] == module
        }
        imports = Imports()
        imports.reserve("Model", local, *clients.values())
        imports.name("chainsc_runtime", "serving")
        imports.name("chainsc_runtime", "RPCOptions")
        imports.name("chainsc_generated", "endpoint")
        imports.name("chainsc_generated", "sources")
        for target, where in targets.items():
            if target not in clients:
                clients[target] = imports.name(*where)
        dependencies = tuple(
            DependencyView(
                param=d.param,
                client=clients[d.target],
                service=self.by_id[d.target].display_name,
                retries=d.options.retries,
                timeout_sec=d.options.timeout_sec,
                use_binary=d.options.use_binary,
                concurrency_limit=d.options.concurrency_limit,
            )
            for d in chainlet.dependencies
        )
        context = ModelContext(
            source=self.chain.source,
            display_name=chainlet.display_name,
            chainlet_class=chainlet_class,
            endpoint_name=chainlet.endpoint.name,
            chainlet_import="\n".join(own.lines()),
            imports=tuple(imports.lines()),
            dependencies=dependencies,
            context_param=json.dumps(chainlet.context_param)
            if chainlet.context_param
            else "None",
            secret_keys=chainlet.remote_config.assets.secret_keys,
            is_async=chainlet.endpoint.is_async,
            is_websocket=chainlet.endpoint.is_websocket,
        )
        return context, imports


def _websocket_options(chainlet: ir.Chainlet) -> tuple[tuple[str, str], ...]:
    """`server.main`'s ping settings of a websocket endpoint, from its `WebsocketOptions`.

    The same values config.yaml carries (`runtime.transport`), which Truss's server hands
    uvicorn; each only when set, so uvicorn's defaults stay otherwise.
    """
    transport = websocket_transport(chainlet.remote_config.options.transport)
    found = []
    for key, argument in (
        ("ping_interval_seconds", "websocket_ping_interval"),
        ("ping_timeout_seconds", "websocket_ping_timeout"),
    ):
        value = transport.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool) and value:
            found.append((argument, repr(float(value))))
    return tuple(found)


def _tree_hash(files: Mapping[str, bytes]) -> str:
    digest = hashlib.sha256()
    for path in sorted(files):
        digest.update(
            path.encode("utf-8") + b"\0" + hashlib.sha256(files[path]).digest()
        )
    return digest.hexdigest()


def _package_inits(
    sliced: Mapping[str, str],
    bases: Mapping[str, Path],
    init_files: frozenset[tuple[Path, str]],
) -> list[str]:
    """`__init__.py` of every package directory the slice needs (empty when the user's is not kept).

    A directory without one in the user's tree is a namespace package (PEP 420) and stays
    one, as Truss copies it: an invented `__init__.py` would make it a regular package,
    which hides every other portion of that namespace on `sys.path` (an installed
    `google.protobuf` behind a local `google/`).
    """
    inits: set[str] = set()
    for path in sliced:
        parts = path.split("/")[:-1]
        for cut in range(1, len(parts) + 1):
            init = "/".join([*parts[:cut], "__init__.py"])
            if init not in inits and (bases[path], init) in init_files:
                inits.add(init)
    return sorted(inits - set(sliced))


def _gitattributes(packages: Sequence[str], *, deploy: bool = False) -> bytes:
    """`out/.gitattributes`: every file of a build is generated, the runtime also vendored.

    So review tools (GitHub's linguist) fold them in a diff, and language statistics skip
    them. One pattern per package directory: a file the user keeps in `out/` is not
    marked (the writer never touches it).
    """
    lines = [
        "# Generated by chainsc. Do not edit.",
        "# Review tools fold these files in diffs: they are rebuilt from the chain's sources.",
        f"/{GITATTRIBUTES} linguist-generated=true",
        f"/{MANIFEST} linguist-generated=true",
        "/README.md linguist-generated=true",
    ]
    if deploy:
        lines.append(f"/{KUBERNETES_DIR}/** linguist-generated=true")
    for package in packages:
        lines.append(f"/{package}/** linguist-generated=true")
        lines.append(f"/{package}/packages/{RUNTIME_PACKAGE}/** linguist-vendored=true")
    return ("\n".join(lines) + "\n").encode("utf-8")


def plan(
    chain: ir.Chain, inputs: PlanInputs, deploy: DeployOptions | None = None
) -> dict[str, bytes]:
    """The complete output tree of a build: relative path -> bytes, sorted. Reads no file.

    `deploy`: the deployment files to add (`--with docker`, `--with kubernetes`).
    """
    return _Planner(
        chain,
        inputs,
        _environment(tuple(sorted(inputs.templates.items()))),
        deploy or DeployOptions(),
    ).plan()
