"""The latent space in a browser: ``explorer.html``, one self-contained page per result folder.

The page holds everything it needs: the decoder's weights exported from model.pt, the
test codes, the first test digits' images, and ``explorer.js`` (the decoder and the
page, inlined). It opens from disk (``file://``) or GitHub Pages with no network and no
server. The arrays travel as one gzipped, base64-encoded blob that the browser unpacks
with its own DecompressionStream.
"""

from __future__ import annotations

import base64
import gzip
import math
import zlib
from pathlib import Path

import numpy as np
import torch
from matplotlib.colors import to_hex
from sklearn.decomposition import PCA
from torch import nn

from ..core import posterior, recorded
from ..core.data import DeviceSplit, to_float
from ..core.errors import LatentlabError
from ..core.files import write_text_atomic
from ..core.kinds import NAMES as KIND_NAMES
from ..core.kinds import traits
from ..core.models import ConvolutionalBlock, DenseBlock, TransposeConvolutionalBlock, count_parameters
from ..core.passes import code_split
from ..core.validation import shown
from .figures import CLASS_CMAP
from .planes import prior_density, square_bounds
from .templating import asset, render

HERE = Path(__file__).parent
PICKS = 500  # the first test digits, whose images and full codes the page carries (a click picks one)
PRINCIPAL_DIRECTIONS = 8  # sliders of a larger latent
EXPLORER_FILE = "explorer.html"
# What python -m latentlab posterior leaves for the page of a 2-D model with a posterior (publish/posterior_gaps.py).
POSTERIOR_PAGE_FILE = "posterior_page.npz"


def _batchnorm_affine(norm: nn.BatchNorm2d) -> tuple[torch.Tensor, torch.Tensor]:
    """BatchNorm in eval mode as scale * h + shift, per channel."""
    scale = norm.weight / torch.sqrt(norm.running_var + norm.eps)
    return scale, norm.bias - norm.running_mean * scale


def export_encoder(model) -> tuple[list[dict], dict[str, list[dict]], dict[str, np.ndarray]]:
    """``model.encoder`` (encoder_conv) as layers for explorer.js, the latent heads (the AE's ``z``, the
    VAE's ``mean`` and ``log_var``: one Linear each) and their float32 arrays.

    Layer by layer as in models.py: ConvolutionalBlock = conv (3x3, padding 1), relu, batchnorm;
    MaxPool2d = maxpool; DenseBlock = one "dense" layer per DenseLayer, whose block's output is
    appended to its input (the concatenation); the 1x1 Conv2d = conv; Flatten = nothing (the arrays
    are already channel, row, column in PyTorch's order).
    """
    arrays = {}

    def add(name: str, tensor: torch.Tensor) -> str:
        arrays[name] = tensor.detach().float().cpu().numpy()
        return name

    def conv(name: str, layer: nn.Conv2d) -> dict:
        return {
            "type": "conv",
            "weight": add(f"{name}.weight", layer.weight),
            "bias": add(f"{name}.bias", layer.bias),
            "out": layer.out_channels,
            "kernel": layer.kernel_size[0],
            "padding": layer.padding[0],
        }

    def block(name: str, conv_block) -> list[dict]:
        convolution, _, norm = conv_block
        scale, shift = _batchnorm_affine(norm)
        return [
            conv(name, convolution),
            {"type": "relu"},
            {"type": "batchnorm", "scale": add(f"{name}.scale", scale), "shift": add(f"{name}.shift", shift)},
        ]

    layers = []
    for i, layer in enumerate(model.encoder):
        name = f"encoder.{i}"
        if isinstance(layer, ConvolutionalBlock):
            layers += block(name, layer)
        elif isinstance(layer, nn.MaxPool2d):
            layers.append({"type": "maxpool", "size": layer.kernel_size})
        elif isinstance(layer, DenseBlock):
            layers += [{"type": "dense", "block": block(f"{name}.{j}", dense.block)} for j, dense in enumerate(layer)]
        elif isinstance(layer, nn.Conv2d):
            layers.append(conv(name, layer))
        elif not isinstance(layer, nn.Flatten):
            raise TypeError(f"explorer.js has no counterpart of {type(layer).__name__}")
    heads = {
        name: {
            "type": "linear",
            "weight": add(f"{name}.weight", head.weight),
            "bias": add(f"{name}.bias", head.bias),
            "out": head.out_features,
        }
        for name, head in model.latent_heads().items()
    }
    return layers, heads, arrays


def export_decoder(model) -> tuple[list[dict], dict[str, np.ndarray]]:
    """``model.decoder`` as a list of layers for explorer.js and their float32 arrays.

    BatchNorm in eval mode is the per-channel affine map scale * h + shift with
    scale = gamma / sqrt(running_var + eps) and shift = beta - running_mean * scale. It
    comes after the ReLU in these blocks, so it stays its own layer (folding it into the
    transposed convolution before the ReLU would be exact only for positive scales).
    """
    layers, arrays = [], {}

    def add(name: str, tensor: torch.Tensor) -> str:
        arrays[name] = tensor.detach().float().cpu().numpy()
        return name

    def conv_transpose(name: str, conv: nn.ConvTranspose2d) -> dict:
        return {
            "type": "conv_transpose",
            "weight": add(f"{name}.weight", conv.weight),
            "bias": add(f"{name}.bias", conv.bias),
            "out": conv.out_channels,
            "kernel": conv.kernel_size[0],
            "stride": conv.stride[0],
            "padding": conv.padding[0],
        }

    for i, layer in enumerate(model.decoder):
        name = f"decoder.{i}"
        if isinstance(layer, nn.Linear):
            layers.append(
                {
                    "type": "linear",
                    "weight": add(f"{name}.weight", layer.weight),
                    "bias": add(f"{name}.bias", layer.bias),
                    "out": layer.out_features,
                }
            )
        elif isinstance(layer, nn.Unflatten):
            layers.append({"type": "unflatten", "shape": list(layer.unflattened_size)})
        elif isinstance(layer, TransposeConvolutionalBlock):
            conv, _, norm = layer
            scale, shift = _batchnorm_affine(norm)
            layers += [
                conv_transpose(name, conv),
                {"type": "relu"},
                {"type": "batchnorm", "scale": add(f"{name}.scale", scale), "shift": add(f"{name}.shift", shift)},
            ]
        elif isinstance(layer, nn.ConvTranspose2d):
            layers.append(conv_transpose(name, layer))
        elif isinstance(layer, nn.Sigmoid):
            layers.append({"type": "sigmoid"})
        else:
            raise TypeError(f"explorer.js has no counterpart of {type(layer).__name__}")
    return layers, arrays


def pack(arrays: dict[str, np.ndarray]) -> tuple[str, dict]:
    """Named float32 and uint8 arrays -> (base64 of one gzipped little-endian blob, manifest)."""
    manifest, parts, offset = {}, [], 0
    for name, array in arrays.items():
        array = np.ascontiguousarray(array, dtype=np.uint8 if array.dtype == np.uint8 else "<f4")
        data = array.tobytes()
        data += bytes(-len(data) % 4)  # every array starts at a multiple of 4 bytes
        manifest[name] = {
            "dtype": "uint8" if array.dtype == np.uint8 else "float32",
            "shape": list(array.shape),
            "offset": offset,
        }
        parts.append(data)
        offset += len(data)
    blob = gzip.compress(b"".join(parts), compresslevel=9, mtime=0)  # mtime 0: the same bytes every time
    return base64.b64encode(blob).decode("ascii"), manifest


def _plane(model, test: DeviceSplit, codes: np.ndarray, labels: np.ndarray, picks: int, arrays: dict) -> dict:
    """The page's scatter plane of the test codes ``codes`` (N, latent_dim), labels ``labels`` (N,): a 2-D model's
    own plane, else the codes' first two principal directions. Puts what the page draws into ``arrays``; returns
    the meta's "axes" and "bounds" and, on a principal plane, its "default_ends"."""
    meta = {}
    if model.latent_dim == 2:
        arrays["scatter"] = codes
        if model.traits.encoder_distribution:  # the page draws each pick's posterior
            x = to_float(test.images[:picks])
            arrays["pick_log_var"] = model.encode(x, test.labels[:picks])[1].float().cpu().numpy()
        meta["axes"] = ["z₁", "z₂"]
        meta["bounds"] = square_bounds(codes, include=model.prior.reach if model.traits.prior else 0.0)
        if model.traits.prior:  # the plane shades the prior's density, as its log_prob gives it
            arrays["prior_density"] = prior_density(model.prior, meta["bounds"])
    else:
        pca = PCA(n_components=min(PRINCIPAL_DIRECTIONS, *codes.shape), random_state=0).fit(codes)
        arrays["scatter"] = pca.transform(codes)[:, :2]
        arrays["pick_codes"] = codes[:picks]
        arrays["pc_mean"] = pca.mean_
        arrays["pc_directions"] = pca.components_
        arrays["pc_scale"] = np.sqrt(pca.explained_variance_)
        meta["axes"] = ["PC 1", "PC 2"]
        meta["bounds"] = square_bounds(arrays["scatter"])
        pick_labels = labels[:picks].tolist()
        meta["default_ends"] = [pick_labels.index(d) if d in pick_labels else i for i, d in enumerate((1, 7))]
    return meta


@torch.no_grad()
def page_data(
    model, test: DeviceSplit, encoded: torch.Tensor, title: str, point_losses: torch.Tensor | None = None
) -> tuple[dict, dict[str, np.ndarray]]:
    """What the page shows: the layers, the scatter, the pickable digits; (meta, arrays).
    ``encoded`` is ``passes.encode_split`` of the test split, (N, latent_dim); ``point_losses`` the loss at each
    test image's point code (N,), where the pass that made the codes gave it (``passes.losses_and_codes``)."""
    layers, arrays = export_decoder(model)
    encoder, heads, encoder_arrays = export_encoder(model)
    arrays.update(encoder_arrays)
    # What the page computes for a drawn digit (the loss at the point code, without sampling noise), for every
    # test image, so that a drawing's value can be ranked among them.
    if point_losses is None:
        point_losses = code_split(model, test).point_losses
    arrays["test_loss"] = point_losses.numpy()
    codes = encoded.numpy()  # (N, D)
    labels = test.labels.cpu().numpy().astype(np.uint8)
    picks = min(PICKS, len(test))
    arrays["labels"] = labels
    arrays["pick_images"] = test.images[:picks].cpu().numpy().reshape(picks, 784).astype(np.uint8)
    if model.traits.prior:  # the page's log p(z) and KL of a drawing, from the prior's components
        arrays["prior_mean"], arrays["prior_log_var"] = (t.float().cpu().numpy() for t in model.prior.mixture())
    meta = {
        "title": title,
        "kind": model.kind,
        **kind_meta(model.traits),
        "latent_dim": model.latent_dim,
        "prior": model.prior.name if model.traits.prior else None,
        "picks": picks,
        "layers": layers,
        "encoder": encoder,
        "heads": heads,
        "likelihood": model.likelihood.name,
        "units": model.loss_units,
        "decoder_parameters": count_parameters(model.decoder),
        "encoder_parameters": count_parameters(model.encoder)
        + sum(map(count_parameters, model.latent_heads().values())),
        "colours": [to_hex(CLASS_CMAP(d)) for d in range(len(test.classes))],
        "classes": list(test.classes.names),
        "noun": test.classes.noun,
        "preparation": test.classes.preparation,
    }
    meta.update(_plane(model, test, codes, labels, picks, arrays))
    return meta, arrays


# How the pad's strokes become the model's input, in the words of the page (explorer.js does it).
PREPARATION = {
    "mnist": "the way MNIST's digits were made: the drawing's bounding box scaled to fit 20×20 with its aspect "
    "ratio kept, then centred by its centre of mass",
    "padded": "the way this data set's images were made: the drawing's bounding box scaled so that its longer side "
    "is 28 pixels, aspect ratio kept, centred and padded with black",
}


def page_html(meta: dict, arrays: dict[str, np.ndarray]) -> str:
    """The whole page as one string: the template with the data and explorer.js inlined."""
    payload, meta["manifest"] = pack(arrays)
    return filled_template(meta, payload)


def filled_template(meta: dict, payload: str) -> str:
    """The template filled with ``meta`` (its ``manifest`` says how ``payload``, the packed arrays, is laid
    out) and explorer.js. Every value is escaped by the template engine for where it lands."""
    larger = meta["latent_dim"] > 2
    digits = meta["noun"] == "digit"
    return render(
        "explorer.html",
        style=asset("explorer.css"),
        script=(HERE / "explorer.js").read_text(encoding="utf-8"),
        meta=meta,
        payload=payload,
        larger=larger,
        title=meta["title"],
        plot_label=(
            "test codes on the PC plane: click an outlined test image, or step through them with the arrow "
            "keys and press Enter, to choose A and B"
            if larger
            else "test codes: point to decode, click to pin, arrow keys move a pinned point"
        ),
        latent_dim=meta["latent_dim"],
        decoder_parameters=f"{meta['decoder_parameters']:,}",
        encoder_parameters=f"{meta['encoder_parameters']:,}",
        picks=meta["picks"],
        noun=meta["noun"],
        n_test=f"{meta['manifest']['labels']['shape'][0]:,}",
        items="digits" if digits else "images",
        item="digit" if digits else "drawing",
        vi_item="chữ số" if digits else "hình",
        preparation=PREPARATION[meta["preparation"]],
    )


def read_page(path: Path) -> tuple[dict, dict[str, np.ndarray]]:
    """The data an explorer page holds: (meta without its manifest, the arrays), as ``page_data`` made them."""
    data = Path(path).read_bytes()
    try:
        return parse_page(data.decode("utf-8"), path)
    except UnicodeDecodeError as error:
        raise recorded.refused(
            path, "explorer", f"it is not UTF-8 text (byte 0x{data[error.start]:02x} at position {error.start})"
        ) from None


META, PAYLOAD = '<script type="application/json" id="meta">', '<script type="application/octet-stream" id="payload">'
ITEM_SIZE = {"uint8": 1, "float32": 4}


def parse_page(text: str, source: Path | str = EXPLORER_FILE) -> tuple[dict, dict[str, np.ndarray]]:
    """``read_page`` of a page's text (``source`` names it in a refusal): its data block checked against
    latentlab/schemas/explorer.schema.json, and its arrays against the block."""
    meta = recorded.check(
        recorded.parse(_block(text, META, source).encode("utf-8"), source, "explorer"), "explorer", source
    )
    try:
        blob = gzip.decompress(base64.b64decode(_block(text, PAYLOAD, source), validate=True))
    except (ValueError, OSError, EOFError, zlib.error) as error:  # not base64, not gzip, cut short
        raise recorded.refused(source, "explorer", f"its payload does not unpack ({error})") from None
    manifest = meta.pop("manifest")
    problem = _kind_problem(meta["kind"]) or _packing_problem(meta, manifest, len(blob))
    arrays = (
        {}
        if problem
        else {
            name: np.frombuffer(
                blob, np.uint8 if entry["dtype"] == "uint8" else "<f4", math.prod(entry["shape"]), entry["offset"]
            ).reshape(entry["shape"])
            for name, entry in manifest.items()
        }
    )
    problem = problem or _classes_problem(meta, arrays)
    if problem:
        raise recorded.refused(source, "explorer", problem)
    return meta, arrays


def _block(text: str, opening: str, source: Path | str) -> str:
    """What a page's script element that begins with ``opening`` holds."""
    if opening not in text:
        raise recorded.refused(source, "explorer", f"it has no {opening}")
    return text.split(opening, 1)[1].split("</script>", 1)[0]


def _kind_problem(kind: str) -> str | None:
    """Why ``kind`` names no model kind (refilling reads the kind's traits), or None."""
    return None if kind in KIND_NAMES else f"kind: no model kind {shown(kind)}; the kinds are {', '.join(KIND_NAMES)}"


def _array_names(layers: list[dict]) -> list[str]:
    """The packed arrays that ``layers`` (explorer.js's layers, a dense layer's block included) name."""
    return [name for layer in layers for key in ("weight", "bias", "scale", "shift") if (name := layer.get(key))] + [
        name for layer in layers for name in _array_names(layer.get("block", []))
    ]


def _packing_problem(meta: dict, manifest: dict, size: int) -> str | None:
    """Why the manifest does not describe the payload's ``size`` bytes or lacks an array a layer names, or None."""
    for name, entry in manifest.items():
        end = entry["offset"] + ITEM_SIZE[entry["dtype"]] * math.prod(entry["shape"])
        if end > size:
            return f"manifest[{shown(name)}]: the array ends at byte {end}, past the payload's {size} bytes"
    named = _array_names(meta["layers"]) + _array_names(meta["encoder"]) + _array_names(list(meta["heads"].values()))
    missing = [name for name in named if name not in manifest]
    return f"manifest: no array {shown(missing[0])}, which a layer names" if missing else None


def _classes_problem(meta: dict, arrays: dict[str, np.ndarray]) -> str | None:
    """Why the classes, their colours and the labels disagree, or the picks exceed the test images, or None."""
    labels, classes = arrays["labels"], meta["classes"]
    if len(meta["colours"]) != len(classes):
        return f"colours: {len(meta['colours'])} colours for {len(classes)} classes"
    if labels.ndim != 1 or labels.dtype != np.uint8:
        return "manifest.labels: expected a list of uint8 labels"
    if labels.size and int(labels.max()) >= len(classes):
        return f"classes: a label is {int(labels.max())}, but only {len(classes)} classes are named"
    if meta["picks"] > labels.size or any(end >= meta["picks"] for end in meta.get("default_ends", [])):
        return f"picks: {meta['picks']} picks (and ends {meta.get('default_ends', [])}) of {labels.size} test images"
    return None


def read_page_arrays(folder: Path) -> dict[str, np.ndarray] | None:
    """The page arrays ``posterior_gaps.write_posterior_gaps`` saved in ``folder``, if it has them and they were
    computed from its present model.pt (else None)."""
    page = Path(folder) / POSTERIOR_PAGE_FILE
    if not page.is_file() or posterior.saved_summary(folder) is None:  # none, or of another model.pt
        return None
    with np.load(page, allow_pickle=False) as loaded:
        return {name: loaded[name] for name in loaded.files}


def refill_explorer(folder: Path) -> Path:
    """Rewrite ``folder/explorer.html`` in today's template and explorer.js around the data it holds, with the
    true posterior's arrays where ``python -m latentlab posterior`` left them: a page's numbers stay those it
    was made with (its own model, data and machine)."""
    path = Path(folder) / EXPLORER_FILE
    if not path.is_file():
        raise LatentlabError(
            f"{folder} holds no {EXPLORER_FILE} to refill; write one with python -m latentlab explore {folder}."
        )
    meta, held = read_page(path)
    meta.update(kind_meta(traits(meta["kind"])))  # what a page made before the kinds' traits did not say
    held = {name: array for name, array in held.items() if not name.startswith("posterior_")}  # the folder's, below
    write_text_atomic(page_html(meta, {**held, **(read_page_arrays(folder) or {})}), path)
    print(f"Refilled {path} ({path.stat().st_size / 1e6:.2f} MB)")
    return path


def kind_meta(kind) -> dict:
    """What the page may do, from the model kind's traits (explorer.js never asks which kind it is)."""
    return {"posterior": kind.encoder_distribution, "point_code": kind.point_code, "conditional": kind.conditional}


def write_explorer(
    model, test: DeviceSplit, encoded: torch.Tensor, title: str, out: Path, point_losses: torch.Tensor | None = None
) -> Path:
    """Write ``out/explorer.html`` for a trained model in eval mode; returns its path (``page_data``)."""
    path = Path(out) / EXPLORER_FILE
    meta, arrays = page_data(model, test, encoded, title, point_losses)
    if model.latent_dim == 2:  # the picks' true posterior, where python -m latentlab posterior computed it
        arrays.update(read_page_arrays(out) or {})
    write_text_atomic(page_html(meta, arrays), path)
    print(f"Wrote {path} ({path.stat().st_size / 1e6:.2f} MB)")
    return path
