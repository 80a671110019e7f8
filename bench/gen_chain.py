"""Generate a realistic Truss Chains file with N Chainlets for benchmarking.

Usage: ``python bench/gen_chain.py [--truss-compatible] N OUT.py``

The output is deterministic (a fixed-seed RNG, no clocks, no hashes of
objects). N counts every Chainlet including the entrypoint: N - 1 worker
Chainlets followed by one ``@chains.mark_entrypoint`` Chainlet. Every worker
depends on 0-2 *earlier* workers, chosen so that each worker is either used by
a later one or by the entrypoint; hence every Chainlet is reachable and
``chainsc check`` reports nothing.

``--truss-compatible`` writes the same chain (same Chainlets, dependencies,
configs and bodies) with endpoint parameters that truss's own importer
accepts: it rejects ``int | None`` and enum-typed parameters, so ``limit``
becomes ``int = 0`` and ``mode`` becomes ``str = "fast"`` (``Mode`` is a
``str`` enum, so the bodies are unchanged). The default output does not change.
"""

from __future__ import annotations

import random
import sys
from dataclasses import dataclass, field
from pathlib import Path

SEED = 20240613

#: Name stems; the Chainlet index is appended, so names stay unique.
_STEMS = (
    "Tokenizer",
    "Embedder",
    "Ranker",
    "Filter",
    "Normalizer",
    "Scorer",
    "Router",
    "Aggregator",
    "Enricher",
    "Validator",
    "Summarizer",
    "Classifier",
)

#: Extra pip requirements, picked per Chainlet.
_EXTRA_REQS = (
    "httpx==0.27.2",
    "numpy==1.26.4",
    "regex==2024.11.6",
    "orjson==3.10.7",
    "tenacity==9.0.0",
    "scikit-learn==1.5.2",
)

#: Kinds of `run_remote` signatures: (params, return annotation).
_SIGNATURES: dict[str, tuple[str, str]] = {
    "text": ("text: str, repeat: int = 1", "str"),
    "vector": ("values: list[float], scale: float = 1.0", "dict[str, float]"),
    "batch": ("batch: Batch, mode: Mode = Mode.FAST", "Batch"),
    "items": ("items: list[Item], limit: int | None = None", "list[Item]"),
}
_KINDS = tuple(_SIGNATURES)

#: Signatures that differ under ``--truss-compatible`` (truss's importer
#: rejects optional and enum parameters; pydantic fields may stay enums).
_TRUSS_SIGNATURES: dict[str, tuple[str, str]] = {
    "batch": ('batch: Batch, mode: str = "fast"', "Batch"),
    "items": ("items: list[Item], limit: int = 0", "list[Item]"),
}


def _signature(kind: str, truss_compatible: bool) -> tuple[str, str]:
    """(params, return annotation) of a `run_remote` of the given kind."""
    if truss_compatible and kind in _TRUSS_SIGNATURES:
        return _TRUSS_SIGNATURES[kind]
    return _SIGNATURES[kind]


_HEADER = '''\
"""Generated benchmark chain with {n} Chainlets (bench/gen_chain.py{variant}, seed {seed}).

A deterministic, realistic-looking pipeline: worker Chainlets with typed
endpoints and dependencies on earlier workers, and one entrypoint that
reaches all of them.
"""

import asyncio
import enum
import math

import pydantic
import truss_chains as chains

SERVICE_NAME = "bench-pipeline"
DEFAULT_MEMORY = "2Gi"
SMALL_CPU = 1
LARGE_CPU = SMALL_CPU * 4
BASE_REQUIREMENTS = ["pydantic>=2.6", "numpy==1.26.4"]
SHARED_IMAGE = chains.DockerImage(pip_requirements=[*BASE_REQUIREMENTS, "orjson==3.10.7"])
DEFAULT_RETRIES = 2


class Mode(str, enum.Enum):
    """How thoroughly a stage processes its input."""

    FAST = "fast"
    ACCURATE = "accurate"


class Item(pydantic.BaseModel):
    """One unit of work flowing through the pipeline."""

    id: int
    text: str
    tags: list[str] = []
    score: float = 0.0


class Batch(pydantic.BaseModel):
    """A batch of items with free-form metadata."""

    items: list[Item]
    meta: dict[str, str] = {{}}
    mode: Mode = Mode.FAST


class PipelineResult(pydantic.BaseModel):
    """What the entrypoint returns."""

    batch: Batch
    stage_outputs: dict[str, str]
    elapsed_stages: int


def _clip(value: float, low: float = 0.0, high: float = 1.0) -> float:
    return max(low, min(high, value))
'''


@dataclass(slots=True)
class Worker:
    """The shape of one generated worker Chainlet."""

    index: int
    name: str
    kind: str
    is_async: bool
    deps: list[Worker] = field(default_factory=list)
    uses_context: bool = False


def _call(dep: Worker, caller_async: bool) -> str:
    """An expression calling `dep.run_remote` with arguments of its signature."""
    args = {
        "text": 'f"{SERVICE_NAME}-{len(items)}", repeat=2',
        "vector": "[float(len(items)), 1.0, 0.5], scale=0.5",
        "batch": 'Batch(items=items, meta={"source": "'
        + dep.name
        + '"}), mode=Mode.ACCURATE',
        "items": "items, limit=8",
    }[dep.kind]
    attr = f"self._{dep.name.lower()}"
    if dep.is_async:
        return f"await {attr}.run_remote({args})"
    if caller_async:
        return f"await asyncio.to_thread({attr}.run_remote, {args})"
    return f"{attr}.run_remote({args})"


def _items_prelude(kind: str, truss_compatible: bool) -> list[str]:
    """Body lines turning the endpoint's parameters into `items: list[Item]`."""
    if kind == "text":
        return [
            'words = [w.strip(".,;:!?").lower() for w in text.split()] * repeat',
            "items = [Item(id=i, text=w, tags=[w[:1]]) for i, w in enumerate(words) if w]",
        ]
    if kind == "vector":
        return [
            "norm = math.sqrt(sum(v * v for v in values)) or 1.0",
            'items = [Item(id=i, text=f"{v:.3f}", score=_clip(v * scale / norm)) for i, v in enumerate(values)]',
        ]
    if kind == "batch":
        return [
            "items = [item.model_copy() for item in batch.items]",
            "if mode == Mode.ACCURATE:",
            "    items = [item for item in items if item.text.strip()]",
        ]
    return [
        "items = sorted(items, key=lambda item: item.score, reverse=True)",
        "if limit > 0:" if truss_compatible else "if limit is not None:",
        "    items = items[:limit]",
    ]


def _use_result(dep: Worker, var: str) -> list[str]:
    """Body lines folding a dependency's result into `items`."""
    if dep.kind == "text":
        return [
            f'items.append(Item(id=len(items), text={var}[:64], tags=["{dep.name}"]))'
        ]
    if dep.kind == "vector":
        return [
            "for item in items:",
            f'    item.score = _clip(item.score + {var}.get("mean", 0.0))',
        ]
    if dep.kind == "batch":
        return [f"items.extend({var}.items[:4])"]
    return [f"items = {var} or items"]


def _epilogue(kind: str, name: str) -> list[str]:
    """Body lines computing the return value of the given signature kind."""
    if kind == "text":
        return [
            'joined = " ".join(item.text for item in items)',
            f'return f"{name}: {{joined}}"',
        ]
    if kind == "vector":
        return [
            "scores = [item.score for item in items] or [0.0]",
            "mean = sum(scores) / len(scores)",
            'return {"mean": mean, "max": max(scores), "count": float(len(scores))}',
        ]
    if kind == "batch":
        return [
            "meta = dict(batch.meta)",
            f'meta["stage"] = "{name}"',
            "return Batch(items=items, meta=meta, mode=mode)",
        ]
    return [
        "for rank, item in enumerate(items):",
        '    item.tags = [*item.tags, f"rank{rank}"]',
        "return items",
    ]


def _remote_config(worker: Worker, rng: random.Random) -> list[str]:
    """The `remote_config = ...` lines of one worker."""
    if rng.random() < 0.4:
        image = "SHARED_IMAGE"
    else:
        extras = sorted(rng.sample(_EXTRA_REQS, rng.randint(1, 2)))
        reqs = ", ".join(f'"{r}"' for r in extras)
        prefix = "*BASE_REQUIREMENTS, " if rng.random() < 0.5 else ""
        image = f"chains.DockerImage(pip_requirements=[{prefix}{reqs}])"
    cpu = rng.choice(("SMALL_CPU", "LARGE_CPU", "2", "4"))
    memory = rng.choice(('"2Gi"', "DEFAULT_MEMORY", '"4Gi"'))
    return [
        "remote_config = chains.RemoteConfig(",
        f"    docker_image={image},",
        f"    compute=chains.Compute(cpu_count={cpu}, memory={memory}),",
        ")",
    ]


def _init(deps: list[Worker], uses_context: bool, rng: random.Random) -> list[str]:
    """The `__init__` lines for the given dependencies (empty if none)."""
    if not deps and not uses_context:
        return []
    lines = ["def __init__(", "    self,"]
    for dep in deps:
        options = rng.choice(
            (
                "",
                ", retries=DEFAULT_RETRIES",
                ", retries=3, timeout_sec=30",
                ", timeout_sec=60",
            )
        )
        lines.append(
            f"    {dep.name.lower()}: {dep.name} = chains.depends({dep.name}{options}),"
        )
    if uses_context:
        lines.append(
            "    context: chains.DeploymentContext = chains.depends_context(),"
        )
    lines.append(") -> None:")
    for dep in deps:
        lines.append(f"    self._{dep.name.lower()} = {dep.name.lower()}")
    if uses_context:
        lines.append(
            '    self._environment = context.environment.name if context.environment else "dev"'
        )
        lines.append("    self._secrets = context.secrets")
    else:
        lines.append("    self._calls = 0")
    return [*lines, ""]


def _indent(lines: list[str], levels: int) -> list[str]:
    pad = "    " * levels
    return [pad + line if line else "" for line in lines]


def _worker_source(
    worker: Worker, rng: random.Random, truss_compatible: bool
) -> list[str]:
    """The full source of one worker Chainlet."""
    params, returns = _signature(worker.kind, truss_compatible)
    body = _items_prelude(worker.kind, truss_compatible)
    body.extend(
        [
            "if not items:",
            f'    items = [Item(id=0, text="{worker.name}: empty input")]',
        ]
    )
    for n, dep in enumerate(worker.deps):
        var = f"result{n}"
        body.append(f"{var} = {_call(dep, worker.is_async)}")
        body.extend(_use_result(dep, var))
    if not worker.deps:
        body.extend(
            [
                "seen: set[str] = set()",
                "unique = []",
                "for item in items:",
                "    if item.text not in seen:",
                "        seen.add(item.text)",
                "        unique.append(item)",
                "items = unique",
            ]
        )
    body.extend(_epilogue(worker.kind, worker.name))
    doc = f'"""{worker.name}: stage {worker.index} of the pipeline ({worker.kind} in, {returns} out)."""'
    prefix = "async def" if worker.is_async else "def"
    return [
        "",
        "",
        f"class {worker.name}(chains.ChainletBase):",
        *_indent([doc, "", *_remote_config(worker, rng), ""], 1),
        *_indent(_init(worker.deps, worker.uses_context, rng), 1),
        *_indent(
            [f"{prefix} run_remote(self, {params}) -> {returns}:", *_indent(body, 1)], 1
        ),
    ]


def _plan(n_workers: int, rng: random.Random) -> tuple[list[Worker], list[Worker]]:
    """Workers with dependencies, and the workers the entrypoint must depend on.

    Dependencies are taken oldest-first from the workers nobody uses yet, so
    every worker ends up used by a later one or by the entrypoint. A sync
    worker only depends on sync workers (it cannot await an async endpoint).
    """
    workers: list[Worker] = []
    pending: list[Worker] = []  # Workers nobody depends on yet, oldest first.
    for index in range(n_workers):
        count = rng.choice((0, 1, 1, 2, 2))
        is_async = rng.random() < 0.5
        if len(pending) > 3:  # Keep the entrypoint's fan-in small.
            count, is_async = 2, True
        eligible = [w for w in workers if is_async or not w.is_async]
        deps: list[Worker] = []
        while len(deps) < min(count, len(eligible)):
            unused = [w for w in pending if w in eligible and w not in deps]
            dep = unused[0] if unused else rng.choice(eligible)
            if dep not in deps:
                deps.append(dep)
        pending = [w for w in pending if w not in deps]
        worker = Worker(
            index=index,
            name=f"{_STEMS[index % len(_STEMS)]}{index}",
            kind=rng.choice(_KINDS),
            is_async=is_async,
            deps=deps,
            uses_context=rng.random() < 0.25,
        )
        workers.append(worker)
        pending.append(worker)
    return workers, pending


def _entrypoint_source(
    deps: list[Worker], rng: random.Random, truss_compatible: bool
) -> list[str]:
    """The entrypoint Chainlet, which depends on `deps` (possibly none)."""
    body = [
        "items = list(batch.items)",
        "outputs: dict[str, str] = {}",
    ]
    for n, dep in enumerate(deps):
        var = f"result{n}"
        body.append(f"{var} = {_call(dep, caller_async=True)}")
        body.append(f'outputs["{dep.name}"] = str({var})[:80]')
        body.extend(_use_result(dep, var))
    body.extend(
        [
            "self._runs += 1",
            "if mode == Mode.ACCURATE:",
            "    items = [item for item in items if item.score >= 0.0]",
            'out = Batch(items=items, meta={**batch.meta, "service": SERVICE_NAME}, mode=mode)',
            f"return PipelineResult(batch=out, stage_outputs=outputs, elapsed_stages={len(deps)})",
        ]
    )
    init = _init(deps, True, rng)
    init.insert(-1, "    self._runs = 0")
    mode = 'mode: str = "fast"' if truss_compatible else "mode: Mode = Mode.FAST"
    return [
        "",
        "",
        "@chains.mark_entrypoint",
        "class Pipeline(chains.ChainletBase):",
        *_indent(
            [
                '"""Entrypoint: runs a batch through the final stages of the pipeline."""',
                "",
                "remote_config = chains.RemoteConfig(",
                "    docker_image=SHARED_IMAGE,",
                "    compute=chains.Compute(cpu_count=LARGE_CPU, memory=DEFAULT_MEMORY),",
                ")",
                "",
                *init,
                f"async def run_remote(self, batch: Batch, {mode}) -> PipelineResult:",
                *_indent(body, 1),
            ],
            1,
        ),
    ]


def generate(n: int, truss_compatible: bool = False) -> str:
    """Source of a chain with `n` Chainlets (n - 1 workers and an entrypoint).

    With `truss_compatible`, endpoint parameters avoid the types truss's
    importer rejects (see the module docstring); nothing else changes.
    """
    if n < 1:
        raise ValueError("a chain needs at least one Chainlet")
    rng = random.Random(SEED)
    workers, pending = _plan(n - 1, rng)
    # The entrypoint uses every unused worker plus a few of the last ones.
    entry_deps = list(pending)
    for worker in workers[-3:]:
        if worker not in entry_deps:
            entry_deps.append(worker)
    entry_deps.sort(key=lambda w: w.index)
    variant = " --truss-compatible" if truss_compatible else ""
    lines = [_HEADER.format(n=n, seed=SEED, variant=variant).rstrip("\n")]
    for worker in workers:
        lines.extend(_worker_source(worker, rng, truss_compatible))
    lines.extend(_entrypoint_source(entry_deps, rng, truss_compatible))
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    """CLI: `gen_chain.py [--truss-compatible] N OUT.py`."""
    truss_compatible = "--truss-compatible" in argv
    args = [arg for arg in argv if arg != "--truss-compatible"]
    if len(args) != 2 or not args[0].isdigit():
        print(
            "usage: python bench/gen_chain.py [--truss-compatible] N OUT.py",
            file=sys.stderr,
        )
        return 2
    out = Path(args[1])
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(generate(int(args[0]), truss_compatible), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
