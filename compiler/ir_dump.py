"""Stable JSON and text dumps of the IR: `chainsc inspect` and snapshot tests.

Stage: after extract. Imports: ir, source, typetext (the one type renderer).
"""

from __future__ import annotations

import dataclasses
import enum
import json
from collections.abc import Mapping

from chainsc import ir
from chainsc.source import Span
from chainsc.typetext import render_type

#: Fields of a Chainlet only one kind has (an engine builder's, a TrussChainlet's): dumped
#: only when set.
_KIND_FIELDS = frozenset({"engine_builder_config", "truss_dir"})


def to_jsonable(value: object) -> object:
    """Convert IR values to JSON-ready data; field order is declaration order."""
    if isinstance(value, ir.JsonObject):
        return {key: to_jsonable(item) for key, item in value.items}
    if isinstance(value, Span):
        line, col, end_line, end_col = value.coordinates
        return {
            "path": value.path,
            "line": line,
            "col": col,
            "end_line": end_line,
            "end_col": end_col,
        }
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: to_jsonable(getattr(value, f.name))
            for f in dataclasses.fields(value)
            if not (
                isinstance(value, ir.Chainlet)
                and f.name in _KIND_FIELDS
                and getattr(value, f.name) is None
            )
        }
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, tuple | list):
        return [to_jsonable(item) for item in value]
    return value


def dump_json(chain: ir.Chain) -> str:
    """The IR as indented JSON with a trailing newline."""
    return json.dumps(to_jsonable(chain), indent=2) + "\n"


def render_signature(endpoint: ir.Endpoint, types: Mapping[str, ir.TypeDef]) -> str:
    """`async def run_remote(self, a: int = 1) -> str` as one line (`typetext`'s spelling)."""
    params = ", ".join(
        ["self"]
        + [
            f"{p.name}: {render_type(p.type, types)}"
            + (
                f" = {' '.join(p.default_source.split())}"
                if p.default_source is not None
                else ""
            )
            for p in endpoint.params
        ]
    )
    prefix = "async def" if endpoint.is_async else "def"
    return (
        f"{prefix} {endpoint.name}({params}) -> {render_type(endpoint.returns, types)}"
    )


def dump_text(chain: ir.Chain) -> str:
    """A human summary of the chain: one block per Chainlet."""
    by_id = {c.id: c for c in chain.chainlets}
    types = {t.id: t for t in chain.types}
    lines = [
        f"chain {chain.name!r} from {chain.source}",
        f"  entrypoint: {by_id[chain.entrypoint].name}",
    ]
    for chainlet in chain.chainlets:
        config = chainlet.remote_config
        compute = config.compute
        gpu = f", gpu {compute.gpu}:{compute.gpu_count}" if compute.gpu else ""
        lines.append("")
        marker = " (entrypoint)" if chainlet.is_entrypoint else ""
        lines.append(
            f"{chainlet.kind.value} {chainlet.display_name} [{chainlet.id}]{marker}  {chainlet.span.path}:{chainlet.span.line}"
        )
        lines.append(f"  {render_signature(chainlet.endpoint, types)}")
        for dependency in chainlet.dependencies:
            o = dependency.options
            lines.append(
                f"  depends {dependency.param} -> {by_id[dependency.target].name if dependency.target in by_id else dependency.target}"
                f" (retries={o.retries}, timeout_sec={o.timeout_sec:g}, use_binary={o.use_binary}, concurrency_limit={o.concurrency_limit})"
            )
        if chainlet.context_param:
            lines.append(f"  context {chainlet.context_param}")
        if chainlet.kind is ir.ChainletKind.TRUSS:
            # Configured by its Truss directory's own config.yaml, not `remote_config`.
            lines.append(f"  truss_dir: {chainlet.truss_dir}")
            continue
        if chainlet.engine_builder_config is not None:
            build = chainlet.engine_builder_config.get("build")
            checkpoint = (
                build.get("checkpoint_repository")
                if isinstance(build, ir.JsonObject)
                else None
            )
            repo = (
                checkpoint.get("repo")
                if isinstance(checkpoint, ir.JsonObject)
                else None
            )
            stack = chainlet.engine_builder_config.get("inference_stack") or "v1"
            lines.append(
                f"  engine: TensorRT-LLM {stack}"
                + (f", checkpoint {repo}" if repo else "")
            )
        lines.append(
            f"  compute: cpu {compute.cpu_count}, memory {compute.memory}{gpu}, predict_concurrency {compute.predict_concurrency}"
        )
        image = config.docker_image
        lines.append(f"  image: {image.base_image.kind.value} {image.base_image.image}")
        if image.pip_requirements:
            lines.append(f"  pip: {', '.join(image.pip_requirements)}")
        if config.assets.secret_keys:
            lines.append(f"  secrets: {', '.join(config.assets.secret_keys)}")
    if chain.stubs:
        lines.append("")
        for stub in chain.stubs:
            signature = (
                render_signature(stub.endpoint, types) if stub.endpoint else "(untyped)"
            )
            lines.append(f"stub {stub.name} [{stub.id}]  {signature}")
    if chain.types:
        lines.append("")
        for typedef in chain.types:
            if typedef.aliased is not None:
                lines.append(
                    f"{typedef.kind.value} {typedef.id} = {render_type(typedef.aliased, types)}"
                )
                continue
            if typedef.kind is ir.TypeDefKind.ENUM:
                detail = ", ".join(m.name for m in typedef.members)
            else:
                detail = ", ".join(
                    f"{f.name}: {render_type(f.type, types)}" for f in typedef.fields
                )
            lines.append(f"{typedef.kind.value} {typedef.id}({detail})")
    return "\n".join(lines) + "\n"
