"""The fuzz test of issue 46: damaged and ill-typed versions of every recorded file (a value swapped for another
type, a field deleted, a value wrapped in a list or an object, an unexpected field, the file cut short, a number
written as NaN, Infinity, 1e999 or with thousands of digits) end every command that reads them with the
project's own message, or the command succeeds: never a traceback.

Hypothesis draws the damage; each file's examples take a few seconds (EXAMPLES)."""

from __future__ import annotations

import contextlib
import io
import itertools
import json
import os
import re
import shutil
from pathlib import Path

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import TINY_WIDTHS, untrained_vae_page, write_mnist
from latentlab.cli import main
from latentlab.core.checkpoint_file import MODEL_FILE, TENSOR_ENTRIES
from latentlab.core.config import TrainConfig
from latentlab.experiments import EXPERIMENTS

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = 10
EXAMPLE = itertools.count()  # each example's own folder (tmp_path is the test's, shared by its examples)
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

# Values that land where another was recorded: every JSON type, and numbers no writer gives.
VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(),
    st.sampled_from([float("nan"), float("inf"), -float("inf"), 1e308, -0.0]),
    st.text(max_size=4),
    st.just([]),
    st.just({}),
    st.lists(st.integers(0, 9), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(0, 3), max_size=2),
)
# What a number may become in the text: literals Python's json reads, and ones it refuses.
NUMBER_TEXTS = st.sampled_from(
    [
        "NaN",
        "Infinity",
        "-Infinity",
        "1e999",
        "-1e999",
        "9" * 5000,
        "0.0",
        "-1",
        "1e-400",
        '"3"',
        "true",
        "null",
        "[1]",
        "{}",
    ]
)


def paths(value, at: tuple = ()) -> list[tuple]:
    """Every place in a JSON value: each object's fields and each list's items, at any depth."""
    found = [at]
    if isinstance(value, dict):
        for key, item in value.items():
            found += paths(item, at + (key,))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += paths(item, at + (index,))
    return found


def _damaged_value(data, value):
    """``value`` (parsed JSON, changed in place where possible) with one damage Hypothesis draws; returns it."""
    places = paths(value)
    if data.draw(st.booleans(), label="a field near the top"):  # else a page's hundreds of layer fields drown them
        places = [place for place in places if len(place) <= 1]
    at = places[data.draw(st.integers(0, len(places) - 1), label="place")]
    how = data.draw(
        st.sampled_from(["replace", "delete", "wrap in a list", "wrap in an object", "add a field"]), label="damage"
    )
    if not at:
        return data.draw(VALUES) if how == "replace" else [value] if how == "wrap in a list" else {"v": value}
    parent = value
    for step in at[:-1]:
        parent = parent[step]
    key = at[-1]
    if how == "replace":
        parent[key] = data.draw(VALUES, label="new value")
    elif how == "delete":
        del parent[key]
    elif how == "wrap in a list":
        parent[key] = [parent[key]]
    elif how == "wrap in an object":
        parent[key] = {"value": parent[key]}
    elif isinstance(parent[key], dict):
        parent[key][data.draw(st.text(min_size=1, max_size=5), label="field")] = data.draw(VALUES)
    return value


def _damaged_text(data, text: str) -> str:
    """``text`` cut short, or one of its numbers written otherwise."""
    numbers = list(re.finditer(r"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?", text))
    if numbers and data.draw(st.booleans(), label="a number, not a cut"):
        number = numbers[data.draw(st.integers(0, len(numbers) - 1), label="number")]
        return text[: number.start()] + data.draw(NUMBER_TEXTS, label="written as") + text[number.end() :]
    return text[: data.draw(st.integers(0, len(text) - 1), label="cut at")]


def damaged_json(data, text: str) -> str:
    """A damaged or ill-typed version of a JSON file's ``text``."""
    if data.draw(st.booleans(), label="in the text"):
        return _damaged_text(data, text)
    return json.dumps(_damaged_value(data, json.loads(text)))


def ends_well(argv: list[str]) -> None:
    """Run a command in this process: it succeeds or ends with the project's message. Any other exception
    propagates (it would be a traceback) and fails the test."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    assert code in (0, 1), err.getvalue()
    assert "Traceback" not in err.getvalue() + out.getvalue()
    if code == 1:
        assert err.getvalue().lstrip().startswith("error: "), err.getvalue()


@contextlib.contextmanager
def inside(folder: Path):
    here = Path.cwd()
    os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(here)


# --- What report reads: metrics.json, seeds.json, posterior_gaps.json, bound_vs_k.json, binarization_spread.json ---


@pytest.fixture(scope="module")
def report_root(tmp_path_factory) -> Path:
    """A repository root holding the committed JSON files of the 2-D VAE and of the Bernoulli VAE."""
    root = tmp_path_factory.mktemp("fuzz-report")
    for name in ("vae-2d", "vae-32d-bernoulli"):
        folder = EXPERIMENTS[name].out_dir
        (root / folder).mkdir(parents=True)
        for path in (REPO / folder).glob("*.json"):
            shutil.copy(path, root / folder / path.name)
    return root


REPORTED = [(name, file) for name in ("vae-2d",) for file in ("metrics.json", "seeds.json", "posterior_gaps.json")] + [
    ("vae-32d-bernoulli", file) for file in ("metrics.json", "bound_vs_k.json", "binarization_spread.json")
]


@pytest.mark.parametrize("experiment, name", REPORTED)
@FUZZ
@given(data=st.data())
def test_a_damaged_file_that_report_reads_ends_it_with_the_projects_message_or_not_at_all(
    report_root, experiment, name, data
):
    path = report_root / EXPERIMENTS[experiment].out_dir / name
    original = path.read_text(encoding="utf-8")
    path.write_text(damaged_json(data, original), encoding="utf-8")
    try:
        with inside(report_root):
            ends_well(["report", "--output", "RESULTS.md"])
    finally:
        path.write_text(original, encoding="utf-8")


# --- What info reads: a checkpoint's recorded fields ---------------------------------------------------------------


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    """The model.pt of a tiny VAE trained for one epoch."""
    from latentlab.core.training import train

    root = tmp_path_factory.mktemp("fuzz-model")
    config = TrainConfig(
        model="vae",
        latent_dim=2,
        epochs=1,
        batch_size=32,
        **TINY_WIDTHS,
        device="cpu",
        data_root=str(write_mnist(root / "data")),
        out_dir=str(root / "run"),
    )
    train(config)
    return root / "run" / MODEL_FILE


@FUZZ
@given(data=st.data())
def test_a_checkpoint_with_damaged_recorded_fields_ends_info_with_the_projects_message_or_not_at_all(
    trained, tmp_path, data
):
    state = torch.load(trained, weights_only=True)
    recorded = {key: value for key, value in state.items() if key not in TENSOR_ENTRIES}
    damaged = _damaged_value(data, json.loads(json.dumps(recorded)))
    folder = tmp_path / f"run{next(EXAMPLE)}"
    folder.mkdir()
    tensors = {key: value for key, value in state.items() if key in TENSOR_ENTRIES}
    torch.save({**damaged, **tensors} if isinstance(damaged, dict) else damaged, folder / MODEL_FILE)
    ends_well(["info", str(folder)])


@FUZZ
@given(data=st.data())
def test_a_checkpoint_cut_short_ends_info_with_the_projects_message(trained, tmp_path, data):
    content = trained.read_bytes()
    folder = tmp_path / f"run{next(EXAMPLE)}"
    folder.mkdir()
    (folder / MODEL_FILE).write_bytes(content[: data.draw(st.integers(0, len(content) - 1), label="cut at")])
    ends_well(["info", str(folder)])


# --- What explore --template-only reads: an explorer page's data block and payload -------------------------------------


@pytest.fixture(scope="module")
def page(tmp_path_factory) -> Path:
    return untrained_vae_page(tmp_path_factory.mktemp("fuzz-page"), 2, "tiny VAE")


META = '<script type="application/json" id="meta">'


@FUZZ
@given(data=st.data())
def test_an_explorer_page_with_a_damaged_data_block_ends_template_only_with_the_projects_message_or_not_at_all(
    page, tmp_path, data
):
    page_text = page.read_text(encoding="utf-8")
    head, rest = page_text.split(META, 1)
    block, tail = rest.split("</script>", 1)
    if data.draw(st.booleans(), label="the block, not the page"):
        block = damaged_json(data, block).replace("</", "<\\/")  # as the template escapes it: the block stays one
        text = f"{head}{META}{block}</script>{tail}"
    else:
        text = page_text[: data.draw(st.integers(0, len(page_text) - 1), label="cut at")]
    folder = tmp_path / f"page{next(EXAMPLE)}"
    folder.mkdir()
    (folder / "explorer.html").write_text(text, encoding="utf-8")
    ends_well(["explore", str(folder), "--template-only"])
