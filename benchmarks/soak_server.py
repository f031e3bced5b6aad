"""Server soak (issue 21): 200+ prompts through one real ComfyUI with this pack, Stops and bad inputs mixed in.

Starts the end-to-end tests' ComfyUI (tests/e2e/comfy_server.py: cached ComfyUI 0.3.75, --cpu, a throw-away
base directory) and runs tests/e2e/soak.py's plan (the CI test tests/e2e/test_soak.py runs a short one):
images of three sizes, resolution native / custom / dynamic, two model files alternating, previews on, a
streamed video job in the middle, 10 Stops (during a batch, a video, a model load) at seeded random moments,
six bad inputs; then every distinct good prompt again on the idle server as its reference. Prints the report
and writes it as JSON.

    python benchmarks/soak_server.py [--seed 21] [--steps 210] [--json soak_report.json] [--short]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # tests.e2e.* (the shared soak code) and the pack's birefnet package

from tests.e2e.comfy_server import start_comfy_server  # noqa: E402
from tests.e2e.soak import SHORT, SoakConfig, prepare_base, run_soak, summary  # noqa: E402


class _TempDirs:
    """What start_comfy_server wants of pytest's tmp_path_factory: ``mktemp(name)``, under one folder."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="birefnet-soak-"))

    def mktemp(self, name: str) -> Path:
        return Path(tempfile.mkdtemp(prefix=name + "-", dir=self.root))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seed", type=int, default=SoakConfig.seed)
    parser.add_argument("--steps", type=int, default=SoakConfig.steps)
    parser.add_argument("--short", action="store_true", help="the CI test's plan (30 prompts)")
    parser.add_argument("--json", type=Path, default=Path("soak_report.json"))
    parser.add_argument("--keep", action="store_true", help="keep the server's base directory")
    args = parser.parse_args()
    config = dataclasses.replace(SHORT if args.short else SoakConfig(), seed=args.seed)
    if not args.short:
        config = dataclasses.replace(config, steps=args.steps)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop the server and clean up on kill too
    dirs = _TempDirs()
    started = time.monotonic()
    try:
        with start_comfy_server(dirs, name="soak", prepare=lambda base: prepare_base(base, config)) as server:
            print(f"server pid {server.pid}, base {server.base}, up after {time.monotonic() - started:.1f} s")
            report = run_soak(server, config)
    finally:
        if not args.keep:
            shutil.rmtree(dirs.root, ignore_errors=True)
    report["total_s"] = round(time.monotonic() - started, 1)
    args.json.write_text(json.dumps(report, indent=1))
    print(summary(report))
    print(f"total (start-up, run, references, stop): {report['total_s']} s; report: {args.json}")


if __name__ == "__main__":
    main()
