"""`chainsc_generated/sources.py`: each line of a slice maps back to the user's own line.

Every example (and a chain with in-place clients in `if`/`else` and a `remote_config`
cut from a one-line body) is built in memory; for every package, each run of
`SOURCES` must map lines of the carried module to lines of the user's file with the
same text (a rewritten chains import and the `pass` of a cut `remote_config` stand for
the line they replace), and no longer line of the user's file may be left unmapped
(what is unmapped is the slice's own: in-place clients and their imports).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from chainsc import api
from tests.conftest import example_chains

PACKAGE_ONLY = """\
import truss_chains as chains

DEBUG = False


class Configured(chains.ChainletBase):
    remote_config = chains.RemoteConfig(name="Small")

    def run_remote(self) -> str:
        return "configured"


class Small(Configured):
    def run_remote(self) -> str:
        return "small"


if DEBUG:

    class Helper(chains.ChainletBase):
        def run_remote(self) -> str:
            return "debug"

else:

    class Helper(chains.ChainletBase):
        def run_remote(self) -> str:
            return "release"


@chains.mark_entrypoint
class Entry(chains.ChainletBase):
    def __init__(
        self,
        helper: Helper = chains.depends(Helper),
        small: Small = chains.depends(Small),
    ) -> None:
        self._helper = helper

    def run_remote(self) -> str:
        try:
            import truss_chains as inner  # noqa: F401
        except ImportError:
            pass
        return self._helper.run_remote()
"""


def _sources(text: str) -> dict[str, tuple[str, tuple[tuple[int, int, int], ...]]]:
    namespace: dict[str, Any] = {}
    exec(compile(text, "sources.py", "exec"), namespace)
    sources: dict[str, tuple[str, tuple[tuple[int, int, int], ...]]] = namespace[
        "SOURCES"
    ]
    return sources


def _client_lines(lines: list[str]) -> set[int]:
    """The non-blank lines (1-based) of the in-place client classes of a sliced module."""
    inside: set[int] = set()
    indent: int | None = None
    for number, line in enumerate(lines, 1):
        depth = len(line) - len(line.lstrip())
        if indent is not None and line.strip() and depth <= indent:
            indent = None
        if indent is None and "(chainsc_runtime.transport.ChainletClient):" in line:
            indent = depth
        if indent is not None and line.strip():
            inside.add(number)
    return inside


def _check(chain: Path, root: Path) -> int:
    result = api.build_file(chain)
    assert result.files is not None, result.diagnostics
    files = {path: content.decode() for path, content in result.files.items()}
    checked = 0
    for path, text in files.items():
        if not path.endswith("/packages/chainsc_generated/sources.py"):
            continue
        packages = path.removesuffix("chainsc_generated/sources.py")
        model = files[packages.removesuffix("packages/") + "model/model.py"]
        assert "    source_map = sources.SOURCES\n" in model
        sources = _sources(text)
        assert list(sources) == sorted(sources)
        for module, (source, runs) in sources.items():
            generated = files[packages + module].splitlines()
            original = (root / source).read_text().splitlines()
            mapped: set[int] = set()
            previous_end = 0
            for first, there, count in runs:
                assert first >= previous_end, "runs in order, not overlapping"
                previous_end = first + count
                for offset in range(count):
                    line = generated[first - 1 + offset]
                    theirs = original[there - 1 + offset]
                    mapped.add(first + offset)
                    checked += 1
                    if line != theirs:
                        # A rewritten chains import, or the `pass` of a cut config.
                        assert "truss" in theirs or "remote_config" in theirs, (
                            module,
                            first + offset,
                            line,
                            theirs,
                        )
            clients = _client_lines(generated)
            assert not clients & mapped, "a client's lines are the slice's own"
            user_lines = {line.strip() for line in original if len(line.strip()) > 24}
            for number, line in enumerate(generated, 1):
                if number in mapped or number in clients:
                    continue
                if line.strip() in user_lines:
                    raise AssertionError(
                        f"{path}: line {number} of {module} is the user's but unmapped: "
                        f"{line!r}"
                    )
    return checked


@pytest.mark.parametrize("chain", example_chains(), ids=lambda p: p.parent.name)
def test_every_line_of_every_slice_maps_back_to_the_users_line(chain: Path) -> None:
    assert _check(chain, chain.parent) > 0


def test_clients_in_branches_and_cut_configs_map_around(tmp_path: Path) -> None:
    chain = tmp_path / "chain.py"
    chain.write_text(PACKAGE_ONLY)
    assert _check(chain, tmp_path) > 0
    result = api.build_file(chain)
    assert result.files is not None
    sources = _sources(
        result.files["entry/packages/chainsc_generated/sources.py"].decode()
    )
    sliced = result.files["entry/packages/chain.py"].decode().splitlines()
    source, runs = sources["chain.py"]
    assert source == "chain.py"
    # The rewritten import inside `run_remote` stands for its own line.
    inner = PACKAGE_ONLY.splitlines().index(
        "            import truss_chains as inner  # noqa: F401"
    )
    at = next(i for i, line in enumerate(sliced, 1) if "as inner" in line)
    assert any(
        first <= at < first + count and there + (at - first) == inner + 1
        for first, there, count in runs
    )
