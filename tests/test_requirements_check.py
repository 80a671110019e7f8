"""The requirements check (CSC460-462) and the requirements every package gets, end to end."""

from __future__ import annotations

import ast
import json
import subprocess
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from chainsc.api import CheckOptions, _check_file, build_file, check_file
from chainsc.requirements_check import (
    RequirementsCheck,
    _imported_modules,
    _imports_in,
    _is_third_party,
    _runtime_provides,
    runtime_requirements,
)
from chainsc.resolve import Program
from chainsc.validate import package_dir_name
from tests.conftest import example_chains, run_cli, truss_python
from tests.emit.test_truss_config import TRUSS_CHECK

WriteChain = Callable[..., Path]

#: A chain over three local modules: third-party imports at module level, in
#: functions and methods, guarded, under TYPE_CHECKING, in a Chainlet defined in
#: an `if`, used by one Chainlet only or by several.
MULTI_MODULE = {
    "app.py": '''
        """A chain whose Chainlets each carry a different part of the modules."""

        from typing import TYPE_CHECKING

        import numpy as np
        import cv2
        import yaml

        import truss_chains as chains
        from helpers import Tokenizer, tokenize
        from schemas import Doc

        try:
            import orjson
        except ImportError:
            orjson = None

        if TYPE_CHECKING:
            import torch

        FAST = True


        def featurize(values: list[int]) -> float:
            return float(np.asarray(values).sum())


        class Reader(chains.ChainletBase):
            remote_config = chains.RemoteConfig(
                docker_image=chains.DockerImage(pip_requirements=["numpy==1.26.4"])
            )

            def run_remote(self, doc: Doc) -> float:
                import torch

                return featurize([len(tokenize(doc.text))]) + float(torch.zeros(1).sum())


        if FAST:

            class Summary(chains.ChainletBase):
                def run_remote(self, text: str) -> str:
                    import transformers

                    return text[:10]

        else:

            class Summary(chains.ChainletBase):
                def run_remote(self, text: str) -> str:
                    return text


        @chains.mark_entrypoint
        class Front(chains.ChainletBase):
            def __init__(
                self,
                reader: Reader = chains.depends(Reader),
                summary: Summary = chains.depends(Summary),
            ) -> None:
                self._reader = reader
                self._summary = summary

            async def run_remote(self, doc: Doc) -> str:
                image = cv2.imread(doc.text)
                return yaml.safe_dump({"n": self._reader.run_remote(doc), "t": Tokenizer().name(image)})
    ''',
    "helpers.py": """
        import regex
        import sklearn


        def tokenize(text: str) -> list[str]:
            return regex.split(r"\\s+", text)


        def unused() -> object:
            return sklearn


        class Tokenizer:
            def name(self, image: object) -> str:
                from bs4 import BeautifulSoup

                return BeautifulSoup(str(image), "html.parser").get_text()
    """,
    "schemas.py": """
        import pydantic
        import dateutil.parser


        class Doc(pydantic.BaseModel):
            text: str

            @pydantic.field_validator("text")
            @classmethod
            def _strip(cls, value: str) -> str:
                return str(dateutil.parser.parse(value)) if value[:1].isdigit() else value
    """,
}


def _write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return root / next(iter(files))


def _output_sites(
    program: Program, text: str, path: str
) -> set[tuple[str, str, str | None]]:
    """Third-party imports in a sliced module, walked as the check walks the user's."""
    tree = ast.parse(text)
    lines = list(range(1, len(text.splitlines()) + 1))
    found: set[tuple[str, str, str | None]] = set()
    for statement in tree.body:
        for node, in_class in _imports_in(statement, lines):
            for imported, _at in _imported_modules(node):
                if _is_third_party(program, imported) and not _runtime_provides(
                    imported
                ):
                    found.add((path, imported, in_class))
    return found


def _assert_check_follows_the_slice(chain_path: Path) -> int:
    """Each package's carried imports (per the check) are those of its sliced files."""
    checked, program = _check_file(chain_path, CheckOptions())
    assert checked.chain is not None, checked.diagnostics
    assert program is not None
    built = build_file(chain_path)
    assert built.files is not None
    check = RequirementsCheck(checked.chain, program)
    chainlets = {c.id: c for c in checked.chain.chainlets}
    module_of = {m.path: name for name, m in program.modules.items()}
    others = {(c.module, c.name.split(".")[0]) for c in checked.chain.chainlets}
    compared = 0
    packages = json.loads(built.files["chain.json"])["chainlets"]
    # The slice carries an `if` whole; the branch Python never takes imports nothing.
    all_sites = [site for sites in check.sites().values() for site in sites]
    dead = {
        (site.span.path, site.imported, site.in_class)
        for site in all_sites
        if program.modules[site.module].never_runs(site.span.line)
    } - {
        (site.span.path, site.imported, site.in_class)
        for site in all_sites
        if not program.modules[site.module].never_runs(site.span.line)
    }
    for chainlet_id, entry in packages.items():
        chainlet = chainlets[chainlet_id]
        own = {(chainlet.module, chainlet.name.split(".")[0])}
        expected = {
            (s.span.path, s.imported, s.in_class) for s in check.carried_sites(chainlet)
        }
        actual: set[tuple[str, str, str | None]] = set()
        prefix = f"{entry['package']}/packages/"
        for path, content in built.files.items():
            relative = path.removeprefix(prefix)
            if path.startswith(prefix) and relative in module_of:
                sites = _output_sites(program, content.decode("utf-8"), relative)
                # Another Chainlet's methods never run here (the check leaves them out too).
                actual |= {
                    s
                    for s in sites
                    if (module_of[s[0]], s[2]) not in others - own and s not in dead
                }
        assert actual == expected, chainlet_id
        compared += len(expected)
    return compared


def test_check_follows_the_slice_on_a_multi_module_chain(tmp_path: Path) -> None:
    chain = _write(tmp_path, MULTI_MODULE)
    assert _assert_check_follows_the_slice(chain) >= 6


@pytest.mark.parametrize("chain", example_chains(), ids=lambda path: path.parent.name)
def test_check_follows_the_slice_on_the_examples(chain: Path) -> None:
    _assert_check_follows_the_slice(chain)


def test_multi_module_findings(tmp_path: Path) -> None:
    chain = _write(tmp_path, MULTI_MODULE)
    result = check_file(chain)
    assert not result.has_errors
    found = [
        (
            d.code,
            d.span.path,
            d.span.line,
            d.span.col,
            d.message.split(" do not declare ")[0],
        )
        for d in result.diagnostics
        if d.code.startswith("CSC46")
    ]
    assert found == [
        (
            "CSC460",
            "app.py",
            6,
            8,
            "`cv2` is imported, but the requirements of `Front`",
        ),
        (
            "CSC461",
            "app.py",
            7,
            8,
            "`yaml` is imported, but the requirements of `Front`",
        ),
        # numpy: declared by Reader, the only one whose code uses it (`featurize`).
        (
            "CSC460",
            "app.py",
            34,
            16,
            "`torch` is imported, but the requirements of `Reader`",
        ),
        (
            "CSC460",
            "app.py",
            43,
            20,
            "`transformers` is imported, but the requirements of `Summary`",
        ),
        # `from helpers import Tokenizer, tokenize` is carried whole by both packages.
        (
            "CSC460",
            "helpers.py",
            1,
            8,
            "`regex` is imported, but the requirements of `Reader` and `Front`",
        ),
        (
            "CSC460",
            "helpers.py",
            15,
            9,
            "`bs4` is imported, but the requirements of `Reader` and `Front`",
        ),
        # Doc, an endpoint type of both; dateutil comes with truss (botocore).
        (
            "CSC461",
            "schemas.py",
            2,
            8,
            "`dateutil.parser` is imported, but the requirements of `Reader` and `Front`",
        ),
    ]
    # Not reported: sklearn (helpers.unused is carried by no package), orjson (guarded),
    # torch under TYPE_CHECKING, transformers for Front (Summary's method runs in Summary only).
    built = build_file(chain)
    assert built.files is not None
    front = built.files["front/requirements.txt"].decode()
    assert front.endswith(
        "# provided by Truss on Baseten and imported by the code (chainsc adds them)\npython-dateutil\npyyaml>=6.0.0\n"
    )
    assert "provided by Truss" not in built.files["summary/requirements.txt"].decode()


# -- the command line -------------------------------------------------------------

UNDECLARED = """\
import truss_chains as chains


@chains.mark_entrypoint
class Detector(chains.ChainletBase):
    remote_config = chains.RemoteConfig(
        docker_image=chains.DockerImage(pip_requirements=[{requirements}])
    )

    def run_remote(self, path: str) -> int:
        import cv2
        import fastapi

        return int(cv2.imread(path).sum()) + len(fastapi.__version__)
"""


def test_cli_check_and_build_warn_at_the_import_and_not_once_declared(
    tmp_path: Path,
) -> None:
    chain = tmp_path / "app.py"
    chain.write_text(UNDECLARED.format(requirements=""), encoding="utf-8")
    for args in (
        ["check", str(chain)],
        ["build", str(chain), "-o", str(tmp_path / "out")],
    ):
        run = run_cli(*args, cwd=tmp_path)
        assert run.returncode == 0, run.stderr
        output = run.stdout + run.stderr
        assert "app.py:11:16: warning[CSC460]: `cv2` is imported" in output, output
        assert "add `opencv-python` (or `opencv-python-headless`" in output
        assert "app.py:12:16: warning[CSC461]: `fastapi` is imported" in output
    requirements = (tmp_path / "out" / "detector" / "requirements.txt").read_text()
    assert "fastapi>=0.114,<0.125.0" in requirements.splitlines()

    chain.write_text(
        UNDECLARED.format(
            requirements='"opencv-python-headless==4.10.0.84", "FastAPI>=0.110"'
        ),
        encoding="utf-8",
    )
    for args in (
        ["check", str(chain)],
        ["build", str(chain), "-o", str(tmp_path / "out")],
    ):
        run = run_cli(*args, cwd=tmp_path)
        assert run.returncode == 0, run.stderr
        assert "CSC46" not in run.stdout + run.stderr, run.stdout + run.stderr
    requirements = (tmp_path / "out" / "detector" / "requirements.txt").read_text()
    assert "provided by Truss" not in requirements
    assert "FastAPI>=0.110" in requirements.splitlines()


# -- every requirements form -------------------------------------------------------

FORM_CHAIN = """\
import truss_chains as chains


@chains.mark_entrypoint
class Worker(chains.ChainletBase):
    remote_config = chains.RemoteConfig(
        docker_image=chains.DockerImage({image})
    )

    def run_remote(self, text: str) -> str:
        import numpy
        import regex

        return regex.sub("a", "b", text) + str(numpy.ones(1))
"""
PYPROJECT = '[project]\nname = "worker"\nversion = "0.1.0"\ndependencies = ["regex==2024.11.6", "numpy>=1.26"]\n'
LOCK = """\
version = 1
requires-python = ">=3.11"

[[package]]
name = "worker"
version = "0.1.0"
source = {{ virtual = "." }}
{packages}"""


def _locked(**versions: str) -> str:
    packages = "".join(
        f'\n[[package]]\nname = "{name}"\nversion = "{version}"\nsource = {{ registry = "https://pypi.org/simple" }}\n'
        for name, version in versions.items()
    )
    return LOCK.format(packages=packages)


COMPLETE_LOCK = _locked(
    aiohttp="3.11.11",
    httpx="0.28.1",
    msgpack="1.1.0",
    numpy="1.26.4",
    pydantic="2.10.6",
    regex="2024.11.6",
)

FORMS: dict[str, tuple[str, dict[str, str]]] = {
    "pip_requirements": ('pip_requirements=["regex==2024.11.6", "numpy>=1.26"]', {}),
    "requirements.txt": (
        'requirements_file=chains.make_abs_path_here("deps/requirements.txt"), pip_requirements=["numpy>=1.26"]',
        {"deps/requirements.txt": "# ours\nregex==2024.11.6\n"},
    ),
    "pyproject.toml": (
        'requirements_file=chains.make_abs_path_here("deps/pyproject.toml")',
        {"deps/pyproject.toml": PYPROJECT},
    ),
    "uv.lock": (
        'requirements_file=chains.make_abs_path_here("deps/uv.lock")',
        {"deps/pyproject.toml": PYPROJECT, "deps/uv.lock": COMPLETE_LOCK},
    ),
    "incomplete uv.lock": (
        'requirements_file=chains.make_abs_path_here("deps/uv.lock")',
        {
            "deps/pyproject.toml": PYPROJECT,
            "deps/uv.lock": _locked(
                numpy="1.26.4", regex="2024.11.6", pydantic="2.10.6"
            ),
        },
    ),
}


def _names(lines: list[str]) -> set[str]:
    return {canonicalize_name(Requirement(line).name) for line in lines}


def test_every_requirements_form_builds_with_the_runtime_and_the_users(
    tmp_path: Path,
) -> None:
    runtime = _names(list(runtime_requirements()))
    configs: dict[str, Path] = {}
    for form, (image, files) in FORMS.items():
        root = tmp_path / form.replace(" ", "_")
        _write(root, {"app.py": FORM_CHAIN.format(image=image), **files})
        built = build_file(root / "app.py")
        assert built.files is not None, built.diagnostics
        codes = sorted(d.code for d in built.diagnostics)
        assert codes == (["CSC462"] if form == "incomplete uv.lock" else []), (
            form,
            built.diagnostics,
        )
        out = tmp_path / "out" / root.name
        for path, content in built.files.items():
            if path.startswith("worker/"):
                (out / path).parent.mkdir(parents=True, exist_ok=True)
                (out / path).write_bytes(content)
        package = out / "worker"
        configs[form] = package / "config.yaml"
        if form == "uv.lock":
            # The complete lock and its pyproject.toml, byte for byte; the lock holds the runtime.
            assert (package / "uv.lock").read_text() == COMPLETE_LOCK
            assert (package / "pyproject.toml").read_text() == PYPROJECT
            assert not (package / "requirements.txt").exists()
            assert "requirements_file: uv.lock\n" in configs[form].read_text()
            continue
        assert not (package / "uv.lock").exists()
        assert not (package / "pyproject.toml").exists()
        assert "requirements_file: requirements.txt\n" in configs[form].read_text()
        lines = [
            line
            for line in (package / "requirements.txt").read_text().splitlines()
            if line and not line.startswith("#")
        ]
        # pip reads it: every line is a requirement, the runtime's and the user's.
        assert _names(lines) == runtime | {"regex", "numpy"}, (form, lines)

    run = subprocess.run(
        [str(truss_python()), str(TRUSS_CHECK), *map(str, configs.values())],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    for form, result in zip(configs, json.loads(run.stdout)["results"], strict=True):
        assert result["ok"], (form, result)
        assert result["forbid_extra_error"] is None, (form, result)
        assert result["warnings"] == [], (form, result)
        read = result["requirements"]
        assert isinstance(read, list), (form, read)
        if form == "uv.lock":
            assert read == [
                "regex==2024.11.6",
                "numpy>=1.26",
            ]  # truss reads the pyproject beside the lock
        else:
            assert _names(read) == runtime | {"regex", "numpy"}, (form, read)


def test_incomplete_lock_warning_says_what_to_add(tmp_path: Path) -> None:
    image, files = FORMS["incomplete uv.lock"]
    root = _write(tmp_path, {"app.py": FORM_CHAIN.format(image=image), **files}).parent
    result = check_file(root / "app.py")
    (diagnostic,) = [d for d in result.diagnostics if d.code == "CSC462"]
    assert (diagnostic.span.line, diagnostic.span.col) == (5, 7)
    assert (
        "does not lock `aiohttp>=3.9,<4`, `httpx>=0.27,<1`, `msgpack>=1.0,<2`"
        in diagnostic.message
    )
    assert diagnostic.help == (
        "to keep the lock, run `uv add 'aiohttp>=3.9,<4' 'httpx>=0.27,<1' 'msgpack>=1.0,<2'` next to it "
        "(chainsc never edits or re-locks a lock)"
    )
    built = build_file(root / "app.py")
    assert built.files is not None
    text = built.files["worker/requirements.txt"].decode()
    assert (
        "# from deps/pyproject.toml [project].dependencies (deps/uv.lock lacks aiohttp, httpx, msgpack)\n"
        in text
    )


def test_external_package_dirs_modules_are_local(
    tmp_path: Path, write_chain: WriteChain
) -> None:
    (tmp_path / "shared").mkdir()
    (tmp_path / "shared" / "textkit.py").write_text(
        "def clean(text: str) -> str:\n    return text\n"
    )
    chain = write_chain(
        """\
import truss_chains as chains


@chains.mark_entrypoint
class Worker(chains.ChainletBase):
    remote_config = chains.RemoteConfig(
        docker_image=chains.DockerImage(external_package_dirs=[chains.make_abs_path_here("shared")])
    )

    def run_remote(self, text: str) -> str:
        import textkit
        import unknown_dist

        return textkit.clean(text) + unknown_dist.x
""",
        name="app.py",
    )
    result = check_file(chain)
    assert [(d.code, d.message.split("`")[1]) for d in result.diagnostics] == [
        ("CSC460", "unknown_dist")
    ]
    assert package_dir_name("Worker") == "worker"


def test_namespace_packages_under_the_root_are_local(tmp_path: Path) -> None:
    chain = _write(
        tmp_path,
        {
            "app.py": """
                import truss_chains as chains
                import shared_ns.vectors


                @chains.mark_entrypoint
                class Worker(chains.ChainletBase):
                    def run_remote(self, text: str) -> int:
                        import shared_ns.more
                        import not_here

                        return len(shared_ns.vectors.embed(text)) + not_here.x
            """,
            "shared_ns/vectors.py": "def embed(text: str) -> list[float]:\n    return [1.0]\n",
            "shared_ns/more.py": "X = 1\n",
        },
    )
    result = check_file(chain)
    assert [(d.code, d.message.split("`")[1]) for d in result.diagnostics] == [
        ("CSC460", "not_here")
    ]
