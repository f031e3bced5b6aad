"""BiRefNet in plain PyTorch: weight-exact with the released checkpoints, no ComfyUI imports."""

from .errors import BiRefNetError
from .model import BiRefNet, TrainOutput

__all__ = ["BiRefNet", "BiRefNetError", "TrainOutput"]
