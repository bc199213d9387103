"""A VAE with a 2-D latent space and a VampPrior on MNIST: the 2-D VAE with its prior learned.

The 2-D VAE (Models/Variational_AutoEncoder_with_sampling_animation.py) with one of its three distributions
changed: the prior p(z) is the mean of the encoder's posteriors at K learned pseudo-inputs (Tomczak &
Welling 2018) instead of N(0, I). Trains the model set out in `hyp` below, evaluates it and writes every
figure into its result folder, as the VAE's script does: samples and the latent walk are drawn from the
learned prior. A folder that holds a finished model.pt is not retrained.

    python Models/Variational_AutoEncoder_VampPrior_with_sampling_animation.py          # from the repository root
    python Models/Variational_AutoEncoder_VampPrior_with_sampling_animation.py --help   # every flag

Reading order, from this file to the paper's equations, one step each:
  1. latentlab/core/kinds/vampprior.py VampPrior: p(z) = (1/K) sum_k q(z|u_k), its log_prob and sample;
                                       VampPriorVAE, the VAE that builds it as its prior
  2. latentlab/core/kinds/vae.py       what it inherits: encode -> reparameterization_trick -> decode, and
                                       loss(x), the two terms of the negative ELBO
  3. latentlab/core/distributions.py   the KL term against the prior: no closed form for a mixture, so
                                       log q(z|x) - log p(z) at the sampled z
  4. latentlab/core/training.py        training_step (one Adam step on that loss), then train (the loop)
"""

# The experiment's recipe: the 2-D VAE's, every setting the same, so that the two differ by the prior alone
# (its K = 100 pseudo-inputs are latentlab/core/kinds/vampprior.py's COMPONENTS).
hyp = {
    "model": "vampprior",
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
    "out_dir": "Kết_quả_huấn_luyện_Variational_Autoecoder/2D_latent_VAE_vampprior",
}


if __name__ == "__main__":  # importing this file (the registry of experiments does) runs nothing
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # works before `pip install -e .` too
    from latentlab.cli import experiment_config, guarded

    config = experiment_config(hyp, __file__)  # the command-line flags override hyp (--help lists them)

    def experiment() -> None:
        from latentlab.workflow import run

        run(config)  # the road every script takes: train (or reuse), metrics.json, every figure, explorer.html

    sys.exit(guarded(experiment))
