"""An Autoencoder with a 32-D latent space on MNIST.

Trains the model set out in `hyp` below, evaluates it and writes every figure into its
result folder: reconstructions, the latent scatter (PCA and t-SNE), the latent
distribution, the interpolation grid and interpolation.gif. A folder that holds a
finished model.pt is not retrained.

    python Models/Auto_enoder_MNIST.py          # from the repository root
    python Models/Auto_enoder_MNIST.py --help   # every flag, e.g. --epochs 3

Reading order, one step each:
  1. latentlab/models.py    Autoencoder: encode -> decode, and loss(x), which returns the reconstruction term
  2. latentlab/losses.py    that term: the squared error summed over the 784 pixels
  3. latentlab/training.py  training_step (one Adam step on the reconstruction), then train (the loop)
"""

# The experiment. Every setting not named here is TrainConfig's default (latentlab/config.py);
# any of them can be changed for one run on the command line.
hyp = {
    "model": "ae",
    "latent_dim": 32,
    "epochs": 8,
    "lr": 2e-3,
    "stem_channels": 16,
    "growth": 16,
    "dense_layers": 2,
    "reduce_channels": 32,
    "decoder_channels": 64,
    "decoder_blocks": 1,
    "upsample_channels": 32,
    "out_dir": "Kết_quả_huấn_luyện_Autoencoder/32D_latent_AE",
}


if __name__ == "__main__":
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # works before `pip install -e .` too
    from latentlab.cli import run_experiment

    sys.exit(run_experiment(__file__))
