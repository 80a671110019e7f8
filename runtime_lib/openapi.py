"""The OpenAPI document a Chainlet's server answers at `GET /openapi.json`.

Part of the vendored runtime (`runtime_lib`, imported as `chainsc_runtime` in generated
packages). Imports pydantic, `.dispatch` and `.errors`; never imports `compiler`.

The compiler never evaluates the user's types, so no static document is written: the
schemas come from the live `EndpointSpec` (its input model and output adapter, with
validators and `Field(...)` constraints), built once per process.
"""

from __future__ import annotations

from typing import Any

import pydantic

from .dispatch import EndpointSpec
from .errors import RemoteErrorDetail

__all__ = ["openapi_document"]


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
    if endpoint.is_streaming:
        reply = {endpoint.stream_media_type: {"schema": {"type": "string"}}}
    else:
        reply = {"application/json": {"schema": schemas["output", "serialization"]}}
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
