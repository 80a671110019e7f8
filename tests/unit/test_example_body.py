"""`chainsc run` prints a curl command whose body is a valid request, built from the schema."""

from __future__ import annotations

import datetime
import decimal
import enum
import ipaddress
import pathlib
import uuid
from typing import Annotated, Any, Literal

import pydantic
from pydantic import NegativeInt, PositiveFloat, confloat, conint, conlist, constr

from chainsc.run import example_body


class Mode(enum.Enum):
    FAST = "fast"
    SLOW = "slow"


class Span(pydantic.BaseModel):
    start: int
    end: int


class Node(pydantic.BaseModel):
    name: str
    children: list[Node] = []
    parent: Node | None


class Input(pydantic.BaseModel):
    text: str
    weights: list[float]
    pair: tuple[int, str]
    mode: Mode
    kind: Literal["a", "b"]
    span: Span | None
    tree: Node
    tags: dict[str, int]
    flag: bool
    limit: int = 10  # has a default: left out


def _document(model: type[pydantic.BaseModel]) -> dict[str, Any]:
    """An OpenAPI document shaped like the one the runtime serves."""
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    components = schema.pop("$defs", {})
    if "$ref" not in schema:  # a recursive model is itself in `$defs`
        components[model.__name__] = schema
    return {
        "paths": {
            "/run_remote": {
                "post": {
                    "requestBody": {
                        "content": {
                            "application/json": {
                                "schema": {
                                    "$ref": f"#/components/schemas/{model.__name__}"
                                }
                            }
                        }
                    }
                }
            }
        },
        "components": {"schemas": components},
    }


def test_the_example_validates_against_the_model_it_came_from() -> None:
    body = example_body(_document(Input))

    assert isinstance(body, dict)
    assert set(body) == {
        "text",
        "weights",
        "pair",
        "mode",
        "kind",
        "span",
        "tree",
        "tags",
        "flag",
    }
    Input.model_validate(body)  # raises if the example is not a valid request
    assert body["mode"] == "fast"
    assert body["kind"] == "a"
    assert body["span"] == {"start": 1, "end": 1}
    assert body["pair"] == [1, "text"]


def test_a_recursive_model_ends_and_still_validates() -> None:
    body = example_body(_document(Node))

    Node.model_validate(body)
    depth = 0
    node: Any = body
    while isinstance(node, dict):
        node = node.get("parent")
        depth += 1
    assert 1 < depth < 10


def test_without_a_schema_the_body_is_empty() -> None:
    assert example_body({}) == {}
    assert example_body({"paths": {"/run_remote": {"post": {}}}}) == {}


class Constrained(pydantic.BaseModel):
    """Constrained types and aliases, as chains use them: the example keeps within every bound."""

    code: constr(min_length=9)  # type: ignore[valid-type]
    initials: constr(max_length=2)  # type: ignore[valid-type]
    count: conint(ge=5)  # type: ignore[valid-type]
    below: NegativeInt
    ratio: confloat(gt=0, lt=1)  # type: ignore[valid-type]
    score: PositiveFloat
    small: Annotated[float, pydantic.Field(le=-3)]
    exact: Annotated[int, pydantic.Field(gt=2, lt=4)]
    vector: conlist(float, min_length=3)  # type: ignore[valid-type]
    none: Annotated[list[int], pydantic.Field(max_length=0)]


def test_the_example_of_constrained_types_keeps_within_their_bounds() -> None:
    body = example_body(_document(Constrained))

    Constrained.model_validate(body)  # raises if a bound is not kept
    assert isinstance(body, dict)
    assert (body["code"], body["initials"], body["count"], body["exact"]) == (
        "texttextt",
        "te",
        5,
        3,
    )
    assert (body["vector"], body["none"]) == ([1.5, 1.5, 1.5], [])


class Stamped(pydantic.BaseModel):
    """Standard-library types inside a model: each is a string of its format on the wire."""

    placed: datetime.datetime
    aware: pydantic.AwareDatetime
    day: datetime.date
    at: datetime.time
    wait: datetime.timedelta
    price: decimal.Decimal
    limit: pydantic.condecimal(gt=2, max_digits=4)  # type: ignore[valid-type]
    id: uuid.UUID
    token: pydantic.UUID4
    path: pathlib.Path
    host: ipaddress.IPv4Address
    net: ipaddress.IPv6Network
    interface: ipaddress.IPv4Interface


def test_the_example_of_stdlib_types_is_a_string_of_their_format() -> None:
    body = example_body(_document(Stamped))

    Stamped.model_validate(body)  # raises if a value is not of its type
    assert isinstance(body, dict)
    assert (body["placed"], body["day"], body["wait"]) == (
        "2024-01-01T12:00:00Z",
        "2024-01-01",
        "PT1H",
    )
    assert body["token"] == "00000000-0000-4000-8000-000000000000"
