"""Opt-in ``torch.compile`` of a BiRefNet, with a fall-back to eager mode when compiling fails."""

from __future__ import annotations

import logging
from typing import Any

import torch
from torch import nn

log = logging.getLogger(__name__)


def _compile_errors() -> tuple[type[BaseException], ...]:
    """Failures of the compiler itself (no C++ compiler, an unsupported op, ...), not of the computation.

    Looked up on use: importing torch._dynamo takes a second, which ComfyUI's start-up should not pay.
    """
    import torch._dynamo.exc
    import torch._inductor.exc

    errors: tuple[type[BaseException], ...] = (torch._dynamo.exc.TorchDynamoException,)
    inductor_error = getattr(torch._inductor.exc, "InductorError", None)  # newer torch wraps failures in it
    return errors + ((inductor_error,) if inductor_error is not None else ())


def compile_model(model: nn.Module, mode: str | None = None, backend: Any = "inductor") -> nn.Module:
    """Compile ``model``'s forward in place with ``torch.compile`` and return it.

    Compilation happens lazily, at the first forward per input shape, dtype and device (shapes are static:
    each new resolution or batch size compiles again, a minute or more on a CPU). The first compiler failure
    (e.g. no C++ compiler for Inductor's CPU code) is logged as a warning and the model runs eagerly from
    then on, so an opt-in compile never stops a run. Parameters, state_dict keys and outputs are unchanged
    (fp32 outputs within 1e-5 of eager mode). Meant for inference: a deep copy of the compiled model would
    still run the original's forward, so copy before compiling.

    mode: ``torch.compile`` mode, e.g. None (default), "reduce-overhead" (CUDA graphs) or "max-autotune".
    backend: ``torch.compile`` backend (tests use lighter ones than Inductor).
    """
    if is_compiled(model):
        return model
    eager_forward = model.forward
    compiled_forward = torch.compile(eager_forward, dynamic=False, mode=mode, backend=backend)
    state = {"failed": False}
    compile_errors = _compile_errors()
    seen_inputs: set[tuple] = set()

    def forward(*args: Any, **kwargs: Any) -> Any:
        if state["failed"]:
            return eager_forward(*args, **kwargs)
        inputs = tuple((tuple(a.shape), a.dtype, a.device) for a in args if isinstance(a, torch.Tensor))
        if inputs not in seen_inputs:  # a new shape compiles (minutes on a CPU): say so before the wait
            seen_inputs.add(inputs)
            log.info(
                "BiRefNet: compiling for input %s (first run at this size; later runs are fast)",
                ", ".join(f"{list(shape)} {dtype} on {device}" for shape, dtype, device in inputs),
            )
        try:
            return compiled_forward(*args, **kwargs)
        except compile_errors as error:
            state["failed"] = True
            reason = " ".join(line.strip() for line in str(error).splitlines() if line.strip())
            log.warning(
                "BiRefNet: torch.compile failed (%s: %s); running uncompiled from now on.",
                type(error).__name__,
                reason[:300],
            )
            return eager_forward(*args, **kwargs)

    model.forward = forward  # an instance attribute: nn.Module.__call__ finds it before the class's forward
    model._birefnet_compiled = True
    return model


def is_compiled(model: nn.Module) -> bool:
    """Whether :func:`compile_model` was applied to ``model``."""
    return bool(getattr(model, "_birefnet_compiled", False))
