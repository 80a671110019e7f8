"""truss: framework.py::_validate_display_name. A ModelBase may have any display name."""
# parity: truss accepts
# parity: extra

import truss_chains as chains


class Classifier(chains.ModelBase):
    remote_config = chains.RemoteConfig(name="Sentiment classifier (v2)")

    def predict(self) -> str:
        return "positive"
