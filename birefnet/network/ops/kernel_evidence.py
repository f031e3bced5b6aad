"""The evidence of a kernel trial and what it decides: a trial's timed calls, the backend that runs them
faster in total, the layers that keep a backend of their own, whether the evidence is steady, and what the
trial cost. Plain functions of the timed samples (seconds), no clock and no state: :mod:`.kernel_choice`
runs the trials and remembers what these decide.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping
from dataclasses import dataclass, field

# A backend that is not at least this much faster in total than the default loses (noise, not a real gain).
TIE = 0.03
# A layer keeps a backend of its own when, on one of its call shapes, that backend's slowest timed call was
# this many times faster than every other backend's fastest: far beyond the machine's noise (+-20% per call on
# busy hosts), so a single sample per backend suffices.
OUTLIER = 2.0


@dataclass
class Trial:
    """The timed calls of one operation (one dtype, one thread count) so far."""

    backends: tuple[str, ...]
    default: str
    calls: int = 0
    seconds: float = 0.0
    passes: int = 0  # model passes completed with calls of this trial
    in_pass: bool = False  # called during the model pass now running
    counts: dict[tuple, int] = field(default_factory=dict)  # shape -> calls
    runs: dict[tuple, dict[str, int]] = field(default_factory=dict)  # shape -> backend -> calls
    layers: dict[tuple, tuple] = field(default_factory=dict)  # shape -> layer
    samples: dict[tuple, dict[str, list[float]]] = field(default_factory=dict)  # shape -> backend -> seconds

    def paired(self) -> list[tuple]:
        """The shapes with timed calls on every backend, in the order they first ran."""
        return [s for s, by in self.samples.items() if all(by.get(b) for b in self.backends)]


def outlier_backends(samples: Mapping[tuple, Mapping[str, list[float]]]) -> dict[tuple, str]:
    """``{shape: backend}`` for the shapes on which one backend's slowest timed call was still :data:`OUTLIER`
    times faster than each other backend's fastest (``samples``: shape -> backend -> seconds)."""
    outliers = {}
    for shape, by in samples.items():
        fastest = min(by, key=lambda b: max(by[b]))
        if all(min(by[b]) >= OUTLIER * max(by[fastest]) for b in by if b != fastest):
            outliers[shape] = fastest
    return outliers


def layer_backends(
    counts: Mapping[tuple, int],
    samples: Mapping[tuple, Mapping[str, list[float]]],
    layers: Mapping[tuple, tuple],
    backends: tuple[str, ...],
) -> dict[tuple, str]:
    """``{layer: backend}`` for the layers that keep a backend of their own: one of their call shapes is an
    outlier for it (:func:`outlier_backends`) and it also wins the layer's shapes in ``samples`` in total
    (:func:`decide`, that backend winning near ties). ``layers``: shape -> layer."""
    own: dict[tuple, str] = {}
    for shape, backend in outlier_backends(samples).items():
        layer = layers[shape]
        if layer in own:
            continue
        of_layer = {s: by for s, by in samples.items() if layers[s] == layer}
        if decide(counts, of_layer, backends, backend)[0] == backend:
            own[layer] = backend
    return own


def decide(
    counts: Mapping[tuple, int],
    samples: Mapping[tuple, Mapping[str, list[float]]],
    backends: tuple[str, ...],
    default: str,
) -> tuple[str, dict]:
    """The backend whose calls take least in total (each shape's median seconds in ``samples`` times its
    number of calls in ``counts``), the default on a near tie (:data:`TIE`); also the totals
    ``{backend: seconds}``. ``samples``: shape -> backend -> seconds of its timed calls, with samples on
    each of ``backends`` (the trial's backends, one of them ``default``)."""
    totals = {b: sum(counts[s] * statistics.median(by[b]) for s, by in samples.items()) for b in backends}
    best = min(totals, key=totals.__getitem__)
    if totals[default] <= totals[best] * (1 + TIE):
        best = default
    return best, totals


def evidence_halves(trial: Trial, shapes: list[tuple]) -> list[dict[tuple, dict[str, list[float]]]]:
    """The trial's samples of ``shapes`` in two halves, to see whether the decision survives the noise: a
    shape timed at least twice on every backend gives alternate samples to each half, a shape timed once
    goes to one half (alternately, in the order the shapes first ran)."""
    halves: list[dict[tuple, dict[str, list[float]]]] = [{}, {}]
    once = 0
    for shape in shapes:
        by = trial.samples[shape]
        if all(len(by[b]) >= 2 for b in trial.backends):
            for i, half in enumerate(halves):
                half[shape] = {b: by[b][i::2] for b in trial.backends}
        else:
            halves[once % 2][shape] = {b: by[b] for b in trial.backends}
            once += 1
    return halves


def trial_cost(trial: Trial, chosen: Mapping[tuple, str], shapes: list[tuple]) -> float:
    """Seconds the trial's calls on other backends took beyond the median of each shape's ``chosen`` backend."""
    return sum(
        count * (statistics.median(trial.samples[s][b]) - statistics.median(trial.samples[s][chosen[s]]))
        for s in shapes
        for b, count in trial.runs[s].items()
        if b != chosen[s]
    )
