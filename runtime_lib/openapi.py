"""The OpenAPI document a Chainlet's server answers at `GET /openapi.json`.

Part of the vendored runtime (`runtime_lib`, imported as `chainsc_runtime` in generated
packages). Imports pydantic, `.dispatch` and `.errors`; never imports `compiler`.

The schemas come from the live `EndpointSpec` (its input model and output adapter, with
validators and `Field(...)` constraints), built once per process. The compiler writes
the same document from the IR into each package (`openapi.json`, `chainsc/interface.py`):
`tests/test_interface.py` compares the two byte for byte.
"""

from __future__ import annotations

import json
from typing import Any

import pydantic

from .dispatch import EndpointSpec
from .errors import RemoteErrorDetail

__all__ = ["document_bytes", "openapi_document"]

#: Core schema types that name a class (its definition gets the class's name).
_CLASS_SCHEMAS = frozenset({"model", "dataclass", "typed-dict", "enum"})


def openapi_document(
    endpoint: EndpointSpec,
    *,
    title: str,
    description: str | None = None,
    api_key: bool = False,
) -> dict[str, Any]:
    """An OpenAPI 3.1 document with the endpoint's one operation, `POST /run_remote`.

    Args:
        endpoint: the Chainlet's endpoint; its input model and output adapter give the
            request and reply schemas (definitions under `components.schemas`).
        title: `info.title` (the Chainlet's display name).
        description: the endpoint's docstring, if any.
        api_key: declare the `Authorization: Api-Key <key>` security scheme.
    """
    ref_template = "#/components/schemas/{model}"
    inputs: list[tuple[str, Any, pydantic.TypeAdapter[Any]]] = [
        ("input", "validation", pydantic.TypeAdapter(endpoint.input_model)),
        ("error", "serialization", pydantic.TypeAdapter(RemoteErrorDetail)),
    ]
    if not endpoint.is_streaming:
        inputs.append(("output", "serialization", endpoint.output))
    schemas, definitions = pydantic.TypeAdapter.json_schemas(
        inputs, ref_template=ref_template
    )
    schemas, definitions = _qualified_names(
        (schemas, definitions), [adapter for _, _, adapter in inputs], ref_template
    )
    if endpoint.is_streaming:
        reply = {endpoint.stream_media_type: {"schema": {"type": "string"}}}
    else:
        # pydantic sorts the keys of definitions only; the reply's too, so the document
        # is the one the compiler writes (`openapi.json`, `chainsc/interface.py`).
        output = _sorted(schemas["output", "serialization"])
        reply = {"application/json": {"schema": output}}
    field_error = {
        "type": "object",
        "properties": {
            "loc": {
                "type": "array",
                "items": {"anyOf": [{"type": "string"}, {"type": "integer"}]},
            },
            "msg": {"type": "string"},
            "type": {"type": "string"},
        },
        "required": ["loc", "msg", "type"],
    }
    operation: dict[str, Any] = {
        "operationId": endpoint.name,
        "summary": (description or f"Call `{title}`.").strip().splitlines()[0],
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": schemas["input", "validation"]}},
        },
        "responses": {
            "200": {"description": "The return value.", "content": reply},
            "422": {
                "description": "The arguments do not validate.",
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "properties": {
                                "detail": {"type": "array", "items": field_error}
                            },
                            "required": ["detail"],
                        }
                    }
                },
            },
            "500": {
                "description": "The Chainlet's code raised an exception.",
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "properties": {"error": schemas["error", "serialization"]},
                            "required": ["error"],
                        }
                    }
                },
            },
            "503": {"description": "Not loaded yet: retry."},
        },
    }
    if description:
        operation["description"] = description
    components: dict[str, Any] = {"schemas": definitions.get("$defs", {})}
    document: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {"title": title, "version": "1"},
        "paths": {"/run_remote": {"post": operation}},
        "components": components,
    }
    if api_key:
        operation["responses"]["401"] = {"description": "Missing or wrong API key."}
        components["securitySchemes"] = {
            "ApiKey": {
                "type": "apiKey",
                "in": "header",
                "name": "Authorization",
                "description": "`Api-Key <key>`",
            }
        }
        document["security"] = [{"ApiKey": []}]
    return document


def document_bytes(document: dict[str, Any]) -> bytes:
    """The bytes served (and the bytes of a package's `openapi.json`): indented JSON."""
    return (json.dumps(document, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def _sorted(value: Any, parent_key: str | None = None) -> Any:
    """Pydantic's key order: sorted, except the keys under `properties` and `default`."""
    if isinstance(value, dict):
        keys = value if parent_key in ("properties", "default") else sorted(value)
        return {key: _sorted(value[key], key) for key in keys}
    if isinstance(value, list):
        return [_sorted(item, parent_key) for item in value]
    return value


def _qualified_names(
    generated: tuple[dict[Any, Any], dict[str, Any]],
    adapters: list[pydantic.TypeAdapter[Any]],
    ref_template: str,
) -> tuple[dict[Any, Any], dict[str, Any]]:
    """Name a nested class's schema by its qualified name, as chainsc writes the type.

    pydantic names a definition by the class's `__name__` (`DocumentResult`); the
    generated client, the README and `chainsc inspect` write `PipelineResult.
    DocumentResult` (`compiler/typetext.py`). A definition whose key is the `__name__`
    of exactly one nested class (of any module) is renamed to its `__qualname__`, and
    every `$ref` to it follows; other keys (top-level classes, names pydantic had to
    qualify already) stay.
    """
    qualnames: dict[str, set[str]] = {}
    for cls in _classes([adapter.core_schema for adapter in adapters]):
        qualnames.setdefault(cls.__name__, set()).add(cls.__qualname__)
    renames: dict[str, str] = {}
    for name, spellings in qualnames.items():
        (qualname, *others) = sorted(spellings)
        # One nested class of that name (not one made in a function: `f.<locals>.C`).
        if not others and qualname != name and "<" not in qualname:
            renames[name] = qualname
    if not renames:
        return generated
    refs = {
        ref_template.format(model=name): ref_template.format(model=qualname)
        for name, qualname in renames.items()
    }

    def rename(value: Any) -> Any:
        if isinstance(value, dict):
            return {
                key: refs.get(item, item)
                if key == "$ref" and isinstance(item, str)
                else rename(item)
                for key, item in value.items()
            }
        if isinstance(value, list | tuple):
            return type(value)(rename(item) for item in value)
        return value

    schemas, definitions = rename(generated)
    assert isinstance(schemas, dict)
    assert isinstance(definitions, dict)
    defs = definitions.get("$defs")
    if isinstance(defs, dict):
        taken = set(defs)
        definitions["$defs"] = {
            (
                renames[key] if key in renames and renames[key] not in taken else key
            ): item
            for key, item in defs.items()
        }
    return schemas, definitions


def _classes(schemas: list[Any]) -> list[type[Any]]:
    """The classes of the models, dataclasses, typed dicts and enums in core schemas."""
    found: list[type[Any]] = []
    seen: set[int] = set()
    stack = list(schemas)
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, dict):
            cls = node.get("cls")
            if isinstance(cls, type) and node.get("type") in _CLASS_SCHEMAS:
                found.append(cls)
            stack.extend(node.values())
        elif isinstance(node, list | tuple):
            stack.extend(node)
    return found
