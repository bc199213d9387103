"""A VAE with a 32-D latent space on MNIST.

Trains the model set out in `hyp` below, evaluates it and writes every figure into its
result folder: reconstructions, the latent scatter (PCA and t-SNE), the latent
distribution, the interpolation grid with ELBO values and interpolation.gif. A folder
that holds a finished model.pt is not retrained.

    python Models/Variational_AutoEncoder.py          # from the repository root
    python Models/Variational_AutoEncoder.py --help   # every flag, e.g. --epochs 3

Reading order, from this file to the paper's equations, one step each:
  1. latentlab/models.py    VariationalAutoencoder: encode -> reparameterization_trick -> decode,
                            and loss(x), which returns the two terms of the negative ELBO
  2. latentlab/losses.py    those terms: reconstruction -log p(x|z) and KL(q(z|x) || N(0, I))
  3. latentlab/training.py  training_step (one Adam step on reconstruction + beta * KL), then train (the loop)
"""

# The experiment. Every setting not named here is TrainConfig's default (latentlab/config.py);
# any of them can be changed for one run on the command line.
hyp = {
    "model": "vae",
    "latent_dim": 32,
    "epochs": 12,
    "lr": 2e-3,
    "stem_channels": 16,  # 28x28 channels are costly on a CPU; 32 cost a quarter more time for 0.3 nats
    "growth": 16,
    "dense_layers": 2,
    "reduce_channels": 32,
    "decoder_channels": 64,  # 7x7 channels are cheap
    "decoder_blocks": 1,
    "upsample_channels": 32,
    "out_dir": "Kết_quả_huấn_luyện_Variational_Autoecoder/32D_latent_VAE",
}


if __name__ == "__main__":
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # works before `pip install -e .` too
    from latentlab.cli import run_experiment

    sys.exit(run_experiment(__file__))
