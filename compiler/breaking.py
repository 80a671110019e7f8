"""Which interface changes between two builds break callers (`chainsc breaking`).

Stage: shared helper, pure (data in, data out): two `chain.json` manifests in, a list of
`Change`s out; reading the files (or a git ref) and printing are the CLI's. It compares
what each manifest records of each Chainlet's endpoint (`interface`, written by
`chainsc.interface.endpoint_interface`): parameters, their JSON schemas and defaults,
the output's schema, the streaming and websocket flags.

A parameter is contravariant: the new schema must accept every value the old one did
(widening is safe, narrowing breaks). A return is covariant: every value the new one
returns must be one the old one could (narrowing is safe, widening breaks). Schemas are
compared structurally (`accepts`), `$ref`s resolved in each side's definitions.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "Change",
    "ManifestError",
    "Severity",
    "accepts",
    "compare",
    "render_github",
    "render_json",
    "render_text",
    "validate_manifest",
]

_REF = "#/components/schemas/"


class Severity(enum.Enum):
    """What a change means for callers."""

    BREAKING = "breaking"
    SAFE = "safe"


@dataclass(frozen=True, slots=True)
class Change:
    """One classified difference between the two builds."""

    severity: Severity
    #: A short stable name: `parameter-removed`, `type-narrowed`, `chainlet-added`, ...
    kind: str
    #: `Chainlet.id`, or "" for a chain-wide change (the entrypoint).
    chainlet: str
    message: str
    #: Where to point: the chain source file (relative to the chain root) and line.
    file: str
    line: int | None = None
    parameter: str | None = None


class ManifestError(ValueError):
    """A `chain.json` that chainsc did not write, or one without endpoint schemas."""


def validate_manifest(document: object, where: str) -> Mapping[str, Any]:
    """`document` if it is a chainsc manifest with interfaces, else ManifestError."""
    if not isinstance(document, dict) or document.get("generated_by") != "chainsc":
        raise ManifestError(f"{where} is not a chain.json written by chainsc")
    chainlets = document.get("chainlets")
    if not isinstance(chainlets, dict):
        raise ManifestError(f"{where} has no Chainlets")
    for chainlet_id, entry in chainlets.items():
        if not isinstance(entry, dict) or not isinstance(entry.get("interface"), dict):
            raise ManifestError(
                f"{where}: Chainlet `{chainlet_id}` has no endpoint schema "
                "(`interface`): it was built by an older chainsc; build it again"
            )
    return document


def compare(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[Change]:
    """Every difference of the endpoints of `old` and `new`, classified, in a stable order."""
    changes: list[Change] = []
    source = str(new.get("source", ""))
    old_chainlets: Mapping[str, Any] = old["chainlets"]
    new_chainlets: Mapping[str, Any] = new["chainlets"]
    if old.get("entrypoint") != new.get("entrypoint"):
        entry = new_chainlets.get(str(new.get("entrypoint")), {}).get("interface", {})
        changes.append(
            Change(
                Severity.BREAKING,
                "entrypoint-changed",
                "",
                f"the entrypoint changed from `{_name(old, old.get('entrypoint'))}` "
                f"to `{_name(new, new.get('entrypoint'))}`",
                entry.get("file", source),
                entry.get("line"),
            )
        )
    for chainlet_id in sorted(set(old_chainlets) | set(new_chainlets)):
        if chainlet_id not in new_chainlets:
            changes.append(
                Change(
                    Severity.BREAKING,
                    "chainlet-removed",
                    chainlet_id,
                    f"Chainlet `{old_chainlets[chainlet_id]['name']}` was removed",
                    source,
                )
            )
        elif chainlet_id not in old_chainlets:
            interface = new_chainlets[chainlet_id]["interface"]
            changes.append(
                Change(
                    Severity.SAFE,
                    "chainlet-added",
                    chainlet_id,
                    f"Chainlet `{new_chainlets[chainlet_id]['name']}` was added",
                    interface.get("file", source),
                    interface.get("line"),
                )
            )
        else:
            changes.extend(
                _endpoint(
                    chainlet_id,
                    str(new_chainlets[chainlet_id]["name"]),
                    old_chainlets[chainlet_id]["interface"],
                    new_chainlets[chainlet_id]["interface"],
                    source,
                )
            )
    return changes


def _name(manifest: Mapping[str, Any], chainlet_id: object) -> str:
    entry = manifest["chainlets"].get(str(chainlet_id))
    return str(entry["name"]) if isinstance(entry, dict) else str(chainlet_id)


class _Where:
    """Builds the `Change`s of one endpoint, all pointing at its definition."""

    def __init__(self, chainlet_id: str, label: str, file: str, line: int | None):
        self.chainlet_id = chainlet_id
        self.label = label
        self.file = file
        self.line = line
        self.changes: list[Change] = []

    def add(
        self, severity: Severity, kind: str, message: str, parameter: str | None = None
    ) -> None:
        self.changes.append(
            Change(
                severity,
                kind,
                self.chainlet_id,
                f"{self.label}: {message}",
                self.file,
                self.line,
                parameter,
            )
        )


def _endpoint(  # noqa: PLR0915 - one table of rules, read top to bottom
    chainlet_id: str,
    name: str,
    old: Mapping[str, Any],
    new: Mapping[str, Any],
    source: str,
) -> list[Change]:
    where = _Where(
        chainlet_id,
        f"`{name}.{new.get('name')}`",
        str(new.get("file", source)),
        new.get("line"),
    )
    old_defs = old.get("definitions", {})
    new_defs = new.get("definitions", {})
    if old.get("name") != new.get("name"):
        where.add(
            Severity.BREAKING,
            "endpoint-renamed",
            f"the endpoint was `{old.get('name')}` before",
        )
    for flag, what in (("streaming", "streams"), ("websocket", "serves a websocket")):
        if bool(old.get(flag)) != bool(new.get(flag)):
            now = "now" if new.get(flag) else "no longer"
            where.add(Severity.BREAKING, f"{flag}-toggled", f"{now} {what}")
    if bool(old.get("websocket")) != bool(new.get("websocket")):
        return where.changes  # nothing else is comparable
    old_params = {p["name"]: p for p in old.get("params", [])}
    new_params = {p["name"]: p for p in new.get("params", [])}
    added = [p for p in new.get("params", []) if p["name"] not in old_params]
    for position, param in enumerate(old.get("params", [])):
        pname = param["name"]
        if pname in new_params:
            continue
        renamed = next(
            (
                candidate
                for candidate in added
                if new.get("params", []).index(candidate) == position
                and candidate["schema"] == param["schema"]
            ),
            None,
        )
        if renamed is not None:
            where.add(
                Severity.BREAKING,
                "parameter-renamed",
                f"parameter `{pname}` was renamed to `{renamed['name']}`",
                pname,
            )
            added.remove(renamed)
        else:
            where.add(
                Severity.BREAKING,
                "parameter-removed",
                f"parameter `{pname}` was removed",
                pname,
            )
    for param in added:
        pname = param["name"]
        if param["required"]:
            where.add(
                Severity.BREAKING,
                "parameter-added-required",
                f"new required parameter `{pname}`",
                pname,
            )
        else:
            where.add(
                Severity.SAFE,
                "parameter-added-optional",
                f"new optional parameter `{pname}`",
                pname,
            )
    for pname, before in old_params.items():
        after = new_params.get(pname)
        if after is None:
            continue
        if not before["required"] and after["required"]:
            where.add(
                Severity.BREAKING,
                "default-removed",
                f"parameter `{pname}` lost its default (now required)",
                pname,
            )
        elif before["required"] and not after["required"]:
            where.add(
                Severity.SAFE,
                "default-added",
                f"parameter `{pname}` got a default (now optional)",
                pname,
            )
        elif not after["required"] and (
            before.get("default") != after.get("default")
            or before.get("default_known") != after.get("default_known")
        ):
            where.add(
                Severity.SAFE,
                "default-changed",
                f"parameter `{pname}`'s default changed",
                pname,
            )
        if not accepts(after["schema"], new_defs, before["schema"], old_defs):
            where.add(
                Severity.BREAKING,
                "type-narrowed",
                f"parameter `{pname}` accepts less than before: "
                f"{_brief(before['schema'])} -> {_brief(after['schema'])}",
                pname,
            )
        elif not accepts(before["schema"], old_defs, after["schema"], new_defs):
            where.add(
                Severity.SAFE,
                "type-widened",
                f"parameter `{pname}` accepts more than before: "
                f"{_brief(before['schema'])} -> {_brief(after['schema'])}",
                pname,
            )
        elif _resolved(before["schema"], old_defs) != _resolved(
            after["schema"], new_defs
        ):
            where.add(
                Severity.SAFE,
                "type-changed-compatibly",
                f"parameter `{pname}`'s schema changed compatibly",
                pname,
            )
    if old.get("streaming") and new.get("streaming"):
        if old.get("stream_media_type") != new.get("stream_media_type"):
            where.add(
                Severity.BREAKING,
                "stream-type-changed",
                f"streams `{new.get('stream_media_type')}` instead of "
                f"`{old.get('stream_media_type')}`",
            )
    elif not old.get("streaming") and not new.get("streaming"):
        before, after = old.get("output", {}), new.get("output", {})
        if not accepts(before, old_defs, after, new_defs, output=True):
            where.add(
                Severity.BREAKING,
                "return-type-changed",
                "returns values the old return type did not allow: "
                f"{_brief(before)} -> {_brief(after)}",
            )
        elif _resolved(before, old_defs) != _resolved(after, new_defs):
            where.add(
                Severity.SAFE,
                "return-type-narrowed",
                f"returns a narrower type: {_brief(before)} -> {_brief(after)}",
            )
    if old.get("docstring") != new.get("docstring"):
        where.add(Severity.SAFE, "docstring-changed", "docstring changed")
    return where.changes


def _brief(schema: Any) -> str:
    """A schema in one short line, for messages."""
    text = json.dumps(schema, sort_keys=True, separators=(",", ":"))
    text = text.replace(_REF, "")
    return text if len(text) <= 80 else text[:77] + "..."


def _resolved(schema: Any, definitions: Mapping[str, Any], depth: int = 0) -> Any:
    """`schema` with `$ref`s inlined (to a bounded depth), for equality."""
    if depth > 20:
        return schema
    if isinstance(schema, dict):
        ref = schema.get("$ref")
        if isinstance(ref, str) and ref.startswith(_REF):
            target = definitions.get(ref[len(_REF) :], {})
            rest = {k: v for k, v in schema.items() if k != "$ref"}
            return _resolved({**target, **rest}, definitions, depth + 1)
        return {
            key: _resolved(value, definitions, depth)
            for key, value in schema.items()
            if key not in ("title", "description", "default", "examples")
        }
    if isinstance(schema, list):
        return [_resolved(item, definitions, depth) for item in schema]
    return schema


#: Bounds: a wider schema has a lower (or no) lower bound and a higher (or no) upper one.
_LOWER = ("minimum", "exclusiveMinimum", "minLength", "minItems", "minProperties")
_UPPER = ("maximum", "exclusiveMaximum", "maxLength", "maxItems", "maxProperties")


def accepts(
    wide: Any,
    wide_defs: Mapping[str, Any],
    narrow: Any,
    narrow_defs: Mapping[str, Any],
    *,
    output: bool = False,
) -> bool:
    """Whether every value `narrow` allows is one `wide` allows (conservatively).

    JSON schemas as pydantic writes them (`chainsc.interface`); `True` or `{}` is any
    value. A model's field that one side lacks counts against compatibility even
    where pydantic would ignore it: for an argument (`output` False, `narrow` the
    old schema) a field the new model lacks is one callers send for nothing; for a
    return (`output` True, `narrow` the new schema) one it lacks is one callers no
    longer get, defaulted or not.
    """
    if wide == narrow and wide_defs == narrow_defs:
        return True  # unchanged (however deeply nested)
    try:
        return _Accepts(wide_defs, narrow_defs, output).check(wide, narrow)
    except RecursionError:
        return False  # too deep to compare: reported as incompatible, never as safe


class _Accepts:
    def __init__(
        self,
        wide_defs: Mapping[str, Any],
        narrow_defs: Mapping[str, Any],
        output: bool,
    ):
        self.wide_defs = wide_defs
        self.narrow_defs = narrow_defs
        self.output = output
        self.assumed: set[tuple[str, str]] = set()

    def check(self, wide: Any, narrow: Any) -> bool:
        wide = _bare(wide)
        narrow = _bare(narrow)
        wide_ref, narrow_ref = wide.get("$ref"), narrow.get("$ref")
        if isinstance(wide_ref, str) or isinstance(narrow_ref, str):
            pair = (str(wide_ref), str(narrow_ref))
            if pair in self.assumed:
                return True  # a recursive type: assume, as the rest is compared
            self.assumed.add(pair)
            return self.check(
                self._deref(wide, self.wide_defs), self._deref(narrow, self.narrow_defs)
            )
        if not wide:
            return True
        if "anyOf" in narrow:
            rest = {k: v for k, v in narrow.items() if k != "anyOf"}
            return all(self.check(wide, {**rest, **m}) for m in narrow["anyOf"])
        if "anyOf" in wide:
            return any(self.check(member, narrow) for member in wide["anyOf"])
        if not narrow:
            return False
        values = _values(narrow)
        if values is not None:
            wide_values = _values(wide)
            if wide_values is not None:
                return all(v in wide_values for v in values)
            return all(_fits(wide, v) for v in values)
        if _values(wide) is not None:
            return False
        wide_type, narrow_type = wide.get("type"), narrow.get("type")
        if wide_type is not None and not (
            wide_type == narrow_type
            or (wide_type == "number" and narrow_type == "integer")
        ):
            return False
        for key in ("format", "pattern"):
            if key in wide and wide.get(key) != narrow.get(key):
                return False
        for key in _LOWER:
            if key in wide and not (key in narrow and narrow[key] >= wide[key]):
                return False
        for key in _UPPER:
            if key in wide and not (key in narrow and narrow[key] <= wide[key]):
                return False
        if narrow_type == "array" or wide_type == "array":
            return self._array(wide, narrow)
        if narrow_type == "object" or wide_type == "object":
            return self._object(wide, narrow)
        return True

    def _deref(self, schema: dict[str, Any], defs: Mapping[str, Any]) -> Any:
        ref = schema.get("$ref")
        if not isinstance(ref, str):
            return schema
        target = defs.get(ref.removeprefix(_REF))
        if not isinstance(target, dict):
            return schema  # dangling: compared as written
        rest = {k: v for k, v in schema.items() if k != "$ref"}
        return {**target, **rest}

    def _array(self, wide: dict[str, Any], narrow: dict[str, Any]) -> bool:
        wide_prefix, narrow_prefix = wide.get("prefixItems"), narrow.get("prefixItems")
        if wide_prefix is not None:
            if narrow_prefix is None or len(narrow_prefix) != len(wide_prefix):
                return False
            return all(
                self.check(w, n)
                for w, n in zip(wide_prefix, narrow_prefix, strict=True)
            )
        wide_items = wide.get("items", {})
        if narrow_prefix is not None:
            return all(self.check(wide_items, n) for n in narrow_prefix)
        return self.check(wide_items, narrow.get("items", {}))

    def _object(self, wide: dict[str, Any], narrow: dict[str, Any]) -> bool:
        wide_props: Mapping[str, Any] = wide.get("properties", {})
        narrow_props: Mapping[str, Any] = narrow.get("properties", {})
        narrow_required = set(narrow.get("required", []))
        for key in wide.get("required", []):
            if key not in narrow_required:
                return False
        for key, schema in wide_props.items():
            if key in narrow_props and not self.check(schema, narrow_props[key]):
                return False
        if self.output and set(wide_props) - set(narrow_props):
            return False  # a field no longer returned
        if not self.output and set(narrow_props) - set(wide_props):
            return False  # a field callers send that is no longer read
        wide_extra = wide.get("additionalProperties", True)
        narrow_extra = narrow.get("additionalProperties", True)
        if wide_extra is False:
            return narrow_extra is False
        if isinstance(wide_extra, dict) and wide_extra:
            if not isinstance(narrow_extra, dict) or not narrow_extra:
                return False  # any value where only some are allowed
            return self.check(wide_extra, narrow_extra)
        return True


def _bare(schema: Any) -> dict[str, Any]:
    """A schema without the keys that describe rather than constrain."""
    if schema is True or schema is None:
        return {}
    if not isinstance(schema, dict):
        return {"const": schema}
    return {
        key: value
        for key, value in schema.items()
        if key not in ("title", "description", "default", "examples")
    }


def _values(schema: Mapping[str, Any]) -> list[Any] | None:
    if "const" in schema:
        return [schema["const"]]
    if "enum" in schema:
        return list(schema["enum"])
    if schema.get("type") == "null":
        return [None]
    return None


def _fits(schema: Mapping[str, Any], value: Any) -> bool:
    """Whether a literal value is of `schema`'s type (its bounds aside)."""
    kind = schema.get("type")
    if kind is None:
        return True
    checks = {
        "string": lambda v: isinstance(v, str),
        "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
        "boolean": lambda v: isinstance(v, bool),
        "null": lambda v: v is None,
    }
    check = checks.get(str(kind))
    return bool(check(value)) if check is not None else False


def render_text(changes: Sequence[Change]) -> str:
    """One line per change, breaking first, and a summary line."""
    lines = [
        f"{'BREAKING' if c.severity is Severity.BREAKING else 'safe    '}  "
        f"{_location(c)}{c.message}"
        for c in _ordered(changes)
    ]
    breaking = sum(c.severity is Severity.BREAKING for c in changes)
    safe = len(changes) - breaking
    if not changes:
        lines.append("no interface changes")
    else:
        lines.append(
            f"{breaking} breaking change{'s' * (breaking != 1)}, "
            f"{safe} safe change{'s' * (safe != 1)}"
        )
    return "\n".join(lines) + "\n"


def render_json(changes: Sequence[Change]) -> str:
    """`{"breaking": bool, "changes": [...]}`, sorted keys."""
    document = {
        "breaking": any(c.severity is Severity.BREAKING for c in changes),
        "changes": [
            {
                "severity": c.severity.value,
                "kind": c.kind,
                "chainlet": c.chainlet,
                "parameter": c.parameter,
                "message": c.message,
                "file": c.file,
                "line": c.line,
            }
            for c in _ordered(changes)
        ],
    }
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


def render_github(changes: Sequence[Change]) -> str:
    """GitHub workflow commands: `::error` for a breaking change, `::notice` for a safe one."""
    lines = []
    for change in _ordered(changes):
        level = "error" if change.severity is Severity.BREAKING else "notice"
        props = [f"file={_escape_property(change.file)}"]
        if change.line is not None:
            props.append(f"line={change.line}")
        title = "breaking change" if level == "error" else "safe change"
        props.append(f"title={_escape_property(title)}")
        lines.append(f"::{level} {','.join(props)}::{_escape_data(change.message)}")
    return "".join(line + "\n" for line in lines)


def _ordered(changes: Sequence[Change]) -> list[Change]:
    return sorted(
        changes, key=lambda c: (c.severity is not Severity.BREAKING, c.chainlet, c.kind)
    )


def _location(change: Change) -> str:
    if not change.file:
        return ""
    return f"{change.file}:{change.line}: " if change.line else f"{change.file}: "


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")
