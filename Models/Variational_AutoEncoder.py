"""A VAE with a 32-D latent space on MNIST.

Trains the model set out in `hyp` below, evaluates it and writes every figure into its
result folder: reconstructions, the latent scatter (PCA and t-SNE), the latent
distribution, the interpolation grid with ELBO values and interpolation.gif. A folder
that holds a finished model.pt is not retrained.

    python Models/Variational_AutoEncoder.py          # from the repository root
    python Models/Variational_AutoEncoder.py --help   # every flag, e.g. --epochs 3

Reading order, from this file to the paper's equations, one step each:
  1. latentlab/core/kinds/vae.py VariationalAutoencoder: encode -> reparameterization_trick -> decode,
                                 and loss(x), which returns the two terms of the negative ELBO by name;
                                 then training_loss (core/models.py): reconstruction + beta * KL
  2. latentlab/core/distributions.py  the three distributions' objects: q(z|x), the prior N(0, I) and
                                 the KL between them; latentlab/core/losses.py the reconstruction -log p(x|z)
  3. latentlab/core/training.py  training_step (one Adam step on that loss), then train (the loop)
"""

# The experiment's recipe: model, latent size, epochs, learning rate and every width, all here so that
# it reads without opening another file (some equal TrainConfig's defaults in latentlab/core/config.py).
# Every setting not named is that default; any setting can be changed for one run on the command line.
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


if __name__ == "__main__":  # importing this file (the registry of experiments does) runs nothing
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # works before `pip install -e .` too
    from latentlab.cli import experiment_config, guarded

    config = experiment_config(hyp, __file__)  # the command-line flags override hyp (--help lists them)

    def experiment() -> None:
        from latentlab.workflow import run

        # The road `python -m latentlab train` and `reproduce` take too: the loop of latentlab/core/training.py
        # (or the finished model reused), then metrics.json, every figure and GIF, and explorer.html.
        run(config)

    sys.exit(guarded(experiment))
