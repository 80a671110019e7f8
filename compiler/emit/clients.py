"""In-place clients: what replaces another Chainlet's class in a package's slice.

Stage: back end, used by `emit.plan`. What the client's signature says and where
its names come from is the front end's (`chainsc.signatures`); this module holds
how generated code spells the client. Imports: signatures.
"""

from __future__ import annotations

from chainsc.signatures import (
    InPlaceSignature,
    ParamView,
    SignatureText,
    endpoint_signature,
    in_place_signature,
    module_at_path,
    reach_names,
)

#: How an in-place client spells its base class.
CLIENT_BASE = "chainsc_runtime.transport.ChainletClient"

__all__ = [
    "CLIENT_BASE",
    "InPlaceSignature",
    "ParamView",
    "SignatureText",
    "endpoint_signature",
    "in_place_signature",
    "module_at_path",
    "reach_names",
]
