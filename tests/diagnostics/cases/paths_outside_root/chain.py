"""Every path a build reads must resolve inside the chain root (here: this directory)."""

import truss_chains as chains

import helpers  # E: CSC011


class Absolute(chains.ChainletBase):
    remote_config = chains.RemoteConfig(
        docker_image=chains.DockerImage(
            requirements_file=chains.make_abs_path_here("/etc/passwd"),  # E: CSC011
        )
    )

    def run_remote(self, text: str) -> str:
        return text


class Climbing(chains.ChainletBase):
    remote_config = chains.RemoteConfig(
        docker_image=chains.DockerImage(
            data_dir=chains.make_abs_path_here("../../../../etc"),  # E: CSC011
        )
    )

    def run_remote(self, text: str) -> str:
        return text


class Linked(chains.ChainletBase):
    remote_config = chains.RemoteConfig(
        docker_image=chains.DockerImage(
            requirements_file=chains.make_abs_path_here("requirements.txt"),  # E: CSC011
        )
    )

    def run_remote(self, text: str) -> str:
        return text


class LinkInside(chains.ChainletBase):
    remote_config = chains.RemoteConfig(
        docker_image=chains.DockerImage(
            data_dir=chains.make_abs_path_here("data"),  # E: CSC011
            external_package_dirs=[chains.make_abs_path_here("vendor")],
        )
    )

    def run_remote(self, text: str) -> str:
        return text


@chains.mark_entrypoint
class Entry(chains.ChainletBase):
    def __init__(
        self,
        absolute: Absolute = chains.depends(Absolute),
        climbing: Climbing = chains.depends(Climbing),
        linked: Linked = chains.depends(Linked),
        inside: LinkInside = chains.depends(LinkInside),
    ) -> None:
        self._parts = (absolute, climbing, linked, inside)

    def run_remote(self, text: str) -> str:
        return text
