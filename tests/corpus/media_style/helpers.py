import asyncio
import base64
import logging
from typing import Iterable, TypeVar

import data_types
import httpx
import numpy as np

from truss_chains import utils

_INJECT_ERRORS = False


def split_windows(duration_sec: float, window_sec: int, overlap_sec: int) -> list[data_types.WindowInfo]:
    starts = np.arange(0, duration_sec, window_sec)
    ends = np.minimum(starts + window_sec + overlap_sec, duration_sec)
    windows = [
        data_types.WindowInfo(
            start_sec=float(start),
            end_sec=float(end),
            duration_sec=float(end - start),
            is_last=False,
            window=index,
        )
        for index, (start, end) in enumerate(zip(starts, ends))
    ]
    windows[-1].is_last = True
    return windows


async def check_range_requests(client: httpx.AsyncClient, url: str) -> None:
    response = await client.head(url)
    if "bytes" not in response.headers.get("Accept-Ranges", ""):
        raise NotImplementedError(f"Range requests unsupported for `{url}`.")


def encode_frames(frames: bytes) -> str:
    if _INJECT_ERRORS:
        utils.random_fail(0.05, "encode_frames")
    return base64.b64encode(frames).decode("utf-8")


def to_labels(
    result: data_types.ClassifierResult, window: data_types.WindowInfo
) -> Iterable[data_types.Label]:
    for label in result.labels:
        yield data_types.Label(
            start_sec=window.start_sec + label.start_sec,
            end_sec=window.start_sec + label.end_sec,
            label=label.label,
            confidence=result.confidence or 0.0,
            category=result.category or "unknown",
        )


_T = TypeVar("_T")


async def gather(tasks: Iterable[asyncio.Task[_T]]) -> list[_T]:
    logging.debug("Gathering tasks.")
    return await asyncio.gather(*tasks)
