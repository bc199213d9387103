"""VAE, 32-D latent, on MNIST. Run from the repository root: python Models/Variational_AutoEncoder.py --help"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # works before `pip install -e .` too

from latentlab.cli import run_experiment  # noqa: E402

if __name__ == "__main__":
    sys.exit(run_experiment("vae-32d"))
