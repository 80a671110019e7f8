"""Errors of the chainsc runtime and the JSON error detail sent between Chainlets.

Part of the vendored runtime (`runtime_lib`, imported as `chainsc_runtime` in generated
packages). Imports only the standard library and pydantic; never imports `compiler`.

Two families:

- the Truss Chains names (`GenericRemoteException`, `RemoteErrorDetail`, `ChainsUsageError`,
  `MissingDependencyError`, `ChainsRuntimeError`, `ChainsDeploymentError`), with Truss's
  semantics;
- `ChainletCallError` and its subclasses: a call to a dependency failed without a user error
  from it (unreachable, timed out, rejected its arguments, unexpected HTTP status). Each names
  the dependency's service and URL and also derives from the matching builtin class
  (`ConnectionError`, `TimeoutError`, `ValueError`), so existing `except` clauses keep working.
"""

from __future__ import annotations

import builtins
import sys
import textwrap
import traceback

import pydantic

__all__ = [
    "ChainletCallError",
    "ChainletTimeoutError",
    "ChainletUnavailableError",
    "ChainsDeploymentError",
    "ChainsRuntimeError",
    "ChainsUsageError",
    "GenericRemoteException",
    "MissingDependencyError",
    "RemoteErrorDetail",
    "RemoteValidationError",
    "remote_exception",
]


class ChainsUsageError(TypeError):
    """Raised when user-defined Chainlets do not adhere to API constraints."""


class MissingDependencyError(TypeError):
    """Raised when a needed resource (service URL, secret, file) could not be found."""


class ChainsRuntimeError(Exception):
    """Raised when components are not used the expected way at runtime."""


class ChainsDeploymentError(Exception):
    """Raised when a chain deployment cannot be reached (Truss's name; never raised here)."""


class GenericRemoteException(Exception):  # noqa: N818  # the Truss Chains name
    """A dependency raised an exception whose class cannot be re-raised in the caller.

    Attributes:
        remote_class: (class name, module) of what the dependency raised, when it came
            as a remote error whose class this process does not have: if it propagates,
            this Chainlet's own caller is told that class (`dispatch.error_detail`), so a
            caller that has it (a middle hop's package need not carry every class of the
            chain's modules) re-raises it as such.
    """

    remote_class: tuple[str, str | None] | None = None


class RemoteErrorDetail(pydantic.BaseModel):
    """The error a Chainlet reports in the JSON body of an HTTP 500 reply (`{"error": ...}`).

    Same fields as Truss Chains' `RemoteErrorDetail`, so the body is interchangeable.
    """

    model_config = pydantic.ConfigDict(strict=True, validate_assignment=True)

    class StackFrame(pydantic.BaseModel):
        """One frame of the remote user stack."""

        model_config = pydantic.ConfigDict(strict=True, validate_assignment=True)

        filename: str
        lineno: int | None
        name: str
        line: str | None

        @classmethod
        def from_frame_summary(
            cls, frame: traceback.FrameSummary
        ) -> RemoteErrorDetail.StackFrame:
            """The frame of a `traceback.FrameSummary`."""
            return cls(
                filename=frame.filename,
                lineno=frame.lineno,
                name=frame.name,
                line=frame.line,
            )

        def to_frame_summary(self) -> traceback.FrameSummary:
            """Back to a `traceback.FrameSummary` (for `traceback.format_list`)."""
            return traceback.FrameSummary(
                filename=self.filename,
                lineno=self.lineno,
                name=self.name,
                line=self.line,
            )

    exception_cls_name: str
    exception_module_name: str | None
    exception_message: str
    user_stack_trace: list[StackFrame]

    def format(self) -> str:
        """Format like a Python traceback, most recent call last (Truss's layout)."""
        stack = "".join(
            traceback.format_list([f.to_frame_summary() for f in self.user_stack_trace])
        )
        module = self.exception_module_name
        where = (
            f"\n(Exception class defined in `{module}`.)"
            if module and module != "builtins"
            else ""
        )
        return (
            "Chainlet-Traceback (most recent call last):\n"
            f"{stack}{self.exception_cls_name}: {self.exception_message}{where}"
        )


class ChainletCallError(Exception):
    """A call to a dependency Chainlet failed without a user error from it.

    Attributes:
        service: the dependency's display name.
        url: the URL that was called.
        status_code: the last HTTP status received, or None when there was no reply.
    """

    def __init__(
        self, message: str, *, service: str, url: str, status_code: int | None = None
    ) -> None:
        super().__init__(message)
        self.service = service
        self.url = url
        self.status_code = status_code


class ChainletUnavailableError(ChainletCallError, ConnectionError):
    """The dependency could not be reached, or answered 502/503/504, on every attempt."""


class ChainletTimeoutError(ChainletCallError, TimeoutError):
    """The dependency did not answer within `timeout_sec` on every attempt."""


class RemoteValidationError(ChainletCallError, ValueError):
    """The dependency rejected the arguments (HTTP 422); `errors` holds the field errors."""

    def __init__(
        self,
        message: str,
        *,
        service: str,
        url: str,
        errors: list[dict[str, object]],
    ) -> None:
        super().__init__(message, service=service, url=url, status_code=422)
        self.errors = errors


class _RemoteKeyError(KeyError):
    """A `KeyError` whose message prints as text: `KeyError.__str__` shows a repr."""

    __module__ = "builtins"
    __qualname__ = "KeyError"

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


# So that it reports itself as a `KeyError` again when it crosses the next hop.
_RemoteKeyError.__name__ = "KeyError"


def _exception_class(detail: RemoteErrorDetail) -> type[Exception]:
    """The remote error's class where the caller has it, else `GenericRemoteException`.

    Resolved as Truss Chains does: a builtin, or the class of that name in a module the
    caller has imported already (`sys.modules`: a user module both Chainlets carry, a
    library's). Nothing is imported for it. A pydantic `ValidationError` cannot be
    made from a message, so it stays generic (as in Truss).
    """
    module = detail.exception_module_name
    if module in (None, "builtins"):
        candidate = getattr(builtins, detail.exception_cls_name, None)
    else:
        loaded = sys.modules.get(module)
        candidate = getattr(loaded, detail.exception_cls_name, None) if loaded else None
    if not (isinstance(candidate, type) and issubclass(candidate, Exception)):
        return GenericRemoteException
    if candidate is KeyError:
        return _RemoteKeyError
    if issubclass(candidate, pydantic.ValidationError):
        return GenericRemoteException
    return candidate


def remote_exception(detail: RemoteErrorDetail, base_message: str) -> Exception:
    """The exception to raise in the caller for a remote user error.

    Its message shows the remote traceback under `base_message`; when the remote error
    itself came from a dependency, its message already holds that hop, so the chain of
    hops reads from the outermost call down to the root error (Truss's layout).
    """
    body = textwrap.indent(detail.format(), "│   ")
    *lines, last = body.splitlines()
    if last.startswith("│"):
        last = "╰" + last[1:]
    message = "\n".join(
        [
            "(showing chained remote errors, root error at the bottom)",
            f"├─ {base_message}",
            *lines,
            last,
        ]
    )
    cls = _exception_class(detail)
    if cls is not GenericRemoteException:
        try:
            return cls(message)
        except Exception:  # e.g. UnicodeDecodeError needs five arguments
            pass
    generic = GenericRemoteException(message)
    if detail.exception_cls_name != GenericRemoteException.__name__:
        generic.remote_class = (
            detail.exception_cls_name,
            detail.exception_module_name,
        )
    return generic
