"""Compositing: plain tensor functions on ComfyUI-layout images.

Images are ``[B, H, W, C]`` float in 0..1 (C = 3 RGB, or 4 RGBA whose alpha is ignored on input); alpha
mattes are ``[B, H, W]`` float in 0..1 with 1 = opaque foreground (what BiRefNet predicts).

ComfyUI's own MASK convention for alpha is the opposite: LoadImage returns ``mask = 1 - alpha`` and
JoinImageWithAlpha writes ``alpha = 1 - mask``. ``comfy_mask_from_alpha`` converts ours to theirs.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..errors import BiRefNetError
from .checks import check_image

FIT_MODES = ("cover", "contain", "stretch")
BACKGROUNDS = ("transparent", "color", "image")

# Guards the divisions of blur fusion where a window holds (almost) no foreground or no background.
_FUSION_EPS = 1e-5


def _check_pair(image: torch.Tensor, alpha: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Checked float RGB ``[B, H, W, 3]`` and alpha ``[B, H, W]`` with equal size and broadcast batch."""
    rgb = check_image(image)
    if not isinstance(alpha, torch.Tensor) or alpha.dim() not in (2, 3):
        shape = tuple(alpha.shape) if isinstance(alpha, torch.Tensor) else type(alpha).__name__
        raise BiRefNetError(f"mask must be a tensor [B, H, W] with values in 0..1, got {shape}.")
    alpha = alpha.float().to(rgb.device)
    if alpha.dim() == 2:
        alpha = alpha.unsqueeze(0)
    if alpha.shape[1:] != rgb.shape[1:3]:
        raise BiRefNetError(
            f"mask is {alpha.shape[2]}x{alpha.shape[1]} but image is {rgb.shape[2]}x{rgb.shape[1]} "
            "(width x height); use a mask made from this image or resize it first."
        )
    b_img, b_mask = rgb.shape[0], alpha.shape[0]
    if b_img != b_mask and 1 not in (b_img, b_mask):
        raise BiRefNetError(
            f"image batch has {b_img} frames but mask batch has {b_mask}; give the same number of frames "
            "(or one of them a single frame)."
        )
    batch = max(b_img, b_mask)
    return rgb.expand(batch, -1, -1, -1), alpha.expand(batch, -1, -1)


def _running_sum_(x: torch.Tensor) -> torch.Tensor:
    """In place: ``x[i] += x[i - 1]`` along dim 0 (an inclusive integral); returns ``x``."""
    if x.device.type != "cpu":
        x.copy_(torch.cumsum(x, dim=0))
        return x
    # On CPU one vectorised add per row is several times faster than torch.cumsum along dim 0.
    for i in range(1, x.shape[0]):
        x[i].add_(x[i - 1])
    return x


def _box_mean_dim0_(x: torch.Tensor, radius: int) -> torch.Tensor:
    """Mean over ``[i - radius, i + radius]`` along dim 0 of ``[L, N, C]``, the window cut at the ends.

    Overwrites ``x`` with its integral and returns a new tensor.
    """
    length = x.shape[0]
    integral = _running_sum_(x)
    out = torch.empty_like(integral)
    # Window sum = integral[min(i + radius, L - 1)] - integral[i - radius - 1] (the latter 0 when i <= radius).
    inside = max(0, length - radius)
    out[:inside] = integral[radius : radius + inside]
    out[inside:] = integral[length - 1 : length]
    if length > radius + 1:
        out[radius + 1 :] -= integral[: length - radius - 1]
    index = torch.arange(length, device=x.device)
    count = (index + radius).clamp(max=length - 1) - (index - radius).clamp(min=0) + 1
    return out.div_(count.to(out.dtype).view(length, 1, 1))


def box_mean(x: torch.Tensor, radius: int) -> torch.Tensor:
    """Mean over the ``(2*radius+1)`` square window of each pixel, over the part of it inside the image.

    x: channels-last ``[H, W, C]`` float (not changed). Computed from integral images (one running sum per
    axis), so the cost does not depend on ``radius``. Returns a new contiguous ``[H, W, C]``.
    """
    if radius <= 0:
        return x.clone()
    vertical = _box_mean_dim0_(x.clone(), radius)
    # Channels-last keeps this transpose cheap: it moves whole C-channel pixels, not single floats.
    across = vertical.transpose(0, 1).contiguous()
    return _box_mean_dim0_(across, radius).transpose(0, 1).contiguous()


def _blur_fusion_pass(
    image: torch.Tensor, foreground: torch.Tensor, background: torch.Tensor, alpha: torch.Tensor, radius: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """One blur-fusion step on channels-last ``[H, W, 3]`` colours and ``[H, W, 1]`` alpha.

    Returns (foreground estimate clamped to 0..1, local mean background colour).
    """
    stacked = torch.cat([alpha, foreground * alpha, background - background * alpha], dim=-1)
    means = box_mean(stacked, radius)
    mean_alpha = means[..., :1]
    mean_foreground = means[..., 1:4] / (mean_alpha + _FUSION_EPS)
    mean_background = means[..., 4:7] / ((1.0 + _FUSION_EPS) - mean_alpha)
    # F = mean_F + alpha * (I - alpha * mean_F - (1 - alpha) * mean_B)
    residual = image - alpha * mean_foreground
    residual -= (1.0 - alpha) * mean_background
    residual.mul_(alpha).add_(mean_foreground)
    return residual.clamp_(0.0, 1.0), mean_background


def estimate_foreground(
    image: torch.Tensor, alpha: torch.Tensor, large_radius: int = 45, small_radius: int = 3
) -> torch.Tensor:
    """Foreground colours without the old background bleeding in at soft edges ("blur fusion", 2 passes).

    Approximate fast foreground colour estimation (Forest et al., ICIP 2021): a first pass with a large box
    window (``2*large_radius+1``) estimates smooth foreground/background colours, a second with a small one
    (``2*small_radius+1``) sharpens them. Where alpha is 1 the result equals the image.

    image: ``[B, H, W, C]`` 0..1; alpha: ``[B, H, W]`` 0..1. Returns ``[B, H, W, 3]`` float32 0..1. Frames are
    processed one at a time, so memory is a few frames whatever ``B``.
    """
    rgb, alpha = _check_pair(image, alpha)
    out = torch.empty(rgb.shape, dtype=torch.float32, device=rgb.device)
    for i in range(rgb.shape[0]):
        frame = rgb[i].contiguous()
        a = alpha[i].unsqueeze(-1).contiguous()
        foreground, background = _blur_fusion_pass(frame, frame, frame, a, large_radius)
        out[i], _ = _blur_fusion_pass(frame, foreground, background, a, small_radius)
    return out


def composite_rgba(image: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
    """Straight (not premultiplied) RGBA ``[B, H, W, 4]``: the image's RGB with ``alpha`` as 4th channel."""
    rgb, alpha = _check_pair(image, alpha)
    return torch.cat([rgb, alpha.unsqueeze(-1)], dim=-1)


def parse_color(text: str) -> tuple[float, float, float]:
    """``"#rrggbb"``, ``"#rgb"`` or ``"r, g, b"`` (0..255) to an RGB triple in 0..1."""
    value = text.strip()
    try:
        if value.startswith("#"):
            digits = value[1:]
            if len(digits) == 3:
                digits = "".join(d * 2 for d in digits)
            if len(digits) != 6:
                raise ValueError(value)
            channels = [int(digits[i : i + 2], 16) for i in (0, 2, 4)]
        else:
            channels = [int(float(part)) for part in value.replace(";", ",").split(",")]
            if len(channels) != 3 or not all(0 <= c <= 255 for c in channels):
                raise ValueError(value)
    except ValueError:
        raise BiRefNetError(
            f"colour {text!r} is not understood: write it as '#RRGGBB' (e.g. '#00ff00') or 'R, G, B' "
            "with numbers 0-255 (e.g. '0, 255, 0')."
        ) from None
    return (channels[0] / 255.0, channels[1] / 255.0, channels[2] / 255.0)


def composite_over_color(
    image: torch.Tensor, alpha: torch.Tensor, color: tuple[float, float, float]
) -> torch.Tensor:
    """``image * alpha + color * (1 - alpha)``: ``[B, H, W, 3]``; ``color`` RGB in 0..1."""
    rgb, alpha = _check_pair(image, alpha)
    fill = torch.tensor(color, dtype=rgb.dtype, device=rgb.device).view(1, 1, 1, 3)
    a = alpha.unsqueeze(-1)
    return rgb * a + fill * (1.0 - a)


def fit_background(background: torch.Tensor, height: int, width: int, mode: str = "cover") -> torch.Tensor:
    """Resize a background ``[B, h, w, C]`` to ``[B, height, width, 3]`` (bilinear, antialiased).

    mode: "cover" keeps the aspect ratio and fills the frame, cropping the overflow around the centre;
    "contain" keeps the aspect ratio and fits inside, padding with black; "stretch" ignores the aspect ratio.
    """
    rgb = check_image(background, "background").movedim(-1, 1)
    if mode not in FIT_MODES:
        raise BiRefNetError(f"background fit {mode!r} is unknown; use one of {', '.join(FIT_MODES)}.")
    src_h, src_w = rgb.shape[2], rgb.shape[3]
    if mode == "stretch":
        new_h, new_w = height, width
    else:
        pick = max if mode == "cover" else min
        scale = pick(height / src_h, width / src_w)
        new_h, new_w = max(1, round(src_h * scale)), max(1, round(src_w * scale))
        if mode == "cover":
            new_h, new_w = max(new_h, height), max(new_w, width)
        else:
            new_h, new_w = min(new_h, height), min(new_w, width)
    if (new_h, new_w) != (src_h, src_w):
        rgb = F.interpolate(rgb, size=(new_h, new_w), mode="bilinear", align_corners=False, antialias=True)
    if mode == "cover":
        top, left = (new_h - height) // 2, (new_w - width) // 2
        rgb = rgb[:, :, top : top + height, left : left + width]
    elif mode == "contain":
        top, left = (height - new_h) // 2, (width - new_w) // 2
        rgb = F.pad(rgb, (left, width - new_w - left, top, height - new_h - top))
    return rgb.movedim(1, -1).clamp(0.0, 1.0)


def composite_over_image(
    image: torch.Tensor, alpha: torch.Tensor, background: torch.Tensor, fit: str = "cover"
) -> torch.Tensor:
    """Foreground over a background image resized to the foreground's size: ``[B, H, W, 3]``.

    background: ``[1 or B, h, w, C]``; one background is used for every frame.
    """
    rgb, alpha = _check_pair(image, alpha)
    if background.dim() == 4 and background.shape[0] not in (1, rgb.shape[0]):
        raise BiRefNetError(
            f"background batch has {background.shape[0]} frames but the image batch has {rgb.shape[0]}; "
            "give one background or one per frame."
        )
    fitted = fit_background(background.to(rgb.device), rgb.shape[1], rgb.shape[2], fit)
    a = alpha.unsqueeze(-1)
    return rgb * a + fitted * (1.0 - a)


def composite(
    image: torch.Tensor,
    alpha: torch.Tensor,
    background: str = "transparent",
    color: str = "#00ff00",
    fix_edge_colors: bool = True,
    fit: str = "cover",
    background_image: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The foreground of ``image`` over a background chosen by name: (image, alpha ``[B, H, W]`` as used).

    image: ``[B or 1, H, W, C]`` float 0..1; alpha: ``[B or 1, H, W]`` (or ``[H, W]``), 1 = foreground; the
    two batches broadcast. background: "transparent" -> RGBA ``[B, H, W, 4]``; "color" -> RGB over ``color``
    (see ``parse_color``); "image" -> RGB over ``background_image`` fitted with ``fit``. ``fix_edge_colors``
    runs ``estimate_foreground`` first.
    """
    rgb, alpha = _check_pair(image, alpha)
    foreground = estimate_foreground(rgb, alpha) if fix_edge_colors else rgb
    if background == "transparent":
        out = composite_rgba(foreground, alpha)
    elif background == "color":
        out = composite_over_color(foreground, alpha, parse_color(color))
    elif background == "image":
        if background_image is None:
            raise BiRefNetError(
                "background 'image' needs a background image: connect one or pick another mode."
            )
        out = composite_over_image(foreground, alpha, background_image, fit)
    else:
        raise BiRefNetError(f"background {background!r} is unknown; use one of {', '.join(BACKGROUNDS)}.")
    return out, alpha
