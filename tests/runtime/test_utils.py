"""`chainsc_runtime.utils`: Truss Chains' `truss_chains.utils` helpers, as chain code calls them."""

from __future__ import annotations

import enum
import io
import logging
import random
import re
from collections.abc import Iterator
from pathlib import Path

import pydantic
import pytest

import chainsc_runtime as chains
from chainsc_runtime import utils
from chainsc_runtime.errors import ChainsRuntimeError


def test_utils_is_reachable_every_way_chain_code_spells_it() -> None:
    import chainsc_runtime.utils as by_path  # noqa: PLC0415 - the import form under test

    assert chains.utils is utils is by_path
    # The same function objects as the top level, so the caller's frame is the reference.
    assert utils.make_abs_path_here is chains.make_abs_path_here


def test_random_fail_raises_injected_error_with_the_probability_given(
    capsys: pytest.CaptureFixture[str],
) -> None:
    utils.random_fail(0.0, "never")
    assert capsys.readouterr().out == ""
    with pytest.raises(utils.InjectedError, match=r"^wave_info$"):
        utils.random_fail(1.0, "wave_info")
    assert capsys.readouterr().out == "Random failure: wave_info\n"
    state = random.getstate()
    try:
        random.seed(7)
        failures = 0
        for _ in range(2000):
            try:
                utils.random_fail(0.25, "x")
            except utils.InjectedError:
                failures += 1
    finally:
        random.setstate(state)
    assert 400 < failures < 600
    assert issubclass(utils.InjectedError, Exception)


def test_expect_one() -> None:
    assert utils.expect_one(iter([5])) == 5
    assert utils.expect_one({"only": 1}) == "only"
    assert utils.expect_one([None]) is None
    with pytest.raises(ValueError, match="Iterable is empty"):
        utils.expect_one([])
    with pytest.raises(ValueError, match="more than one element"):
        utils.expect_one(range(2))

    def endless() -> Iterator[int]:
        while True:
            yield 1

    with pytest.raises(ValueError, match="more than one element"):
        utils.expect_one(endless())  # stops after the second element


class Color(utils.StrEnum):
    RED = enum.auto()
    DARK_BLUE = enum.auto()


def test_str_enum_values_are_the_names_and_serialise_as_strings() -> None:
    assert Color.RED == "RED"
    assert Color.DARK_BLUE.value == "DARK_BLUE"
    assert str(Color.RED) == "RED"
    assert Color("DARK_BLUE") is Color.DARK_BLUE
    assert isinstance(Color.RED, str)

    class Paint(pydantic.BaseModel):
        color: Color

    assert Paint(color=Color.RED).model_dump_json() == '{"color":"RED"}'
    assert Paint.model_validate_json('{"color":"DARK_BLUE"}').color is Color.DARK_BLUE


def test_str_enum_refuses_lower_case_auto_names_and_non_string_values() -> None:
    with pytest.raises(ValueError, match=r"should be upper case\. Got `red`"):

        class Lower(utils.StrEnum):
            red = enum.auto()

    with pytest.raises(TypeError, match="must be strings: Got `1`"):

        class Numbers(utils.StrEnum):
            ONE = 1


def test_issubclass_safe() -> None:
    assert utils.issubclass_safe(bool, int)
    assert not utils.issubclass_safe(str, int)
    assert not utils.issubclass_safe(3, int)  # issubclass() would raise TypeError
    assert not utils.issubclass_safe(list[int], list)


class Defaults(pydantic.BaseModel):
    plain: int = 3
    factory: list[int] = pydantic.Field(default_factory=lambda: [1])
    required: str


def test_get_pydantic_field_default_value() -> None:
    assert utils.get_pydantic_field_default_value(Defaults, "plain") == 3
    first = utils.get_pydantic_field_default_value(Defaults, "factory")
    second = utils.get_pydantic_field_default_value(Defaults, "factory")
    assert first == second == [1]
    assert first is not second  # a fresh value per call
    assert utils.get_pydantic_field_default_value(Defaults, "required") is None
    with pytest.raises(KeyError):
        utils.get_pydantic_field_default_value(Defaults, "missing")


def test_make_optional_import_error() -> None:
    error = utils.make_optional_import_error("torchaudio")
    assert isinstance(error, ChainsRuntimeError)
    assert "`torchaudio`" in str(error)


@pytest.fixture
def root_logger() -> Iterator[logging.Logger]:
    """The root logger, restored (level and handlers) after the test."""
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    formatters = [handler.formatter for handler in handlers]
    try:
        yield root
    finally:
        root.handlers[:] = handlers
        for handler, formatter in zip(handlers, formatters, strict=True):
            handler.setFormatter(formatter)
        root.setLevel(level)


def test_setup_dev_logging_formats_the_root_handlers(
    root_logger: logging.Logger,
) -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    root_logger.handlers[:] = [handler]
    utils.setup_dev_logging(logging.DEBUG)
    assert root_logger.level == logging.DEBUG
    assert root_logger.handlers == [handler]  # reformatted, not replaced
    logging.getLogger("chain.test").debug("hello %s", "there")
    # Truss's development format: level, date and time, file:line] message.
    assert re.fullmatch(
        r"DEBUG \d{4} \d\d:\d\d:\d\d test_utils\.py:\d+\] hello there\n",
        stream.getvalue(),
    )

    root_logger.handlers[:] = []
    utils.setup_dev_logging("WARNING")
    assert root_logger.level == logging.WARNING
    assert len(root_logger.handlers) == 1  # one added where there was none
    assert isinstance(root_logger.handlers[0], logging.StreamHandler)


def test_log_level_restores_the_effective_level(root_logger: logging.Logger) -> None:
    root_logger.setLevel(logging.WARNING)
    with utils.log_level(logging.DEBUG):
        assert root_logger.getEffectiveLevel() == logging.DEBUG
    assert root_logger.getEffectiveLevel() == logging.WARNING
    with pytest.raises(RuntimeError), utils.log_level(logging.ERROR):
        raise RuntimeError
    assert root_logger.getEffectiveLevel() == logging.WARNING


def test_make_abs_path_here_through_utils_is_relative_to_the_caller(
    tmp_path: Path,
) -> None:
    path = utils.make_abs_path_here("test_utils.py")
    assert path.abs_path == str(Path(__file__))
