import fastapi

import truss_chains as chains


class Validator(chains.ChainletBase):
    def run_remote(self, limit: int) -> int:
        if limit < 0:
            raise fastapi.HTTPException(status_code=422, detail="limit must not be negative")
        raise fastapi.HTTPException(status_code=409, detail="always conflicts")


@chains.mark_entrypoint
class ErrorFront(chains.ChainletBase):
    def __init__(self, validator=chains.depends(Validator, retries=1)) -> None:
        self._validator = validator

    def run_remote(self, limit: int) -> str:
        return str(self._validator.run_remote(limit))
