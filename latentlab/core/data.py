"""The data sets as whole tensors: read once, kept on the training device as uint8 (N, 28, 28).

Three kinds, chosen by ``TrainConfig.dataset``:

- ``mnist``: the four IDX files from ``<root>/MNIST/raw/``, gzipped or not. Only when none of
  them is there do we ask torchvision to download them.
- ``fashion-mnist``: the same format, from ``<root>/FashionMNIST/raw/`` (torchvision's layout) or
  Debian's package ``dataset-fashion-mnist`` (``/usr/share/datasets/fashion-mnist/``). Never
  downloaded: Debian recompressed the files, so their md5 differs from torchvision's while the
  images are the standard ones, and a checksum must never replace a user's files.
- any other value: a folder of your own images laid out as torchvision's ``ImageFolder`` expects,
  ``train/<class>/*.png`` and ``test/<class>/*.png`` (any format Pillow reads), each read as an image
  viewer shows it and converted to 28x28 grey: its longer side scaled to 28 pixels with the aspect ratio
  kept, then padded with black to a square. Class names are the folder names; only the image files
  directly inside a class folder are read. We list the files ourselves rather than through
  ``ImageFolder``, which follows symbolic links without limit, reads subfolders and hidden files, and
  knows fewer formats.

We read IDX ourselves rather than through ``torchvision.datasets.MNIST`` because torchvision
verifies md5 sums and re-downloads on a mismatch (it would overwrite a user's file, and the
mirrors may be unreachable) and it cannot read the ``.gz`` files from a read-only folder; our
reader also checks every header field so a damaged file gets a message, not an assertion.
"""

from __future__ import annotations

import gzip
import shutil
import unicodedata
import warnings
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .display import shown, terminal_text
from .errors import DataSetMissing, LatentlabError
from .progress import status

FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
ALL_FILES = [name for pair in FILES.values() for name in pair]
IMAGE_MAGIC, LABEL_MAGIC = 2051, 2049  # IDX: 0x08 (uint8) then 3 or 1 dimensions
MAX_CLASSES = 10  # the figures colour each class with one of matplotlib's ten tab10 colours


@dataclass(frozen=True)
class Classes:
    """What the figures call the classes: their names, and the word for one class ("digit" on MNIST); and
    how an image of the data set was made from a drawing, so that a drawing on the explorer's pad is
    prepared alike: "mnist" (fitted into 20x20, centred by its centre of mass) or "padded" (the longer
    side scaled to 28, padded: Fashion-MNIST's way, and ``to_28x28_grey``'s)."""

    names: tuple[str, ...]
    noun: str = "class"
    preparation: str = "padded"

    def __len__(self) -> int:
        return len(self.names)


@dataclass(frozen=True)
class IdxDataSet:
    """A data set of four IDX files in torchvision's layout ``<root>/<folder>/raw/``."""

    title: str
    folder: str
    classes: Classes
    system_folder: Path | None = None  # where a system package puts the files
    how_to_get: str = ""
    downloadable: bool = False

    def raw_folders(self, root: Path) -> list[Path]:
        return [Path(root) / self.folder / "raw"] + ([self.system_folder] if self.system_folder else [])


DATASETS = {
    "mnist": IdxDataSet(
        "MNIST", "MNIST", Classes(tuple("0123456789"), noun="digit", preparation="mnist"), downloadable=True
    ),
    "fashion-mnist": IdxDataSet(
        "Fashion-MNIST",
        "FashionMNIST",
        Classes(
            ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")
        ),
        system_folder=Path("/usr/share/datasets/fashion-mnist"),
        how_to_get="install Debian's package (apt-get install dataset-fashion-mnist), or put the four files "
        "from github.com/zalandoresearch/fashion-mnist into {raw}/",
    ),
}


def raw_folder(root: Path) -> Path:
    """Where MNIST's files are looked for."""
    return DATASETS["mnist"].raw_folders(root)[0]


def _find_in(folder: Path, name: str) -> Path | None:
    for candidate in (folder / name, folder / (name + ".gz")):
        if candidate.is_file():
            return candidate
    return None


def _how_to_provide(data: IdxDataSet, root: Path) -> str:
    raw = data.raw_folders(root)[0]
    if data.how_to_get:
        return f"To get {data.title}, {data.how_to_get.format(raw=raw)} (gzipped or not; --data-root PATH chooses the root)."
    return (
        f"Put the four {data.title} files ({', '.join(n + '.gz' for n in ALL_FILES)}; gzipped or not) "
        f"into {raw}/, or point the data root at a folder that holds {data.folder}/raw/ "
        "with --data-root PATH or the environment variable MNIST_ROOT."
    )


def find_files(data: IdxDataSet, root: Path) -> Path:
    """The folder holding all four files of ``data``, downloading MNIST through torchvision only if
    no file of it is anywhere."""
    folders = data.raw_folders(root)
    for folder in folders:
        if all(_find_in(folder, name) for name in ALL_FILES):
            return folder
    for folder in folders:
        missing = [name for name in ALL_FILES if not _find_in(folder, name)]
        if len(missing) < len(ALL_FILES):
            raise LatentlabError(
                f"The {data.title} folder {folder} is incomplete: {', '.join(missing)} "
                f"(or .gz) is missing. {_how_to_provide(data, root)} Nothing was downloaded, so "
                "that the files you have are not replaced."
            )
    if not data.downloadable:
        raise DataSetMissing(
            f"{data.title} is not in {' nor in '.join(map(str, folders))}. {_how_to_provide(data, root)}"
        )
    from torchvision.datasets import MNIST

    print(f"MNIST not found under {folders[0]}; downloading it with torchvision ...")
    undo = _undo_new_entries(folders[0])
    try:
        for train in (True, False):
            MNIST(str(root), train=train, download=True)
    except BaseException as error:
        # An empty or half-filled raw folder left behind would be taken for the user's own files by the next
        # run ("incomplete", nothing downloaded), so what this attempt made goes, and nothing else.
        undo()
        if not isinstance(error, Exception):  # Ctrl-C
            raise
        raise LatentlabError(  # any network or file failure ends in the same advice
            f"MNIST is not in {folders[0]} and the download failed ({error}). {_how_to_provide(data, root)}"
        ) from None
    return folders[0]


def _undo_new_entries(folder: Path):
    """A function that removes what appears from now on at ``folder``: the highest of its folders that does not
    exist yet, with all in it, or, if ``folder`` exists, the entries added to it."""
    folder = Path(folder).absolute()
    missing = [path for path in (folder, *folder.parents) if not path.exists()]
    before = set() if missing else set(folder.iterdir())

    def undo() -> None:
        if missing:
            shutil.rmtree(missing[-1], ignore_errors=True)
            return
        for entry in set(folder.iterdir()) - before:
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink()

    return undo


def _read_bytes(path: Path) -> bytes:
    if path.suffix != ".gz":
        return path.read_bytes()
    try:
        return gzip.decompress(path.read_bytes())
    except (OSError, EOFError, zlib.error) as error:
        raise LatentlabError(
            f"{path} is not a readable gzip file ({error}). Replace it with an intact copy "
            "of the MNIST file, or put the uncompressed file beside it without the .gz ending."
        ) from None


def read_idx(path: Path, magic: int) -> np.ndarray:
    """Parse an IDX file of unsigned bytes (images: magic 2051, labels: magic 2049) with checks."""
    data = _read_bytes(path)
    dims = 3 if magic == IMAGE_MAGIC else 1
    header = 4 + 4 * dims
    if len(data) < header:
        raise LatentlabError(f"{path} is truncated: {len(data)} bytes, shorter than its header.")
    found = int.from_bytes(data[:4], "big")
    if found != magic:
        raise LatentlabError(
            f"{path} has the wrong magic number {found} (expected {magic}); it is not an MNIST "
            f"{'image' if magic == IMAGE_MAGIC else 'label'} file. Replace it with the right file."
        )
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(dims))
    if dims == 3 and shape[1:] != (28, 28):
        raise LatentlabError(f"{path} holds {shape[1]}x{shape[2]} images; MNIST images are 28x28.")
    expected = int(np.prod(shape))
    if len(data) - header != expected:
        raise LatentlabError(
            f"{path} is truncated or padded: its header promises {shape[0]} items "
            f"({expected} bytes) but the file holds {len(data) - header} bytes after the header. "
            "Replace it with an intact copy."
        )
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(shape)


def load_split(root: Path, split: str, dataset: str = "mnist") -> tuple[torch.Tensor, torch.Tensor]:
    """Images (N, 28, 28) uint8 and labels (N,) int64 of the "train" or "test" split of an IDX data set."""
    data = DATASETS[dataset]
    folder = find_files(data, root)
    image_name, label_name = FILES[split]
    image_path, label_path = _find_in(folder, image_name), _find_in(folder, label_name)
    images = read_idx(image_path, IMAGE_MAGIC)
    labels = read_idx(label_path, LABEL_MAGIC)
    if len(images) != len(labels):
        raise LatentlabError(
            f"{image_path} holds {len(images)} images but {label_path} holds {len(labels)} labels; "
            "the two files of a split must match. Replace the odd one out."
        )
    if labels.size and labels.max() >= len(data.classes):
        raise LatentlabError(
            f"{label_path} holds the label {labels.max()}; {data.title} labels are 0-{len(data.classes) - 1}."
        )
    return torch.from_numpy(images.copy()), torch.from_numpy(labels.astype(np.int64))


# --- Your own images --------------------------------------------------------------------

SIDE = 28
MIN_SIDE = 8  # smaller images hold no shape worth scaling up to 28x28 (a 1x1 "image" would train as a blank)
SHOWN_NAMES = 5  # the names listed for each reason in a line of what was not read
UNEQUAL = 5  # a class with fewer than a fifth of the largest class's images is "much smaller"

_said: set[str] = set()


def _say_once(text: str) -> None:
    """Print ``text`` unless this process printed it already. A run reads its folder for training and again for
    its evaluation (a study once per run): a decision about the user's files is news the first time only."""
    if text not in _said:
        _said.add(text)
        print(terminal_text(text))


def _grey_maximum(image) -> int | None:
    """White's value in a grey image of more than 8 bits per pixel, by its bit depth; None for other images."""
    if image.mode.startswith("I;16"):
        return 2**16 - 1
    if image.mode == "I":
        # Pillow widens 16-bit PGM (scaled to 16 bits whatever its maxval) and 16-bit PNG of older versions to
        # "I"; a TIFF says its depth, which may be 32 bits.
        bits = getattr(image, "tag_v2", {}).get(258, (16,))
        return 2 ** int(bits[0] if isinstance(bits, tuple) else bits) - 1
    return None


def to_28x28_grey(image) -> np.ndarray:
    """A Pillow image as MNIST-sized grey (28, 28) uint8: the longer side scaled to 28 pixels with the
    aspect ratio kept (Lanczos, so edges get grey levels as MNIST's did), the rest padded with black.

    The image is read as an image viewer shows it: turned by its EXIF orientation, since a phone stores a
    photo as its sensor lay and only tags how to turn it. A grey image of more than 8 bits per pixel (a
    16-bit scan) is scaled by its own depth, 65535 white for 16 bits: Pillow's conversion to 8 bits would
    clip every value above 255 to white.

    An image with transparency is read by its opacity alone: opaque strokes are the ink (white, as in
    MNIST), transparent pixels the black background, whatever colour the strokes are. Converting such a
    file to grey would drop the alpha channel and turn dark ink on a transparent background into a black
    image. Images without transparent pixels are converted to grey as they are. A floating-point image is read
    by its values' range (``_float_to_grey``).
    """
    from PIL import Image, ImageOps

    white = _grey_maximum(image)  # before the turn: its copy no longer carries a TIFF's tags
    image = ImageOps.exif_transpose(image)
    if image.mode == "F":
        image = _float_to_grey(image)
    if white is not None:
        scaled = np.rint(np.asarray(image, dtype=np.float64) * (255 / white))
        image = Image.fromarray(np.clip(scaled, 0, 255).astype(np.uint8), "L")
    if image.mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA"):
        alpha = image.getchannel("A")
        image = alpha if alpha.getextrema()[0] < 255 else image.convert("L")
    return np.asarray(ImageOps.pad(image.convert("L"), (SIDE, SIDE), method=Image.Resampling.LANCZOS, color=0))


def _float_to_grey(image):
    """A floating-point grey image (Pillow's mode "F": a 32-bit float TIFF) as 8-bit grey, by its values' range.

    Such files hold intensities from 0 (black) to 1 (white) by the usual convention of scientific imaging, and
    Pillow's own conversion would clip them to 0 and 1 of 255, a black image. The rule: values all within [0, 1]
    are read as that fraction of white (times 255); any other range (say 0 to 4095, or negative values) is
    stretched from its least value (black) to its greatest (white). Not-a-number pixels are black."""
    from PIL import Image

    values = np.nan_to_num(np.asarray(image, dtype=np.float64), nan=0.0, posinf=0.0, neginf=0.0)
    low, high = float(values.min()), float(values.max())
    if not (0 <= low and high <= 1):
        values = (values - low) / (high - low) if high > low else np.zeros_like(values)
    return Image.fromarray(np.rint(values * 255).astype(np.uint8), "L")


def _image_extensions() -> tuple[str, ...]:
    """Every file ending Pillow can open (.png, .jpg, .gif, .bmp, .tif, .webp, ...)."""
    from PIL import Image

    Image.init()
    return tuple(ending for ending, name in Image.registered_extensions().items() if name in Image.OPEN)


# Why an entry of a class folder is not read, as the line saying so names it (singular, plural).
HIDDEN = ("hidden entry", "hidden entries")
SUBFOLDER = ("subfolder", "subfolders")
NOT_AN_IMAGE = ("file that is not an image by its ending", "files that are not images by their ending")
LEADS_OUT = ("link that leads out of the class folder", "links that lead out of the class folder")
SECOND_NAME = ("second name of an image already read", "second names of images already read")
LEADS_NOWHERE = ("link that leads nowhere", "links that lead nowhere")
NOT_READ = (
    "Only the image files directly inside a class folder are read; hidden entries (names starting with "
    "'.'), subfolders, and links that lead out of their class folder never are"
)


def _class_images(class_folder: Path) -> tuple[list[Path], dict[tuple[str, str], list[str]]]:
    """The image files directly inside one class folder, each file once, and the names of the entries not
    read, by why.

    A subfolder is not this class by any rule we could state: Jupyter's .ipynb_checkpoints holds copies, a
    "rejects" folder what its owner set aside, and a linked folder may lead to another class or back up
    (``loop -> ..``). Hidden entries are a system's or a tool's, never images to learn: macOS's ``._x.png``
    holds Finder metadata under an image's ending. A link to a file is read only when it leads to a file
    inside the class folder not read already: one leading out would read another class's image under this
    class's label, or an image twice.
    """
    root = class_folder.resolve()
    endings = _image_extensions()
    found, skipped, seen = [], {}, set()
    for entry in sorted(class_folder.iterdir(), key=lambda entry: (entry.is_symlink(), entry.name)):
        try:
            target = entry.resolve()
        except (OSError, RuntimeError):  # a link that loops (Python before 3.13 raises RuntimeError)
            target = None
        if entry.name.startswith("."):
            why = HIDDEN
        elif entry.is_dir():
            why = SUBFOLDER
        elif not entry.name.lower().endswith(endings):
            why = NOT_AN_IMAGE
        elif target is None:
            why = LEADS_NOWHERE
        elif not target.is_relative_to(root):
            why = LEADS_OUT
        elif target in seen:
            why = SECOND_NAME
        elif not target.is_file():
            why = LEADS_NOWHERE
        else:
            seen.add(target)
            found.append(entry)
            continue
        skipped.setdefault(why, []).append(shown(entry.name))
    return sorted(found), skipped


def _not_read(skipped: dict[tuple[str, str], list[str]]) -> str:
    """'1 hidden entry (._0.png); 2 subfolders (a, b)': what a class folder holds that is not read."""
    parts = []
    for (one, many), names in skipped.items():
        shown = ", ".join(sorted(names)[:SHOWN_NAMES]) + (
            f" and {len(names) - SHOWN_NAMES} more" if len(names) > SHOWN_NAMES else ""
        )
        parts.append(f"{len(names)} {one if len(names) == 1 else many} ({shown})")
    return "; ".join(parts)


def _split_path(folder: Path, split: str) -> Path:
    where = folder / split
    if not where.is_dir():
        raise LatentlabError(
            f"The image folder {shown(folder)} has no {split}/ folder. Lay your images out as "
            f"{shown(folder)}/train/<class>/*.png and {shown(folder)}/test/<class>/*.png."
        )
    return where


def class_name(folder_name: str) -> str:
    """A class folder's name as the class is called: in Unicode's composed form (NFC), so that ``café`` typed on
    one system (é one character) and copied from another (e and a combining accent, NFD) is one class."""
    return unicodedata.normalize("NFC", folder_name)


def require_utf8_name(path: Path, what: str) -> None:
    """Refuse, before anything is read, a name that is not UTF-8 text (``os.fsdecode`` keeps its other bytes as
    surrogates, which no JSON, Markdown or HTML file can hold): it could be neither recorded nor shown as it is."""
    try:
        str(path).encode("utf-8")
    except UnicodeEncodeError:
        raise LatentlabError(
            f"The {what} {shown(path)} has a name that is not UTF-8 text (the bytes shown as \\xNN "
            "are not): it could not be recorded in metrics.json nor shown on the pages. Rename it "
            "with UTF-8 letters only, then run again. Nothing was read or written."
        ) from None


def _class_names(where: Path) -> list[str]:
    """The class folders of a split, sorted. Hidden folders (.ipynb_checkpoints) are no class, and a folder
    leading to the same folder as another class (a link to it) is skipped with a line: it would read the same
    images again under a second label. A folder leading into another class's subfolder reads nothing twice,
    since subfolders are not read. A file among the class folders is no class either: a line says so."""
    kept: dict[Path, Path] = {}
    entries = [entry for entry in where.iterdir() if not entry.name.startswith(".")]
    for entry in entries:
        require_utf8_name(entry, "class folder" if entry.is_dir() else "entry")
    files = sorted(shown(entry.name) for entry in entries if not entry.is_dir())
    if files:
        _say_once(
            f"Not a class in {shown(where)}: {', '.join(files)}, not a folder. Each class is a folder of "
            "images; files beside the class folders are not read."
        )
    folders = [entry for entry in entries if entry.is_dir()]
    for entry in sorted(folders, key=lambda entry: (entry.is_symlink(), entry.name)):  # a real folder wins
        same = kept.setdefault(entry.resolve(), entry)
        if same != entry:
            _say_once(
                f"Skipped the class folder {shown(entry)}: it leads to the same folder as {shown(same)}, whose "
                f"images are read once, as the class {shown(same.name)}. Remove the link, or make it a folder "
                "of its own."
            )
    names = sorted(entry.name for entry in kept.values())
    _refuse_look_alikes(where, names)
    return names


def _refuse_look_alikes(where: Path, names: list[str]) -> None:
    """Two class folders whose names are one name in Unicode's composed form would be two classes that every
    figure and page shows alike: refused, naming both with their characters written out."""
    by_class: dict[str, list[str]] = {}
    for name in names:
        by_class.setdefault(class_name(name), []).append(name)
    alike = [found for found in by_class.values() if len(found) > 1]
    if alike:
        pairs = "; ".join(" and ".join(ascii(name) for name in found) for found in alike)
        raise LatentlabError(
            f"{shown(where)} has class folders whose names differ only in how their accents are "
            f"encoded (Unicode NFC against NFD), so they would look like one class: {pairs}. Merge "
            "each pair into one folder, or rename one of them."
        )


def _split_folder(folder: Path, split: str) -> tuple[list[str], list[tuple[Path, str]]]:
    """The class names of ``folder/split`` (its sub-folders, sorted, as ``class_name`` calls them) and its
    (image path, class) pairs, each class with at least one image; what was not read is said on screen, a line
    per class."""
    where = _split_path(folder, split)
    classes = _class_names(where)
    if not classes:
        raise LatentlabError(
            f"{shown(where)} holds no class folders. Each class needs its own folder "
            f"{shown(where)}/<class>/ with its images in it."
        )
    samples, lines = [], []
    for name in classes:
        paths, skipped = _class_images(where / name)
        if not paths:
            inside = f" ({_not_read(skipped)})" if skipped else ""
            raise LatentlabError(
                f"The class folder {shown(where / name)}/ holds no images directly inside it{inside}: "
                "looked for the endings Pillow reads (.png, .jpg, .gif, ...); subfolders and "
                "hidden files are not read. Put the class's images directly into it, or remove "
                "the folder."
            )
        samples += [(path, class_name(name)) for path in paths]
        if skipped:
            lines.append(f"  {shown(where / name)}: {_not_read(skipped)}")
    if lines:
        _say_once(f"Not read in {shown(where)}. {NOT_READ}:\n" + "\n".join(lines))
    return [class_name(name) for name in classes], samples


def image_folder_classes(folder: Path) -> Classes:
    """The class names of an image folder: the folder names under ``train/``, sorted, as ``class_name`` calls
    them."""
    where = _split_path(Path(folder), "train")
    found = [class_name(name) for name in _class_names(where)]
    if not 2 <= len(found) <= MAX_CLASSES:
        raise LatentlabError(
            f"{shown(where)} has {len(found)} class folders ({', '.join(map(shown, found))}); use "
            f"between 2 and "
            f"{MAX_CLASSES} classes (the figures give each its own colour)."
        )
    return Classes(tuple(found))


def _require_a_shape(path: Path, size: tuple[int, int]) -> None:
    """Refuse an image too small, or too narrow for its length, to keep a shape at 28x28: named with its size."""
    width, height = size
    if max(size) < MIN_SIDE:
        raise LatentlabError(
            f"{shown(path)} is {width}x{height} pixels: too small to hold a shape (at least "
            f"{MIN_SIDE} pixels on its longer side are needed). Replace or remove it."
        )
    shorter = min(size) * SIDE / max(size)
    if shorter < 1:
        raise LatentlabError(
            f"{shown(path)} is {width}x{height} pixels: scaled to {SIDE} pixels on its longer side, "
            f"its shorter side would be {shorter:.2g} pixels, less than one, so nothing of it would "
            "be left. Crop it nearer to a square, or remove it."
        )


def _read_image(path: Path) -> np.ndarray:
    """One file as (28, 28) grey uint8, or an error naming it and what to do."""
    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            # Between its limit and twice it Pillow only warns, not naming the file, and decodes it all anyway.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                _require_a_shape(path, image.size)
                grey = to_28x28_grey(image)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise LatentlabError(
            f"{shown(path)} has more than {Image.MAX_IMAGE_PIXELS:,} pixels, Pillow's limit against decompression bombs "
            "(Image.MAX_IMAGE_PIXELS), so it was not decoded. Every image becomes 28x28 pixels here: make it "
            "smaller (a few hundred pixels on its longer side is plenty), or remove it."
        ) from None
    except (UnidentifiedImageError, OSError, ValueError) as error:
        raise LatentlabError(f"{shown(path)} cannot be read as an image ({error}). Replace or remove it.") from None
    if grey.min() == grey.max():
        raise LatentlabError(
            f"{shown(path)} becomes a blank image (every pixel {grey.min()}) in 28x28 grey: there is no ink to learn. "
            "Images are read as light strokes on a dark background (MNIST's way; an image with transparency "
            "by its opacity). Fix or remove the file."
        )
    return grey


def load_image_folder(folder: Path, split: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Images (N, 28, 28) uint8 and labels (N,) int64 of ``folder/split``, labelled by the train classes."""
    folder = Path(folder)
    if not folder.is_dir():
        raise LatentlabError(
            f"--dataset {shown(folder)}: there is no such folder, and it is not one of "
            f"{', '.join(DATASETS)}. Give one of those names, or a folder laid out as "
            "<folder>/train/<class>/*.png and <folder>/test/<class>/*.png."
        )
    require_utf8_name(folder, "image folder")
    classes = image_folder_classes(folder).names
    found, samples = _split_folder(folder, split)
    unknown = sorted(set(found) - set(classes))
    if unknown:
        raise LatentlabError(
            f"{shown(folder / split)} has the class folder(s) {', '.join(map(shown, unknown))}, "
            "which train/ has "
            "not: a model cannot learn classes it never sees. Add them to train/ or remove them."
        )
    images = [_read_image(path) for path, _ in samples]
    labels = [classes.index(name) for _, name in samples]
    return torch.from_numpy(np.stack(images)), torch.tensor(labels, dtype=torch.int64)


def dataset_classes(dataset: str) -> Classes:
    return DATASETS[dataset].classes if dataset in DATASETS else image_folder_classes(Path(dataset))


def dataset_title(dataset: str) -> str:
    """``MNIST``, ``Fashion-MNIST``, or the image folder's name."""
    return DATASETS[dataset].title if dataset in DATASETS else Path(dataset).name


def read_split(config, split: str) -> tuple[torch.Tensor, torch.Tensor]:
    """The split of a TrainConfig's data set, wherever it comes from."""
    if config.dataset in DATASETS:
        return load_split(config.resolved_data_root(), split, config.dataset)
    return load_image_folder(Path(config.dataset), split)


def to_float(images: torch.Tensor) -> torch.Tensor:
    """uint8 (B, 28, 28) -> float (B, 1, 28, 28) in [0, 1], converted where the batch lives."""
    return images.unsqueeze(1).float().div_(255.0)


def flat_pixels(images: torch.Tensor) -> np.ndarray:
    """Images as scikit-learn takes them: uint8 (N, 28, 28) or float (N, 1, 28, 28) in [0, 1] -> (N, 784)
    float32 in [0, 1] on the CPU."""
    images = to_float(images) if images.dtype == torch.uint8 else images
    return images.reshape(len(images), 784).cpu().numpy()


class DeviceSplit:
    """A split held as one tensor on the training device and served in shuffled batches."""

    def __init__(
        self,
        images: torch.Tensor,
        labels: torch.Tensor,
        device: torch.device,
        classes: Classes = DATASETS["mnist"].classes,
    ):
        self.images = images.to(device)  # (N, 28, 28) uint8: a quarter of the float32 memory
        self.labels = labels.to(device)
        self.device = device
        self.classes = classes

    def __len__(self) -> int:
        return len(self.images)

    def batch_indices(self, batch_size: int, generator: torch.Generator | None = None):
        """Yield index tensors (B,) on the device; shuffled when a generator is given, else in order."""
        n = len(self.images)
        order = torch.randperm(n, generator=generator) if generator is not None else torch.arange(n)
        yield from order.to(self.device).split(batch_size)

    def batches(self, batch_size: int, generator: torch.Generator | None = None):
        """Yield float batches (B, 1, 28, 28) in the order of ``batch_indices``."""
        for index in self.batch_indices(batch_size, generator):
            yield to_float(self.images[index])

    def labelled_batches(self, batch_size: int, generator: torch.Generator | None = None):
        """Yield (x, y): ``batches`` with their labels (B,), which a conditional kind is given."""
        for index in self.batch_indices(batch_size, generator):
            yield to_float(self.images[index]), self.labels[index]


def load_splits(
    config, device: torch.device, likelihood, test: DeviceSplit | None = None
) -> tuple[DeviceSplit, DeviceSplit]:
    """The training split (a subset of ``config.train_limit`` images that keeps the classes, if set) and the
    test split of a TrainConfig, on ``device``; the test split as ``likelihood`` (the model's) judges it, or
    ``test`` where it was read already. A split with a single class is refused here, before any training."""
    with status(f"reading the {shown(dataset_title(config.dataset))} training images"):
        images, labels = read_split(config, "train")
    if config.train_limit is not None:
        keep = training_subset(labels, config.train_limit)
        images, labels = images[keep], labels[keep]
    require_two_classes(labels, f"the training images{' kept by --train-limit' if config.train_limit else ''}")
    test = test if test is not None else load_test_split(config, device, likelihood)
    require_two_classes(test.labels, "the test images")
    classes = dataset_classes(config.dataset)
    warn_if_unequal({"train": labels, "test": test.labels}, classes)
    return DeviceSplit(images, labels, device, classes), test


SUBSET_SEED = 0  # one subset for every seed of a recipe, so that seeds differ in training only


def training_subset(labels: torch.Tensor, limit: int) -> torch.Tensor:
    """The indices (limit,) of a subset with every class in its share, drawn with a fixed seed, in the
    data set's order. The first N images would not do: a folder sorted by class gives one class only."""
    from sklearn.model_selection import train_test_split

    n, count = len(labels), len(labels.unique())
    if limit >= n:
        return torch.arange(n)
    if limit < count:
        raise LatentlabError(
            f"--train-limit {limit} keeps fewer training images than the {count} classes, so "
            f"some class would be missing. Use --train-limit {count} or more."
        )
    try:
        keep, _ = train_test_split(np.arange(n), train_size=limit, stratify=labels.numpy(), random_state=SUBSET_SEED)
    except ValueError:  # a class with a single image cannot be split in proportion: a seeded shuffle instead
        keep = np.random.default_rng(SUBSET_SEED).permutation(n)[:limit]
    return torch.from_numpy(np.sort(keep))


def class_counts(labels: torch.Tensor, classes: Classes) -> dict[str, int]:
    """The number of images of each class, by its name, in the classes' order (0 for a class the split lacks)."""
    return dict(zip(classes.names, torch.bincount(labels.cpu(), minlength=len(classes)).tolist(), strict=True))


def unequal_classes(images_per_class: dict[str, dict[str, int]]) -> list[str]:
    """For each split (``{"train": {class: images}, "test": ...}``, as metrics.json keeps it) whose smallest
    class has fewer than a fifth of its largest's images, a phrase naming both; none when the classes are alike."""
    unequal = []
    for split, per_class in images_per_class.items():
        counts = {name: count for name, count in per_class.items() if count}  # a class a split lacks is not small
        if not counts:
            continue
        smallest, largest = min(counts, key=counts.get), max(counts, key=counts.get)
        if counts[smallest] * UNEQUAL < counts[largest]:
            unequal.append(
                f"{split}: {counts[smallest]} images of the class {smallest}, {counts[largest]} of {largest}"
            )
    return unequal


def warn_if_unequal(splits: dict[str, torch.Tensor], classes: Classes) -> None:
    """One line, before any training, when a split's smallest class has fewer than a fifth of its largest's
    images: an accuracy near the largest class's share then says little."""
    unequal = unequal_classes({split: class_counts(labels, classes) for split, labels in splits.items()})
    if unequal:
        _say_once(
            f"Warning: unequal classes ({'; '.join(unequal)}: a class under a fifth of the largest). Answering "
            "the largest class every time scores its share as accuracy: read each accuracy beside the "
            "majority-class rate and the balanced accuracy (the mean of the classes' hit rates), both printed "
            "after the evaluation and kept in metrics.json."
        )


def require_two_classes(labels: torch.Tensor, what: str) -> None:
    """Refuse, before any training, a split that the classifiers of the evaluation could not be fitted or
    scored on."""
    present = labels.unique().tolist()
    if len(present) < 2:
        raise LatentlabError(
            f"{what[0].upper()}{what[1:]} hold one class only (label {present[0] if present else '-'}); "
            "the evaluation's 5-NN and linear probes compare classes and need two at least. "
            "Add images of another class, or raise --train-limit."
        )


def load_test_split(config, device: torch.device, likelihood) -> DeviceSplit:
    """The test split with the pixels ``likelihood.test_pixels`` gives: a Bernoulli decoder's binarized
    once, with a fixed seed (likelihoods.py)."""
    with status(f"reading the {shown(dataset_title(config.dataset))} test images"):
        images, labels = read_split(config, "test")
    return DeviceSplit(likelihood.test_pixels(images), labels, device, dataset_classes(config.dataset))
