"""Third-party imports a package carries that its requirements do not declare."""

from typing import TYPE_CHECKING

import cv2  # W@5:8: CSC460
import numpy as np  # W: CSC461
from PIL import Image
import sklearn.linear_model  # not carried: no Chainlet uses it

import truss_chains as chains

try:
    import orjson  # optional: the code runs without it
except ImportError:
    orjson = None

if TYPE_CHECKING:
    import torch  # never runs


def brightness(path: str) -> float:
    return float(np.mean(cv2.imread(path)))


class Reader(chains.ChainletBase):
    remote_config = chains.RemoteConfig(
        docker_image=chains.DockerImage(pip_requirements=["Pillow>=10"])
    )

    def run_remote(self, path: str) -> float:
        import yaml  # W: CSC461
        from google.protobuf import json_format  # W: CSC461

        return brightness(path) + len(Image.open(path).size) + len(parse(path))


def parse(path: str) -> str:
    from bs4 import BeautifulSoup  # W: CSC460

    return BeautifulSoup(path, "html.parser").get_text()


@chains.mark_entrypoint
class Front(chains.ChainletBase):
    remote_config = chains.RemoteConfig(
        docker_image=chains.DockerImage(pip_requirements=["opencv-python-headless==4.10.0.84", "numpy"])
    )

    def __init__(self, reader: Reader = chains.depends(Reader)) -> None:
        self._reader = reader

    def run_remote(self, path: str) -> float:
        return self._reader.run_remote(path) + brightness(path)
