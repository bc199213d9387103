"""Decodes, and a drawn digit's encode + decode, per second of every committed explorer page, in
headless Chromium.

    python benchmarks/explorer_decodes.py [--seconds 2]

Each page is opened from disk; its decoder (explorer.js) is run on random latent points for
--seconds, as a moving pointer would run it, then its encoder and decoder together on random
28x28 inputs, as a drawn digit runs them (the milliseconds each takes are printed too, against
the 50 ms budget); the page size is printed too.
Needs Playwright and the system's Chromium (see latentlab/publish/browser.py). Timings on a
shared machine vary from run to run.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from latentlab.experiments import EXPERIMENTS  # noqa: E402
from latentlab.publish import browser  # noqa: E402
from latentlab.publish.explorer import EXPLORER_FILE  # noqa: E402

TIMED = """(seconds) => {
  const page = window.explorer, start = performance.now();
  let n = 0;
  while (performance.now() - start < 1000 * seconds) {
    page.show(Float32Array.from({length: page.D}, () => 2 * Math.random() - 1));
    n++;
  }
  return n / ((performance.now() - start) / 1000);
}"""
ROUND_TRIPS = """(seconds) => {
  const page = window.explorer, start = performance.now();
  let n = 0;
  while (performance.now() - start < 1000 * seconds) {
    const code = page.encode(Float32Array.from({length: 784}, () => Math.random()));
    page.decode(code.z || code.mean);
    n++;
  }
  return n / ((performance.now() - start) / 1000);
}"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="decoding time per page (default: 2)")
    args = parser.parse_args()
    if browser.missing():
        sys.exit(f"Cannot run: {browser.missing()}.")
    print(f"{'experiment':22s} {'page MB':>8s} {'decodes/s':>10s} {'encode+decode/s':>16s} {'ms each':>8s}")
    for name, experiment in EXPERIMENTS.items():
        page_path = experiment.out_dir / EXPLORER_FILE
        if not page_path.is_file():
            continue
        with browser.open_page(page_path) as (page, errors):
            rate = page.evaluate(TIMED, args.seconds)
            trips = page.evaluate(ROUND_TRIPS, args.seconds)
        print(
            f"{name:22s} {page_path.stat().st_size / 1e6:8.2f} {rate:10.0f} {trips:16.0f} {1000 / trips:8.1f}"
            + (f"  errors: {errors}" if errors else "")
        )


if __name__ == "__main__":
    main()
