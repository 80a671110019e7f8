"""truss: test_framework.py::test_raises_unsupported_arg_type_str_annot. A string annotation.

Truss refuses string annotations (it reads types by running the file); chainsc reads
them statically, so a string naming a pydantic model is the model.
"""
# parity: truss rejects
# parity: deliberate string annotations are read statically

import pydantic

import truss_chains as chains


class Query(pydantic.BaseModel):
    text: str


class Search(chains.ChainletBase):
    def run_remote(self, query: "Query") -> None:
        return
