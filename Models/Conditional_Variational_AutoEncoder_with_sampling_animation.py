"""A conditional VAE with a 2-D latent space on MNIST: each digit's label is given to the encoder and the
decoder, so that z is left to carry how the digit is written (Sohn et al. 2015; Kingma et al. 2014).

Trains the model set out in `hyp` below, evaluates it and writes every figure into its result folder: the
style plane of each digit (the 2-D z decoded with each of the ten labels), analogies (one test digit's
style written as every digit), the interpolation grid with ELBO values (two digits of one class, and of two
classes with the label switched halfway), reconstructions, the latent scatter, the loss curves, and the GIF
cvae_style_walk.gif. A folder that holds a finished model.pt is not retrained.

    python Models/Conditional_Variational_AutoEncoder_with_sampling_animation.py          # from the repository root
    python Models/Conditional_Variational_AutoEncoder_with_sampling_animation.py --help   # every flag

Reading order, from this file to the paper's equations, one step each:
  1. latentlab/core/kinds/cvae.py ConditionalVariationalAutoencoder: encode(x, y) and decode(z, y), the
                                  VAE's with the one-hot label beside the encoder's features and beside z
  2. latentlab/core/kinds/vae.py  what it inherits: reparameterization_trick, and loss(x, y), the two
                                  terms of the negative ELBO; then training_loss (core/models.py)
  3. latentlab/core/distributions.py  q(z|x, y), the prior N(0, I) and the KL between them;
                                  latentlab/core/losses.py the reconstruction -log p(x|z, y)
  4. latentlab/core/training.py   training_step (one Adam step on that loss), then train (the loop)
"""

# The experiment's recipe: the 2-D VAE's (Models/Variational_AutoEncoder_with_sampling_animation.py), every
# setting the same, so that the two differ by the label alone. Any setting can be changed on the command line.
hyp = {
    "model": "cvae",
    "latent_dim": 2,
    "epochs": 16,
    "lr": 2e-3,
    "stem_channels": 16,
    "growth": 16,
    "dense_layers": 2,
    "reduce_channels": 32,
    "decoder_channels": 64,
    "decoder_blocks": 2,
    "upsample_channels": 32,
    "out_dir": "Kết_quả_huấn_luyện_Variational_Autoecoder/2D_latent_CVAE",
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
