"""The OpenAPI document names each type as chainsc's clients and README write it."""

from __future__ import annotations

import json
from typing import Any

import pydantic

from chainsc_runtime.openapi import openapi_document
from chainsc_runtime.serving import EndpointSpec


class Result(pydantic.BaseModel):
    class Doc(pydantic.BaseModel):
        text: str

    docs: list[Doc]
    best: Doc | None = None


class Input(pydantic.BaseModel):
    query: Result.Doc


def document(output: Any) -> dict[str, Any]:
    endpoint = EndpointSpec(
        "run_remote", False, False, Input, pydantic.TypeAdapter(output)
    )
    return openapi_document(endpoint, title="Search")


def refs(value: object) -> set[str]:
    text = json.dumps(value)
    return {part.split('"')[0] for part in text.split("#/components/schemas/")[1:]}


def test_a_nested_class_is_named_by_its_qualified_name() -> None:
    doc = document(Result)
    schemas = doc["components"]["schemas"]
    assert {"Result", "Result.Doc", "Input"} <= set(schemas)
    assert "Doc" not in schemas
    # Every reference points at a definition: the request, the reply, the error detail.
    assert refs(doc) <= set(schemas)
    assert "Result.Doc" in refs(schemas["Result"])
    assert "RemoteErrorDetail.StackFrame" in schemas
    operation = doc["paths"]["/run_remote"]["post"]
    assert operation["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Result"
    }


def test_two_nested_classes_of_one_name_keep_pydantic_s_names() -> None:
    class Other(pydantic.BaseModel):
        class Doc(pydantic.BaseModel):
            size: int

        doc: Doc

    doc = document(tuple[Result, Other])
    schemas = doc["components"]["schemas"]
    assert "Result.Doc" not in schemas  # ambiguous: pydantic's own keys stay
    assert refs(doc) <= set(schemas)
