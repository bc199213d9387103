"""One typed dataclass per run, TrainConfig, and the command-line flags generated from its fields."""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import pkgutil
from dataclasses import dataclass, field
from pathlib import Path

# The model kinds: the modules of kinds/, each named as --model calls it. Listed without importing them, so
# that a bad flag is refused before torch loads.
KIND_NAMES = tuple(sorted(module.name for module in pkgutil.iter_modules([str(Path(__file__).with_name("kinds"))])))
DATASET_TITLES = {"mnist": "MNIST", "fashion-mnist": "Fashion-MNIST"}  # data.DATASETS, without importing torch


# The quick evaluation of a smoke run: the likelihood bound and the t-SNE are most of a full evaluation's
# minutes on a CPU (90 s each for a run that trained for 3 s), and a smoke run asks whether things work.
QUICK_BOUND_IMAGES = 200
QUICK_TSNE_POINTS = 1000


def _bounded(convert, low, strict: bool):
    """An argparse type that converts text and refuses values below ``low`` (or equal, if strict)."""
    kind = "a whole number" if convert is int else "a number"
    allowed = f"{kind} {'>' if strict else '>='} {low:g}"

    def parse(text: str):
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {allowed}, got {text!r}") from None
        if not math.isfinite(value) or value < low or (strict and value == low):
            raise argparse.ArgumentTypeError(f"must be {allowed}, got {text}")
        return value

    return parse


positive_int = _bounded(int, 1, strict=False)
non_negative_int = _bounded(int, 0, strict=False)
_positive_float = _bounded(float, 0, strict=True)
_non_negative_float = _bounded(float, 0, strict=False)


def dataset_argument(text: str) -> str:
    """--dataset: a data set's name, or an image folder that exists, stored as its absolute path (so that
    commands run later from another folder still find it)."""
    if text in DATASET_TITLES:
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise argparse.ArgumentTypeError(
            f"{text.encode('utf-8', 'surrogateescape')!r} is not UTF-8 text (the bytes shown as \\xNN are not), so "
            "it could not be recorded in config.json: rename the folder with UTF-8 letters only, then run again"
        ) from None
    folder = Path(text).expanduser()
    if not folder.is_dir():
        raise argparse.ArgumentTypeError(
            f"{text!r} is neither {' nor '.join(DATASET_TITLES)} nor a folder that "
            "exists (your own images: FOLDER/train/<class>/*.png, FOLDER/test/<class>/*.png)"
        )
    return str(folder.resolve())


def _flag(default, help: str, parse=None, choices=None, cli: str = "all", argument=None):
    """A dataclass field that also describes its command-line flag.

    ``cli`` is "all" (every command) or "train" (only ``python -m latentlab train``,
    because each script fixes it). ``parse`` converts and checks a number, both on the command line
    and in a stored configuration; ``argument`` converts the text of a flag only.
    """
    return field(
        default=default,
        metadata={"help": help, "parse": parse, "choices": choices, "cli": cli, "argument": argument or parse},
    )


@dataclass
class TrainConfig:
    model: str = _flag(
        "vae", "model kind: the name of its module in latentlab/core/kinds/", choices=KIND_NAMES, cli="train"
    )
    latent_dim: int = _flag(2, "size of the latent vector z", parse=positive_int, cli="train")
    epochs: int = _flag(10, "passes over the training set", parse=positive_int)
    batch_size: int = _flag(128, "images per optimisation step", parse=positive_int)
    lr: float = _flag(2e-3, "peak Adam learning rate (cosine decay to 0 over the run)", parse=_positive_float)
    likelihood: str = _flag(
        "gaussian",
        "decoder p(x|z): gaussian (squared error on grey MNIST) or bernoulli "
        "(cross-entropy on dynamically binarized MNIST, for NLL in nats)",
        choices=("gaussian", "bernoulli"),
    )
    beta: float = _flag(1.0, "weight of the KL term in the VAE loss (1 = the ELBO)", parse=_non_negative_float)
    objective: str = _flag(
        "elbo",
        "what the VAE maximises: elbo, or iwae, the importance-weighted bound of "
        "Burda et al. (2015) with --iw-samples samples per image",
        choices=("elbo", "iwae"),
    )
    iw_samples: int = _flag(5, "importance samples per image of the iwae objective (1 = the ELBO)", parse=positive_int)
    seed: int = _flag(0, "random seed for initialisation, shuffling and sampling", parse=non_negative_int)
    device: str = _flag("auto", "auto picks cuda, then mps, then cpu", choices=("auto", "cpu", "cuda", "mps"))
    dataset: str = _flag(
        "mnist",
        "mnist, fashion-mnist, or a folder of your own images laid out as "
        "FOLDER/train/<class>/*.png and FOLDER/test/<class>/*.png",
        argument=dataset_argument,
    )
    train_limit: int | None = _flag(
        None,
        "train on N training images only, a subset drawn with a fixed seed that "
        "keeps each class's share (smoke runs, learning curves)",
        parse=positive_int,
    )
    stem_channels: int = _flag(16, "channels of the encoder's first block (28x28)", parse=positive_int)
    growth: int = _flag(16, "channels each DenseLayer adds", parse=positive_int)
    dense_layers: int = _flag(2, "DenseLayers in the encoder's DenseBlock", parse=positive_int)
    reduce_channels: int = _flag(
        32, "channels of the encoder's 1x1 convolution after the DenseBlock (14x14)", parse=positive_int
    )
    decoder_channels: int = _flag(64, "channels of the decoder at 7x7", parse=positive_int)
    decoder_blocks: int = _flag(
        1, "TransposeConvolutionalBlocks of the decoder at 7x7, before upsampling", parse=non_negative_int
    )
    upsample_channels: int = _flag(32, "channels of the decoder's upsampling block (14x14)", parse=positive_int)
    bound_samples: int = _flag(
        100, "importance samples per image (k) for the VAE's log-likelihood bound", parse=positive_int
    )
    bound_test_images: int = _flag(2000, "test images the log-likelihood bound averages over", parse=positive_int)
    data_root: str | None = _flag(
        None, "folder holding MNIST/raw/ or FashionMNIST/raw/ (default: $MNIST_ROOT, else data/)"
    )
    evaluation: str = _flag(
        "auto",
        "how much the finished model is evaluated and drawn: full, or quick (the "
        f"bound on at most {QUICK_BOUND_IMAGES} test images, t-SNE of at most {QUICK_TSNE_POINTS:,} "
        "codes: seconds, for trying a flag); auto is quick with --train-limit, else full",
        choices=("auto", "full", "quick"),
    )
    out_dir: str | None = _flag(
        None, "result folder for checkpoint, metrics and figures (default: runs/ and the run's name, e.g. runs/vae-8d)"
    )
    retrain: bool = _flag(
        False,
        "train again even if the result folder holds a finished model "
        "(the old model is replaced only when the new run finishes)",
    )

    # Fields that say where and how a run happens, not what it computes: they may
    # differ between an interrupted run and its resumption.
    RUN_FIELDS = ("device", "data_root", "out_dir", "retrain", "bound_samples", "bound_test_images", "evaluation")

    def __post_init__(self):
        if self.out_dir is None:
            self.out_dir = str(Path("runs") / self.name())

    def name(self) -> str:
        """``vae-2d``, ``ae-32d``, ``vae-32d-bernoulli``, ``vae-2d-fashion-mnist``, ``vae-32d-bernoulli-iwae5``,
        ``vae-2d-beta4``: kind, latent size, and each setting that changes the model's objective where it is
        not the default (decoder, data set, objective, beta), so that two recipes of different models
        never share a name (and a folder under runs/)."""
        decoder = "" if self.likelihood == "gaussian" else f"-{self.likelihood}"
        dataset = "" if self.dataset == "mnist" else f"-{Path(self.dataset).name}"
        objective = "" if self.objective == "elbo" else f"-{self.objective}{self.iw_samples}"
        beta = "" if self.beta == 1 else f"-beta{self.beta:g}"
        return f"{self.model}-{self.latent_dim}d{decoder}{dataset}{objective}{beta}"

    def quick(self) -> bool:
        """Whether the finished model gets the quick evaluation (``evaluation``'s help says what it is)."""
        return self.evaluation == "quick" or (self.evaluation == "auto" and self.train_limit is not None)

    def resolved_data_root(self) -> Path:
        return Path(self.data_root or os.environ.get("MNIST_ROOT") or "data")

    def recipe(self) -> dict:
        """The fields that determine the trained weights."""
        return {k: v for k, v in dataclasses.asdict(self).items() if k not in self.RUN_FIELDS}

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), indent=2, ensure_ascii=False)

    def check(self) -> TrainConfig:
        """Raise ValueError naming the first field whose value its flag would not accept."""
        for f in dataclasses.fields(self):
            value, meta = getattr(self, f.name), f.metadata
            if meta["choices"] and value not in meta["choices"]:
                raise ValueError(f"{f.name} is {value!r}, not one of {', '.join(meta['choices'])}")
            if meta["parse"] and not (value is None and f.default is None):
                if isinstance(value, bool) or not isinstance(value, (int, float)):
                    raise ValueError(f"{f.name} is {value!r}, not a number")
                try:
                    meta["parse"](str(value))
                except argparse.ArgumentTypeError as error:
                    raise ValueError(f"{f.name} {error}") from None
        return self

    @classmethod
    def from_dict(cls, values: dict) -> TrainConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in renamed(values).items() if k in known})


# Fields that had other names in older checkpoints: the committed model.pt files still carry them (a rewrite
# would add megabytes to every clone), so a configuration read from a file passes through ``renamed``.
RENAMED = {"is_samples": "bound_samples", "is_test_images": "bound_test_images"}


def renamed(values: dict) -> dict:
    """``values`` with each field under its current name, in the same order."""
    return {RENAMED.get(key, key): value for key, value in values.items()}


def build_parser(
    parser: argparse.ArgumentParser, defaults: dict, command: str, only: tuple[str, ...] | None = None
) -> argparse.ArgumentParser:
    """Add one flag per TrainConfig field (``--latent-dim`` for ``latent_dim``) with its default shown;
    ``only`` limits them to the fields named."""
    for f in dataclasses.fields(TrainConfig):
        meta = f.metadata
        if (meta["cli"] == "train" and command != "train") or (only is not None and f.name not in only):
            continue
        default = defaults.get(f.name, f.default)
        flag = "--" + f.name.replace("_", "-")
        if f.type in ("bool", bool):
            parser.add_argument(flag, action="store_true", help=meta["help"])
            continue
        parser.add_argument(
            flag,
            type=meta["argument"] or str,
            choices=meta["choices"],
            default=default,
            help=meta["help"] if default is None else f"{meta['help']} (default: {default})",
            metavar=None if meta["choices"] else f.name.upper(),
        )
    return parser


def config_from_args(args: argparse.Namespace, defaults: dict) -> TrainConfig:
    values = dict(defaults)
    values.update({k: v for k, v in vars(args).items() if k in {f.name for f in dataclasses.fields(TrainConfig)}})
    return TrainConfig(**values)


def recipe_setting(text: str) -> tuple[str, list]:
    """--set KEY=V1,V2: a recipe field and its values, each checked as its flag checks it."""
    key, equals, values = text.partition("=")
    fields = {f.name: f for f in dataclasses.fields(TrainConfig)}
    key = key.strip().replace("-", "_")
    if not equals or key not in fields or key in TrainConfig.RUN_FIELDS or key == "seed":
        swept = sorted(name for name in fields if name not in TrainConfig.RUN_FIELDS and name != "seed")
        raise argparse.ArgumentTypeError(
            f"expected KEY=V1,V2,... with KEY one of the recipe's settings "
            f"({', '.join(swept)}); got {text!r} (seeds are given with --seeds)"
        )
    meta = fields[key].metadata
    parsed = []
    for value in (value.strip() for value in values.split(",")):
        if meta["choices"] and value not in meta["choices"]:
            raise argparse.ArgumentTypeError(f"{key}={value}: not one of {', '.join(meta['choices'])}")
        parsed.append((meta["argument"] or str)(value))
    if len(set(parsed)) != len(parsed):
        raise argparse.ArgumentTypeError(f"{key} names a value twice ({values}); name each once")
    return key, parsed
