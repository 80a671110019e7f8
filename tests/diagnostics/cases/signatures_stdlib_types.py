"""Standard-library types are I/O inside pydantic models only, as in Truss Chains.

pydantic writes `datetime`, `Decimal`, `UUID` and `Path` as JSON strings, so fields of
those types are fine at any depth; Truss refuses them as an endpoint's own parameter or
return types (alone, in a container, or through an alias), and so does chainsc. Other
standard-library classes (a `timezone`, which pydantic cannot validate) are no I/O types.
"""

import datetime as dt
import decimal
import pathlib
import uuid
from datetime import date
from typing import Optional

import pydantic
import truss_chains as chains

When = dt.datetime


class Invoice(pydantic.BaseModel):
    issued: dt.datetime
    due: date
    total: decimal.Decimal
    id: uuid.UUID
    attachment: Optional[pathlib.Path] = None
    reminders: list[When] = []
    amount: pydantic.condecimal(max_digits=8, decimal_places=2)
    after: pydantic.AwareDatetime
    zone: dt.timezone  # E: CSC206


class Billing(chains.ChainletBase):
    def run_remote(
        self,
        invoice: Invoice,
        since: dt.datetime,  # E: CSC206
        days: list[date],  # E: CSC206
        until: Optional[When] = None,  # E: CSC206
        cap: pydantic.condecimal(gt=0) = 1,  # E: CSC206
    ) -> dict[str, uuid.UUID]:  # E: CSC206
        return {}


class Ledger(chains.StubBase):
    # A stub's method is the user's own code: Truss checks no types there.
    def run_remote(self, at: dt.datetime) -> decimal.Decimal:
        return decimal.Decimal(0)
