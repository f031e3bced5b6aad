"""Where a CPU forward of BiRefNet spends its time and its page faults: the encoder (and Swin's stages), the
context squeeze, the decoder; by default in a worker thread, as ComfyUI runs a prompt.

    python benchmarks/bench_page_faults.py --backbone swin_v1_l --size 1024 --rounds 3

A minor page fault is the first touch of a page the process got fresh from the OS: glibc maps every block of
32 MiB or more anew (and a worker thread's arena returns freed heaps), so a tensor that big costs one fault per
4 KiB page each time it is made. Prints per phase the median wall time and faults per forward (faults of the
whole process: the intra-op threads touch pages too), and the peak RSS. Random weights.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from birefnet import BiRefNet, load_model  # noqa: E402


def _faults() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--backbone", default="swin_v1_l")
    parser.add_argument("--size", type=int, default=1024)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--main-thread", action="store_true", help="run in the main thread")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = load_model(BiRefNet(args.backbone).state_dict())
    x = torch.randn(1, 3, args.size, args.size)

    # Modules called as modules get hooks; the encoder runs through forward_images, so model.encode is wrapped.
    hooked = {f"  stage {i + 1}": stage for i, stage in enumerate(getattr(model.bb, "layers", []))}
    hooked |= {"squeeze": model.squeeze_module, "decoder": model.decoder}
    order = ["encoder", *hooked]
    samples: dict[str, list[tuple[float, int]]] = defaultdict(list)
    started: dict[str, tuple[float, int]] = {}
    totals: dict[str, list[float]] = defaultdict(list)
    for name, module in hooked.items():
        module.register_forward_pre_hook(
            lambda *_, n=name: started.__setitem__(n, (time.perf_counter(), _faults()))
        )
        module.register_forward_hook(lambda *_, n=name: _record(n, started, samples))
    encode = model.encode

    def timed_encode(image: torch.Tensor) -> list[torch.Tensor]:
        started["encoder"] = (time.perf_counter(), _faults())
        out = encode(image)
        _record("encoder", started, samples)
        return out

    model.encode = timed_encode  # type: ignore[method-assign]

    def work() -> None:
        with torch.inference_mode():
            model(x)
            model(x)  # warm-up (and any kernel trial)
            samples.clear()
            for _ in range(args.rounds):
                t0, f0 = time.perf_counter(), _faults()
                model(x)
                totals["wall"].append(time.perf_counter() - t0)
                totals["faults"].append(_faults() - f0)

    if args.main_thread:
        work()
    else:
        worker = threading.Thread(target=work)
        worker.start()
        worker.join()
    where = "main thread" if args.main_thread else "worker thread"
    print(f"{args.backbone} {args.size}, threads={args.threads}, {where}, {args.rounds} forwards (medians)")
    print(
        f"{'forward':10s} {statistics.median(totals['wall']):7.2f} s  {statistics.median(totals['faults']):9.0f} faults"
    )
    for name in order:
        if samples[name]:
            wall = statistics.median(s for s, _ in samples[name])
            faults = statistics.median(f for _, f in samples[name])
            print(f"{name:10s} {wall:7.2f} s  {faults:9.0f} faults")
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:.2f} GiB")


def _record(
    name: str, started: dict[str, tuple[float, int]], samples: dict[str, list[tuple[float, int]]]
) -> None:
    t0, f0 = started.pop(name)
    samples[name].append((time.perf_counter() - t0, _faults() - f0))


if __name__ == "__main__":
    main()
