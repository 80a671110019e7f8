"""Fuzzing: mutants of the example and corpus chains never make chainsc fail.

A few hundred deterministic mutants (`tests/fuzz.py`), in slices so the suite's workers
share them. For each, `check_file` and `build_file` run in-process and must not raise,
report CSC901 or reach the recursion backstop; a build with errors returns no files;
every generated `.py` compiles; every tenth mutant is also built through `cli.main` over
an existing output, which must exit 0 or 1 without a traceback and stay untouched when
the build fails. The long run is `bench/fuzz.py --mutants 10000 --seed N`.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests import fuzz

SEED = 11
SLICES = 4
PER_SLICE = 60


def test_the_seeds_are_the_examples_and_the_corpus() -> None:
    seeds = fuzz.load_seeds()
    names = {seed.name for seed in seeds}
    assert {
        "examples/text_pipeline/chain.py",
        "examples/split_package/chain.py",
        "corpus/vector_ns/search_chain.py",
    } <= names
    assert len(seeds) >= 15


def test_mutants_are_deterministic() -> None:
    seeds = fuzz.load_seeds()
    for index in range(40):
        first, second = (
            fuzz.make_mutant(seeds, SEED, index),
            fuzz.make_mutant(seeds, SEED, index),
        )
        assert (first.files, first.mutations) == (second.files, second.mutations)
    kinds = {
        mutation.split(":")[0]
        for index in range(400)
        for mutation in fuzz.make_mutant(seeds, SEED, index).mutations
    }
    assert set(fuzz.FILE_MUTATIONS) <= kinds  # every mutation is exercised
    assert {"import_cycle", "nul_byte", "not_utf8"} <= kinds


@pytest.mark.parametrize("part", range(SLICES))
def test_mutants_never_break_the_compiler(part: int, tmp_path: Path) -> None:
    result = fuzz.run(
        SEED, PER_SLICE, start=part * PER_SLICE, cli_every=10, work=tmp_path
    )
    assert result.mutants == PER_SLICE
    assert (
        result.built > 0
    )  # some mutants still build: the packages' code is checked too
    report = "\n\n".join(
        f"mutant {f.index} of seed {SEED}: {f.kind} after {', '.join(f.mutations)}\n{f.detail}"
        for f in result.findings
    )
    assert not result.findings, (
        f"reproduce: bench/fuzz.py --seed {SEED} --start INDEX --mutants 1 --minimize\n\n{report}"
    )
