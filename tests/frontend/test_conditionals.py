"""Static conditions: `A if FLAG else B` in configuration, Chainlets under `if`/`elif`/`else`."""

from __future__ import annotations

from pathlib import Path

import pytest

from chainsc import check_file, ir
from chainsc.api import CheckResult


def _check(tmp_path: Path, source: str) -> CheckResult:
    path = tmp_path / "chain.py"
    path.write_text(source)
    return check_file(path)


def _chain(tmp_path: Path, source: str) -> ir.Chain:
    result = _check(tmp_path, source)
    errors = [d for d in result.diagnostics if d.severity.value == "error"]
    assert not errors, errors
    assert result.chain is not None
    return result.chain


def _by_name(chain: ir.Chain, name: str) -> ir.Chainlet:
    return next(c for c in chain.chainlets if c.name == name)


CONDITIONAL_CONFIG = """import truss_chains as chains

MODE = "{mode}"
USE_GPU = MODE == "prod"
LARGE = USE_GPU and MODE != "test"
NAMES = ["prod", "staging"]


@chains.mark_entrypoint
class Model(chains.ChainletBase):
    remote_config = chains.RemoteConfig(
        compute=chains.Compute(
            gpu="A10G" if USE_GPU else None,
            cpu_count=8 if LARGE else 1 if MODE in NAMES else 2,
            memory=(USE_GPU and "16Gi") or "2Gi",
        ),
        options=chains.ChainletOptions(enable_debug_logs=MODE is not None and not USE_GPU),
    )

    def run_remote(self, x: int) -> int:
        return x
"""


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        ("prod", ("A10G", 8, "16Gi", False)),
        ("staging", (None, 1, "2Gi", True)),
        ("dev", (None, 2, "2Gi", True)),
    ],
)
def test_conditional_expressions_in_configuration(
    tmp_path: Path, mode: str, expected: tuple[str | None, int, str, bool]
) -> None:
    (chainlet,) = _chain(tmp_path, CONDITIONAL_CONFIG.format(mode=mode)).chainlets
    compute = chainlet.remote_config.compute
    debug = chainlet.remote_config.options.enable_debug_logs
    assert (compute.gpu, compute.cpu_count, compute.memory, debug) == expected


CHAINLETS_UNDER_IF = """import truss_chains as chains

BACKEND = "{backend}"
DEBUG = {debug}

if BACKEND == "gpu":

    class Embedder(chains.ChainletBase):
        remote_config = chains.RemoteConfig(compute=chains.Compute(gpu="T4"))

        def run_remote(self, text: str) -> list[float]:
            return [1.0]

elif BACKEND == "remote":

    class Embedder(chains.ChainletBase):
        remote_config = chains.RemoteConfig(compute=chains.Compute(cpu_count=4))

        async def run_remote(self, text: str) -> list[float]:
            return [2.0]

else:

    class Embedder(chains.ChainletBase):
        def run_remote(self, text: str, scale: float = 1.0) -> list[float]:
            return [scale]

    if DEBUG:

        class Tracer(chains.ChainletBase):
            def run_remote(self, text: str) -> str:
                return text


@chains.mark_entrypoint
class Search(chains.ChainletBase):
    def __init__(self, embedder: Embedder = chains.depends(Embedder)) -> None:
        self._embedder = embedder

    def run_remote(self, query: str) -> list[float]:
        return self._embedder.run_remote(query)
"""


@pytest.mark.parametrize(
    ("backend", "debug", "expected"),
    [
        ("gpu", "False", (8, ("text",), "T4")),
        ("remote", "True", (16, ("text",), None)),
        ("cpu", "False", (24, ("text", "scale"), None)),
    ],
)
def test_only_the_branch_python_takes_defines_chainlets(
    tmp_path: Path,
    backend: str,
    debug: str,
    expected: tuple[int, tuple[str, ...], str | None],
) -> None:
    chain = _chain(tmp_path, CHAINLETS_UNDER_IF.format(backend=backend, debug=debug))
    embedder = _by_name(chain, "Embedder")
    params = tuple(p.name for p in embedder.endpoint.params)
    gpu = embedder.remote_config.compute.gpu
    assert (embedder.span.line, params, gpu) == expected
    assert {c.name for c in chain.chainlets} == {"Embedder", "Search"}


def test_a_nested_branch_taken_defines_its_chainlet(tmp_path: Path) -> None:
    result = _check(tmp_path, CHAINLETS_UNDER_IF.format(backend="cpu", debug="True"))
    # `Tracer` exists (the inner `if DEBUG:` runs) but nothing uses it: a warning only.
    assert [(d.code, d.span.line) for d in result.diagnostics] == [("CSC105", 30)]


def test_a_test_that_is_not_static_is_located(tmp_path: Path) -> None:
    result = _check(
        tmp_path,
        CHAINLETS_UNDER_IF.format(backend="gpu", debug="False")
        .replace('if BACKEND == "gpu":', 'if BACKEND == os.environ["BACKEND"]:')
        .replace(
            "import truss_chains as chains", "import os\nimport truss_chains as chains"
        ),
    )
    errors = [(d.code, d.span.line, d.span.col) for d in result.diagnostics]
    assert errors == [("CSC114", 7, 15)], result.diagnostics


def test_every_part_of_remote_config_that_is_not_static_is_reported(
    tmp_path: Path,
) -> None:
    result = _check(
        tmp_path,
        """import os
import truss_chains as chains


@chains.mark_entrypoint
class Model(chains.ChainletBase):
    remote_config = chains.RemoteConfig(
        docker_image=chains.DockerImage(pip_requirements=["a", os.environ["B"], f"c=={os.getenv('V')}"]),
        compute=chains.Compute(cpu_count=os.cpu_count(), memory="2" + os.sep),
        options=chains.ChainletOptions(env_variables={"K": os.environ["K"], os.sep: "v"}),
        name="model" if os.environ else "other",
    )

    def run_remote(self, x: int) -> int:
        return x
""",
    )
    found = [(d.code, d.span.line, d.span.col) for d in result.diagnostics]
    assert found == [
        ("CSC401", 8, 64),
        ("CSC401", 8, 87),
        ("CSC401", 9, 42),
        ("CSC401", 9, 71),
        ("CSC401", 10, 60),
        ("CSC401", 10, 77),
        ("CSC401", 11, 25),
    ], result.diagnostics


def test_a_branch_that_never_runs_imports_nothing(tmp_path: Path) -> None:
    result = _check(
        tmp_path,
        """import truss_chains as chains

ON_GPU = False

if ON_GPU:

    class Summarizer(chains.ChainletBase):
        def run_remote(self, text: str) -> str:
            import transformers

            return transformers.__name__

else:

    class Summarizer(chains.ChainletBase):
        def run_remote(self, text: str) -> str:
            import sentencepiece

            return sentencepiece.__name__
""",
    )
    # Only the import of the branch Python takes needs a requirement.
    assert [(d.code, d.span.line) for d in result.diagnostics] == [("CSC460", 17)]
