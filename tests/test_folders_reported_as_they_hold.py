"""A result folder is reported as the run it holds (issue 46): a script run with ``--dataset FOLDER --retrain``
writes into its experiment's folder, which then holds another run. RESULTS.md, the READMEs' table, index.html
and compare.html name it by its recorded recipe, and set no seed spread of the experiment's recipe beside it."""

import json
from pathlib import Path

from latentlab.experiments import EXPERIMENTS
from latentlab.publish.front_pages import compare_html, index_html
from latentlab.publish.names import experiment_label
from latentlab.publish.report import results_markdown
from latentlab.publish.summary_table import summary

REPO = Path(__file__).resolve().parents[1]


def _folder(root: Path, name: str, dataset: str = "mnist", seeds: int = 0) -> Path:
    """``name``'s result folder under ``root``: its committed metrics.json with the recorded run's data set
    changed to ``dataset``, an explorer page, and ``seeds`` recorded runs of the experiment's own recipe."""
    e = EXPERIMENTS[name]
    folder = root / e.out_dir
    folder.mkdir(parents=True)
    metrics = json.loads((REPO / e.out_dir / "metrics.json").read_text(encoding="utf-8"))
    metrics.update(dataset=dataset, config={**metrics["config"], "dataset": dataset})
    (folder / "metrics.json").write_text(json.dumps(metrics), encoding="utf-8")
    (folder / "explorer.html").write_text("<!doctype html>", encoding="utf-8")
    record = json.loads((REPO / e.out_dir / "seeds.json").read_text(encoding="utf-8"))  # runs of its own recipe
    record["runs"] = [{**run, "device": "cpu"} for run in record["runs"][:seeds]]
    (folder / "seeds.json").write_text(json.dumps(record), encoding="utf-8")
    return folder


def _retrained(tmp_path: Path) -> None:
    _folder(tmp_path, "ae-32d", dataset=str(tmp_path / "my_shapes"), seeds=3)


def test_a_folder_of_its_own_recipe_keeps_its_experiments_name_and_seed_spread(tmp_path):
    _folder(tmp_path, "ae-32d", seeds=3)
    results, table = results_markdown(tmp_path), summary(tmp_path)
    assert "↳ mean ± sd over 3 seeds" in results and "ae-32d 3 (cpu)" in table
    assert f"| {experiment_label(EXPERIMENTS['ae-32d'])} |" in table


def test_results_md_names_a_folder_retrained_on_an_image_folder_by_its_data_set_without_the_seed_spread(tmp_path):
    _retrained(tmp_path)
    results = results_markdown(tmp_path)
    row = next(line for line in results.splitlines() if "retrained" in line and line.startswith("| "))
    assert "dataset my\\_shapes" in row and "not this experiment's recipe" in row
    assert "mean ± sd over" not in results
    assert f"| {experiment_label(EXPERIMENTS['ae-32d'])} |" not in results


def test_the_readme_table_names_a_retrained_folder_by_what_it_holds_without_the_seeds(tmp_path):
    _retrained(tmp_path)
    table = summary(tmp_path)
    assert "retrained in this folder with dataset my\\_shapes" in table
    assert "±" not in table and "ae-32d 3" not in table


def test_index_html_names_a_retrained_folder_by_what_it_holds(tmp_path):
    _retrained(tmp_path)
    page = index_html(tmp_path)
    assert "retrained in this folder with dataset my_shapes" in page and "±" not in page


def test_compare_html_leaves_out_a_folder_retrained_on_another_data_set_than_mnist(tmp_path):
    _retrained(tmp_path)
    _folder(tmp_path, "ae-2d")
    page = compare_html(tmp_path)
    assert experiment_label(EXPERIMENTS["ae-2d"]) in page
    assert experiment_label(EXPERIMENTS["ae-32d"]) not in page and "32D_latent_AE" not in page
    assert "retrained" not in page


def _section(results: str, heading: str) -> str:
    start = results.index(heading)
    end = results.find("\n## ", start + 1)
    return results[start : end if end > 0 else None]


def test_the_surgery_table_names_a_folder_retrained_on_an_image_folder_by_what_it_holds(tmp_path):
    _folder(tmp_path, "vae-32d", dataset=str(tmp_path / "my_shapes"))
    section = _section(results_markdown(tmp_path), "## Where the KL goes")
    assert "| VAE, 32-D, retrained in this folder with dataset my\\_shapes (not this experiment's recipe) |" in section
    assert f"| {experiment_label(EXPERIMENTS['vae-32d'])} |" not in section


def test_the_conditional_section_names_a_retrained_folder_by_what_it_holds_without_the_seeds(tmp_path):
    _folder(tmp_path, "cvae-2d", dataset=str(tmp_path / "my_shapes"), seeds=3)
    _folder(tmp_path, "vae-2d", seeds=3)  # its twin, of its own recipe: no longer the same recipe but for the label
    section = _section(results_markdown(tmp_path), "## The conditional VAE")
    assert section.startswith("## The conditional VAE: CVAE, 2-D, retrained in this folder with dataset my\\_shapes")
    table = [line for line in section.splitlines() if line.startswith("| ")]
    assert table and not any("±" in line for line in table)  # the committed run's numbers, no seed spread
    assert "(of log p(x))" not in section


def test_the_learned_prior_comparison_leaves_out_a_pair_whose_folder_holds_another_recipe(tmp_path):
    _folder(tmp_path, "vae-32d", dataset=str(tmp_path / "my_shapes"), seeds=3)
    _folder(tmp_path, "vampprior-32d", seeds=3)
    results = results_markdown(tmp_path)
    assert "## A learned prior beside N(0, I)" not in results
    assert "against VAE, 32-D" not in _section(results, "## Where the KL goes")


def test_the_learned_prior_comparison_sets_two_folders_of_their_own_recipes_side_by_side(tmp_path):
    _folder(tmp_path, "vae-32d", seeds=3)
    _folder(tmp_path, "vampprior-32d", seeds=3)
    assert "## A learned prior beside N(0, I)" in results_markdown(tmp_path)


def test_the_posterior_table_names_a_folder_retrained_on_an_image_folder_by_what_it_holds(tmp_path):
    folder = _folder(tmp_path, "vae-2d", dataset=str(tmp_path / "my_shapes"))
    gaps = REPO / EXPERIMENTS["vae-2d"].out_dir / "posterior_gaps.json"
    (folder / "posterior_gaps.json").write_bytes(gaps.read_bytes())
    section = _section(results_markdown(tmp_path), "## The true posterior")
    assert "| VAE, 2-D, retrained in this folder with dataset my\\_shapes (not this experiment's recipe) |" in section
    assert f"| {experiment_label(EXPERIMENTS['vae-2d'])} |" not in section
    assert "dataset my\\_shapes (not this experiment's recipe): of the amortization gap" in section  # prose escaped too
