"""An Autoencoder with a 2-D latent space on MNIST, with sampling animations.

Trains the model set out in `hyp` below, evaluates it and writes every figure into its
result folder: reconstructions, the latent scatter, the interpolation grid, the latent
manifold, and the GIFs sampling_1.gif and sampling_2.gif. A folder that holds a finished
model.pt is not retrained.

    python Models/Auto_enoder_MNIST_with_sampling_animation.py          # from the repository root
    python Models/Auto_enoder_MNIST_with_sampling_animation.py --help   # every flag, e.g. --epochs 3

Reading order, one step each:
  1. latentlab/core/kinds/ae.py  Autoencoder: encode -> decode, and loss(x), which returns its one term,
                                 the reconstruction; training_loss (core/models.py) makes it the loss
  2. latentlab/core/losses.py    that term: the squared error summed over the 784 pixels
  3. latentlab/core/training.py  training_step (one Adam step on the reconstruction), then train (the loop)
"""

# The experiment's recipe: model, latent size, epochs, learning rate and every width, all here so that
# it reads without opening another file (some equal TrainConfig's defaults in latentlab/core/config.py).
# Every setting not named is that default; any setting can be changed for one run on the command line.
hyp = {
    "model": "ae",
    "latent_dim": 2,
    # Test MSE over seeds (H100): 12 epochs 0.0404-0.0414 (5 seeds); 16 epochs with 64 channels
    # at 7x7 0.0400 0.0395 0.0410 0.0400, with 96 channels 0.0394 0.0398 0.0402. Rerun:
    # python -m latentlab sweep ae-2d --set epochs=12,16 --set decoder_channels=64,96 --seeds 0 1 2 3 4 --jobs 5
    "epochs": 16,
    "lr": 4e-3,  # the AE trains well at twice the VAE's rate
    "stem_channels": 16,
    "growth": 16,
    "dense_layers": 2,
    "reduce_channels": 32,
    # A 2-D code gets all its shape from the decoder's 7x7 blocks, so two of them, and wide.
    "decoder_channels": 96,
    "decoder_blocks": 2,
    "upsample_channels": 32,
    "out_dir": "Kết_quả_huấn_luyện_Autoencoder/2D_latent_AE",
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
