"""The rules of websocket endpoints, as Truss Chains enforces them (CSC330-CSC339).

Stage: validate (the functions are rules of `validate.RULES` and `validate.CHAIN_RULES`).
A websocket endpoint is `async def run_remote(self, websocket: chains.WebSocketProtocol)
-> None` (`ir.Endpoint.kind`): the session is the endpoint's only parameter, the
Chainlet talks to its caller over it for as long as `run_remote` runs. Truss 0.18.36
checks (`truss_chains.framework`): no other parameter, `None` returned, `async`, never
the target of `chains.depends` (only the entrypoint serves websockets), and a
`ChainletOptions(transport=...)` that is `WebsocketOptions` for a websocket endpoint
and only for one. Each rule here points at the parameter, annotation or value that
breaks it, where Truss names only the class or method.

Four more, where Truss accepts the chain and then fails at run time (chainsc's runtime
would too, or would serve something Truss does not):

- `chains.WebSocketProtocol` anywhere but as a parameter's whole annotation (a return,
  a container: CSC333; a pydantic field: CSC339): pydantic has no schema for it;
- a websocket `predict` of a `chains.ModelBase`: Truss's generated model calls
  `run_remote` of a websocket Chainlet, which a `ModelBase` does not have;
- a keyword-only websocket parameter: Truss passes the websocket positionally.

Imports: ir, source, observations, diagnostics, annotations (what a type contains).
"""

from __future__ import annotations

from collections.abc import Iterator

from chainsc import ir
from chainsc.annotations import contains_websocket
from chainsc.diagnostics import Diagnostic, error
from chainsc.observations import MethodSeen, Observations, ParamSeen, takes_self
from chainsc.source import Span

__all__ = [
    "check_websocket_dependencies",
    "check_websocket_endpoints",
    "check_websocket_fields",
    "check_websocket_transport",
]

_PROTOCOL = "chains.WebSocketProtocol"
_SIGNATURE = "async def run_remote(self, websocket: chains.WebSocketProtocol) -> None"


def _parameters(method: MethodSeen) -> list[ParamSeen]:
    """The endpoint's parameters (not `self`), in order."""
    positional = list(method.positional)
    if takes_self(method.decorators, positional[0].name if positional else None):
        positional = positional[1:]
    return [p for p in (*positional, *method.keyword_only) if p.name != "self"]


def check_websocket_endpoints(seen: Observations) -> Iterator[Diagnostic]:
    """CSC330, CSC331, CSC332, CSC333, CSC337, CSC338: a websocket endpoint's signature, and where the protocol may stand."""
    for method in seen.methods:
        if method.is_stub:
            continue  # a stub's method is the user's own client code
        name = method.name
        params = _parameters(method)
        for param in params:
            if param.has_websocket and not param.is_websocket:
                yield _misplaced(
                    f"parameter `{param.name}` of `{name}`",
                    param.annotation or param.span,
                )
        returns = method.returns
        if returns is not None and returns.has_websocket:
            yield _misplaced(
                f"the return of `{name}`", returns.annotation or returns.span
            )
        websockets = [param for param in params if param.is_websocket]
        if not websockets:
            continue
        first = websockets[0]
        if name == "predict":
            yield error(
                "CSC337",
                f"`{method.owner}` is a `chains.ModelBase`, whose `predict` cannot take a websocket: Truss serves a websocket only through `run_remote`",
                first.annotation or first.span,
                help=f"derive `{method.owner}` from `chains.ChainletBase` and write `{_SIGNATURE}`",
            )
            continue
        for param in params:
            if param is not first:
                yield error(
                    "CSC330",
                    f"a websocket endpoint takes only the websocket: `{name}` cannot also take `{param.name}`",
                    param.span,
                    help="receive data over the websocket (`await websocket.receive_json()`)",
                )
        if any(param is first for param in method.keyword_only):
            yield error(
                "CSC338",
                f"the websocket `{first.name}` of `{name}` is keyword-only, but Truss passes the websocket positionally",
                first.span,
                help=f"remove the `*` before it: `{_SIGNATURE}`",
            )
        if returns is not None and returns.type_kind is not ir.TypeKind.NONE:
            yield error(
                "CSC331",
                f"a websocket endpoint returns `None`, not `{returns.annotation_code}`: `{name}` answers over the websocket",
                returns.annotation or returns.span,
                help="send results with `await websocket.send_text(...)` (or `send_bytes`, `send_json`) and annotate `-> None`",
            )
        if not method.is_async:
            yield error(
                "CSC332",
                f"a websocket endpoint must be `async def`: `{name}` is a plain `def`",
                method.name_span,
                help=f"write `{_SIGNATURE}`",
            )


def _misplaced(what: str, span: Span, code: str = "CSC333") -> Diagnostic:
    """CSC333 (CSC339 for a model field) at `span`."""
    return error(
        code,
        f"{what} uses `{_PROTOCOL}`, which is only the whole annotation of a websocket endpoint's one parameter",
        span,
        help=f"a websocket endpoint is `{_SIGNATURE}`",
    )


def check_websocket_dependencies(seen: Observations) -> Iterator[Diagnostic]:
    """CSC334: a Chainlet that serves a websocket is never a dependency: only the entrypoint serves one."""
    websockets = set(seen.websocket_chainlets)
    if not websockets:
        return
    for init in seen.inits:
        for param in init.params:
            if param.target in websockets and param.target_span is not None:
                target = param.target.rpartition(".")[2]
                yield error(
                    "CSC334",
                    f"`{target}` serves a websocket, so it can only be the entrypoint, never a dependency (`{param.name}` of `{init.owner}`)",
                    param.target_span,
                    help=f"give `{target}` an HTTP endpoint (`run_remote` with typed parameters) to call it from another Chainlet",
                )


def check_websocket_transport(seen: Observations) -> Iterator[Diagnostic]:
    """CSC335, CSC336: `WebsocketOptions` transport for a websocket endpoint, and only for one."""
    for transport in seen.transports:
        if transport.kind is None:
            continue  # not a transport Truss knows: reported where it was read
        if transport.endpoint_is_websocket and transport.kind != "websocket":
            yield error(
                "CSC335",
                f"`{transport.chainlet}` serves a websocket, so its `transport` must be `truss_config.WebsocketOptions(...)`, not the `{transport.kind}` transport",
                transport.span,
                help="use `truss_config.WebsocketOptions(...)` (its ping settings), or leave `transport` out: a websocket endpoint gets it by default",
            )
        elif not transport.endpoint_is_websocket and transport.kind == "websocket":
            yield error(
                "CSC336",
                f"the websocket transport is only for websocket endpoints, and `{transport.chainlet}` takes no `{_PROTOCOL}`",
                transport.span,
                help=f"leave `transport` out, or serve a websocket: `{_SIGNATURE}`",
            )


def check_websocket_fields(chain: ir.Chain) -> Iterator[Diagnostic]:
    """CSC339: no pydantic field of an I/O type is a websocket (pydantic has no schema for it)."""
    for typedef in chain.types:
        for field in typedef.fields:
            if contains_websocket(field.type):
                yield _misplaced(
                    f"field `{field.name}` of `{typedef.qualname}`",
                    field.span,
                    "CSC339",
                )
