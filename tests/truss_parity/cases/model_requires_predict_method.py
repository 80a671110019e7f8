"""truss: test_framework.py::test_raises_model_requires_predict_method. A ModelBase's endpoint is `predict`."""
# parity: truss rejects

import truss_chains as chains


class Classifier(chains.ModelBase):  # E@7:7: CSC109
    def run_remote(self) -> str:
        return "label"
