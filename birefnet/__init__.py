"""BiRefNet in plain PyTorch: weight-exact with the released checkpoints, no ComfyUI imports."""

from .errors import BiRefNetError
from .loading import load_model
from .model import BiRefNet, TrainOutput

__all__ = ["BiRefNet", "BiRefNetError", "TrainOutput", "load_model"]
