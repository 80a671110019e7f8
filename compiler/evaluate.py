"""A small static evaluator for configuration expressions.

Stage: used by extract for `remote_config` and `depends(...)` arguments. It
understands literals, containers, f-strings, arithmetic and concatenation,
names bound to module- or class-level constants (also across local modules),
enum members of the API, `make_abs_path_here` and calls of the known API
constructors. Anything else is a CSC401 pointing at the exact sub-expression.
Imports: libcst, resolve, schema, diagnostics.
"""

from __future__ import annotations

import operator
import os
import posixpath
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import libcst as cst

from chainsc import schema
from chainsc.confine import PathProblem, normalize
from chainsc.diagnostics import Diagnostic, error
from chainsc.resolve import (
    ApiRef,
    Binding,
    BindingKind,
    ClassRef,
    ExternalRef,
    FunctionRef,
    ModuleInfo,
    ModuleRef,
    Program,
    Target,
    Undefined,
    ValueRef,
    names_assigned_in,
    string_value,
)

STATIC_HELP = (
    "configuration must be static: use literals, lists and dicts, f-strings and arithmetic "
    "of module-level constants, enum members and the chains/truss_config constructors"
)

#: API enums the evaluator knows, member name to value (`chainsc.schema`).
API_ENUMS = schema.ENUMS
#: API constants (`truss_chains.public_types`), by canonical path: the same values as the
#: runtime's `definitions` (`tests/frontend/test_schema.py` compares them).
API_CONSTANTS = schema.CONSTANTS
#: API constructors whose calls evaluate to `ApiCall` values.
API_CONSTRUCTORS = frozenset({*schema.CONSTRUCTORS, *schema.ALIASES})


@dataclass(frozen=True, slots=True)
class Located:
    """Where a value was written: its module and expression."""

    module: ModuleInfo
    node: cst.CSTNode


@dataclass(frozen=True, slots=True)
class EnumMember:
    """An API enum member such as `BasetenImage.PY311`."""

    enum: str
    member: str
    value: str


@dataclass(frozen=True, slots=True)
class PathValue:
    """A path from `make_abs_path_here`, relative to the chain root (POSIX), checked to be inside it."""

    path: str
    #: A directory (else a regular file).
    is_dir: bool = False


@dataclass(frozen=True, slots=True)
class ApiCall:
    """A call of a known API constructor with evaluated arguments."""

    api: str
    args: tuple[Value, ...]
    kwargs: tuple[tuple[str, Value, cst.Arg], ...]
    at: Located


Data = (
    str
    | int
    | float
    | bool
    | None
    | list["Value"]
    | dict[str, "Value"]
    | EnumMember
    | PathValue
    | ApiCall
)


@dataclass(frozen=True, slots=True)
class Value:
    """An evaluated value with the place it came from (for diagnostics)."""

    data: Data
    at: Located

    def plain(self) -> object:
        """The value with locations stripped (lists, dicts, scalars)."""
        data = self.data
        if isinstance(data, list):
            return [item.plain() for item in data]
        if isinstance(data, dict):
            return {key: item.plain() for key, item in data.items()}
        return data


class _TooDeepError(Exception):
    """Internal control flow: evaluation nested `_MAX_DEPTH` deep."""


def _too_deep(module: ModuleInfo, node: cst.CSTNode) -> Diagnostic:
    return error(
        "CSC020",
        f"the value of `{_shorten(module.code(node))}` nests more than {_MAX_DEPTH} levels deep through "
        "the names it uses, more than chainsc supports",
        module.span(node),
        help="build the value with fewer levels of names inside brackets",
    )


class EvaluationError(Exception):
    """Internal control flow: evaluation stopped at a non-static sub-expression."""

    def __init__(self, diagnostic: Diagnostic) -> None:
        super().__init__(diagnostic.message)
        self.diagnostic = diagnostic


class _ReportedError(Exception):
    """Internal control flow: a part failed and was collected (`Evaluator.evaluate_all`)."""


def truthy(data: Data) -> bool:
    """Python's truth value of an evaluated value (`if FLAG:`, `A if FLAG else B`, `and`/`or`)."""
    if isinstance(data, EnumMember | PathValue | ApiCall):
        return True  # objects: always true
    return bool(data)


_BINARY: dict[type[cst.BaseBinaryOp], Callable[[object, object], object]] = {
    cst.Add: operator.add,
    cst.Subtract: operator.sub,
    cst.Multiply: operator.mul,
    cst.Divide: operator.truediv,
    cst.FloorDivide: operator.floordiv,
    cst.Modulo: operator.mod,
    cst.Power: operator.pow,
}


def _compared(op: cst.BaseCompOp, left: object, right: object) -> object:
    """`left <op> right` as Python computes it (TypeError for what Python refuses)."""
    if isinstance(op, cst.Equal):
        return left == right
    if isinstance(op, cst.NotEqual):
        return left != right
    if isinstance(op, cst.Is | cst.IsNot):
        # Identity is only meaningful for the singletons (`X is None`, `FLAG is True`).
        if not any(value is None or isinstance(value, bool) for value in (left, right)):
            raise TypeError("identity of values")
        same = left is right
        return same if isinstance(op, cst.Is) else not same
    if isinstance(op, cst.In | cst.NotIn):
        if not isinstance(right, str | list | dict):
            raise TypeError("not a container")
        found = (
            left in right
            if not isinstance(right, str) or isinstance(left, str)
            else None
        )
        if found is None:
            raise TypeError("not a string")
        return found if isinstance(op, cst.In) else not found
    ordered: dict[type[cst.BaseCompOp], Callable[[Any, Any], object]] = {
        cst.LessThan: operator.lt,
        cst.LessThanEqual: operator.le,
        cst.GreaterThan: operator.gt,
        cst.GreaterThanEqual: operator.ge,
    }
    compare = ordered.get(type(op))
    if compare is None:
        raise TypeError("not a comparison")
    return compare(left, right)


def _plain(data: Data) -> object:
    """A value to compare: scalars as they are, containers without locations, enum members by identity."""
    if isinstance(data, list):
        return [_plain(item.data) for item in data]
    if isinstance(data, dict):
        return {key: _plain(item.data) for key, item in data.items()}
    if isinstance(data, ApiCall | PathValue):
        return object()  # an object: equal to nothing else
    return data


#: The builtin constants a name can alias (`FLAG = True`).
_BUILTIN_CONSTANTS: dict[str, Data] = {
    "builtins.True": True,
    "builtins.False": False,
    "builtins.None": None,
}

#: How deep `_eval` calls may nest, across names (each uses at most two Python frames).
_MAX_DEPTH = 300

#: How a message names the block statement that assigns a name.
_BLOCK_NAMES: dict[type[cst.CSTNode], str] = {
    cst.For: "a `for` loop",
    cst.While: "a `while` loop",
    cst.With: "a `with` block",
    cst.Match: "a `match` statement",
}


@dataclass(slots=True)
class Evaluator:
    """Evaluates expressions of one program; class scopes are passed per call."""

    program: Program
    _active: set[int] = field(default_factory=set)
    #: How many `_eval` calls are on the stack, across the names followed.
    _depth: int = 0
    #: While `evaluate_all` runs: every non-static part found so far.
    _collected: list[Diagnostic] | None = None

    def evaluate(
        self,
        module: ModuleInfo,
        node: cst.BaseExpression,
        scope: ClassRef | None = None,
        before: int | None = None,
    ) -> Value | Diagnostic:
        """Evaluate `node`; a non-static part comes back as a diagnostic."""
        try:
            return self._eval(module, node, scope, before)
        except EvaluationError as exc:
            return exc.diagnostic
        except _TooDeepError:
            return _too_deep(module, node)

    def evaluate_all(
        self,
        module: ModuleInfo,
        node: cst.BaseExpression,
        scope: ClassRef | None = None,
        before: int | None = None,
    ) -> Value | list[Diagnostic]:
        """Evaluate `node`; every non-static part comes back, each located (`remote_config`).

        The items of a container and the arguments of a call are independent: one that is
        not static does not hide the next one. A scalar expression (`a + b`, an f-string)
        is one value: its first part that is not static is reported.
        """
        self._collected = []
        try:
            value = self._eval(module, node, scope, before)
        except EvaluationError as exc:
            self._collected.append(exc.diagnostic)
        except _ReportedError:
            pass
        except _TooDeepError:
            self._collected.append(_too_deep(module, node))
        finally:
            collected, self._collected = self._collected, None
        return collected if collected else value

    def _part(
        self,
        module: ModuleInfo,
        node: cst.BaseExpression,
        scope: ClassRef | None,
        before: int | None,
    ) -> Value | None:
        """One part of a larger value: None when it is not static and was collected."""
        if self._collected is None:
            return self._eval(module, node, scope, before)
        try:
            return self._eval(module, node, scope, before)
        except EvaluationError as exc:
            self._collected.append(exc.diagnostic)
        except _ReportedError:
            pass
        return None

    # -- internals ------------------------------------------------------------

    def _fail(
        self,
        module: ModuleInfo,
        node: cst.CSTNode,
        message: str,
        help_text: str | None = STATIC_HELP,
    ) -> EvaluationError:
        return EvaluationError(
            error("CSC401", message, module.span(node), help=help_text)
        )

    def _eval(
        self,
        module: ModuleInfo,
        node: cst.BaseExpression,
        scope: ClassRef | None,
        before: int | None,
    ) -> Value:
        # Each expression nests at most MAX_NESTING deep (parse checks it), but names make
        # values of values (`A = [B]`, `B = [C]`, ...): a bound, not the interpreter's limit.
        if self._depth >= _MAX_DEPTH:
            raise _TooDeepError  # reported at the outermost name followed (`_named`)
        self._depth += 1
        try:
            at = Located(module, node)
            if isinstance(node, cst.Integer):
                return Value(int(node.value.replace("_", ""), 0), at)
            if isinstance(node, cst.Float):
                return Value(float(node.value.replace("_", "")), at)
            if isinstance(
                node, cst.SimpleString | cst.ConcatenatedString
            ) and not _has_fstring(node):
                value = string_value(node)
                if not isinstance(value, str):
                    raise self._fail(
                        module,
                        node,
                        "bytes literals are not allowed in configuration",
                        None,
                    )
                return Value(value, at)
            if isinstance(node, cst.FormattedString | cst.ConcatenatedString):
                return Value(self._fstring(module, node, scope, before), at)
            if isinstance(node, cst.Name) and node.value in ("True", "False", "None"):
                return Value(
                    {"True": True, "False": False, "None": None}[node.value], at
                )
            if isinstance(node, cst.List | cst.Tuple | cst.Set):
                return Value(self._items(module, node, scope, before), at)
            if isinstance(node, cst.Dict):
                return Value(self._mapping(module, node, scope, before), at)
            if isinstance(node, cst.IfExp):
                test = self._eval(module, node.test, scope, before)
                chosen = node.body if truthy(test.data) else node.orelse
                return self._eval(module, chosen, scope, before)
            if isinstance(node, cst.BooleanOperation):
                return self._boolean(module, node, scope, before)
            if isinstance(node, cst.Comparison):
                return Value(self._compare(module, node, scope, before), at)
            if isinstance(node, cst.UnaryOperation):
                return Value(self._unary(module, node, scope, before), at)
            if isinstance(node, cst.BinaryOperation):
                return Value(self._binary(module, node, scope, before), at)
            if isinstance(node, cst.Name | cst.Attribute):
                return self._named(module, node, scope, before)
            if isinstance(node, cst.Call):
                return self._call(module, node, scope, before)
            if isinstance(node, cst.Subscript):
                raise self._fail(
                    module,
                    node,
                    f"`{_shorten(module.code(node))}` is looked up at run time and is not static",
                )
            raise self._fail(
                module, node, f"`{_shorten(module.code(node))}` is not a static value"
            )
        finally:
            self._depth -= 1

    def _items(
        self,
        module: ModuleInfo,
        node: cst.List | cst.Tuple | cst.Set,
        scope: ClassRef | None,
        before: int | None,
    ) -> list[Value]:
        items: list[Value] = []
        failed = False
        for element in node.elements:
            value = self._part(module, element.value, scope, before)
            if value is None:
                failed = True
            elif not isinstance(element, cst.StarredElement):
                items.append(value)
            elif isinstance(value.data, list):
                items.extend(value.data)
            else:
                failed |= self._collect(
                    self._fail(
                        module, element.value, "only a list can be unpacked here", None
                    )
                )
        if failed:
            raise _ReportedError
        return items

    def _mapping(
        self,
        module: ModuleInfo,
        node: cst.Dict,
        scope: ClassRef | None,
        before: int | None,
    ) -> dict[str, Value]:
        mapping: dict[str, Value] = {}
        failed = False
        for element in node.elements:
            if isinstance(element, cst.StarredDictElement):
                spread = self._part(module, element.value, scope, before)
                if spread is None:
                    failed = True
                elif isinstance(spread.data, dict):
                    mapping.update(spread.data)
                else:
                    failed |= self._collect(
                        self._fail(
                            module,
                            element.value,
                            "only a dict can be unpacked here",
                            None,
                        )
                    )
                continue
            assert isinstance(element, cst.DictElement)
            key = self._part(module, element.key, scope, before)
            if key is not None and not isinstance(key.data, str):
                failed |= self._collect(
                    self._fail(
                        module,
                        element.key,
                        "configuration dict keys must be strings",
                        None,
                    )
                )
                key = None
            value = self._part(module, element.value, scope, before)
            if key is None or value is None:
                failed = True
            else:
                assert isinstance(key.data, str)
                mapping[key.data] = value
        if failed:
            raise _ReportedError
        return mapping

    def _collect(self, exc: EvaluationError) -> bool:
        """Collect a failure of one part (`evaluate_all`), else raise it; True: it failed."""
        if self._collected is None:
            raise exc
        self._collected.append(exc.diagnostic)
        return True

    def _boolean(
        self,
        module: ModuleInfo,
        node: cst.BooleanOperation,
        scope: ClassRef | None,
        before: int | None,
    ) -> Value:
        """`a and b`, `a or b`: the operand Python returns; the right one only when reached."""
        chain = [node]
        while isinstance(chain[-1].left, cst.BooleanOperation):
            chain.append(chain[-1].left)
        value = self._eval(module, chain[-1].left, scope, before)
        for operation in reversed(chain):
            is_and = isinstance(operation.operator, cst.And)
            if truthy(value.data) == is_and:
                value = self._eval(module, operation.right, scope, before)
        return value

    def _compare(
        self,
        module: ModuleInfo,
        node: cst.Comparison,
        scope: ClassRef | None,
        before: int | None,
    ) -> bool:
        """`a == b`, `a in b`, `a < b < c`, `a is None`, ...: on plain values only."""
        left = self._eval(module, node.left, scope, before).data
        for target in node.comparisons:
            right = self._eval(module, target.comparator, scope, before).data
            try:
                outcome = _compared(target.operator, _plain(left), _plain(right))
            except TypeError:
                outcome = None
            if not isinstance(outcome, bool):
                raise self._fail(
                    module,
                    node,
                    f"`{_shorten(module.code(node))}` cannot be evaluated statically",
                )
            if not outcome:
                return False
            left = right
        return True

    def _fstring(
        self,
        module: ModuleInfo,
        node: cst.BaseExpression,
        scope: ClassRef | None,
        before: int | None,
    ) -> str:
        parts: list[str] = []
        for piece in _string_pieces(node):
            parts.append(self._fstring_piece(module, piece, scope, before))
        return "".join(parts)

    def _fstring_piece(
        self,
        module: ModuleInfo,
        node: cst.BaseString,
        scope: ClassRef | None,
        before: int | None,
    ) -> str:
        if isinstance(node, cst.SimpleString):
            value = string_value(node)
            if not isinstance(value, str):
                raise self._fail(
                    module,
                    node,
                    "bytes literals are not allowed in configuration",
                    None,
                )
            return value
        assert isinstance(node, cst.FormattedString)
        parts: list[str] = []
        for part in node.parts:
            if isinstance(part, cst.FormattedStringText):
                parts.append(part.value.replace("{{", "{").replace("}}", "}"))
                continue
            assert isinstance(part, cst.FormattedStringExpression)
            data = self._eval(module, part.expression, scope, before).data
            if part.format_spec:
                raise self._fail(
                    module,
                    part,
                    "format specs in configuration f-strings are not supported",
                    None,
                )
            if isinstance(data, list | dict | ApiCall | PathValue):
                raise self._fail(
                    module,
                    part.expression,
                    "only scalars can be formatted into a string",
                    None,
                )
            scalar = data.value if isinstance(data, EnumMember) else data
            parts.append(repr(scalar) if part.conversion == "r" else str(scalar))
        return "".join(parts)

    def _unary(
        self,
        module: ModuleInfo,
        node: cst.UnaryOperation,
        scope: ClassRef | None,
        before: int | None,
    ) -> Data:
        # `- - - 1` nests one node per operator: applied in a loop, innermost first.
        chain = [node]
        while isinstance(chain[-1].expression, cst.UnaryOperation):
            chain.append(chain[-1].expression)
        data = self._eval(module, chain[-1].expression, scope, before).data
        for unary in reversed(chain):
            if isinstance(unary.operator, cst.Minus) and _is_number(data):
                data = -data  # type: ignore[operator]  # checked by _is_number
            elif isinstance(unary.operator, cst.Plus) and _is_number(data):
                pass
            elif isinstance(unary.operator, cst.Not):
                data = not data
            else:
                raise self._fail(
                    module,
                    unary,
                    f"`{_shorten(module.code(unary))}` cannot be evaluated statically",
                )
        return data

    def _binary(
        self,
        module: ModuleInfo,
        node: cst.BinaryOperation,
        scope: ClassRef | None,
        before: int | None,
    ) -> Data:
        # `a + b + c` nests to the left, one node per operator: folded in a loop.
        chain = [node]
        while isinstance(chain[-1].left, cst.BinaryOperation):
            chain.append(chain[-1].left)
        # One value: its first part that is not static is the one reported.
        left = self._eval(module, chain[-1].left, scope, before).data
        for binary in reversed(chain):
            right = self._eval(module, binary.right, scope, before).data
            left = self._apply(module, binary, left, right)
        return left

    def _apply(
        self, module: ModuleInfo, node: cst.BinaryOperation, left: Data, right: Data
    ) -> Data:
        func = _BINARY.get(type(node.operator))
        plain_types = (str, int, float, list)
        if (
            func is None
            or not isinstance(left, plain_types)
            or not isinstance(right, plain_types)
        ):
            raise self._fail(
                module,
                node,
                f"`{_shorten(module.code(node))}` cannot be evaluated statically",
            )
        if _too_large(node.operator, left, right):
            raise self._fail(
                module,
                node,
                f"`{_shorten(module.code(node))}` makes a value too large for configuration",
                None,
            )
        try:
            result = func(left, right)
        except (
            TypeError,
            ValueError,
            ZeroDivisionError,
            OverflowError,
            MemoryError,
        ) as exc:
            raise self._fail(
                module,
                node,
                f"`{_shorten(module.code(node))}` fails: {str(exc) or type(exc).__name__}",
                None,
            ) from exc
        if isinstance(result, str | int | float | list):
            return result
        raise self._fail(
            module,
            node,
            f"`{_shorten(module.code(node))}` cannot be evaluated statically",
        )

    def _lookup(
        self,
        module: ModuleInfo,
        node: cst.BaseExpression,
        scope: ClassRef | None,
        before: int | None,
    ) -> Target:
        if scope is not None and isinstance(node, cst.Name):
            binding = _class_binding(scope.node, node.value, before_node=None)
            if binding is not None:
                return ValueRef(
                    module,
                    Binding(node.value, BindingKind.ASSIGN, binding, scope.order),
                )
        if isinstance(node, cst.Attribute):
            return self.program.attribute(
                self._lookup(module, node.value, scope, before), node.attr.value
            )
        return self.program.resolve_expr(module, node, before)

    def _named(
        self,
        module: ModuleInfo,
        node: cst.Name | cst.Attribute,
        scope: ClassRef | None,
        before: int | None,
    ) -> Value:
        target = self._lookup(module, node, scope, before)
        written = _shorten(module.code(node))
        at = Located(module, node)
        if isinstance(target, ApiRef):
            if target.path in API_CONSTANTS:
                return Value(API_CONSTANTS[target.path], at)
            if target.path in _BUILTIN_CONSTANTS:
                # `FLAG = True`: the resolver follows the name to the builtin it aliases.
                return Value(_BUILTIN_CONSTANTS[target.path], at)
            enum_name, _, member = target.path.rpartition(".")
            members = API_ENUMS.get(enum_name)
            if members is not None:
                if member not in members:
                    raise EvaluationError(
                        error(
                            "CSC409",
                            f"`{enum_name.rpartition('.')[2]}` has no member `{member}`",
                            module.span(node),
                            help=f"one of: {', '.join(sorted(members))}",
                        )
                    )
                return Value(EnumMember(enum_name, member, members[member]), at)
            raise self._fail(module, node, f"`{written}` is not a static value")
        if isinstance(target, ValueRef):
            # `C2 = C1`, `C1 = C0`, ...: straight to the assignment of a value, in a loop.
            origin, binding = self.program.alias_origin(target.module, target.binding)
            if isinstance(binding.node, cst.For | cst.While | cst.With | cst.Match):
                block = _BLOCK_NAMES[type(binding.node)]
                line = origin.span(binding.node).line
                raise self._fail(
                    module,
                    node,
                    f"`{written}` is assigned in {block} (line {line}) and is not static",
                )
            if binding.kind is not BindingKind.ASSIGN or isinstance(
                binding.node, cst.AugAssign
            ):
                raise self._fail(
                    origin,
                    binding.node,
                    f"`{binding.name}` is modified after assignment and is not static",
                )
            key = id(binding.node)
            if key in self._active:
                raise self._fail(module, node, f"`{written}` refers to itself")
            is_outermost = not self._active
            self._active.add(key)
            try:
                assert isinstance(binding.node, cst.BaseExpression)
                inner = self._eval(origin, binding.node, None, binding.order)
            except _TooDeepError:
                if is_outermost:
                    raise EvaluationError(_too_deep(module, node)) from None
                raise
            finally:
                self._active.discard(key)
            return Value(inner.data, inner.at)
        if isinstance(target, Undefined):
            raise self._fail(module, node, f"`{written}` is not defined", None)
        if isinstance(target, ExternalRef):
            raise self._fail(
                module,
                node,
                f"`{written}` comes from a third-party module and is not statically known",
            )
        if isinstance(target, ClassRef | FunctionRef | ModuleRef):
            raise self._fail(module, node, f"`{written}` is not a configuration value")
        raise self._fail(module, node, f"`{written}` is not a static value")

    def _call(
        self,
        module: ModuleInfo,
        node: cst.Call,
        scope: ClassRef | None,
        before: int | None,
    ) -> Value:
        func = node.func
        target = (
            self._lookup(module, func, scope, before)
            if isinstance(func, cst.Name | cst.Attribute)
            else None
        )
        at = Located(module, node)
        if isinstance(target, ApiRef) and target.path == "chains.make_abs_path_here":
            return Value(self._abs_path(module, node, scope, before), at)
        if isinstance(target, ApiRef) and target.path in API_CONSTRUCTORS:
            args: list[Value] = []
            kwargs: list[tuple[str, Value, cst.Arg]] = []
            failed = False
            for arg in node.args:
                if arg.star:
                    failed |= self._collect(
                        self._fail(
                            module, arg, "`*`/`**` arguments are not static", None
                        )
                    )
                    continue
                value = self._part(module, arg.value, scope, before)
                if value is None:
                    failed = True
                elif arg.keyword is None:
                    args.append(value)
                else:
                    kwargs.append((arg.keyword.value, value, arg))
            if failed:
                raise _ReportedError
            api = schema.ALIASES.get(target.path, target.path)
            return Value(ApiCall(api, tuple(args), tuple(kwargs), at), at)
        if (
            isinstance(target, ApiRef)
            and target.path.rpartition(".")[0] in API_ENUMS
            and len(node.args) == 1
        ):
            # `truss_config.Accelerator("H100")`: an enum looked up by value.
            enum_name = target.path
            value = self._eval(module, node.args[0].value, scope, before)
            members = API_ENUMS.get(enum_name, {})
            for member, member_value in members.items():
                if member_value == value.data:
                    return Value(EnumMember(enum_name, member, member_value), at)
        written = _shorten(module.code(func))
        raise self._fail(
            module,
            node,
            f"the call `{written}(...)` is evaluated at run time and is not static",
        )

    def _abs_path(
        self,
        module: ModuleInfo,
        node: cst.Call,
        scope: ClassRef | None,
        before: int | None,
    ) -> PathValue:
        keyword = node.args[0].keyword if node.args else None
        if len(node.args) != 1 or (
            keyword is not None and keyword.value != "file_path"
        ):
            raise self._fail(
                module, node, "`make_abs_path_here` takes exactly one path", None
            )
        value = self._eval(module, node.args[0].value, scope, before)
        if not isinstance(value.data, str):
            raise self._fail(
                module,
                node.args[0].value,
                "`make_abs_path_here` takes a string path",
                None,
            )
        written = value.data
        at = module.span(node.args[0].value)
        # Relative to the calling file, as Truss resolves it; then confined to the chain root.
        relative = normalize(written, posixpath.dirname(module.path))
        found = (
            self.program.fs.lookup(relative) if isinstance(relative, str) else relative
        )
        if isinstance(found, PathProblem):
            raise EvaluationError(
                error(found.code, found.about(written), at, help=found.help)
            )
        assert isinstance(relative, str)
        if found is None or not (
            found.is_file or (found.is_dir and _has_entries(found.real))
        ):
            looked_for = f" (looked for `{relative}`)" if relative != written else ""
            raise EvaluationError(
                error(
                    "CSC412",
                    f"`{written}` does not exist next to `{module.path}`{looked_for}",
                    at,
                    help="paths given to `make_abs_path_here` are relative to the file that calls it",
                )
            )
        return PathValue(relative, found.is_dir)


def _class_binding(
    node: cst.ClassDef, name: str, before_node: cst.CSTNode | None
) -> cst.BaseExpression | cst.BaseCompoundStatement | None:
    """The value assigned to `name` in a class body (the last assignment)."""
    found: cst.BaseExpression | cst.BaseCompoundStatement | None = None
    for statement in node.body.body:
        if statement is before_node:
            break
        if isinstance(statement, cst.For | cst.While | cst.With | cst.Match):
            if name in names_assigned_in(statement):
                found = statement  # not static: reported as assigned in a block
            continue
        if not isinstance(statement, cst.SimpleStatementLine):
            continue
        for small in statement.body:
            if isinstance(small, cst.Assign):
                for target in small.targets:
                    if (
                        isinstance(target.target, cst.Name)
                        and target.target.value == name
                    ):
                        found = small.value
            elif (
                isinstance(small, cst.AnnAssign)
                and small.value is not None
                and isinstance(small.target, cst.Name)
                and small.target.value == name
            ):
                found = small.value
    return found


def _has_entries(directory: Path) -> bool:
    """Whether a directory has anything in it (Truss refuses an empty one)."""
    try:
        with os.scandir(directory) as entries:
            return next(entries, None) is not None
    except OSError:
        return False


#: The largest string or list (in characters or items) and integer (in bits) configuration
#: arithmetic may make: far beyond any configuration, far below what takes memory or time.
_MAX_SIZE = 1_000_000
_MAX_BITS = 4096
_FORMAT_WIDTHS = re.compile(r"%[-+ #0]*([0-9]*)(?:\.([0-9]*))?")


def _too_large(operator: cst.BaseBinaryOp, left: object, right: object) -> bool:
    """Whether `left <operator> right` would be too large to compute (checked before computing it).

    `"x" * 10**9`, `2 ** 10**10` or a string doubled through thirty names would take the
    build's memory or minutes: configuration values are never that large.
    """
    sizes = [
        len(value) if isinstance(value, str | list) else 0 for value in (left, right)
    ]
    counts = [
        value
        for value in (left, right)
        if isinstance(value, int) and not isinstance(value, bool)
    ]
    if isinstance(operator, cst.Add):
        return sum(sizes) > _MAX_SIZE
    if isinstance(operator, cst.Multiply):
        if max(sizes) and counts:
            return max(sizes) * max(counts[-1], 0) > _MAX_SIZE
        return sum(abs(value).bit_length() for value in counts) > _MAX_BITS
    if isinstance(operator, cst.Power) and len(counts) == 2:
        base, exponent = counts
        return abs(base) > 1 and exponent * abs(base).bit_length() > _MAX_BITS
    if isinstance(operator, cst.Modulo) and isinstance(left, str):
        # `"%999999999d" % 1`: printf-style widths and precisions are characters to make.
        numbers = [
            number for pair in _FORMAT_WIDTHS.findall(left) for number in pair if number
        ]
        if "*" in left or any(len(number) > 7 for number in numbers):
            return True
        return sum(int(number) for number in numbers) + sizes[0] > _MAX_SIZE
    return False


def _has_fstring(node: cst.BaseExpression) -> bool:
    return any(isinstance(piece, cst.FormattedString) for piece in _string_pieces(node))


def _string_pieces(node: cst.BaseExpression) -> list[cst.BaseString]:
    """The literals of `"a" f"b" "c"`, in order (libcst nests them, one level per piece)."""
    pieces: list[cst.BaseString] = []
    stack: list[cst.BaseExpression] = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, cst.ConcatenatedString):
            stack.extend((current.right, current.left))
        elif isinstance(current, cst.SimpleString | cst.FormattedString):
            pieces.append(current)
    return pieces


def _shorten(text: str, limit: int = 80) -> str:
    """Source text for a message: long expressions are cut in the middle."""
    text = " ".join(text.split())
    return (
        text
        if len(text) <= limit
        else f"{text[: limit // 2 - 2]} ... {text[-(limit // 2 - 3) :]}"
    )


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
