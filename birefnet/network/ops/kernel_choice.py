"""Pick, per operation, the CPU kernel that runs the whole model faster, by timing real calls in turn.

Which CPU kernel wins depends on the processor: on one 2-core AMD EPYC a oneDNN 1x1 convolution runs a
linear layer faster than MKL's GEMM, on another the reverse. Timing each layer shape on its own, on a copy
of its input, lost to the better of "every layer oneDNN" and "every layer matmul" by 7% on Swin-L (short
single timings drift by +-10% on shared machines, and a kernel run alone is not a kernel run inside the
model), and cost about 5 s on the first forward. So one backend is chosen per operation (``linear``,
``pointwise_conv``, ``deform_conv``; per dtype and thread count): during a trial the operation's real calls
alternate between its backends per call shape (A B B A ...), each call is timed, and once enough calls of
several shapes have run, the backend whose calls would have taken less in total (every shape's median
times its number of calls) wins; a near tie keeps the default. Inside a model's forward (marked by
:func:`model_pass`) the trial covers whole passes: it ends at the end of the second pass whose shapes are
nearly all timed on every backend (the fourth at the latest), so every stage's shapes weigh in. Deciding
on the first few shapes only lost 5% on Swin-L on one host, where oneDNN wins stage 1 and MKL the rest.
Outside passes it ends once enough calls of several shapes ran. The trial does no extra work: it costs only
the slower backend's share of the trial calls (about 0.14 s over the first two Swin-L forwards where the
backends differ by 8%). The first call of a shape on a backend is not timed (oneDNN builds its kernel
then). One exception to the one backend: a layer (one weight shape, whatever the number of tokens) keeps a
backend of its own when one of its call shapes ran on that backend 2x faster (its slowest timed call against
the other backends' fastest, :data:`.kernel_evidence.OUTLIER`) and the layer's timed calls all together also
run faster on it (on an AVX2 EPYC, oneDNN runs Swin-L's stage-4 ``fc2``, 6144 -> 1536 features, 2.4-3.8x
slower than MKL at 64-1024 tokens, while it ties or wins elsewhere). Such layers stay out of the totals that
pick the operation's backend, and their backend holds for token counts the trial never saw (a trial at 512
pixels also serves 1024, whose chunks have other token counts). The choice (and its exceptions) is
remembered for the process and, when its two halves of evidence agree, in the per-machine file of
:mod:`.kernel_cache`, so later processes skip the trial; a layer not seen in the trial uses the operation's
backend. The backends compute the same function (within float rounding), so the choice changes speed only.

Nothing is timed while ``torch.compile`` traces (the default is used). For debugging,
``BIREFNET_<OP>_BACKEND`` (e.g. ``BIREFNET_LINEAR_BACKEND=matmul``) forces a backend; ``auto`` chooses.
Every choice is logged at debug level on the ``birefnet.kernels`` logger.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Callable, Iterator, Mapping
from typing import TypeVar

import torch

from ...errors import BiRefNetError
from . import kernel_cache
from .kernel_evidence import OUTLIER, Trial, decide, evidence_halves, layer_backends, trial_cost

log = logging.getLogger("birefnet.kernels")
T = TypeVar("T")

# The trial ends once this many call shapes (or all shapes seen, if fewer) have timed calls on every
# backend, and either this much time was timed, this many calls ran, or every shape seen has timed calls.
MIN_PAIRED_SHAPES = 6
TRIAL_SECONDS = 0.6
TRIAL_CALLS = 64
# Without paired evidence after this many calls (shapes that never repeat), the default stays.
MAX_TRIAL_CALLS = 1024
# Inside model passes a trial ends at the end of a pass: the first, from the MIN_PASSES-th on, in which the
# shapes timed on every backend account for PASS_COVERAGE of its calls, or else the MAX_PASSES-th.
MIN_PASSES = 2
PASS_COVERAGE = 0.9
MAX_PASSES = 4

KERNEL_OPS: dict[str, tuple[str, ...]] = {
    "linear": ("matmul", "onednn"),
    "pointwise_conv": ("matmul", "onednn"),
    "deform_conv": ("matmul", "onednn"),
}
"""Every operation that picks its CPU kernel here, with its backends. ``run_chosen`` refuses any other name, so
a new operation must be added here, and ``fixed_cpu_kernels`` then fixes it too."""

_clock = time.perf_counter  # replaced by tests


_chosen: dict[str, str] = {}  # entry (or layer entry, for a layer's own backend) -> backend, this process
_trials: dict[str, Trial] = {}  # entry -> trial in progress
_from_file: dict[str, str] | None = None  # this machine's entries of the cache file, read once
_pass_depth = 0  # model passes running (nested passes count as one)
_LAYER = " layer="  # joins an entry and a layer in the key of the layer's own backend


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


def run_chosen(
    op: str,
    group: tuple,
    layer: tuple,
    size: tuple,
    default: str,
    candidates: Mapping[str, Callable[[], T]],
) -> T:
    """Compute ``op`` by its chosen backend (forced, remembered, or in turn during its trial).

    op: operation name (``"linear"``), also the environment variable's ``<OP>``.
    group: what else decides the backend besides the operation and thread count: dtypes, autocast.
    layer: what one layer's calls share whatever the input size (its weight shape): a layer may keep a
        backend of its own.
    size: what varies with the input (token or position counts); the call shape is ``(*size, *layer)``
        (calls of one shape are compared with each other during the trial).
    default: one of the backends, used while tracing and on near ties.
    candidates: ``{backend: run}`` in ``KERNEL_OPS[op]`` order; each ``run()`` computes the real call.
    """
    backends = tuple(candidates)
    if KERNEL_OPS.get(op) != backends:
        raise ValueError(f"kernel choice for {op!r} with backends {backends}: list it in KERNEL_OPS first")
    backend = chosen_backend(op, group, default, layer)
    if backend is not None:
        return candidates[backend]()
    entry = _entry(op, group)
    shape = (*size, *layer)
    trial = _trials.setdefault(entry, Trial(backends, default))
    trial.in_pass = trial.in_pass or _pass_depth > 0
    count = trial.counts.get(shape, 0)
    order = (default, *(b for b in backends if b != default))
    cycle = order + order[::-1]  # A B B A: a slow drift of the machine's speed cancels
    backend = cycle[count % len(cycle)]
    start = _clock()
    result = candidates[backend]()
    seconds = _clock() - start
    trial.calls += 1
    trial.counts[shape] = count + 1
    trial.layers[shape] = layer
    runs = trial.runs.setdefault(shape, {})
    runs[backend] = runs.get(backend, 0) + 1
    if runs[backend] > 1:  # the first call of a shape on a backend builds its kernel: not timed
        trial.samples.setdefault(shape, {}).setdefault(backend, []).append(seconds)
        trial.seconds += seconds
    if _pass_depth == 0:  # inside a model pass the trial ends with a pass (see _end_pass)
        _finish_if_done(entry, trial)
    return result


@contextlib.contextmanager
def model_pass() -> Iterator[None]:
    """Mark one forward pass of a whole model (``BiRefNet.forward`` in eval mode wraps itself in it).

    Trials running inside passes end only at the end of a pass, so their evidence covers every stage's
    shapes in proportion. A pass that raises (an interrupt) does not count. Nested passes count once.
    """
    global _pass_depth
    _pass_depth += 1
    completed = False
    try:
        yield
        completed = True
    finally:
        _pass_depth -= 1
        if _pass_depth == 0 and completed:
            _end_pass()


def _end_pass() -> None:
    """Count the pass for every trial called during it, and end those with enough evidence."""
    for entry, trial in list(_trials.items()):
        if not trial.in_pass:
            continue
        trial.in_pass = False
        trial.passes += 1
        paired = trial.paired()
        covered = sum(trial.counts[s] for s in paired) >= PASS_COVERAGE * trial.calls
        if (trial.passes >= MIN_PASSES and covered) or trial.passes >= MAX_PASSES:
            _finish(entry, trial)


def chosen_backend(op: str, group: tuple, default: str, layer: tuple) -> str | None:
    """The backend ``op`` uses for ``group`` (and ``layer``) now: forced, the default while tracing,
    remembered in this process or in the cache file (the layer's own backend where its trial found one, else
    the operation's); None while its trial runs."""
    backends = KERNEL_OPS[op]
    forced = forced_backend(op, backends)
    if forced is not None:
        return forced
    if is_compiling():
        return default
    entry = _entry(op, group)
    backend = _chosen.get(entry)
    if backend is None:
        backend = _remembered(entry, backends)
        if backend is None:
            return None
    return _chosen.get(layer_entry(entry, layer), backend)


def _remembered(entry: str, backends: tuple[str, ...]) -> str | None:
    """``entry``'s backend from the cache file, with its layers' own backends (both then held in ``_chosen``)."""
    global _from_file
    if _from_file is None:
        _from_file = kernel_cache.load_choices()
    backend = _from_file.get(entry)
    if backend not in backends:
        return None
    log.debug("%s: %s (from %s)", entry, backend, kernel_cache.cache_path())
    prefix = f"{entry}{_LAYER}"
    _chosen.update(
        {key: value for key, value in _from_file.items() if key.startswith(prefix) and value in backends}
    )
    _chosen[entry] = backend
    return backend


def layer_entry(entry: str, layer: tuple) -> str:
    """The key of one layer's own backend: ``"<entry> layer=<layer>"``."""
    return f"{entry}{_LAYER}{layer}"


def current_choices() -> dict[str, str]:
    """``{entry: backend}`` of every operation decided in this process (for benchmarks and logs)."""
    return dict(_chosen)


def trials_in_progress() -> list[str]:
    """The entries whose trial has not ended yet (for benchmarks: time only after every trial ended)."""
    return list(_trials)


def _finish_if_done(entry: str, trial: Trial) -> None:
    """End a trial run outside model passes once enough calls of several shapes are timed."""
    paired = trial.paired()
    enough = len(paired) >= min(MIN_PAIRED_SHAPES, len(trial.counts)) and (
        trial.seconds >= TRIAL_SECONDS or trial.calls >= TRIAL_CALLS or len(paired) == len(trial.counts)
    )
    if enough or trial.calls >= MAX_TRIAL_CALLS:
        _finish(entry, trial)


def _finish(entry: str, trial: Trial) -> None:
    """Decide the trial's backend and its layers' own backends, log the evidence, remember them (and save
    them when the halves of the evidence agree)."""
    backends, default = trial.backends, trial.default
    paired = trial.paired()
    samples = {s: trial.samples[s] for s in paired}
    layers = layer_backends(trial.counts, samples, trial.layers, backends)
    weighed = [s for s in paired if trial.layers[s] not in layers] or paired  # those keep their own backend
    if paired:
        backend, totals = decide(trial.counts, {s: samples[s] for s in weighed}, backends, default)
        # Saved only when both halves of the evidence decide alike: else a busy machine may have misled it.
        halves = evidence_halves(trial, weighed)
        stable = all(half and decide(trial.counts, half, backends, default)[0] == backend for half in halves)
    else:
        backend, totals, stable = default, {}, False
    own = {layer: b for layer, b in layers.items() if b != backend}
    described = ", ".join(f"{name} {seconds * 1e3:.1f} ms" for name, seconds in totals.items())
    log.debug(
        "%s: %s (trial of %d calls in %d model passes, %d shapes timed on every backend, totals %s, the "
        "trial's other backends cost about %.0f ms more%s%s)",
        entry,
        backend,
        trial.calls,
        trial.passes,
        len(paired),
        described or "none",
        trial_cost(trial, {s: own.get(trial.layers[s], backend) for s in paired}, paired) * 1e3,
        "".join(f"; layer {layer}: {b} ({OUTLIER:g}x faster or more)" for layer, b in own.items()),
        "" if stable else "; not clear enough to save",
    )
    choices = {entry: backend, **{layer_entry(entry, layer): b for layer, b in own.items()}}
    if stable:
        kernel_cache.save_choices(choices)
    _chosen.update(choices)
    del _trials[entry]


def _entry(op: str, group: tuple) -> str:
    return f"{op} {group} threads={torch.get_num_threads()}"


def forget() -> None:
    """Drop this process's choices and trials (the next call reads the cache file again). For tests and
    benchmarks."""
    global _from_file, _pass_depth
    _chosen.clear()
    _trials.clear()
    _from_file = None
    _pass_depth = 0


def onednn_choice_possible(x: torch.Tensor) -> bool:
    """Whether an operation on ``x`` can choose between its backends: a CPU tensor with oneDNN built and
    enabled (elsewhere the matmul backend runs, untimed)."""
    return x.device.type == "cpu" and torch.backends.mkldnn.is_available() and torch.backends.mkldnn.enabled


def dtype_name(dtype: torch.dtype) -> str:
    """``"float32"`` for ``torch.float32``: how dtypes appear in choice entries (``group``)."""
    return str(dtype).removeprefix("torch.")


def is_compiling() -> bool:
    """Whether ``torch.compile`` is tracing the code now (nothing is timed then)."""
    compiler = getattr(torch, "compiler", None)
    tracing = getattr(compiler, "is_compiling", None)
    return bool(tracing and tracing())


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
