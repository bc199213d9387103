"""VAE, 2-D latent, with sampling animations, on MNIST. Run from the repository root: python Models/Variational_AutoEncoder_with_sampling_animation.py --help"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # works before `pip install -e .` too

from latentlab.cli import run_experiment  # noqa: E402

if __name__ == "__main__":
    sys.exit(run_experiment("vae-2d"))
