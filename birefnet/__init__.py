"""BiRefNet in plain PyTorch: weight-exact with the released checkpoints, no ComfyUI imports."""

from .compile import compile_model
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
    "compile_model",
    "Variant",
    "get_variant",
    "load_model",
    "predict",
]
