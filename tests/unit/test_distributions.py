"""The import -> distribution table, and the sets installed anyway, against real metadata."""

from __future__ import annotations

import importlib.metadata
import json
import subprocess
import sys

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from chainsc.distributions import (
    IMPORT_DISTRIBUTIONS,
    RUNTIME_DISTRIBUTIONS,
    TRUSS_PACKAGE_REQUIREMENTS,
    TRUSS_PROVIDED,
    TRUSS_SERVER_REQUIREMENTS,
    TRUSS_TRANSITIVE_DISTRIBUTIONS,
    TRUSS_VERSION,
    distributions_of,
    normalized_distributions_of,
)
from chainsc.requirements_check import runtime_requirements
from tests.conftest import truss_python

#: The environment markers of a Linux CPython 3.11 deployment.
_LINUX_311 = {
    "python_version": "3.11",
    "python_full_version": "3.11.7",
    "sys_platform": "linux",
    "platform_system": "Linux",
    "os_name": "posix",
    "platform_machine": "x86_64",
    "implementation_name": "cpython",
    "platform_python_implementation": "CPython",
    "extra": "",
}


@pytest.mark.parametrize(
    ("module", "distribution"),
    [
        ("cv2", "opencv-python"),
        ("PIL", "Pillow"),
        ("PIL.Image", "Pillow"),
        ("sklearn.linear_model", "scikit-learn"),
        ("yaml", "PyYAML"),
        ("bs4", "beautifulsoup4"),
        ("google.protobuf", "protobuf"),
        ("google.protobuf.json_format", "protobuf"),
        ("google.cloud.storage", "google-cloud-storage"),
        ("dateutil.parser", "python-dateutil"),
        ("attr", "attrs"),
        ("jwt", "PyJWT"),
        ("Crypto.Cipher", "pycryptodome"),
        ("skimage", "scikit-image"),
        ("dotenv", "python-dotenv"),
        ("magic", "python-magic"),
        ("docx", "python-docx"),
        ("fitz", "PyMuPDF"),
        ("OpenSSL", "pyOpenSSL"),
        ("serial", "pyserial"),
        ("usb.core", "pyusb"),
        ("git", "GitPython"),
        ("faiss", "faiss-cpu"),
        ("tensorflow", "tensorflow"),
        # No entry: the import's own name.
        ("torch", "torch"),
        ("sentence_transformers", "sentence-transformers"),
        ("huggingface_hub.utils", "huggingface-hub"),
    ],
)
def test_distributions_of(module: str, distribution: str) -> None:
    assert distributions_of(module)[0] == distribution


def test_distributions_of_longest_dotted_key_wins() -> None:
    assert distributions_of("opentelemetry.trace") == ("opentelemetry-api",)
    assert distributions_of("opentelemetry.sdk.trace") == ("opentelemetry-sdk",)
    assert distributions_of("google") == ("google",)
    assert normalized_distributions_of("ruamel.yaml") == ("ruamel-yaml",)


def test_table_keys_are_import_paths_and_values_distinct_names() -> None:
    for module, distributions in IMPORT_DISTRIBUTIONS.items():
        assert all(part.isidentifier() for part in module.split(".")), module
        assert distributions, module
        assert len({canonicalize_name(name) for name in distributions}) == len(
            distributions
        ), module
        # An entry that only normalises the import's name would be dead weight.
        assert distributions != (module.split(".")[0].replace("_", "-"),), module


def _closure(roots: list[str]) -> set[str]:
    """Normalised distributions installed in this venv that `roots` require, transitively."""
    seen: set[str] = set()
    stack = list(roots)
    while stack:
        requirement = Requirement(stack.pop())
        if requirement.marker is not None and not requirement.marker.evaluate(
            _LINUX_311
        ):
            continue
        name = canonicalize_name(requirement.name)
        if name in seen:
            continue
        seen.add(name)
        stack.extend(importlib.metadata.distribution(name).requires or [])
    return seen


def test_runtime_distributions_are_what_the_runtime_installs() -> None:
    closure = _closure(list(runtime_requirements()))
    assert {
        canonicalize_name(Requirement(line).name) for line in runtime_requirements()
    } <= RUNTIME_DISTRIBUTIONS
    # Each listed distribution is really pulled in (a stale entry would hide a missing one).
    assert closure >= RUNTIME_DISTRIBUTIONS, sorted(RUNTIME_DISTRIBUTIONS - closure)


def test_truss_provided_lines_are_truss_own() -> None:
    for line in TRUSS_SERVER_REQUIREMENTS:
        assert TRUSS_PROVIDED[canonicalize_name(Requirement(line).name)] == line
    assert TRUSS_PROVIDED["truss"] == "truss"
    assert TRUSS_PROVIDED["starlette"] == "starlette"
    # The server image's line wins over the truss package's for the same distribution.
    assert TRUSS_PROVIDED["pyyaml"] == "pyyaml>=6.0.0"


_TRUSS_FACTS = """
import importlib.metadata, json, pathlib, truss
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
env = json.loads(__import__("sys").argv[1])
server = pathlib.Path(truss.__file__).parent / "templates" / "server" / "requirements.txt"
seen, stack = set(), list(importlib.metadata.distribution("truss").requires or [])
while stack:
    requirement = Requirement(stack.pop())
    if requirement.marker is not None and not requirement.marker.evaluate(env):
        continue
    name = canonicalize_name(requirement.name)
    if name in seen:
        continue
    seen.add(name)
    stack.extend(importlib.metadata.distribution(name).requires or [])
print(json.dumps({
    "version": truss.__version__,
    "server": server.read_text(),
    "requires": importlib.metadata.distribution("truss").requires,
    "closure": sorted(seen),
}))
"""


def test_truss_tables_match_the_published_truss() -> None:
    run = subprocess.run(
        [str(truss_python()), "-c", _TRUSS_FACTS, json.dumps(_LINUX_311)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    facts = json.loads(run.stdout)
    assert facts["version"] == TRUSS_VERSION
    server_lines = [
        line.split("#", 1)[0].strip()
        for line in facts["server"].splitlines()
        if line.split("#", 1)[0].strip() and not line.startswith("-")
    ]
    assert list(TRUSS_SERVER_REQUIREMENTS) == server_lines
    assert list(TRUSS_PACKAGE_REQUIREMENTS) == ["truss", *facts["requires"]]
    closure = set(facts["closure"])
    # starlette comes with fastapi, which the truss venv does not install.
    transitive = {
        canonicalize_name(name) for name in TRUSS_TRANSITIVE_DISTRIBUTIONS
    } - {"starlette"}
    assert transitive <= closure, sorted(transitive - closure)


def test_this_interpreter_knows_the_standard_library() -> None:
    # The check leaves the standard library out by `sys.stdlib_module_names` (3.10+).
    assert {"json", "asyncio", "tomllib", "sqlite3"} <= sys.stdlib_module_names
