"""The experiments: each a name and its ``hyp``, the settings it gives TrainConfig.

The four experiments of the original work, and the conditional VAE, keep their ``hyp`` at the top of
their scripts in Models/, where a reader looks first; this module imports it from there (a script runs nothing on
import), so every list of experiments (``reproduce``, the report, the READMEs, CI) comes from
those files and the two below.
"""

from __future__ import annotations

import importlib.util
from collections.abc import MutableMapping
from dataclasses import dataclass
from pathlib import Path

from .core.config import TrainConfig
from .core.errors import LatentlabError

VAE_RESULTS = Path("Kết_quả_huấn_luyện_Variational_Autoecoder")


@dataclass(frozen=True)
class Experiment:
    """A named recipe: ``hyp`` holds the settings that differ from TrainConfig's defaults."""

    hyp: dict
    script: Path | None = None  # its script in Models/: the four experiments of the original work, and the CVAE

    @property
    def name(self) -> str:
        """The name of its configuration: ``vae-2d``, ``vae-32d-bernoulli-iwae5`` (TrainConfig.name)."""
        return self.config().name()

    @property
    def out_dir(self) -> Path:
        return Path(self.hyp["out_dir"])

    def config(self, **run) -> TrainConfig:
        """Its TrainConfig; ``run`` sets fields such as device or data_root."""
        return TrainConfig(**{**self.hyp, **run})


MODELS_FOLDER = Path(__file__).resolve().parents[1] / "Models"


def _script_experiment(script: Path) -> Experiment:
    """Import a script of Models/ for its ``hyp``: a script runs nothing on import."""
    spec = importlib.util.spec_from_file_location(f"latentlab_experiment_{script.stem}", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return Experiment(module.hyp, script)


# The fifth experiment has no script of the original work: a VAE comparable with published
# likelihood tables (binarized MNIST, NLL in nats). Its many epochs are cheap on a GPU (0.5 s
# each on an H100) and long on a 2-core CPU (over half a minute each). On the H100, 100 epochs
# with one 7x7 block reached 86.16 nats (k = 1000, full test set), 200 epochs with two 84.53.
BERNOULLI = Experiment(
    dict(
        model="vae",
        latent_dim=32,
        likelihood="bernoulli",
        epochs=200,
        decoder_blocks=2,
        out_dir=str(VAE_RESULTS / "32D_latent_VAE_bernoulli"),
    )
)

# The frontier attempt of the same class (one stochastic layer of 32 units, diagonal posterior,
# factorized Bernoulli decoder): about three times the width (0.98 M parameters against 0.32 M;
# width was the lever measured first, 200 ELBO epochs reached 82.6 nats at k = 1000) trained on
# the 5-sample importance-weighted bound of Burda et al. (2015), which buys a tighter bound per
# epoch. 100 epochs: what fitted in one 15-minute GPU lease beside four seeds of the run above.
FRONTIER = Experiment(
    dict(
        model="vae",
        latent_dim=32,
        likelihood="bernoulli",
        objective="iwae",
        iw_samples=5,
        epochs=100,
        stem_channels=32,
        growth=32,
        dense_layers=4,
        decoder_channels=128,
        decoder_blocks=3,
        upsample_channels=64,
        out_dir=str(VAE_RESULTS / "32D_latent_VAE_bernoulli_iwae5"),
    )
)


class Registry(MutableMapping):
    """The experiments by name, read from the scripts of Models/ on first use: ``import latentlab`` and
    ``latentlab.load_model`` work from an installed package without the repository around it."""

    def __init__(self, load):
        self._load, self._experiments = load, None

    @property
    def _data(self) -> dict:
        if self._experiments is None:
            self._experiments = self._load()
        return self._experiments

    def __getitem__(self, name):
        return self._data[name]

    def __setitem__(self, name, experiment):
        self._data[name] = experiment

    def __delitem__(self, name):
        del self._data[name]

    def __iter__(self):
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)


def _read_registry() -> dict:
    """Every experiment, in the order of the tables: 2-D before 32-D, then by kind (ae, cvae, vae), the ELBO's
    objective first, MNIST first."""
    if not MODELS_FOLDER.is_dir():
        raise LatentlabError(
            f"The experiments are read from the repository's scripts in Models/, and {MODELS_FOLDER} is not "
            "there: this latentlab is installed without its repository. load_model, train, evaluate, figures "
            "and explore work as they are; for reproduce, seeds, sweep and report, clone the repository and "
            "run from its root."
        )
    # By the kinds' names, which need no import of their modules: the command line lists the experiments
    # before it loads torch.
    scripts = sorted(
        (_script_experiment(path) for path in MODELS_FOLDER.glob("*.py")),
        # the ELBO's model before one of another objective, then by file name: never the file system's order
        key=lambda e: (e.hyp["latent_dim"], e.hyp["model"], e.hyp.get("objective", "elbo") != "elbo", e.script.name),
    )
    experiments = named(scripts + [BERNOULLI, FRONTIER])
    # The 2-D VAE's own recipe on Fashion-MNIST: the same model on a harder data set.
    vae_2d = experiments["vae-2d"].hyp
    fashion = Experiment(
        {
            **{k: v for k, v in vae_2d.items() if k != "out_dir"},
            "dataset": "fashion-mnist",
            "out_dir": str(VAE_RESULTS / "2D_latent_VAE_fashion_mnist"),
        }
    )
    return named([*experiments.values(), fashion])


def named(experiments: list[Experiment]) -> dict[str, Experiment]:
    """The experiments by name; two of one name (two recipes whose settings name alike, or two folders)
    are refused, naming both, since one would silently hide the other."""
    found: dict[str, Experiment] = {}
    for e in experiments:
        other = found.get(e.name)
        if other is not None:
            where = [str(x.script) if x.script else f"latentlab/experiments.py ({x.out_dir})" for x in (other, e)]
            raise LatentlabError(
                f"Two experiments are both named {e.name}: {where[0]} and {where[1]}. A name is "
                "made from the recipe (model, latent size, decoder, data set, objective, beta): "
                "change a setting of one, or remove it."
            )
        found[e.name] = e
    return found


EXPERIMENTS = Registry(_read_registry)
SCRIPT_EXPERIMENTS = Registry(lambda: {name: e for name, e in EXPERIMENTS.items() if e.script})


def experiment_names() -> list[str]:
    """The experiments' names, or none where the registry cannot be read (the commands that need it say why)."""
    try:
        return list(EXPERIMENTS)
    except LatentlabError:
        return []


def check_repository_root(root: Path, command: str) -> None:
    """Refuse to run ``command`` where none of the result trees is: run elsewhere, it would find no
    result and write empty documents, or a second result tree, there."""
    trees = sorted({e.out_dir.parts[0] for e in EXPERIMENTS.values()})
    if not any((Path(root) / tree).is_dir() for tree in trees):
        raise LatentlabError(
            f"{Path(root).resolve()} holds none of the result folders ({', '.join(trees)}): "
            f"run `python -m latentlab {command}` from the repository root, where they are. "
            "Nothing was written."
        )
