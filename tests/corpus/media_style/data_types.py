from typing import Literal, Optional

import pydantic

# Public models ########################################################################


class AnalyzeParams(pydantic.BaseModel):
    frame_rate_hz: Literal[25] = pydantic.Field(
        default=25, description="Frames per second the classifier expects."
    )
    window_sec: int = pydantic.Field(
        default=120, description="Length of the coarse windows the clip is split into."
    )
    window_overlap_sec: int = pydantic.Field(
        default=0, description="Overlap between windows, in seconds."
    )
    shot_sec: int = pydantic.Field(
        default=4, description="Maximal length of one shot sent to the classifier."
    )


class _BaseLabel(pydantic.BaseModel):
    start_sec: float
    end_sec: float
    label: str


class Label(_BaseLabel):
    confidence: float
    category: str = pydantic.Field(..., description="Coarse category of the label.")


class AnalyzeOutput(pydantic.BaseModel):
    labels: list[Label]
    clip_duration_sec: float
    processing_sec: float


# Internal models ######################################################################


class ClassifierInput(pydantic.BaseModel):
    frames_b64: str


class ClassifierLabel(_BaseLabel):
    pass


class ClassifierResult(pydantic.BaseModel):
    labels: list[ClassifierLabel]
    category: Optional[str]
    confidence: Optional[float] = pydantic.Field(..., description="None if no labels.")


class WindowInfo(pydantic.BaseModel):
    start_sec: float
    end_sec: float
    duration_sec: float
    is_last: bool
    window: int
    shot: Optional[int] = None
    processing_sec: Optional[float] = None


class LabelList(pydantic.BaseModel):
    labels: list[Label]
    window_info: WindowInfo
