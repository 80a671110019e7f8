"""I/O type names must be defined in the chain's sources."""

import pydantic
import truss_chains as chains


class Question(pydantic.BaseModel):
    text: str
    context: list[Pasage]  # E: CSC207


@chains.mark_entrypoint
class Answerer(chains.ChainletBase):
    def run_remote(self, question: Question, history: "list[Turn]") -> Answr:  # E: CSC207, CSC207
        return question.text
