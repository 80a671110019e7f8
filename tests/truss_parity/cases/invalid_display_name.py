"""truss: test_framework.py::test_raises_invalid_display_name. A display name with spaces."""
# parity: truss rejects

import truss_chains as chains


class Greeter(chains.ChainletBase):
    remote_config = chains.RemoteConfig(name="Name with space")  # E@8:46: CSC106

    def run_remote(self) -> int:
        return 123
