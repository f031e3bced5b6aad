"""BiRefNet in plain PyTorch: weight-exact with the released checkpoints, no ComfyUI imports.

The public API: what the nodes, the command line and training use. The sub-packages show the jobs:
``network`` (the nn.Modules), ``weights`` (files, variants, downloads), ``inference`` (sizes, predict,
detail tiles, guided prediction of a chosen object, precision, compile), ``matting`` (refine, temporal
smoothing, compositing, crop to the subject), ``video`` (streaming video matting) and ``cli``
(``python -m birefnet``).
"""

from .errors import BiRefNetError
from .inference.compile import compile_model, is_compiled
from .inference.crops import predict_crops
from .inference.detail import DEFAULT_TILE_OVERLAP, MAX_DETAIL_SIDE, MIN_DETAIL_SIDE, predict_detailed
from .inference.guided import predict_guided
from .inference.precision import (
    PRECISIONS,
    choose_precision,
    cpu_emulation_message,
    dtype_name,
    parse_dtype,
)
from .inference.predict import predict
from .inference.prompts import (
    DEFAULT_MARGIN,
    Box,
    Point,
    Prompt,
    batch_prompts,
    format_boxes,
    format_points,
    parse_boxes,
    parse_points,
)
from .inference.sizes import (
    DEFAULT_DYNAMIC_LONG_SIDE,
    DYNAMIC_MAX_SIDE,
    DYNAMIC_MIN_SIDE,
    Resolution,
    model_input_size,
    parse_resolution,
    parse_size,
)
from .matting.composite import (
    BACKGROUNDS,
    FIT_MODES,
    composite,
    composite_over_color,
    composite_over_image,
    composite_rgba,
    estimate_foreground,
    fit_background,
    parse_color,
)
from .matting.refine import invert_mask, refine_mask
from .matting.subject_crop import crop_to_subject, parse_aspect, paste_back, subject_box
from .matting.temporal import StreamingTemporalSmoother, smooth_temporal
from .network.backbones import BACKBONES
from .network.model import BiRefNet, TrainOutput
from .network.ops.kernel_choice import KERNEL_OPS, fixed_cpu_kernels
from .network.patches import PATCH_ORDERS
from .video import FORMATS, MatteResult, check_encoder, matte_video, output_path
from .weights.files import CHECKPOINT_SUFFIXES, not_birefnet_reason, read_safetensors_header, read_state_dict
from .weights.hub import (
    DownloadProgress,
    default_models_dir,
    download_variant,
    find_local_variant,
    find_local_variant_in,
    find_or_download_variant,
    resolve_model,
)
from .weights.load import load_model
from .weights.registry import VARIANTS, Variant, find_variant, get_variant, variant_for_path

__all__ = [
    "BACKBONES",
    "BACKGROUNDS",
    "CHECKPOINT_SUFFIXES",
    "DEFAULT_DYNAMIC_LONG_SIDE",
    "DEFAULT_MARGIN",
    "DEFAULT_TILE_OVERLAP",
    "DYNAMIC_MAX_SIDE",
    "DYNAMIC_MIN_SIDE",
    "FIT_MODES",
    "FORMATS",
    "KERNEL_OPS",
    "MAX_DETAIL_SIDE",
    "MIN_DETAIL_SIDE",
    "PATCH_ORDERS",
    "PRECISIONS",
    "VARIANTS",
    "BiRefNet",
    "BiRefNetError",
    "Box",
    "DownloadProgress",
    "MatteResult",
    "Point",
    "Prompt",
    "Resolution",
    "StreamingTemporalSmoother",
    "TrainOutput",
    "Variant",
    "batch_prompts",
    "check_encoder",
    "choose_precision",
    "compile_model",
    "composite",
    "composite_over_color",
    "composite_over_image",
    "composite_rgba",
    "cpu_emulation_message",
    "crop_to_subject",
    "default_models_dir",
    "download_variant",
    "dtype_name",
    "estimate_foreground",
    "find_local_variant",
    "find_local_variant_in",
    "find_or_download_variant",
    "find_variant",
    "fit_background",
    "fixed_cpu_kernels",
    "format_boxes",
    "format_points",
    "get_variant",
    "invert_mask",
    "is_compiled",
    "load_model",
    "matte_video",
    "model_input_size",
    "not_birefnet_reason",
    "output_path",
    "parse_aspect",
    "parse_boxes",
    "parse_color",
    "parse_dtype",
    "parse_points",
    "parse_resolution",
    "parse_size",
    "paste_back",
    "predict",
    "predict_crops",
    "predict_detailed",
    "predict_guided",
    "read_safetensors_header",
    "read_state_dict",
    "refine_mask",
    "resolve_model",
    "smooth_temporal",
    "subject_box",
    "variant_for_path",
]
