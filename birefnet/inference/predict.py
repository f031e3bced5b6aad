"""`predict`: images in, 0..1 foreground masks out, the way the reference runs BiRefNet.

Pipeline per chunk of `batch_size` images: to float 0..1 -> resize to the model input size -> ImageNet
normalisation -> forward (torch.inference_mode) -> sigmoid -> resize back to the image size -> clamp 0..1.
Both resizes are bilinear with antialias=True: a true area-weighted filter when shrinking, which is what
PIL's bilinear resize (the reference's torchvision Resize on PIL images) does; plain bilinear when enlarging.
The reference resizes 8-bit images; resizing in float here differs from it by at most half a grey level.
Large images and masks are converted and resized in strips of rows (`resizing.py`): memory holds the image,
the masks and one batch at the model size, never a float copy of a whole image.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from ..errors import BiRefNetError
from .precision import cpu_emulation_message
from .resizing import resize_image, resize_mask_into
from .sizes import DEFAULT_DYNAMIC_LONG_SIDE, Resolution, model_input_size

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

ProgressCallback = Callable[[int, int], Any]
_CHANNELS = (1, 3, 4)


class _ImageSource:
    """Uniform chunked access to the supported image layouts, without converting everything at once.

    `data` is a 4-d numpy array or tensor in `layout` "NHWC" or "NCHW" holding 1, 3 or 4 channels.
    `chunk(start, stop)` gives float32 RGB `[n, 3, H, W]` in 0..1 on `device`.
    """

    def __init__(self, images: Any) -> None:
        if _is_pil(images):
            images = [images]
        if isinstance(images, (list, tuple)):
            images = _stack_pil_images(images)
        if isinstance(images, np.ndarray):
            if images.dtype.kind not in "bf" and images.dtype not in (np.uint8, np.uint16):
                raise BiRefNetError(
                    f"Unsupported image dtype {images.dtype}: use uint8 (0..255), uint16 or float (0..1)."
                )
        elif isinstance(images, torch.Tensor):
            if images.dtype != torch.uint8 and images.dtype != torch.bool and not images.is_floating_point():
                raise BiRefNetError(
                    f"Unsupported image dtype {images.dtype}: use uint8 (0..255) or float (0..1)."
                )
        else:
            raise BiRefNetError(
                f"Unsupported image type {type(images).__name__}: give a torch tensor, a numpy array, "
                f"a PIL image or a list of PIL images."
            )
        shape = tuple(images.shape)
        if len(shape) == 2:  # H, W grey
            images, layout = images[None, :, :, None], "NHWC"
        elif len(shape) == 3:
            if shape[-1] in _CHANNELS:
                images, layout = images[None], "NHWC"
            elif shape[0] in _CHANNELS:
                images, layout = images[None], "NCHW"
            else:
                raise BiRefNetError(
                    f"Image of shape {list(shape)} has no channel axis of size 1, 3 or 4: give HWC "
                    f"(height, width, channels) with grey, RGB or RGBA channels."
                )
        elif len(shape) == 4:
            if shape[-1] in _CHANNELS:
                layout = "NHWC"
            elif shape[1] in _CHANNELS:
                layout = "NCHW"
            else:
                raise BiRefNetError(
                    f"Image batch of shape {list(shape)} has no channel axis of size 1, 3 or 4: give NHWC "
                    f"(ComfyUI IMAGE) or NCHW with grey, RGB or RGBA channels."
                )
        else:
            raise BiRefNetError(
                f"Images must have 2 (HW), 3 (HWC) or 4 (NHWC / NCHW) dimensions, got shape {list(shape)}."
            )
        self.data = images
        self.layout = layout
        shape4 = tuple(images.shape)
        n = shape4[0]
        h, w = shape4[1:3] if layout == "NHWC" else shape4[2:4]
        if n == 0:
            raise BiRefNetError("No images given (the batch is empty).")
        if h == 0 or w == 0:
            raise BiRefNetError(
                f"Empty image: size {h}x{w} (height x width) in a batch of shape {list(shape4)}."
            )
        self.count, self.height, self.width = n, h, w

    def crop(self, index: int, box: tuple[int, int, int, int], device: torch.device) -> torch.Tensor:
        """Image `index` cut to `box` = (top, left, bottom, right) pixels: float32 RGB `[1, 3, h, w]` in 0..1.

        Only the crop is converted to float, so a large uint8 image never exists as a whole float copy.
        """
        top, left, bottom, right = box
        part = self.data[index : index + 1]
        part = (
            part[:, top:bottom, left:right] if self.layout == "NHWC" else part[:, :, top:bottom, left:right]
        )
        return self._to_rgb_float(part, index, index + 1, device)

    def resized(
        self, index: int, box: tuple[int, int, int, int], size: tuple[int, int], device: torch.device
    ) -> torch.Tensor:
        """Image `index` cut to `box` (as `crop`) and resized to `size` = (height, width): float32 RGB
        `[1, 3, height, width]` in 0..1, bilinear and antialiased, converted and resized in strips of rows."""
        top, left, bottom, right = box
        return resize_image(
            lambda first, last: self.crop(index, (top + first, left, top + last, right), device),
            (bottom - top, right - left),
            size,
        )

    def _to_rgb_float(self, part: Any, start: int, stop: int, device: torch.device) -> torch.Tensor:
        if isinstance(part, np.ndarray):
            if part.dtype == np.uint16:
                part = part.astype(np.float32) / 65535.0
            part = torch.from_numpy(np.array(part, copy=True))
        part = part.to(device)
        if part.dtype == torch.uint8:
            part = part.float() / 255.0
        else:
            part = part.float()
            low, high = (float(v) for v in torch.aminmax(part))  # one pass; NaN and inf propagate
            if not (math.isfinite(low) and math.isfinite(high)):
                raise BiRefNetError(f"Images {start}..{stop - 1} hold NaN or infinite values.")
            if high > 1.5:
                raise BiRefNetError(
                    f"Float images must be in 0..1, but images {start}..{stop - 1} reach {high:g}: "
                    f"divide 0..255 data by 255 (or pass it as uint8)."
                )
            if low < 0.0 or high > 1.0:
                part = part.clamp(0.0, 1.0)
        if self.layout == "NHWC":
            part = part.permute(0, 3, 1, 2)
        channels = part.shape[1]
        if channels == 1:
            part = part.expand(-1, 3, -1, -1)
        elif channels == 4:
            part = part[:, :3]
        return part  # NHWC data stays a channels-last view: resizing reads it without a copy


def _is_pil(obj: Any) -> bool:
    try:
        from PIL import Image
    except ImportError:  # pragma: no cover - pillow is a dependency
        return False
    return isinstance(obj, Image.Image)


def _stack_pil_images(images: Sequence[Any]) -> np.ndarray:
    if len(images) == 0:
        raise BiRefNetError("No images given (the list is empty).")
    if not all(_is_pil(image) for image in images):
        raise BiRefNetError(
            "A list of images must hold PIL images only; stack arrays or tensors into one batch."
        )
    sizes = {image.size for image in images}
    if len(sizes) > 1:
        raise BiRefNetError(
            f"The PIL images have different sizes {sorted(sizes)}: call predict once per size (or per image)."
        )
    return np.stack([np.asarray(image.convert("RGB")) for image in images])


def _model_device_dtype(model: nn.Module) -> tuple[torch.device, torch.dtype]:
    for tensor in model.parameters():
        return tensor.device, tensor.dtype
    for tensor in model.buffers():
        if tensor.is_floating_point():
            return tensor.device, tensor.dtype
    return torch.device("cpu"), torch.float32


def _final_logits(output: Any) -> torch.Tensor:
    if isinstance(output, (list, tuple)):  # reference-style models return a list of outputs
        output = output[-1]
    if not isinstance(output, torch.Tensor) or output.ndim != 4 or output.shape[1] != 1:
        raise BiRefNetError(
            f"The model returned {type(output).__name__} {list(getattr(output, 'shape', []))}; expected "
            f"logits [N, 1, H, W]. Is the model in eval() mode?"
        )
    return output


def predict(
    model: nn.Module,
    images: Any,
    resolution: Resolution = None,
    *,
    batch_size: int = 4,
    device: torch.device | str | None = None,
    dtype: torch.dtype | None = None,
    progress: ProgressCallback | None = None,
    dynamic_long_side: int = DEFAULT_DYNAMIC_LONG_SIDE,
) -> torch.Tensor:
    """Foreground masks of `images`: float32 `[N, H, W]` in 0..1 on the CPU, one per image at its own size.

    images: torch tensor or numpy array, uint8 (0..255) or float (0..1, clamped), shaped HW (grey),
        HWC, NHWC (ComfyUI IMAGE) or NCHW with 1 (grey), 3 (RGB) or 4 (RGBA, alpha ignored) channels;
        a PIL image or a list of same-sized PIL images. A channel axis of size 1, 3 or 4 is looked for
        last first, so HWC / NHWC win when both readings are possible.
    resolution: model input size: None (the model's variant's native size, else 1024x1024), an int
        (square), (width, height), or "dynamic" (aspect kept, long side `dynamic_long_side`, sides
        multiples of 32 in 256..2304). Other sizes are rounded to multiples of 32.
    batch_size: images per forward pass; memory stays flat in the number of images.
    device: where to compute; None -> the model's device (the model is never moved).
    dtype: compute dtype; None -> the model's parameter dtype. fp16/bf16 (with an fp32, fp16 or bf16 model)
        runs under autocast with a float32 input.
    progress: called as progress(done, total) after each chunk.
    """
    check_batch_size(batch_size)
    source = _ImageSource(images)
    width, height = model_input_size(resolution, model, (source.height, source.width), dynamic_long_side)
    device, dtype = run_settings(model, device, dtype)
    out = torch.empty((source.count, source.height, source.width), dtype=torch.float32)
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            for start in range(0, source.count, batch_size):
                stop = min(start + batch_size, source.count)
                # Images are converted and resized one at a time, in strips of rows (no float copy of a whole
                # image); only the network sees the batch. Masks are written into `out` in strips too.
                x = torch.empty((stop - start, 3, height, width), device=device)
                whole = (0, 0, source.height, source.width)
                for i in range(start, stop):
                    x[i - start] = source.resized(i, whole, (height, width), device)[0]
                masks = run_network(model, x, dtype)
                for i in range(stop - start):
                    resize_mask_into(masks[i : i + 1], out[start + i])
                if progress is not None:
                    progress(stop, source.count)
    finally:
        model.train(was_training)
    return out


def check_batch_size(batch_size: Any) -> None:
    """Raise BiRefNetError unless `batch_size` is a positive int."""
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise BiRefNetError(f"batch_size must be a positive whole number, got {batch_size!r}.")


def run_settings(
    model: nn.Module, device: torch.device | str | None, dtype: torch.dtype | None
) -> tuple[torch.device, torch.dtype]:
    """The (device, compute dtype) to run `model` with: None -> the model's; refuses a device the model is not
    on and a dtype it cannot run in (fp16/bf16 autocast over fp32 weights is allowed)."""
    model_device, model_dtype = _model_device_dtype(model)
    device = model_device if device is None else torch.device(device)
    if device.type != model_device.type or (device.index is not None and device != model_device):
        raise BiRefNetError(
            f"The model is on {model_device} but device={device} was asked: move it with model.to()."
        )
    dtype = model_dtype if dtype is None else dtype
    if dtype != model_dtype and not (
        model_dtype == torch.float32 and dtype in (torch.float16, torch.bfloat16)
    ):
        raise BiRefNetError(
            f"The model's parameters are {model_dtype} but dtype={dtype} was asked: convert it with model.to({dtype})."
        )
    if (message := cpu_emulation_message(dtype, device)) is not None:
        warnings.warn(message, stacklevel=3)
    return device, dtype


def run_network(model: nn.Module, x: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """Foreground probabilities `[n, 1, h, w]` (float32, 0..1) of RGB `x` `[n, 3, h, w]` in 0..1.

    ImageNet normalisation -> forward -> sigmoid. Call under torch.inference_mode with the model in eval mode.
    Reduced precision always runs under autocast with a float32 input, also for a model stored in fp16/bf16:
    normalisation layers and the residual streams then stay in float32, which keeps the masks close to fp32.
    """
    mean = torch.tensor(IMAGENET_MEAN, device=x.device).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD, device=x.device).view(1, 3, 1, 1)
    x = (x - mean) / std
    if dtype != torch.float32:
        with torch.autocast(device_type=x.device.type, dtype=dtype):
            logits = _final_logits(model(x))
    else:
        logits = _final_logits(model(x))
    return logits.float().sigmoid()
