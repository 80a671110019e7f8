"""No chain makes chainsc read outside its root: hostile paths are located errors, never copies.

Every test builds its world in `tmp_path`: the chain's root `project/`, and next to it
a `secret/` directory whose files hold a token. The real CLI runs in a subprocess
(`check` and `build`, as in a CI job that builds chain files from pull requests);
each hostile chain must fail with exit 1, a located diagnostic, nothing written, and
the token nowhere in what chainsc prints or writes. Links *inside* the root are
followed, and a build of a chain that uses every kind of path writes no absolute
path of the build machine.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from chainsc import api
from chainsc.diagnostics import InternalError
from chainsc.emit.inputs import load_inputs
from tests.conftest import run_cli
from tests.importcheck import import_package

TOKEN = "TOPSECRET-3f9c2a"

CHAIN = """import truss_chains as chains
{imports}

class Reader(chains.ChainletBase):
    remote_config = chains.RemoteConfig(
        docker_image=chains.DockerImage({docker_image})
    )

    def run_remote(self, text: str) -> str:
        {body}
"""


@dataclass(frozen=True)
class World:
    """The chain's root and, beside it, the secrets a hostile chain reaches for."""

    root: Path
    secret: Path

    @property
    def chain(self) -> Path:
        return self.root / "chain.py"


def _world(
    tmp_path: Path, docker_image: str = "", imports: str = "", body: str = "return text"
) -> World:
    root = tmp_path / "project"
    secret = tmp_path / "secret"
    (root / "data").mkdir(parents=True)
    (root / "data" / "prompt.md").write_text("Be brief.\n")
    secret.mkdir()
    (secret / "passwd").write_text(f"{TOKEN}\n")
    (secret / "helpers.py").write_text(f"SECRET = {TOKEN!r}\n")
    (secret / "pyproject.toml").write_text(
        f'[project]\nname = "x"\ndependencies = ["{TOKEN}"]\n'
    )
    (root / "chain.py").write_text(
        CHAIN.format(imports=imports, docker_image=docker_image, body=body)
    )
    return World(root, secret)


def _link(link: Path, target: str) -> None:
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(target)


def _lock_beside_a_linked_pyproject(world: World) -> None:
    (world.root / "uv.lock").write_text("version = 1\n")
    _link(world.root / "pyproject.toml", "../secret/pyproject.toml")


def _package_with_a_linked_module(world: World) -> None:
    (world.root / "tools").mkdir()
    (world.root / "tools" / "__init__.py").write_text("")
    _link(world.root / "tools" / "helpers.py", "../../secret/helpers.py")


@dataclass(frozen=True)
class Hostile:
    """One hostile chain: how to make it, and the first diagnostic it must give."""

    name: str
    docker_image: str = ""
    setup: Callable[[World], object] = lambda world: None
    imports: str = ""
    body: str = "return text"
    #: The start of the first line chainsc prints: `path:line:col: error[CODE]: message`.
    expected: str = ""


HOSTILE = [
    Hostile(
        "absolute requirements_file",
        'requirements_file=chains.make_abs_path_here("/etc/passwd")',
        expected="chain.py:6:85: error[CSC011]: `/etc/passwd` is an absolute path, outside the chain root",
    ),
    Hostile(
        "requirements_file up and out",
        'requirements_file=chains.make_abs_path_here("../../../../../../../../secret/passwd")',
        expected="chain.py:6:85: error[CSC011]: `../../../../../../../../secret/passwd` leads out of the chain root",
    ),
    Hostile(
        "requirements_file in a sibling",
        'requirements_file=chains.make_abs_path_here("../secret/passwd")',
        expected="chain.py:6:85: error[CSC011]: `../secret/passwd` leads out of the chain root",
    ),
    Hostile(
        "data_dir up and out",
        'data_dir=chains.make_abs_path_here("../secret")',
        expected="chain.py:6:76: error[CSC011]: `../secret` leads out of the chain root",
    ),
    Hostile(
        "external_package_dirs up and out",
        'external_package_dirs=[chains.make_abs_path_here("../secret")]',
        expected="chain.py:6:90: error[CSC011]: `../secret` leads out of the chain root",
    ),
    Hostile(
        "requirements_file linked out",
        'requirements_file=chains.make_abs_path_here("requirements.txt")',
        lambda world: _link(world.root / "requirements.txt", "../secret/passwd"),
        expected="chain.py:6:85: error[CSC011]: `requirements.txt` is a symbolic link to `../secret/passwd`, outside the chain root",
    ),
    Hostile(
        "requirements_file through a linked directory",
        'requirements_file=chains.make_abs_path_here("config/passwd")',
        lambda world: _link(world.root / "config", "../secret"),
        expected="chain.py:6:85: error[CSC011]: `config/passwd` cannot be read: `config` is a symbolic link to `../secret`, outside the chain root",
    ),
    Hostile(
        "requirements_file linked out by an absolute link",
        'requirements_file=chains.make_abs_path_here("requirements.txt")',
        lambda world: _link(
            world.root / "requirements.txt", str(world.secret / "passwd")
        ),
        expected="chain.py:6:85: error[CSC011]: `requirements.txt` is a symbolic link to `",
    ),
    Hostile(
        "a uv.lock whose pyproject.toml is linked out",
        'requirements_file=chains.make_abs_path_here("uv.lock")',
        _lock_beside_a_linked_pyproject,
        expected="chain.py:6:59: error[CSC011]: `pyproject.toml` is a symbolic link to `../secret/pyproject.toml`, outside the chain root",
    ),
    Hostile(
        "data_dir with a link out",
        'data_dir=chains.make_abs_path_here("data")',
        lambda world: _link(world.root / "data" / "keys", "../../secret"),
        expected="chain.py:6:50: error[CSC011]: `data_dir` cannot be copied: `data/keys` is a symbolic link to `../../secret`, outside the chain root",
    ),
    Hostile(
        "data_dir with a link loop",
        'data_dir=chains.make_abs_path_here("data")',
        lambda world: _link(world.root / "data" / "loop", "loop"),
        expected="chain.py:6:50: error[CSC012]: `data_dir` cannot be copied: `data/loop` is a symbolic link loop (to `loop`)",
    ),
    Hostile(
        "data_dir with a link to its parent",
        'data_dir=chains.make_abs_path_here("data")',
        lambda world: _link(world.root / "data" / "up", ".."),
        expected="chain.py:6:50: error[CSC012]: `data_dir` cannot be copied: `data/up` is a symbolic link loop (to `..`)",
    ),
    Hostile(
        "a data file linked out",
        imports="import pathlib\n",
        body='return (pathlib.Path(__file__).parent / "prompts.txt").read_text()',
        setup=lambda world: _link(world.root / "prompts.txt", "../secret/passwd"),
        expected="chain.py:11:49: error[CSC011]: the data file `prompts.txt` cannot be carried into the package: "
        "`prompts.txt` is a symbolic link to `../secret/passwd`, outside the chain root",
    ),
    Hostile(
        "a data directory with a link out",
        imports="import pathlib\n",
        body='return str(pathlib.Path(__file__).parent / "data")',
        setup=lambda world: _link(world.root / "data" / "keys", "../../secret"),
        expected="chain.py:11:52: error[CSC011]: the data file `data` cannot be carried into the package: "
        "`data/keys` is a symbolic link to `../../secret`, outside the chain root",
    ),
    Hostile(
        "a local module linked out",
        imports="import helpers\n",
        body="return helpers.SECRET",
        setup=lambda world: _link(world.root / "helpers.py", "../secret/helpers.py"),
        expected="chain.py:2:8: error[CSC011]: local module `helpers` cannot be read: `helpers.py` is a symbolic link to "
        "`../secret/helpers.py`, outside the chain root",
    ),
    Hostile(
        "a local package linked out",
        imports="from tools import helpers\n",
        body="return helpers.SECRET",
        setup=lambda world: _link(world.root / "tools", "../secret"),
        expected="chain.py:2:1: error[CSC011]: local module `tools` cannot be read: `tools` is a symbolic link to `../secret`, outside the chain root",
    ),
    Hostile(
        "a submodule of a local package linked out",
        imports="import tools.helpers\n",
        body="return tools.helpers.SECRET",
        setup=_package_with_a_linked_module,
        expected="chain.py:2:8: error[CSC011]: local module `tools.helpers` cannot be read: `tools/helpers.py` is a symbolic link to "
        "`../../secret/helpers.py`, outside the chain root\n",
    ),
    Hostile(
        "a local module that is a link loop",
        imports="import helpers\n",
        body="return text",
        setup=lambda world: _link(world.root / "helpers.py", "helpers.py"),
        expected="chain.py:2:8: error[CSC012]: local module `helpers` cannot be read: `helpers.py` is a symbolic link loop (to `helpers.py`)",
    ),
    Hostile(
        "a newline in a pip_requirements entry",
        'pip_requirements=["numpy\\n--index-url https://example.com/simple"]',
        expected="chain.py:6:59: error[CSC413]: `pip_requirements` entry 'numpy\\n--index-url https://example.com/simple' "
        "is not one requirement: it contains a line break ('\\n')",
    ),
    Hostile(
        "a pip option as a pip_requirements entry",
        'pip_requirements=["--index-url https://example.com/simple"]',
        expected="chain.py:6:59: error[CSC413]: `pip_requirements` entry '--index-url https://example.com/simple' is not one requirement: it is a pip option",
    ),
    Hostile(
        "garbage in a requirements file",
        'requirements_file=chains.make_abs_path_here("requirements.txt")',
        lambda world: (world.root / "requirements.txt").write_text(
            "numpy\nnot a requirement!\n"
        ),
        expected="requirements.txt:2:1: error[CSC414]: `not a requirement!` is not a valid requirement",
    ),
]


def _assert_nothing_leaks(world: World, out: Path, *texts: str) -> None:
    for text in texts:
        assert TOKEN not in text
    assert not out.exists()
    assert not any(out.parent.glob(".out.*")), "a staging directory was left behind"


@pytest.mark.parametrize("case", HOSTILE, ids=[case.name for case in HOSTILE])
def test_a_hostile_chain_is_a_located_error_and_nothing_is_read_or_written(
    tmp_path: Path, case: Hostile
) -> None:
    world = _world(tmp_path, case.docker_image, case.imports, case.body)
    case.setup(world)
    out = tmp_path / "out"
    checked = run_cli("check", str(world.chain))
    built = run_cli("build", str(world.chain), "-o", str(out))
    for result in (checked, built):
        assert result.returncode == 1, result.stderr
        assert result.stderr.startswith(case.expected), result.stderr
        assert "internal error" not in result.stderr
    _assert_nothing_leaks(
        world, out, checked.stdout, checked.stderr, built.stdout, built.stderr
    )


@pytest.mark.parametrize(
    ("file_name", "shown"),
    [
        (os.fsdecode(b"notes-\xff.md"), "'data/notes-\\udcff.md'"),
        ("notes\nmore.md", "'data/notes\\nmore.md'"),
        ("windows\\notes.md", "`data/windows\\notes.md`"),
    ],
)
def test_a_data_file_whose_name_no_package_can_hold_is_an_error(
    tmp_path: Path, file_name: str, shown: str
) -> None:
    world = _world(tmp_path, 'data_dir=chains.make_abs_path_here("data")')
    (world.root / "data" / file_name).write_text("notes\n")
    out = tmp_path / "out"
    for result in (
        run_cli("check", str(world.chain)),
        run_cli("build", str(world.chain), "-o", str(out)),
    ):
        assert result.returncode == 1, result.stderr
        assert result.stderr.startswith(
            f"chain.py:6:50: error[CSC013]: `data_dir` cannot be copied: the file name {shown} cannot be carried"
        )
    assert not out.exists()


def test_a_link_out_deep_in_a_large_directory_the_code_names_is_found(
    tmp_path: Path,
) -> None:
    # Past the quick walk's budget (2,000 entries) the literals are looked up one by one.
    world = _world(
        tmp_path,
        imports="import pathlib\n",
        body='return str(pathlib.Path(__file__).parent / "corpus")',
    )
    corpus = world.root / "corpus" / "shard"
    corpus.mkdir(parents=True)
    for index in range(2100):
        (corpus / f"doc{index:04d}.txt").write_text("text\n")
    _link(corpus / "zz-keys", "../../../secret")
    result = run_cli("check", str(world.chain))
    assert result.returncode == 1
    assert result.stderr.startswith(
        "chain.py:11:52: error[CSC011]: the data file `corpus` cannot be carried into the package: "
        "`corpus/shard/zz-keys` is a symbolic link to `../../../secret`, outside the chain root\n"
    )


def test_the_chain_file_itself_linked_out_is_not_read(tmp_path: Path) -> None:
    world = _world(tmp_path)
    outside = world.secret / "chain.py"
    outside.write_text(f"{TOKEN} = (\n")  # a syntax error would print this line
    world.chain.unlink()
    _link(world.chain, "../secret/chain.py")
    out = tmp_path / "out"
    for result in (
        run_cli("check", str(world.chain)),
        run_cli("build", str(world.chain), "-o", str(out)),
    ):
        assert result.returncode == 1
        assert result.stderr.startswith(
            "chain.py:1:1: error[CSC011]: `chain.py` is a symbolic link to `../secret/chain.py`, outside the chain root\n"
        )
        _assert_nothing_leaks(world, out, result.stdout, result.stderr)


def test_a_root_that_does_not_hold_the_chain_file_is_a_usage_error(
    tmp_path: Path,
) -> None:
    world = _world(tmp_path)
    result = run_cli("check", str(world.chain), "--root", str(world.secret))
    assert result.returncode == 2
    assert "Invalid value for '--root'" in result.stderr
    assert "does not contain the chain file" in result.stderr
    # The library reports it as a located error instead (it never raises for bad input).
    checked = api.check_file(world.chain, api.CheckOptions(root=world.secret))
    assert [(d.code, d.span.path) for d in checked.diagnostics] == [
        ("CSC011", "chain.py")
    ]


def test_links_inside_the_root_are_followed(tmp_path: Path) -> None:
    world = _world(
        tmp_path,
        'data_dir=chains.make_abs_path_here("data"), requirements_file=chains.make_abs_path_here("requirements.txt")',
        imports="import pathlib\n\nimport helpers\n",
        body='return helpers.shout((pathlib.Path(__file__).parent / "prompts.txt").read_text())',
    )
    shared = world.root / "shared"
    shared.mkdir()
    (shared / "requirements.txt").write_text("pydantic>=2\n")
    (shared / "helpers.py").write_text(
        "def shout(text: str) -> str:\n    return text.upper()\n"
    )
    (shared / "prompts.txt").write_text("Be kind.\n")
    (shared / "glossary").mkdir()
    (shared / "glossary" / "terms.txt").write_text("chain: a graph of Chainlets\n")
    _link(world.root / "requirements.txt", "shared/requirements.txt")
    _link(world.root / "helpers.py", "shared/helpers.py")
    _link(world.root / "prompts.txt", "shared/prompts.txt")
    _link(world.root / "data" / "glossary", "../shared/glossary")
    _link(
        world.root / "data" / "dangling", "nowhere"
    )  # inside the root, nothing to copy
    out = tmp_path / "out"
    built = run_cli("build", str(world.chain), "-o", str(out))
    assert built.returncode == 0, built.stderr
    package = out / "reader"
    assert (package / "packages" / "helpers.py").read_text() == (
        shared / "helpers.py"
    ).read_text()
    assert (package / "packages" / "prompts.txt").read_text() == "Be kind.\n"
    assert (
        package / "data" / "glossary" / "terms.txt"
    ).read_text() == "chain: a graph of Chainlets\n"
    assert (package / "data" / "prompt.md").is_file()
    assert not (package / "data" / "dangling").exists()
    assert "pydantic>=2" in (package / "requirements.txt").read_text()
    assert import_package(package) is None


def test_a_uv_lock_without_its_pyproject_is_an_error_not_a_crash(
    tmp_path: Path,
) -> None:
    # A complete lock used to be copied with a `pyproject.toml` that is not there (exit 3).
    world = _world(tmp_path, 'requirements_file=chains.make_abs_path_here("uv.lock")')
    (world.root / "uv.lock").write_text(
        "version = 1\n"
        + "".join(
            f'[[package]]\nname = "{name}"\nversion = "{version}"\n'
            for name, version in (
                ("aiohttp", "3.10.0"),
                ("httpx", "0.28.0"),
                ("msgpack", "1.1.0"),
                ("pydantic", "2.9.0"),
            )
        )
    )
    out = tmp_path / "out"
    for result in (
        run_cli("check", str(world.chain)),
        run_cli("build", str(world.chain), "-o", str(out)),
    ):
        assert result.returncode == 1, result.stderr
        assert result.stderr.startswith(
            "chain.py:6:59: error[CSC412]: `uv.lock` needs the `pyproject.toml` next to it, and there is no `pyproject.toml`\n"
        )
    assert not out.exists()


def test_no_absolute_path_of_the_build_machine_is_written(tmp_path: Path) -> None:
    world = _world(
        tmp_path,
        'data_dir=chains.make_abs_path_here("data"), '
        'requirements_file=chains.make_abs_path_here("deps/requirements.txt"), '
        'external_package_dirs=[chains.make_abs_path_here("vendor")], '
        'pip_requirements=["httpx>=0.27", "git+https://github.com/org/repo.git@0123abc"]',
        imports="import pathlib\n\nimport helpers\n",
        body='return helpers.shout((pathlib.Path(__file__).parent / "prompts" / "system.txt").read_text())',
    )
    (world.root / "deps").mkdir()
    (world.root / "deps" / "requirements.txt").write_text(
        "--extra-index-url https://example.com/simple\npydantic>=2\n"
    )
    (world.root / "vendor").mkdir()
    (world.root / "vendor" / "textlib.py").write_text("X = 1\n")
    (world.root / "helpers.py").write_text(
        "def shout(text: str) -> str:\n    return text.upper()\n"
    )
    (world.root / "prompts").mkdir()
    (world.root / "prompts" / "system.txt").write_text("Be kind.\n")
    out = tmp_path / "out"
    built = run_cli("build", str(world.chain), "-o", str(out), cwd=tmp_path)
    assert built.returncode == 0, built.stderr
    machine_paths = {
        str(tmp_path),
        os.path.realpath(tmp_path),
        str(Path.home()),
        str(Path(__file__).resolve().parent.parent),
    }
    files = sorted(path for path in out.rglob("*") if path.is_file())
    assert len(files) > 20
    for path in files:
        content = path.read_bytes()
        for machine_path in machine_paths:
            assert machine_path.encode() not in content, (
                f"{path.relative_to(out)} holds {machine_path}"
            )
    manifest = json.loads((out / "chain.json").read_text())
    assert manifest["source"] == "chain.py"
    assert (
        "# from deps/requirements.txt"
        in (out / "reader" / "requirements.txt").read_text()
    )


def test_the_build_refuses_a_path_the_front_end_did_not_check(tmp_path: Path) -> None:
    # Defence in depth: a file swapped for a link out of the root between check and
    # build (or a front-end bug) is an internal error when the build's inputs are
    # loaded (the planner reads nothing itself), never a copy.
    world = _world(tmp_path, 'data_dir=chains.make_abs_path_here("data")')
    checked, program = api._check_file(world.chain, api.CheckOptions())
    assert checked.chain is not None
    assert program is not None
    _link(world.root / "data" / "keys", "../../secret")
    with pytest.raises(InternalError, match="data_dir` was not checked"):
        load_inputs(checked.chain, program)
