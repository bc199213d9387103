"""The README's architecture table, read off the model itself: every layer with its output shape and
parameter count, and what each experiment changes."""

from __future__ import annotations

import torch

from ..core.kinds import WIDTHS, build_model
from ..core.models import count_parameters
from ..experiments import EXPERIMENTS
from .tables import Markdown, markdown_table


@torch.no_grad()
def layer_table(config) -> tuple[list[tuple[str, str, tuple, int | None]], int]:
    """The VAE of ``config`` layer by layer, as the architecture table lists it: (part, layer, output shape
    without the batch, parameters or None) for each row, and the model's parameter count. Read off the
    model itself, by passing a zero image (and a zero z) through its layers."""
    model = build_model(config).eval()
    x = torch.zeros(1, 1, 28, 28)
    rows = [("input x", "–", tuple(x.shape[1:]), None)]
    for layer in model.encoder:
        x = layer(x)
        rows.append(("encoder_conv", type(layer).__name__, tuple(x.shape[1:]), count_parameters(layer)))
    for name in ("mean", "log_var"):
        rows.append((f"`self.{name}`", "Linear", (config.latent_dim,), count_parameters(getattr(model, name))))
    rows.append(("z = reparameterization_trick(mean, log_var)", "–", (config.latent_dim,), None))
    z = torch.zeros(1, config.latent_dim)
    for layer in model.decoder:
        z = layer(z)
        rows.append(("decoder_conv", type(layer).__name__, tuple(z.shape[1:]), count_parameters(layer)))
    return rows, count_parameters(model)


def architecture(experiment: str = "vae-32d") -> str:
    """A table of an experiment's layers with output shapes and parameter counts, read off the code
    (``layer_table``)."""
    config = EXPERIMENTS[experiment].config()
    rows, parameters = layer_table(config)
    table = markdown_table(
        ["part", "layer", "output shape", "parameters"],
        [
            [Markdown(part), layer, str(shape), "–" if count is None else f"{count:,}"]
            for part, layer, shape, count in rows
        ],
    )  # the parts are the code's own names, as Markdown
    widths = ", ".join(f"`{name}` {getattr(config, name)}" for name in WIDTHS)
    changes = []
    for name, e in EXPERIMENTS.items():
        other = e.config()
        changed = [f"`{k}` {getattr(other, k)}" for k in WIDTHS if getattr(other, k) != getattr(config, k)]
        if name != experiment and changed:
            changes.append(f"{name}: {', '.join(changed)}")
    others = "; ".join(changes)
    return (
        f"{table}\n\nThe {experiment} experiment ({widths}): {parameters:,} parameters; the AE "
        "has one Linear layer in place of `mean` and `log_var`; the CVAE's `mean`, `log_var` and the decoder's first "
        "Linear layer each take the one-hot label beside their input, one more input per class. "
        + (f"Other experiments change: {others}. " if others else "")
        + "Generated from the code by `python -m latentlab report`."
    )
