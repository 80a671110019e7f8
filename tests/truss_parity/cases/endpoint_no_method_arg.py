"""truss: test_framework.py::test_raises_endpoint_no_method_arg. A static `run_remote` with a parameter."""
# parity: truss rejects

import pydantic

import truss_chains as chains


class Reading(pydantic.BaseModel):
    value: float


class Meter(chains.ChainletBase):
    @staticmethod  # E@14:5: CSC201
    def run_remote(reading: "Reading") -> None:
        return
