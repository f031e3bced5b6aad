"""BiRefNet in plain PyTorch: weight-exact with the released checkpoints, no ComfyUI imports."""

from .errors import BiRefNetError
from .loading import load_model
from .model import BiRefNet, TrainOutput
from .predict import predict
from .registry import VARIANTS, Variant, get_variant

__all__ = [
    "VARIANTS",
    "BiRefNet",
    "BiRefNetError",
    "TrainOutput",
    "Variant",
    "get_variant",
    "load_model",
    "predict",
]
