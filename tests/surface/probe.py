"""Run the same calls against `truss_chains` or `chainsc_runtime` and print the results as JSON.

`test_truss_surface.py` runs it twice, with truss's Python (`probe.py truss_chains`) and
with chainsc's (`probe.py chainsc_runtime`), and compares the outputs: the runtime's versions
of the names chain code calls behave like truss's, shown by running identical code. Each
probe records a value or the exception (class name; message unless marked otherwise).
Only the standard library, pydantic and numpy; never imports chainsc.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import functools
import importlib
import importlib.util
import io
import json
import logging
import struct
import sys
import tempfile
import typing
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pydantic

ROOT = sys.argv[1] if __name__ == "__main__" else "chainsc_runtime"
chains: Any = importlib.import_module(ROOT)
streaming: Any = importlib.import_module(f"{ROOT}.streaming")
utils: Any = importlib.import_module(f"{ROOT}.utils")
public_types: Any = importlib.import_module(f"{ROOT}.public_types")
pydantic_numpy: Any = importlib.import_module(f"{ROOT}.pydantic_numpy")

RESULTS: dict[str, object] = {}


def probe(name: str, call: Callable[[], object], *, message: bool = True) -> None:
    """Record what `call()` returns, or the class (and message) of what it raises."""
    try:
        RESULTS[name] = {"value": call()}
    except Exception as exc:  # recording every outcome is the point
        RESULTS[name] = {
            "raised": type(exc).__name__,
            **({"message": str(exc)} if message else {}),
        }


# -- streaming ------------------------------------------------------------------------


class Header(pydantic.BaseModel):
    title: str


class Item(pydantic.BaseModel):
    word: str


class Footer(pydantic.BaseModel):
    count: int


def _frame(kind: int, payload: bytes) -> bytes:
    return struct.pack(">BI", kind, len(payload)) + payload


#: A stream as bytes, written by hand (2 header, 3 item, 4 footer): both sides read it.
WIRE = {
    (False, False): _frame(3, b'{"word":"a"}') + _frame(3, b'{"word":"b"}'),
    (True, False): _frame(2, b'{"title":"t"}')
    + _frame(3, b'{"word":"a"}')
    + _frame(3, b'{"word":"b"}'),
    (False, True): _frame(3, b'{"word":"a"}')
    + _frame(3, b'{"word":"b"}')
    + _frame(4, b'{"count":2}'),
    (True, True): _frame(2, b'{"title":"t"}')
    + _frame(3, b'{"word":"a"}')
    + _frame(3, b'{"word":"b"}')
    + _frame(4, b'{"count":2}'),
}


def _types(header: bool, footer: bool) -> Any:
    kwargs: dict[str, type[pydantic.BaseModel]] = {}
    if header:
        kwargs["header_type"] = Header
    if footer:
        kwargs["footer_type"] = Footer
    return streaming.stream_types(Item, **kwargs)


async def _chunks(data: bytes, size: int) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


def _write(header: bool, footer: bool) -> str:
    writer = streaming.stream_writer(_types(header, footer))
    parts = []
    if header:
        parts.append(writer.yield_header(Header(title="t")))
    parts += [writer.yield_item(Item(word="a")), writer.yield_item(Item(word="b"))]
    if footer:
        parts.append(writer.yield_footer(Footer(count=2)))
    return b"".join(bytes(part) for part in parts).hex()


def _read(header: bool, footer: bool, size: int) -> list[object]:
    async def read() -> list[object]:
        reader = streaming.stream_reader(
            _types(header, footer), _chunks(WIRE[header, footer], size)
        )
        got: list[object] = []
        if header:
            got.append((await reader.read_header()).title)
        got += [item.word async for item in reader.read_items()]
        if footer:
            got.append((await reader.read_footer()).count)
        return got

    return asyncio.run(read())


def _classes(header: bool, footer: bool) -> list[str]:
    writer = streaming.stream_writer(_types(header, footer))
    reader = streaming.stream_reader(_types(header, footer), _chunks(b"", 1))
    return [type(writer).__name__, type(reader).__name__]


def _methods(header: bool, footer: bool) -> list[bool]:
    writer = streaming.stream_writer(_types(header, footer))
    reader = streaming.stream_reader(_types(header, footer), _chunks(b"", 1))
    return [
        hasattr(writer, "yield_header"),
        hasattr(writer, "yield_footer"),
        hasattr(reader, "read_header"),
        hasattr(reader, "read_footer"),
    ]


for has_header in (False, True):
    for has_footer in (False, True):
        key = f"h{int(has_header)}f{int(has_footer)}"
        probe(
            f"streaming.classes.{key}",
            functools.partial(_classes, has_header, has_footer),
        )
        probe(
            f"streaming.methods.{key}",
            functools.partial(_methods, has_header, has_footer),
        )
        probe(
            f"streaming.written.{key}",
            functools.partial(_write, has_header, has_footer),
        )
        for chunk in (1, 4, 1000):
            probe(
                f"streaming.read.{key}.{chunk}",
                functools.partial(_read, has_header, has_footer, chunk),
            )


def _header_after_item() -> object:
    writer = streaming.stream_writer(_types(True, False))
    writer.yield_item(Item(word="a"))
    return writer.yield_header(Header(title="late"))


def _item_after_footer() -> object:
    writer = streaming.stream_writer(_types(False, True))
    writer.yield_footer(Footer(count=0))
    return writer.yield_item(Item(word="late"))


def _read_items_before_header() -> object:
    async def read() -> list[object]:
        reader = streaming.stream_reader(
            _types(True, False), _chunks(WIRE[True, False], 3)
        )
        return [item async for item in reader.read_items()]

    return asyncio.run(read())


def _read_missing(what: str) -> object:
    async def read() -> object:
        reader = streaming.stream_reader(
            _types(True, True), _chunks(WIRE[False, False], 3)
        )
        if what == "header":
            return await reader.read_header()
        _ = [item async for item in reader.read_items()]
        return await reader.read_footer()

    return asyncio.run(read())


probe("streaming.header_after_item", _header_after_item)
probe("streaming.item_after_footer", _item_after_footer)
probe("streaming.read_items_before_header", _read_items_before_header, message=False)
probe("streaming.missing_header", lambda: _read_missing("header"))
probe("streaming.missing_footer", lambda: _read_missing("footer"))
probe(
    "streaming.types_fields",
    lambda: [
        repr(_types(True, False).item_type.__name__),
        _types(True, False).footer_type,
    ],
)
probe(
    "streaming.typevars",
    lambda: sorted(
        n
        for n in ("ItemT", "HeaderT", "FooterT", "HeaderTT", "FooterTT")
        if isinstance(getattr(streaming, n), typing.TypeVar)
    ),
)

# -- utils ----------------------------------------------------------------------------

probe("utils.expect_one", lambda: utils.expect_one([1]))
probe("utils.expect_one.empty", lambda: utils.expect_one([]))
probe("utils.expect_one.two", lambda: utils.expect_one([1, 2]))


def _str_enum() -> object:
    class Color(utils.StrEnum):  # type: ignore[misc]  # the module is imported by name
        RED = enum.auto()
        DARK_BLUE = enum.auto()

    class Paint(pydantic.BaseModel):
        color: Color

    return [
        Color.RED.value,
        str(Color.DARK_BLUE),
        Color("RED").name,
        isinstance(Color.RED, str),
        Color.RED == "RED",  # type: ignore[comparison-overlap]  # a str enum
        Paint(color=Color.RED).model_dump_json(),
    ]


def _str_enum_lower() -> object:
    class Lower(utils.StrEnum):  # type: ignore[misc]
        red = enum.auto()

    return Lower.red.value


def _str_enum_int() -> object:
    class Numbers(utils.StrEnum):  # type: ignore[misc]
        ONE = 1

    return Numbers.ONE.value  # type: ignore[attr-defined]


probe("utils.StrEnum", _str_enum)
probe("utils.StrEnum.lower", _str_enum_lower)
probe("utils.StrEnum.int", _str_enum_int)
probe(
    "utils.issubclass_safe",
    lambda: [
        utils.issubclass_safe(bool, int),
        utils.issubclass_safe(3, int),
        utils.issubclass_safe(list[int], list),
    ],
)


class Defaults(pydantic.BaseModel):
    plain: int = 3
    factory: list[int] = pydantic.Field(default_factory=lambda: [1])
    required: str


probe(
    "utils.field_defaults",
    lambda: [
        utils.get_pydantic_field_default_value(Defaults, name)
        for name in ("plain", "factory", "required")
    ],
)


def _random_fail(probability: float) -> object:
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out):
            utils.random_fail(probability, "wave_info")
    except utils.InjectedError as exc:
        return [
            "raised",
            type(exc).__name__,
            str(exc),
            out.getvalue(),
            isinstance(exc, Exception),
        ]
    return ["returned", out.getvalue()]


probe("utils.random_fail.0", lambda: _random_fail(0.0))
probe("utils.random_fail.1", lambda: _random_fail(1.0))
probe(
    "utils.optional_import_error",
    lambda: [
        type(utils.make_optional_import_error("torch")).__name__,
        "`torch`" in str(utils.make_optional_import_error("torch")),
    ],
)


def _dev_logging() -> object:
    root = logging.getLogger()
    saved = root.level, list(root.handlers)
    handler = logging.StreamHandler(io.StringIO())
    root.handlers[:] = [handler]
    try:
        utils.setup_dev_logging(logging.DEBUG)
        record = logging.LogRecord(
            "chain", logging.INFO, "/srv/app/chain.py", 12, "hello %s", ("there",), None
        )
        record.created, record.msecs = 86400.0 * 365, 0.0
        assert handler.formatter is not None
        formatted = handler.formatter.format(record)
        with utils.log_level(logging.ERROR):
            inside = root.getEffectiveLevel()
        return [
            formatted,
            root.level,
            inside,
            root.getEffectiveLevel(),
            len(root.handlers),
        ]
    finally:
        root.setLevel(saved[0])
        root.handlers[:] = saved[1]


probe("utils.dev_logging", _dev_logging)
probe("utils.T", lambda: [isinstance(utils.T, typing.TypeVar), utils.T.__name__])
probe(
    "utils.make_abs_path_here",
    lambda: (
        utils.make_abs_path_here("probe.py").abs_path == str(Path(__file__).resolve())
    ),
)
probe(
    "utils.make_abs_path_here.missing",
    lambda: utils.make_abs_path_here("no-such-file").abs_path,
    message=False,
)

# -- public_types -----------------------------------------------------------------------


def _bases(error: str) -> list[str]:
    return [
        cls.__name__
        for cls in getattr(public_types, error).__mro__[1:]
        if cls is not object
    ]


for constant in (
    "CPU_COUNT",
    "CHAIN_API_KEY_NAME",
    "CHAIN_API_KEY_SECRET_NAME",
    "DEFAULT_CONCURRENCY_LIMIT",
    "DEFAULT_TIMEOUT_SEC",
    "SECRET_DUMMY",
):
    probe(
        f"public_types.{constant}", functools.partial(getattr, public_types, constant)
    )
probe("public_types.CpuCountT", lambda: list(typing.get_args(public_types.CpuCountT)))
for error in (
    "ChainsUsageError",
    "MissingDependencyError",
    "ChainsRuntimeError",
    "ChainsDeploymentError",
    "GenericRemoteException",
):
    probe(f"public_types.{error}.bases", functools.partial(_bases, error))
probe(
    "public_types.BasetenImage",
    lambda: [(m.name, m.value) for m in public_types.BasetenImage],
)
probe("public_types.RPCOptions", lambda: public_types.RPCOptions().model_dump())
probe(
    "public_types.RPCOptions.strict",
    lambda: public_types.RPCOptions(retries="3"),
    message=False,
)
probe(
    "public_types.Environment",
    lambda: public_types.Environment(name="prod").model_dump(),
)


def _context(secrets: dict[str, str]) -> Any:
    return public_types.DeploymentContext(chainlet_to_service={}, secrets=secrets)


probe(
    "public_types.api_key",
    lambda: _context({"baseten_chain_api_key": "k"}).get_baseten_api_key(),
)
probe(
    "public_types.api_key.dummy",
    lambda: _context({"baseten_chain_api_key": "***"}).get_baseten_api_key(),
    message=False,
)
probe(
    "public_types.api_key.missing",
    lambda: _context({}).get_baseten_api_key(),
    message=False,
)
probe(
    "public_types.service.missing", lambda: _context({}).get_service_descriptor("Other")
)
probe(
    "public_types.data_dir",
    lambda: str(
        public_types.DeploymentContext(
            chainlet_to_service={}, secrets={}, data_dir="/data"
        ).data_dir
    ),
)


def _error_detail() -> object:
    detail = public_types.RemoteErrorDetail(
        exception_cls_name="KeyError",
        exception_module_name="mymod",
        exception_message="'x'",
        user_stack_trace=[
            public_types.RemoteErrorDetail.StackFrame(
                filename="/app/chain.py", lineno=3, name="run_remote", line="d['x']"
            ),
        ],
    )
    return [detail.format(), detail.model_dump()]


probe("public_types.RemoteErrorDetail", _error_detail)

# -- pydantic_numpy ----------------------------------------------------------------------


class Arrays(pydantic.BaseModel):
    matrix: pydantic_numpy.NumpyArrayField


def _numpy() -> object:
    np: Any = importlib.import_module("numpy")
    model = Arrays(matrix=np.arange(6, dtype=np.int32).reshape(2, 3))
    dumped = model.model_dump_json()
    again = Arrays.model_validate_json(dumped)
    return [
        dumped,
        again.matrix.array.tolist(),
        str(again.matrix.array.dtype),
        type(model.model_dump()["matrix"]).__name__,
    ]


# numpy is optional on both sides (truss does not require it either).
if importlib.util.find_spec("numpy") is None:
    RESULTS["pydantic_numpy.round_trip"] = RESULTS["pydantic_numpy.invalid"] = {
        "skipped": "numpy is not installed"
    }
else:
    probe("pydantic_numpy.round_trip", _numpy)
    probe("pydantic_numpy.invalid", lambda: Arrays(matrix=[1, 2]), message=False)

# -- the authoring API at run time -------------------------------------------------------


#: A two-Chainlet chain, imported from a file of its own: truss reads its annotations at
#: class creation and refuses string ones (`from __future__ import annotations`).
CHAIN = """
import {root} as chains


class Upper(chains.ChainletBase):
    def run_remote(self, text: str) -> str:
        return text.upper()


@chains.mark_entrypoint
class Shout(chains.ChainletBase):
    def __init__(
        self,
        upper: Upper = chains.depends(Upper),
        context: chains.DeploymentContext = chains.depends_context(),
    ) -> None:
        self._upper = upper
        self._context = context

    def run_remote(self, text: str) -> str:
        return self._upper.run_remote(text) + "!" + str(sorted(self._context.secrets))
"""


def _run_local() -> object:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "probe_chain.py"
        path.write_text(CHAIN.format(root=ROOT))
        spec = importlib.util.spec_from_file_location("probe_chain", path)
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules["probe_chain"] = (
            module  # truss finds the classes' source through it
        )
        spec.loader.exec_module(module)
        with chains.run_local(secrets={"token": "s"}):
            return module.Shout().run_remote("hi")


probe("api.run_local", _run_local)
probe(
    "api.depends_outside_run_local",
    lambda: chains.depends(chains.ChainletBase).run_remote(),
    message=False,
)

if __name__ == "__main__":
    json.dump(RESULTS, sys.stdout, indent=1, sort_keys=True, default=repr)
