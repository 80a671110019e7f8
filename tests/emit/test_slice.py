"""The slice keeps exactly what a Chainlet needs, as the user wrote it."""

from __future__ import annotations

import tempfile
from pathlib import Path

from chainsc.emit.slice import ClientCode, ModuleSource, SliceRequest, slice_modules
from chainsc.resolve import load_program

CHAIN = '''"""A chain."""

from __future__ import annotations

import logging
import truss_chains as chains
from truss_chains import depends, depends_context as ctx
import pydantic

IMAGE = chains.DockerImage(pip_requirements=["numpy"])  # only remote_config uses it
GREETING = "hi"  # used by Hello
logging.basicConfig()  # a side effect: never carried


# Input of Hello.
class Name(pydantic.BaseModel):
    value: str


def shout(text: str) -> str:
    """Helper used by Hello."""
    return text.upper()


def unused() -> None:
    pass


class Hello(chains.ChainletBase):
    remote_config = chains.RemoteConfig(
        docker_image=IMAGE,
    )

    def run_remote(self, name: Name) -> str:
        return shout(f"{GREETING} {name.value}")


@chains.mark_entrypoint
class Entry(chains.ChainletBase):
    def __init__(self, hello: Hello = depends(Hello), context=ctx()) -> None:
        self._hello = hello

    def run_remote(self, name: str) -> str:
        return self._hello.run_remote(Name(value=name))
'''


HELLO_CLIENT = ClientCode(
    text="class Hello(chainsc_runtime.transport.ChainletClient):\n    pass  # the client\n",
    imports=(),
    uses=frozenset(),
)


def _modules(files: dict[str, str]) -> dict[str, ModuleSource]:
    """The modules of a chain whose files are `files` (`chain.py` first), resolved by the front end."""
    with tempfile.TemporaryDirectory() as directory:
        root = Path(directory)
        for relative, text in files.items():
            (root / relative).parent.mkdir(parents=True, exist_ok=True)
            (root / relative).write_text(text)
        program, main = load_program(root / "chain.py", root)
        assert main is not None, program.diagnostics
        for (
            relative
        ) in files:  # every package, imported or not (a package carries its parents)
            if relative.endswith("/__init__.py"):
                program.find_module(
                    relative.removesuffix("/__init__.py").replace("/", ".")
                )
        return {
            name: ModuleSource.of(module) for name, module in program.modules.items()
        }


def test_slice_of_a_dependency_keeps_only_what_it_uses() -> None:
    sliced = slice_modules(
        _modules({"chain.py": CHAIN}),
        SliceRequest(
            frozenset({("chain", "Hello")}), {("chain", "Entry"): HELLO_CLIENT}
        ),
    )
    assert sliced == {
        "chain.py": '''"""A chain."""

from __future__ import annotations

import chainsc_runtime as chains
import pydantic

GREETING = "hi"  # used by Hello


# Input of Hello.
class Name(pydantic.BaseModel):
    value: str


def shout(text: str) -> str:
    """Helper used by Hello."""
    return text.upper()


class Hello(chains.ChainletBase):
    def run_remote(self, name: Name) -> str:
        return shout(f"{GREETING} {name.value}")
'''
    }


def test_slice_of_the_entrypoint_defines_the_client_of_its_dependency_in_place() -> (
    None
):
    sliced = slice_modules(
        _modules({"chain.py": CHAIN}),
        SliceRequest(
            frozenset({("chain", "Entry")}), {("chain", "Hello"): HELLO_CLIENT}
        ),
    )
    text = sliced["chain.py"]
    assert (
        "import chainsc_runtime.transport\n\n\nclass Hello(chainsc_runtime.transport.ChainletClient):\n    pass  # the client\n"
        in text
    )
    assert "chainsc_generated" not in text  # user modules never import generated code
    assert "class Hello(chains.ChainletBase)" not in text
    assert (
        "from chainsc_runtime import (\n    depends,\n    depends_context as ctx,\n)\n"
        in text
    )
    assert "class Name(pydantic.BaseModel)" in text  # used by Entry's body
    assert "shout" not in text
    assert "logging" not in text
    assert "IMAGE" not in text
    assert text.index("class Hello") < text.index("class Entry")


def test_a_client_keeps_what_its_signature_reads_and_nothing_of_the_class_body() -> (
    None
):
    client = ClientCode(
        text="class Hello(X):\n    pass\n",
        imports=(),
        uses=frozenset({("chain", "Name")}),
    )
    sliced = slice_modules(
        _modules({"chain.py": CHAIN}),
        SliceRequest(
            frozenset(), {("chain", "Hello"): client}, frozenset({("chain", "Hello")})
        ),
    )
    text = sliced["chain.py"]
    assert "class Name(pydantic.BaseModel)" in text
    assert "shout" not in text  # only the original Hello's body used it


def test_classes_in_the_branches_of_an_if_are_each_replaced_by_the_client() -> None:
    source = (
        "import truss_chains as chains\n\nFLAG = True\n\nif FLAG:\n\n"
        "    @chains.mark_entrypoint\n    class Hello(chains.ChainletBase):\n        def run_remote(self) -> str:\n            return 'a'\n\n"
        "else:\n\n    class Hello(chains.ChainletBase):\n        def run_remote(self) -> str:\n            return 'b'\n"
    )
    sliced = slice_modules(
        _modules({"chain.py": source}),
        SliceRequest(
            frozenset(),
            {("chain", "Hello"): HELLO_CLIENT},
            frozenset({("chain", "Hello")}),
        ),
    )
    text = sliced["chain.py"]
    assert (
        text.count(
            "    class Hello(chainsc_runtime.transport.ChainletClient):\n        pass  # the client\n"
        )
        == 2
    )
    assert "mark_entrypoint" not in text
    assert "import chainsc_runtime.transport\n\n\nif FLAG:" in text
    compile(text, "chain.py", "exec")


def test_module_alias_attributes_pull_only_the_names_used() -> None:
    chain = "import truss_chains as chains\nfrom pkg import models\n\n\nclass A(chains.ChainletBase):\n    def run_remote(self) -> models.Out:\n        return models.Out()\n"
    models = "import pydantic\n\n\nclass Out(pydantic.BaseModel):\n    x: int = 1\n\n\nclass Other(pydantic.BaseModel):\n    y: int = 2\n"
    sliced = slice_modules(
        _modules({"chain.py": chain, "pkg/__init__.py": "", "pkg/models.py": models}),
        SliceRequest(frozenset({("chain", "A")}), {}),
    )
    assert sorted(sliced) == ["chain.py", "pkg/__init__.py", "pkg/models.py"]
    assert "class Out" in sliced["pkg/models.py"]
    assert "class Other" not in sliced["pkg/models.py"]


def test_statements_on_one_line_are_one_statement_carried_once() -> None:
    chain = (
        "import truss_chains as chains; import os\n"
        "A = 1; B = 2\n\n\n"
        "class C(chains.ChainletBase):\n"
        "    def run_remote(self) -> int:\n"
        "        return A + B + len(os.sep)\n"
    )
    sliced = slice_modules(
        _modules({"chain.py": chain}), SliceRequest(frozenset({("chain", "C")}), {})
    )
    text = sliced["chain.py"]
    assert text.startswith(
        "import chainsc_runtime as chains; import os\nA = 1; B = 2\n"
    )
    assert text.count("A = 1") == 1
    compile(text, "chain.py", "exec")
