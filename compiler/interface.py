"""A Chainlet's interface as data: JSON schemas of its endpoint and its OpenAPI document.

Stage: plan (pure: data in, data out; imports `ir` only). The build never runs user
code, so the schemas are computed from the IR's types, spelled as pydantic 2 spells
them (what `chainsc_runtime.openapi` computes from the live types at run time):
titles from field names, `$ref`s to `components.schemas`, nested classes named by
their qualified name, keys sorted except under `properties` and `default`. What the
IR cannot know is left out rather than guessed: a default that is no literal (nor an
enum member), `Field(...)` constraints, validators, the constraints of a constrained
type or a pydantic alias (its wire type is used). `tests/test_interface.py` compares
the document with the live server's, byte for byte.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from chainsc import ir

__all__ = [
    "SourceFacts",
    "endpoint_interface",
    "openapi_bytes",
    "openapi_document",
    "source_facts",
]

REF_TEMPLATE = "#/components/schemas/"

_BUILTINS: dict[str, dict[str, Any]] = {
    "str": {"type": "string"},
    "int": {"type": "integer"},
    "float": {"type": "number"},
    "bool": {"type": "boolean"},
    "bytes": {"format": "binary", "type": "string"},
}

_STDLIB: dict[str, dict[str, Any]] = {
    "datetime.datetime": {"format": "date-time", "type": "string"},
    "datetime.date": {"format": "date", "type": "string"},
    "datetime.time": {"format": "time", "type": "string"},
    "datetime.timedelta": {"format": "duration", "type": "string"},
    "uuid.UUID": {"format": "uuid", "type": "string"},
    "pathlib.Path": {"format": "path", "type": "string"},
}

#: The 500 reply's `RemoteErrorDetail` (`chainsc_runtime.errors`), as pydantic writes it.
_ERROR_DEFINITIONS: dict[str, Any] = {
    "RemoteErrorDetail": {
        "description": "The error a Chainlet reports in the JSON body of an HTTP 500 "
        'reply (`{"error": ...}`).\n\nSame fields as Truss Chains\' '
        "`RemoteErrorDetail`, so the body is interchangeable.",
        "properties": {
            "exception_cls_name": {"title": "Exception Cls Name", "type": "string"},
            "exception_module_name": {
                "anyOf": [{"type": "string"}, {"type": "null"}],
                "title": "Exception Module Name",
            },
            "exception_message": {"title": "Exception Message", "type": "string"},
            "user_stack_trace": {
                "items": {"$ref": REF_TEMPLATE + "RemoteErrorDetail.StackFrame"},
                "title": "User Stack Trace",
                "type": "array",
            },
        },
        "required": [
            "exception_cls_name",
            "exception_module_name",
            "exception_message",
            "user_stack_trace",
        ],
        "title": "RemoteErrorDetail",
        "type": "object",
    },
    "RemoteErrorDetail.StackFrame": {
        "description": "One frame of the remote user stack.",
        "properties": {
            "filename": {"title": "Filename", "type": "string"},
            "lineno": {
                "anyOf": [{"type": "integer"}, {"type": "null"}],
                "title": "Lineno",
            },
            "name": {"title": "Name", "type": "string"},
            "line": {"anyOf": [{"type": "string"}, {"type": "null"}], "title": "Line"},
        },
        "required": ["filename", "lineno", "name", "line"],
        "title": "StackFrame",
        "type": "object",
    },
}


@dataclass(frozen=True, slots=True)
class SourceFacts:
    """What the IR does not hold, read from the front end's trees (`source_facts`)."""

    #: A `TypeDef.id` or a `Chainlet.id` (its endpoint's, looked up as
    #: `inspect.getdoc` does) -> the cleaned docstring.
    docstrings: Mapping[str, str]
    #: Display path -> its module-level `NAME = <literal>` constants (assigned once),
    #: so a default written `top_k: int = TOP_K` is known.
    constants: Mapping[str, Mapping[str, Any]]
    #: `Chainlet.id` -> (display path, line) of its endpoint's definition.
    endpoints: Mapping[str, tuple[str, int]]


@dataclass(frozen=True, slots=True)
class _Default:
    """A field's or parameter's default as pydantic reports it."""

    #: False: required. True with `known` False: optional, value not computable.
    present: bool
    known: bool = False
    value: Any = None
    description: str | None = None
    title: str | None = None
    #: `Field(...)` keywords that constrain the value (`ge=0`), as written.
    constraints: tuple[tuple[str, Any], ...] = ()


class _Schemas:
    """JSON schemas of IR types; collects the definitions the `$ref`s name."""

    def __init__(self, types: Mapping[str, ir.TypeDef], facts: SourceFacts):
        self.types = types
        self.facts = facts
        self.definitions: dict[str, Any] = {}
        self._names = _definition_names(types.values())
        #: Types named by a `$ref` whose definition is not made yet (`finish`).
        self._pending: list[ir.TypeDef] = []

    def ref(self, typedef_id: str) -> dict[str, Any]:
        """A `$ref` to the type's definition, made later by `finish` (no recursion)."""
        typedef = self.types[typedef_id]
        name = self._names[typedef_id]
        if name not in self.definitions:
            self.definitions[name] = {}
            self._pending.append(typedef)
        return {"$ref": REF_TEMPLATE + name}

    def finish(self) -> dict[str, Any]:
        """Every definition the schemas made so far name, transitively.

        A worklist, so models nested thousands deep need no deep recursion.
        """
        while self._pending:
            typedef = self._pending.pop()
            self.definitions[self._names[typedef.id]] = self.definition(typedef)
        return self.definitions

    def definition(self, typedef: ir.TypeDef) -> dict[str, Any]:
        title = typedef.qualname.rpartition(".")[2]
        doc = self.facts.docstrings.get(typedef.id)
        if typedef.kind is ir.TypeDefKind.ENUM:
            values = [_literal(m.value_source) for m in typedef.members]
            schema: dict[str, Any] = {"enum": values, "title": title}
            kind = _json_type(values)
            if kind is not None:
                schema["type"] = kind
        else:
            properties: dict[str, Any] = {}
            required: list[str] = []
            for field in self.fields(typedef):
                default = _default(field, field.type, self.types, self.facts)
                properties[field.name] = self.property(field, default)
                if not default.present:
                    required.append(field.name)
            schema = {"properties": properties}
            if required:
                schema["required"] = required
            schema.update(title=title, type="object")
        if doc:
            schema["description"] = doc
        return dict(_sorted(schema))

    def fields(self, typedef: ir.TypeDef) -> list[ir.Field]:
        return _fields(typedef, self.types)

    def property(self, owner: ir.Field | ir.Param, default: _Default) -> dict[str, Any]:
        """A field's (or a parameter's) schema in its model, as pydantic writes it."""
        name, ref = owner.name, owner.type
        names = self.facts.constants.get(owner.span.path, {})
        schema = _constrained(dict(self.schema(ref, names)), dict(default.constraints))
        if default.present and default.known:
            schema["default"] = default.value
        if default.description is not None:
            schema["description"] = default.description
        if default.title is not None:
            schema["title"] = default.title
        elif _title_set(ref):
            schema["title"] = name.replace("_", " ").title()
        return dict(_sorted(schema))

    def schema(
        self, ref: ir.TypeRef, names: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """The schema of `ref`; `names`: the constants where it is written."""
        names = names or {}
        if ref.kind is ir.TypeKind.ALIAS and ref.name.startswith("pydantic."):
            inner = self.schema(ref.args[0], names) if ref.args else {}
            return {**inner, **_PYDANTIC_ALIASES.get(ref.name.rpartition(".")[2], {})}
        if ref.kind is ir.TypeKind.CONSTRAINED:
            inner = self.schema(ref.args[0], names) if ref.args else {}
            return _constrained(inner, _constraint_keywords(ref.name, names))
        if ref.kind is ir.TypeKind.ALIAS:
            typedef = self.types.get(ref.name)
            if typedef is not None:  # a user alias: its type is written in its module
                names = self.facts.constants.get(typedef.span.path, {})
            return self.schema(ref.args[0], names) if ref.args else {}
        kind = ref.kind
        if kind is ir.TypeKind.BUILTIN:
            return dict(_BUILTINS.get(ref.name, {}))
        if kind is ir.TypeKind.NONE:
            return {"type": "null"}
        if kind is ir.TypeKind.STDLIB:
            return dict(_STDLIB.get(ref.name, {}))
        if kind is ir.TypeKind.USER:
            typedef = self.types.get(ref.name)
            if typedef is None:
                return {}
            if typedef.kind is ir.TypeDefKind.ALIAS and typedef.aliased is not None:
                where = self.facts.constants.get(typedef.span.path, {})
                return self.schema(typedef.aliased, where)
            return self.ref(ref.name)
        if kind is ir.TypeKind.LIST:
            items = self.schema(ref.args[0], names) if ref.args else {}
            return {"items": items, "type": "array"}
        if kind is ir.TypeKind.DICT:
            value = ref.args[-1] if ref.args else None
            if value is None or ir.unaliased(value).kind is ir.TypeKind.ANY:
                return {"additionalProperties": True, "type": "object"}
            return {"additionalProperties": self.schema(value, names), "type": "object"}
        if kind is ir.TypeKind.TUPLE:
            if ref.is_variadic:
                return {"items": self.schema(ref.args[0], names), "type": "array"}
            n = len(ref.args)
            return {
                "maxItems": n,
                "minItems": n,
                "prefixItems": [self.schema(a, names) for a in ref.args],
                "type": "array",
            }
        if kind is ir.TypeKind.UNION:
            members = [
                a for a in ref.args if ir.unaliased(a).kind is not ir.TypeKind.NONE
            ]
            nullable = len(members) < len(ref.args)
            schemas = [self.schema(a, names) for a in members]
            if nullable:
                schemas.append({"type": "null"})
            return schemas[0] if len(schemas) == 1 else {"anyOf": schemas}
        if kind is ir.TypeKind.LITERAL:
            values = list(ref.literals)
            schema: dict[str, Any] = (
                {"const": values[0]} if len(values) == 1 else {"enum": values}
            )
            json_type = _json_type(values)
            if json_type is not None:
                schema["type"] = json_type
            return schema
        if kind is ir.TypeKind.NUMPY_ARRAY:
            # `chainsc_runtime.pydantic_numpy.NumpyArrayField`'s own schema.
            return {
                "properties": {
                    "data_b64": {"format": "byte", "type": "string"},
                    "shape": {"items": {"type": "integer"}, "type": "array"},
                    "dtype": {"type": "string"},
                },
                "required": ["data_b64", "shape", "dtype"],
                "type": "object",
            }
        return {}  # Any, a stream's item


def _fields(typedef: ir.TypeDef, types: Mapping[str, ir.TypeDef]) -> list[ir.Field]:
    """Inherited fields first (the bases' MRO reversed), a redefinition in place.

    Iterative (a post-order walk of the bases), for inheritance thousands deep.
    """
    order: list[ir.TypeDef] = []
    stack: list[tuple[ir.TypeDef, bool]] = [(typedef, False)]
    seen: set[str] = set()
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        if node.id in seen:
            continue
        seen.add(node.id)
        stack.append((node, True))
        # The last base is visited first, as `reversed(bases)` would.
        stack.extend((types[base], False) for base in node.bases if base in types)
    found: dict[str, ir.Field] = {}
    for node in order:
        for field in node.fields:
            found[field.name] = field
    return list(found.values())


def _title_set(ref: ir.TypeRef) -> bool:
    """Pydantic titles a field unless its type (or `Optional` of it) is a class with a ref."""
    ref = ir.unaliased(ref)
    if ref.kind is ir.TypeKind.UNION:
        members = [a for a in ref.args if ir.unaliased(a).kind is not ir.TypeKind.NONE]
        if len(members) == 1 and len(members) < len(ref.args):
            ref = ir.unaliased(members[0])
    return ref.kind is not ir.TypeKind.USER


def _json_type(values: list[Any]) -> str | None:
    """The one JSON type of literal values, as pydantic names it, or None (mixed)."""
    kinds = set()
    for value in values:
        if isinstance(value, bool):
            kinds.add("boolean")
        elif isinstance(value, int):
            kinds.add("integer")
        elif isinstance(value, float):
            kinds.add("number")
        elif isinstance(value, str):
            kinds.add("string")
        elif value is None:
            kinds.add("null")
        else:
            return None
    return kinds.pop() if len(kinds) == 1 else None


def _literal(source: str) -> Any:
    try:
        return ast.literal_eval(source)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None


def _default(
    owner: ir.Field | ir.Param,
    ref: ir.TypeRef,
    types: Mapping[str, ir.TypeDef],
    facts: SourceFacts,
) -> _Default:
    """A default as written (`3`, `Mode.FAST`, `Field(default=..., description=...)`)."""
    source = owner.default_source
    names = facts.constants.get(owner.span.path, {})
    if source is None:
        return _Default(present=False)
    try:
        node = ast.parse(source, mode="eval").body
    except SyntaxError:
        return _Default(present=True)
    if isinstance(node, ast.Call) and _callee(node.func) == "Field":
        args = {kw.arg: kw.value for kw in node.keywords if kw.arg is not None}
        if node.args:
            args.setdefault("default", node.args[0])
        description = _text(args.get("description"))
        title = _text(args.get("title"))
        constraints = tuple(
            (key, known_value)
            for key, node_value in args.items()
            if key in _CONSTRAINTS
            for known, known_value in [_plain(node_value, names)]
            if known
        )
        value = args.get("default")
        if value is None or (
            isinstance(value, ast.Constant) and value.value is Ellipsis
        ):
            factory = args.get("default_factory")
            return _Default(
                factory is not None,
                description=description,
                title=title,
                constraints=constraints,
            )
        known, result = _value(value, ref, types, facts, names)
        return _Default(True, known, result, description, title, constraints)
    known, result = _value(node, ref, types, facts, names)
    return _Default(True, known, result)


#: `Field(...)` / `con*(...)` keywords -> JSON schema keys (by the schema's `type`
#: for lengths).
_CONSTRAINTS: dict[str, str] = {
    "ge": "minimum",
    "le": "maximum",
    "gt": "exclusiveMinimum",
    "lt": "exclusiveMaximum",
    "multiple_of": "multipleOf",
    "pattern": "pattern",
    "min_length": "min",
    "max_length": "max",
    "examples": "examples",
    "description": "description",
}
_LENGTHS = {
    "string": ("minLength", "maxLength"),
    "array": ("minItems", "maxItems"),
    "object": ("minProperties", "maxProperties"),
}

#: pydantic's constrained scalar types, by name: the keys they add.
_PYDANTIC_ALIASES: dict[str, dict[str, Any]] = {
    "PositiveInt": {"exclusiveMinimum": 0},
    "NegativeInt": {"exclusiveMaximum": 0},
    "NonNegativeInt": {"minimum": 0},
    "NonPositiveInt": {"maximum": 0},
    "PositiveFloat": {"exclusiveMinimum": 0},
    "NegativeFloat": {"exclusiveMaximum": 0},
    "NonNegativeFloat": {"minimum": 0},
    "NonPositiveFloat": {"maximum": 0},
}


def _constrained(schema: dict[str, Any], keywords: Mapping[str, Any]) -> dict[str, Any]:
    """`schema` with the constraints of `Field(...)` or `con*(...)` keywords."""
    for key, value in keywords.items():
        name = _CONSTRAINTS.get(key)
        if name is None:
            continue
        if name in ("min", "max"):
            lengths = _LENGTHS.get(str(schema.get("type")))
            if lengths is None:
                continue
            name = lengths[0] if name == "min" else lengths[1]
        schema[name] = value
    return schema


def _constraint_keywords(expression: str, names: Mapping[str, Any]) -> dict[str, Any]:
    """The literal constraint keywords of `Annotated[T, Field(...)]` or `conint(...)`."""
    try:
        node = ast.parse(expression, mode="eval").body
    except SyntaxError:
        return {}
    calls: list[ast.Call] = []
    if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Tuple):
        calls = [e for e in node.slice.elts[1:] if isinstance(e, ast.Call)]
    elif isinstance(node, ast.Call):
        calls = [node]
    found: dict[str, Any] = {}
    for call in calls:
        for keyword in call.keywords:
            if keyword.arg in _CONSTRAINTS:
                known, value = _plain(keyword.value, names)
                if known:
                    found[keyword.arg] = value
    return found


def _plain(node: ast.expr, names: Mapping[str, Any] | None = None) -> tuple[bool, Any]:
    """(known, value) of a literal, or of a module constant in `names`."""
    if names and isinstance(node, ast.Name) and node.id in names:
        return True, names[node.id]
    try:
        value = ast.literal_eval(node)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return False, None
    return True, list(value) if isinstance(value, tuple) else value


def _callee(node: ast.expr) -> str:
    if isinstance(node, ast.Attribute):
        return node.attr
    return node.id if isinstance(node, ast.Name) else ""


def _text(node: ast.expr | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def _value(
    node: ast.expr,
    ref: ir.TypeRef,
    types: Mapping[str, ir.TypeDef],
    facts: SourceFacts,
    names: Mapping[str, Any],
) -> tuple[bool, Any]:
    """(known, JSON value) of a default.

    A literal, a module constant, a member of the field's enum or an instance of its
    model; anything else is not known.
    """
    if isinstance(node, ast.Name) and node.id in names:
        return True, names[node.id]
    try:
        value = ast.literal_eval(node)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        pass
    else:
        if isinstance(value, tuple):
            value = list(value)
        if isinstance(value, bytes):
            try:
                return True, value.decode("utf-8")
            except UnicodeDecodeError:
                return False, None
        if isinstance(value, set | frozenset | complex):
            return False, None
        return True, value
    if isinstance(node, ast.Call) and not node.args:
        for candidate in _members(ref):
            typedef = types.get(candidate.name)
            if (
                typedef is not None
                and typedef.kind is ir.TypeDefKind.PYDANTIC
                and typedef.qualname.rpartition(".")[2] == _callee(node.func)
            ):
                return _instance(node, typedef, types, facts, names)
        return False, None
    if isinstance(node, ast.Attribute):
        for candidate in _members(ref):
            typedef = types.get(candidate.name)
            if typedef is None or typedef.kind is not ir.TypeDefKind.ENUM:
                continue
            if typedef.qualname.rpartition(".")[2] != _callee(node.value):
                continue
            for member in typedef.members:
                if member.name == node.attr:
                    return True, _literal(member.value_source)
    return False, None


def _instance(
    node: ast.Call,
    typedef: ir.TypeDef,
    types: Mapping[str, ir.TypeDef],
    facts: SourceFacts,
    names: Mapping[str, Any],
) -> tuple[bool, Any]:
    """`Model(a=1)` as pydantic dumps a default instance: every field, by name."""
    given = {kw.arg: kw.value for kw in node.keywords if kw.arg is not None}
    if len(given) != len(node.keywords):
        return False, None
    value: dict[str, Any] = {}
    for field in _fields(typedef, types):
        if field.name in given:
            known, item = _value(given.pop(field.name), field.type, types, facts, names)
        else:
            default = _default(field, field.type, types, facts)
            known, item = default.known, default.value
            if not default.present:
                return False, None
            if not known:
                known, item = _factory_value(field.default_source)
        if not known:
            return False, None
        value[field.name] = item
    return (not given), value if not given else None


def _factory_value(source: str | None) -> tuple[bool, Any]:
    """The value of `Field(default_factory=list)` (or `dict`) in an instance's dump."""
    if source is None:
        return False, None
    try:
        node = ast.parse(source, mode="eval").body
    except SyntaxError:
        return False, None
    if isinstance(node, ast.Call):
        for kw in node.keywords:
            if kw.arg == "default_factory" and isinstance(kw.value, ast.Name):
                made: dict[str, Any] = {"list": [], "dict": {}, "tuple": []}
                if kw.value.id in made:
                    return True, made[kw.value.id]
    return False, None


def _members(ref: ir.TypeRef) -> list[ir.TypeRef]:
    ref = ir.unaliased(ref)
    if ref.kind is ir.TypeKind.UNION:
        return [ir.unaliased(a) for a in ref.args]
    return [ref]


def _definition_names(typedefs: Any) -> dict[str, str]:
    """Definition names as the runtime gives them: the qualname of a uniquely named nested class."""
    by_name: dict[str, set[str]] = {}
    for typedef in typedefs:
        by_name.setdefault(typedef.qualname.rpartition(".")[2], set()).add(
            typedef.qualname
        )
    names = {}
    for typedef in typedefs:
        short = typedef.qualname.rpartition(".")[2]
        names[typedef.id] = typedef.qualname if len(by_name[short]) == 1 else short
    return names


def _sorted(value: Any, parent_key: str | None = None) -> Any:
    """Pydantic's key order: sorted, except the keys under `properties` and `default`."""
    if isinstance(value, dict):
        keys = value if parent_key in ("properties", "default") else sorted(value)
        return {key: _sorted(value[key], key) for key in keys}
    if isinstance(value, list):
        return [_sorted(item, parent_key) for item in value]
    return value


def _stream_media_type(endpoint: ir.Endpoint) -> str:
    item = endpoint.returns.args[0] if endpoint.returns.args else None
    if item is not None and ir.unaliased(item) == ir.TypeRef(
        ir.TypeKind.BUILTIN, "str"
    ):
        return "text/plain; charset=utf-8"
    return "application/octet-stream"


def endpoint_interface(
    chainlet: ir.Chainlet, types: Mapping[str, ir.TypeDef], facts: SourceFacts
) -> dict[str, Any]:
    """What `chain.json` records of a Chainlet's endpoint (`interface`), for `chainsc breaking`.

    Each parameter's schema, whether it is required and its default (when known),
    the output's schema, the streaming and websocket flags and the definitions the
    schemas name.
    """
    endpoint = chainlet.endpoint
    schemas = _Schemas(types, facts)
    place: tuple[str, int | None] = facts.endpoints.get(
        chainlet.id, (endpoint.span.path, None)
    )
    params = []
    for param in endpoint.params:
        if endpoint.is_websocket:
            break
        default = _default(param, param.type, types, facts)
        entry: dict[str, Any] = {
            "name": param.name,
            "required": not default.present,
            "schema": _sorted(
                schemas.schema(param.type, facts.constants.get(param.span.path))
            ),
        }
        if default.present:
            entry["default"] = default.value if default.known else None
            entry["default_known"] = default.known
        params.append(entry)
    result: dict[str, Any] = {
        "name": endpoint.name,
        "file": place[0],
        "line": place[1],
        "streaming": endpoint.is_streaming,
        "websocket": endpoint.is_websocket,
        "params": params,
    }
    if endpoint.is_streaming:
        result["stream_media_type"] = _stream_media_type(endpoint)
    else:
        where = facts.constants.get(endpoint.span.path)
        result["output"] = _sorted(schemas.schema(endpoint.returns, where))
    doc = facts.docstrings.get(chainlet.id)
    if doc:
        result["docstring"] = doc
    result["definitions"] = _sorted(dict(sorted(schemas.finish().items())))
    return result


def openapi_document(
    chainlet: ir.Chainlet, types: Mapping[str, ir.TypeDef], facts: SourceFacts
) -> dict[str, Any] | None:
    """The document the Chainlet's server answers at `GET /openapi.json` (no API key).

    None for a websocket endpoint (the server answers 404: OpenAPI does not describe
    it) and for a Chainlet with no code of its own (no chainsc server serves it).
    Mirrors `chainsc_runtime.openapi.openapi_document` key for key.
    """
    endpoint = chainlet.endpoint
    if endpoint.is_websocket or not chainlet.has_code:
        return None
    schemas = _Schemas(types, facts)
    properties: dict[str, Any] = {}
    required: list[str] = []
    for param in endpoint.params:
        default = _default(param, param.type, types, facts)
        properties[param.name] = schemas.property(param, default)
        if not default.present:
            required.append(param.name)
    input_schema: dict[str, Any] = {
        "description": f"The arguments of `{endpoint.name}`, by name.",
        "properties": properties,
    }
    if required:
        input_schema["required"] = required
    input_schema.update(title="Input", type="object")
    schemas.definitions["Input"] = _sorted(input_schema)
    if endpoint.is_streaming:
        reply = {_stream_media_type(endpoint): {"schema": {"type": "string"}}}
    else:
        where = facts.constants.get(endpoint.span.path)
        output = _sorted(schemas.schema(endpoint.returns, where))
        reply = {"application/json": {"schema": output}}
    definitions = {**schemas.finish(), **_ERROR_DEFINITIONS}
    # pydantic orders definitions by the class's own name, before nested ones are
    # renamed to their qualified name.
    ordered = dict(
        sorted(definitions.items(), key=lambda item: item[0].rpartition(".")[2])
    )
    description = facts.docstrings.get(chainlet.id)
    title = chainlet.display_name
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
            "content": {
                "application/json": {"schema": {"$ref": REF_TEMPLATE + "Input"}}
            },
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
                            "properties": {
                                "error": {"$ref": REF_TEMPLATE + "RemoteErrorDetail"}
                            },
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
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": "1"},
        "paths": {"/run_remote": {"post": operation}},
        "components": {"schemas": ordered},
    }


def openapi_bytes(document: Mapping[str, Any]) -> bytes:
    """The file's bytes: the server's spelling (`chainsc_runtime.openapi.document_bytes`)."""
    return (json.dumps(document, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def source_facts(
    chain: ir.Chain, trees: Mapping[str, ast.Module], paths: Mapping[str, str]
) -> SourceFacts:
    """`SourceFacts` of `chain`, from each module's CPython tree (`paths`: module -> display path)."""
    constants: dict[str, dict[str, Any]] = {}
    for module, tree in trees.items():
        assigned: dict[str, int] = {}
        values: dict[str, Any] = {}
        for statement in tree.body:
            targets: list[ast.expr] = []
            value: ast.expr | None = None
            if isinstance(statement, ast.Assign):
                targets, value = statement.targets, statement.value
            elif isinstance(statement, ast.AnnAssign):
                targets, value = [statement.target], statement.value
            for target in targets:
                if isinstance(target, ast.Name):
                    assigned[target.id] = assigned.get(target.id, 0) + 1
                    known, literal = (
                        _plain(value) if value is not None else (False, None)
                    )
                    if known and not isinstance(
                        literal, bytes | set | frozenset | complex
                    ):
                        values[target.id] = literal
        constants[paths.get(module, module)] = {
            name: value for name, value in values.items() if assigned[name] == 1
        }
    docstrings, endpoints = _docstrings(chain, trees, paths)
    return SourceFacts(docstrings, constants, endpoints)


def _docstrings(
    chain: ir.Chain, trees: Mapping[str, ast.Module], paths: Mapping[str, str]
) -> tuple[dict[str, str], dict[str, tuple[str, int]]]:
    """Docstrings by `TypeDef.id` and `Chainlet.id`; where each endpoint is defined.

    A type's is its class's own (pydantic's `description`); an endpoint's is the
    method's, else that of the nearest user base's method of that name that has one
    (as `inspect.getdoc`). The endpoint's place is the nearest definition's `def`
    line (CPython's tree: a span's line would make libcst compute positions).
    """
    found: dict[str, str] = {}
    places: dict[str, tuple[str, int]] = {}
    for typedef in chain.types:
        node = _class(trees.get(typedef.module), typedef.qualname)
        doc = ast.get_docstring(node) if node is not None else None
        if doc:
            found[typedef.id] = doc
    for chainlet in chain.chainlets:
        for class_id in (chainlet.id, *chainlet.bases):
            module, _, qualname = _split_id(class_id, trees)
            node = _class(trees.get(module), qualname)
            method = next(
                (
                    item
                    for item in (node.body if node is not None else [])
                    if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef)
                    and item.name == chainlet.endpoint.name
                ),
                None,
            )
            if method is None:
                continue
            places.setdefault(chainlet.id, (paths.get(module, module), method.lineno))
            doc = ast.get_docstring(method)
            if doc:
                found[chainlet.id] = doc
                break
        if chainlet.id not in places:  # no code of its own: the class
            node = _class(trees.get(chainlet.module), chainlet.name)
            if node is not None:
                path = paths.get(chainlet.module, chainlet.module)
                places[chainlet.id] = (path, node.lineno)
    return found, places


def _split_id(class_id: str, trees: Mapping[str, ast.Module]) -> tuple[str, str, str]:
    """(module, '.', qualname) of a `module.Qual.Name` id: the longest module prefix."""
    parts = class_id.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        module = ".".join(parts[:cut])
        if module in trees:
            return module, ".", ".".join(parts[cut:])
    return class_id.rpartition(".")


def _class(tree: ast.Module | None, qualname: str) -> ast.ClassDef | None:
    node: ast.Module | ast.ClassDef | None = tree
    for name in qualname.split("."):
        if node is None:
            return None
        node = next(
            (
                item
                for item in node.body
                if isinstance(item, ast.ClassDef) and item.name == name
            ),
            None,
        )
    return node if isinstance(node, ast.ClassDef) else None
