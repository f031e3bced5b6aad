"""Pick the faster of competing CPU kernels for the same product by timing them on the running machine.

Which CPU kernel wins depends on the processor: on one 2-core AMD EPYC a oneDNN 1x1 convolution runs a
linear layer faster than MKL's GEMM, on another the reverse. So the first time an operation meets a new key
(its shape class, dtypes and the thread count) every candidate runs a few times on (a bounded part of) the
real data, alternating, and the fastest best-of-k time wins (a near tie keeps the default). The choice
is remembered for the process and in the per-machine file of :mod:`.kernel_cache`, so later processes
skip the measurement. The candidates compute the same function (within float rounding), so the choice
changes speed only.

No measurement happens while ``torch.compile`` traces (the default is used) and measurements run under
``torch.no_grad()`` on the caller's tensors, so autograd graphs are never touched. For debugging,
``BIREFNET_<OP>_BACKEND`` (e.g. ``BIREFNET_LINEAR_BACKEND=matmul``) forces a backend; ``auto`` measures.
Every pick is logged at debug level on the ``birefnet.kernels`` logger.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Callable, Iterator, Mapping

import torch

from ...errors import BiRefNetError
from . import kernel_cache

log = logging.getLogger("birefnet.kernels")

# Timed runs per candidate (after one warm-up run each); the best of them counts.
RUNS = 3
# A measurement is saved to the cache file only when, for every candidate, the second-best run is within
# this fraction of the best: otherwise the machine was busy (other processes) and the pick holds for this
# process only.
STABLE = 0.15
# A candidate that is not at least this much faster than the default loses (noise, not a real gain).
TIE = 0.03

KERNEL_OPS: dict[str, tuple[str, ...]] = {
    "linear": ("matmul", "onednn"),
    "pointwise_conv": ("matmul", "onednn"),
    "deform_conv": ("matmul", "onednn"),
}
"""Every operation that picks its CPU kernel here, with its backends. ``choose`` refuses any other name, so a
new operation must be added here, and ``fixed_cpu_kernels`` then fixes it too."""

_chosen: dict[str, str] = {}  # entry -> backend, this process
_from_file: dict[str, str] | None = None  # this machine's entries of the cache file, read once


def backend_variable(op: str) -> str:
    """The environment variable that forces ``op``'s backend: ``BIREFNET_<OP>_BACKEND``."""
    return f"BIREFNET_{op.upper()}_BACKEND"


def forced_backend(op: str, backends: tuple[str, ...]) -> str | None:
    """The backend ``BIREFNET_<OP>_BACKEND`` forces, or None for ``auto`` / unset."""
    variable = backend_variable(op)
    value = os.environ.get(variable, "").strip().lower()
    if value in ("", "auto"):
        return None
    if value not in backends:
        raise BiRefNetError(
            f"{variable}={value!r} is not a backend of {op}: use one of auto, {', '.join(backends)} "
            "(or unset it)"
        )
    return value


def choose(
    op: str,
    key: tuple,
    backends: tuple[str, ...],
    default: str,
    candidates: Callable[[], Mapping[str, Callable[[], object]]],
) -> str:
    """The backend of ``op`` to use for ``key``: forced, remembered, or measured now.

    op: operation name (``"linear"``), also the environment variable's ``<OP>``.
    key: what decides the speed: shape class, dtypes (hashable, printable).
    backends: the names a caller knows; ``default`` is one of them (used while tracing and on near ties).
    candidates: builds ``{backend: run}``; each ``run()`` computes the operation on (a bounded part of) the
        real input. Called only when a measurement is needed.
    """
    if KERNEL_OPS.get(op) != tuple(backends):
        raise ValueError(f"kernel choice for {op!r} with backends {backends}: list it in KERNEL_OPS first")
    forced = forced_backend(op, backends)
    if forced is not None:
        return forced
    if _is_compiling():
        return default
    entry = f"{op} {key} threads={torch.get_num_threads()}"
    backend = _chosen.get(entry)
    if backend is not None:
        return backend
    global _from_file
    if _from_file is None:
        _from_file = kernel_cache.load_choices()
    backend = _from_file.get(entry)
    if backend in backends:
        log.debug("%s: %s (from %s)", entry, backend, kernel_cache.cache_path())
    else:
        runs = measure(candidates())
        best = {name: min(seconds) for name, seconds in runs.items()}
        backend = min(best, key=best.__getitem__)
        if best[default] <= best[backend] * (1 + TIE):
            backend = default
        stable = all(sorted(seconds)[1] <= sorted(seconds)[0] * (1 + STABLE) for seconds in runs.values())
        described = ", ".join(f"{name} {seconds * 1e3:.2f} ms" for name, seconds in best.items())
        log.debug(
            "%s: %s (measured, best of %d: %s%s)",
            entry,
            backend,
            RUNS,
            described,
            "" if stable else "; noisy, not saved",
        )
        if stable:
            kernel_cache.save_choice(entry, backend)
    _chosen[entry] = backend
    return backend


def measure(candidates: Mapping[str, Callable[[], object]]) -> dict[str, list[float]]:
    """:data:`RUNS` timings in seconds of every candidate: one warm-up each, then rounds in alternating order."""
    names = list(candidates)
    runs: dict[str, list[float]] = {name: [] for name in names}
    with torch.no_grad():
        for name in names:
            candidates[name]()
        for round_ in range(RUNS):
            for name in names if round_ % 2 == 0 else reversed(names):
                start = time.perf_counter()
                candidates[name]()
                runs[name].append(time.perf_counter() - start)
    return runs


def forget() -> None:
    """Drop this process's choices (the next call reads the cache file again). For tests and benchmarks."""
    global _from_file
    _chosen.clear()
    _from_file = None


def _is_compiling() -> bool:
    compiler = getattr(torch, "compiler", None)
    is_compiling = getattr(compiler, "is_compiling", None)
    return bool(is_compiling and is_compiling())


@contextlib.contextmanager
def fixed_cpu_kernels(backend: str = "onednn") -> Iterator[None]:
    """Use one CPU kernel per operation (every one in ``KERNEL_OPS``) inside the block instead of timing them.

    For training: DDP ranks, and a run and its resumption, would otherwise round differently whenever their
    timings pick differently (the backends agree in value only up to float rounding). A backend the user
    forced (``BIREFNET_<OP>_BACKEND``) stays forced; the environment is restored afterwards.
    """
    variables = [backend_variable(op) for op in KERNEL_OPS]
    saved = {variable: os.environ.get(variable) for variable in variables}
    for variable in variables:
        os.environ.setdefault(variable, backend)
    try:
        yield
    finally:
        for variable, value in saved.items():
            if value is None:
                os.environ.pop(variable, None)
            else:
                os.environ[variable] = value
