"""Model kinds: each is one module of this folder, and the module's name is what ``--model`` calls it.

A kind's module holds its network (built from the shared blocks of ``core/models.py``), its loss
terms, what its figures compute (the interpolation's end points and scores, where samples come
from, the region of the plane to draw), and ``TRAITS``: what the rest of the package reads of it
instead of asking which kind it is. Adding a kind is adding a module here and a script in Models/
(README: "Add a model kind").

This file imports no torch: the command line lists the kinds (``config.KIND_NAMES``) before it loads anything.
It builds the network a TrainConfig describes (``build_model``), which a kind's class carries.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass

from ..config import KIND_NAMES as NAMES
from ..errors import LatentlabError

Headline = tuple[str, str, bool, int]  # (metrics.json key, name, higher is better, decimals)


@dataclass(frozen=True)
class Traits:
    """What the package reads of a model kind.

    Three traits, one each for the three distributions of ``distributions.py``:
    ``encoder_distribution``: the encoder gives q(z|x) (``model.posterior(x)``), not a point: its ``encode``
    returns (mean, log_var) of a diagonal Gaussian from heads named ``mean`` and ``log_var``, and the explorer
    page draws each pick's posterior. ``prior``: the model has a prior p(z) to sample (``model.prior``):
    samples and a latent walk from it. ``likelihood_bound``: with both, an ELBO, a KL term, an
    importance-sampled likelihood bound, the IWAE objective (``iwae_loss``) and the true posterior of a 2-D
    latent. ``point_code``: what ``model.code(x)`` is, in words.
    ``headline``: the numbers a sweep judges a recipe by, first the one it is ordered by, for a
    decoder's likelihood name. ``conditional``: the model is given each image's label y, q(z|x, y) and
    p(x|z, y); every method that takes ``y`` reads it, the figures and the page offer a label.
    ``model_options``: what its constructor needs from a TrainConfig beyond the widths.
    """

    name: str
    model: type
    encoder_distribution: bool
    prior: bool
    likelihood_bound: bool
    point_code: str
    headline: Callable[[str], list[Headline]]
    conditional: bool = False
    model_options: Callable[[object], dict] = lambda config: {}


# How tables, figures and messages name a kind where its name in capitals would not do: here, not in the kind's
# module, because a script's --help names its model before torch is imported.
TITLES = {"vampprior": "VampPrior VAE"}


def title(name: str) -> str:
    """How readers see the kind ``name``: "VAE", "VampPrior VAE"."""
    return TITLES.get(name, name.upper())


def traits(name: str) -> Traits:
    """The traits of the kind ``name`` (one of NAMES), from its module."""
    if name not in NAMES:
        raise ValueError(f"no model kind {name!r}; the kinds are {', '.join(NAMES)}")
    return importlib.import_module(f"{__name__}.{name}").TRAITS


# The widths every kind's network is built with (TrainConfig's fields, the shared blocks of ``models``).
WIDTHS = (
    "stem_channels",
    "growth",
    "dense_layers",
    "reduce_channels",
    "decoder_channels",
    "decoder_blocks",
    "upsample_channels",
)


def check_objective(config) -> None:
    """Refuse a model its objective cannot train: the IWAE bound weighs samples of a posterior."""
    if config.objective == "iwae" and not traits(config.model).likelihood_bound:
        raise LatentlabError(
            f"--objective iwae weighs samples of a posterior; --model {config.model} has none. "
            "Use a model with a posterior (--model vae), or leave --objective at elbo."
        )


def build_model(config):
    """The network a TrainConfig describes (a kind's class, built with its options and the widths)."""
    check_objective(config)
    kind = traits(config.model)
    return kind.model(
        config.latent_dim,
        likelihood=config.likelihood,
        **kind.model_options(config),
        **{name: getattr(config, name) for name in WIDTHS},
    )
