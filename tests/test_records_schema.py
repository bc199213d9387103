"""Every file latentlab writes and reads back is checked against its published schema (issue 46): the committed
files satisfy the schemas in latentlab/schemas/, and a damaged or ill-typed file ends the command that reads it
with one paragraph naming the file, the field and what was expected; never a traceback, and nothing is
rewritten from it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import NamedTuple

import pytest
import torch

from conftest import TINY_WIDTHS, untrained_vae_page, write_mnist
from latentlab.cli import main
from latentlab.core.checkpoint_file import MODEL_FILE, read_checkpoint
from latentlab.core.config import RENAMED, TrainConfig
from latentlab.core.recorded import read_json
from latentlab.core.validation import SCHEMAS
from latentlab.experiments import EXPERIMENTS

REPO = Path(__file__).resolve().parents[1]


def committed(name: str) -> list[Path]:
    """The files of the result folders named ``name`` (a glob: ``*.json``)."""
    return sorted(REPO.glob(f"Kết_quả_huấn_luyện_*/*/{name}"))


def schema_of(path: Path) -> str:
    return path.name.removesuffix(".json")


# --- The committed files satisfy the schemas: a change to what the code writes fails here ----------------------


def test_every_schema_is_a_draft_2020_12_schema():
    from jsonschema import Draft202012Validator

    schemas = sorted(SCHEMAS.glob("*.schema.json"))
    assert {path.name.removesuffix(".schema.json") for path in schemas} >= {
        "config",
        "metrics",
        "seeds",
        "posterior_gaps",
        "bound_vs_k",
        "binarization_spread",
        "checkpoint",
        "explorer",
    }
    for path in schemas:
        Draft202012Validator.check_schema(json.loads(path.read_text(encoding="utf-8")))


@pytest.mark.parametrize("path", committed("*.json"), ids=lambda path: str(path.relative_to(REPO)))
def test_each_committed_json_file_satisfies_its_schema(path):
    assert (SCHEMAS / f"{schema_of(path)}.schema.json").is_file(), f"no schema for {path.name}"
    read_json(path, schema_of(path))


@pytest.mark.parametrize("path", committed(MODEL_FILE), ids=lambda path: str(path.parent.relative_to(REPO)))
def test_each_committed_checkpoint_satisfies_the_checkpoint_schema(path):
    read_checkpoint(path)


@pytest.mark.parametrize("path", committed("explorer.html"), ids=lambda path: str(path.parent.relative_to(REPO)))
def test_each_committed_explorer_page_holds_a_data_block_that_satisfies_its_schema(path):
    from latentlab.publish.explorer import read_page

    read_page(path)


def test_the_configuration_schema_has_every_field_of_train_config_with_its_flags_choices():
    import dataclasses

    defs = json.loads((SCHEMAS / "config.schema.json").read_text(encoding="utf-8"))["$defs"]
    recipe, run = defs["recipe"]["properties"], defs["run"]["properties"]
    fields = {f.name: f for f in dataclasses.fields(TrainConfig)}
    assert set(recipe) == set(TrainConfig().recipe())
    assert set(recipe) | set(run) == set(fields) | set(RENAMED)
    for name, f in fields.items():
        if f.metadata["choices"] and name != "model":  # a kind is a module: adding one needs no schema change
            assert (recipe | run)[name]["enum"] == list(f.metadata["choices"]), name


# --- Each case of the issue: the command ends with the project's message ------------------------------------------


def _refused(capsys, code: int, *words: str) -> str:
    """The command's stderr, after checking that it ended with the project's message naming ``words``."""
    err = capsys.readouterr().err
    assert code == 1, err
    assert "Traceback" not in err and ("was refused" in err or "is damaged" in err), err
    for word in words:
        assert word in err, err
    return err


@pytest.fixture
def report_root(tmp_path, monkeypatch) -> Path:
    """A repository root holding the committed 2-D VAE's metrics.json, seeds.json and posterior_gaps.json, and the
    Bernoulli VAE's bound_vs_k.json and binarization_spread.json: what ``report`` reads."""
    for name in ("vae-2d", "vae-32d-bernoulli"):
        folder = EXPERIMENTS[name].out_dir
        for path in (REPO / folder).glob("*.json"):
            if path.name != "config.json":
                (tmp_path / folder).mkdir(parents=True, exist_ok=True)
                shutil.copy(path, tmp_path / folder / path.name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _metrics(root: Path) -> Path:
    return root / EXPERIMENTS["vae-2d"].out_dir / "metrics.json"


class Whole(NamedTuple):
    """What an edit returns to replace the whole value (any other return value is ignored)."""

    value: object


def _apply(edit, value):
    replaced = edit(value)
    return replaced.value if isinstance(replaced, Whole) else value


def _edited(path: Path, edit) -> None:
    path.write_text(json.dumps(_apply(edit, json.loads(path.read_text(encoding="utf-8")))), encoding="utf-8")


@pytest.mark.parametrize(
    "edit, words",
    [
        (lambda m: m.update(test_elbo="-37.5"), 'test_elbo: expected a number, found the string "-37.5"'),
        (lambda m: m.update(images_per_class=[["0", 980]]), "images_per_class: expected an object, found a list"),
        (lambda m: Whole([m]), "expected an object, found a list of 1 item"),
        (lambda m: m.pop("latent_dim"), 'the field "latent_dim" is missing'),
        (lambda m: m["history"][2].update(lr=None), "history[2].lr: expected a number, found null"),
        (
            lambda m: m["images_per_class"]["test"].update({"7": 10.5}),
            'images_per_class.test["7"]: expected a whole number',
        ),
    ],
)
def test_an_ill_typed_metrics_json_ends_report_naming_the_field_and_writes_nothing(report_root, capsys, edit, words):
    path = _metrics(report_root)
    _edited(path, edit)
    before = path.read_bytes()
    _refused(capsys, main(["report", "--output", "RESULTS.md"]), "metrics.json", words, "evaluate")
    assert path.read_bytes() == before and not (report_root / "RESULTS.md").exists()


@pytest.mark.parametrize(
    "damage, words",
    [
        (lambda data: data[: len(data) // 2], "is not valid JSON"),
        (lambda data: b"", "it is empty"),
        (lambda data: data.replace(b'"model"', b'"m\xe9del"', 1), "is not UTF-8 text (byte 0xe9"),
        (
            lambda data: data.replace(b'"latent_dim": 2', b'"latent_dim": 2e999', 1),
            'it holds the number "2e999", which is not finite',
        ),
    ],
)
def test_a_damaged_metrics_json_ends_report_with_one_paragraph(report_root, capsys, damage, words):
    path = _metrics(report_root)
    path.write_bytes(damage(path.read_bytes()))
    _refused(capsys, main(["report", "--output", "RESULTS.md"]), "metrics.json", words)
    assert not (report_root / "RESULTS.md").exists()


@pytest.mark.parametrize(
    "name, edit, words",
    [
        ("seeds.json", lambda s: s["runs"][0].pop("recipe"), 'runs[0]: the field "recipe" is missing'),
        ("posterior_gaps.json", lambda p: p["summary"].update(log_px=-33.8), "summary.log_px: expected an object"),
    ],
)
def test_an_ill_typed_record_beside_metrics_json_ends_report_naming_it(report_root, capsys, name, edit, words):
    _edited(_metrics(report_root).parent / name, edit)
    _refused(capsys, main(["report", "--output", "RESULTS.md"]), name, words)


@pytest.mark.parametrize(
    "name, edit, words",
    [
        ("bound_vs_k.json", lambda b: b["bounds"][0].update(k="5000"), "bounds[0].k: expected a whole number"),
        ("binarization_spread.json", lambda b: b.update(draws=[]), "draws: expected a list of at least 1 items"),
    ],
)
def test_an_ill_typed_bound_file_ends_report_naming_it(report_root, capsys, name, edit, words):
    _edited(report_root / EXPERIMENTS["vae-32d-bernoulli"].out_dir / name, edit)
    _refused(capsys, main(["report", "--output", "RESULTS.md"]), name, words)


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> tuple[Path, Path]:
    """A tiny VAE trained for one epoch (model.pt only, no figures), and its data root."""
    from latentlab.core.training import train

    root = tmp_path_factory.mktemp("records")
    data = write_mnist(root / "data")
    train(
        TrainConfig(
            model="vae",
            latent_dim=2,
            epochs=1,
            batch_size=32,
            **TINY_WIDTHS,
            device="cpu",
            data_root=str(data),
            out_dir=str(root / "run"),
        )
    )
    return root / "run", data


def _damaged_checkpoint(trained, tmp_path, damage) -> Path:
    folder = tmp_path / "run"
    shutil.copytree(trained[0], folder)
    state = torch.load(folder / MODEL_FILE, weights_only=True)
    damage(state)
    torch.save(state, folder / MODEL_FILE)
    return folder


CHECKPOINT_DAMAGE = [
    (lambda s: s.update(provenance=["git", "python"]), "'provenance' entry is a list"),
    (lambda s: s["provenance"].pop("git_commit"), 'provenance: the field "git_commit" is missing'),
    (lambda s: s["provenance"].update(device=3), "provenance.device: expected a string, found the number 3"),
    (lambda s: s["provenance"].update(date=None), "provenance.date: expected a string, found null"),
    (lambda s: s.update(history={"epoch": 1}), "'history' entry is a dict"),
    (lambda s: s["history"].append([1, 2.0]), "history[1]: expected an object, found a list of 2 items"),
    (lambda s: s["history"][0].update(lr="fast"), 'history[0].lr: expected a number, found the string "fast"'),
    (lambda s: s["history"][0].pop("epoch"), 'history[0]: the field "epoch" is missing'),
    (lambda s: s.update(train_seconds=-5.0), "train_seconds: expected at least 0"),
]


@pytest.mark.parametrize("damage, words", CHECKPOINT_DAMAGE)
def test_a_checkpoint_whose_provenance_or_history_has_an_unexpected_shape_ends_info(
    trained, tmp_path, capsys, damage, words
):
    folder = _damaged_checkpoint(trained, tmp_path, damage)
    _refused(capsys, main(["info", str(folder)]), "model.pt", "damaged", words)


@pytest.mark.parametrize("damage, words", CHECKPOINT_DAMAGE[:1] + CHECKPOINT_DAMAGE[5:7])
def test_a_checkpoint_whose_provenance_or_history_has_an_unexpected_shape_ends_figures_drawing_nothing(
    trained, tmp_path, capsys, damage, words
):
    folder = _damaged_checkpoint(trained, tmp_path, damage)
    before = sorted(path.name for path in folder.iterdir())
    code = main(["figures", str(folder), "--data-root", str(trained[1]), "--device", "cpu"])
    _refused(capsys, code, "model.pt", "damaged", words)
    assert sorted(path.name for path in folder.iterdir()) == before


@pytest.fixture(scope="module")
def page_text(tmp_path_factory) -> str:
    """The explorer page of an untrained tiny 2-D VAE over 64 synthetic test digits of the ten classes 0-9."""
    return untrained_vae_page(tmp_path_factory.mktemp("page"), 2, "tiny VAE").read_text(encoding="utf-8")


META = '<script type="application/json" id="meta">'


def _with_meta(text: str, edit) -> str:
    """``text`` with its data block replaced by ``edit`` of it."""
    head, rest = text.split(META, 1)
    block, tail = rest.split("</script>", 1)
    return f"{head}{META}{json.dumps(_apply(edit, json.loads(block)))}</script>{tail}"


def _page(tmp_path, text: str) -> Path:
    folder = tmp_path / "page"
    folder.mkdir()
    (folder / "explorer.html").write_text(text, encoding="utf-8")
    return folder


PAGE_EDITS = [
    (lambda m: m.update(classes=m["classes"][:-1]), "colours: 10 colours for 9 classes"),
    (
        lambda m: m.update(classes=m["classes"][:-1], colours=m["colours"][:-1]),
        "classes: a label is 9, but only 9 classes are named",
    ),
    (lambda m: m.update(latent_dim="2"), 'latent_dim: expected a whole number, found the string "2"'),
    (lambda m: m.update(kind="gan"), 'kind: no model kind "gan"; the kinds are'),
    (lambda m: m["layers"][0].pop("weight"), 'layers[0]: the field "weight" is missing'),
    (lambda m: m["layers"][0].update(weight="nowhere"), 'manifest: no array "nowhere", which a layer names'),
    (lambda m: m["manifest"]["labels"].update(offset=4 * 10**9), "past the payload"),
    (lambda m: m.update(preparation="none"), 'preparation: expected one of "mnist", "padded"'),
    (lambda m: m.update(picks=10**6), "picks: 1000000 picks"),
    (lambda m: m.pop("noun"), 'the field "noun" is missing'),
    (lambda m: m.update(bounds=[0, 1]), "bounds: expected a list of at least 4 items"),
]


@pytest.mark.parametrize("edit, words", PAGE_EDITS)
def test_an_explorer_page_whose_data_block_was_edited_ends_template_only_and_is_not_rewritten(
    page_text, tmp_path, capsys, edit, words
):
    folder = _page(tmp_path, _with_meta(page_text, edit))
    before = (folder / "explorer.html").read_bytes()
    _refused(capsys, main(["explore", str(folder), "--template-only"]), "explorer.html", words)
    assert (folder / "explorer.html").read_bytes() == before


@pytest.mark.parametrize(
    "damage, words",
    [
        (lambda text: text.replace(META, "<script>", 1), 'it has no <script type="application/json" id="meta">'),
        (lambda text: text.replace(META + "{", META + "{{", 1), "is not valid JSON"),
        (lambda text: text.replace('id="payload">H4sI', 'id="payload">H4sX', 1), "its payload does not unpack"),
    ],
)
def test_a_damaged_explorer_page_ends_template_only_with_one_paragraph(page_text, tmp_path, capsys, damage, words):
    folder = _page(tmp_path, damage(page_text))
    _refused(capsys, main(["explore", str(folder), "--template-only"]), "explorer.html", words)


def test_an_unedited_page_is_still_refilled(page_text, tmp_path):
    folder = _page(tmp_path, page_text)
    assert main(["explore", str(folder), "--template-only"]) == 0
