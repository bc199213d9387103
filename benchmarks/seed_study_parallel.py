"""Wall time of the same small seed study run one after another in one process and as local jobs at once.

    python benchmarks/seed_study_parallel.py [--jobs 2] [--seeds 0 1 2 3] [--data-root PATH]

The study: the 2-D AE's recipe with one epoch on a class-balanced 4,096 training images and each seed's
quick evaluation, for every seed given. It runs in a scratch copy of the result tree, so nothing of the
repository is touched. Both ways use one thread per run (the runs' numbers are then equal, and the
script checks it), so the ratio is what running the jobs side by side buys on this machine. Each way
starts from a clean scratch tree; timings on a shared machine vary from run to run.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def study(root: Path, seeds: list[str], data_root: str, jobs: int | None) -> tuple[float, list[dict]]:
    """Run the study in ``root`` (a fresh scratch tree); returns its wall time and its records."""
    shutil.rmtree(root / "runs", ignore_errors=True)
    command = [
        sys.executable,
        "-m",
        "latentlab",
        "seeds",
        "--only",
        "ae-2d",
        "--seeds",
        *seeds,
        "--epochs",
        "1",
        "--train-limit",
        "4096",
        "--device",
        "cpu",
        "--threads",
        "1",
        "--data-root",
        data_root,
    ]
    if jobs:
        command += ["--jobs", str(jobs)]
    started = time.perf_counter()
    subprocess.run(command, cwd=root, check=True, capture_output=True, env={**os.environ, "PYTHONPATH": str(REPO)})
    seconds = time.perf_counter() - started
    record = root / "runs" / "seeds" / "ae-2d" / "epochs1-train_limit4096" / "seeds.json"
    return seconds, json.loads(record.read_text())["runs"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--seeds", nargs="+", default=["0", "1", "2", "3"])
    parser.add_argument("--data-root", default=os.environ.get("MNIST_ROOT") or str(REPO.parent / "shared" / "data"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)  # a root with the AE's result folder only: the study never sees the real one
        (root / "Kết_quả_huấn_luyện_Autoencoder" / "2D_latent_AE").mkdir(parents=True)
        one, one_runs = study(root, args.seeds, args.data_root, None)
        many, many_runs = study(root, args.seeds, args.data_root, args.jobs)
    same = [{k: v for k, v in run.items() if k != "train_seconds"} for run in one_runs] == [
        {k: v for k, v in run.items() if k != "train_seconds"} for run in many_runs
    ]
    print(f"{len(args.seeds)} runs on {os.cpu_count()} cores, one thread each")
    print(f"  one process, one after another: {one:6.1f} s")
    print(f"  --jobs {args.jobs} (submitit, local):     {many:6.1f} s")
    print(f"  speed-up: {one / many:.2f}x; recorded numbers identical: {same}")


if __name__ == "__main__":
    main()
