"""reproduce's verdict (publish/verdict.py): what it changed in the committed files, judged by what is published."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from latentlab.publish import verdict as v

REPO = Path(__file__).resolve().parents[1]
HAVE_GIT = shutil.which("git") is not None
pytestmark = pytest.mark.skipif(not HAVE_GIT, reason="the verdict compares with git's committed files")


def git(root: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-C", str(root), "-c", "user.name=t", "-c", "user.email=t@t", *args], check=True, capture_output=True
    )


def committed(root: Path, files: dict[str, str | bytes]) -> Path:
    """A git repository at ``root`` whose one commit holds ``files``."""
    root.mkdir(parents=True, exist_ok=True)
    git(root, "init", "-q")
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "results")
    return root


METRICS = {"test_mse": 0.05566949397325516, "test_elbo": -37.4993126953125}
RESULTS = "| model | test MSE | ELBO |\n| --- | --- | --- |\n| VAE | 0.0557 | -37.50 |\n"


def by_path(judged: v.Verdict) -> dict[str, v.Judgement]:
    return {j.path: j for j in judged.judgements}


def test_a_number_moved_only_in_its_last_digits_is_equal_to_its_published_digits(tmp_path):
    root = committed(tmp_path / "repo", {"vae/metrics.json": json.dumps(METRICS), "RESULTS.md": RESULTS})
    (root / "vae/metrics.json").write_text(json.dumps({**METRICS, "test_mse": 0.05566949770}))

    judged = v.verdict(root)

    assert by_path(judged)["vae/metrics.json"].outcome == v.EQUAL_AS_PUBLISHED
    assert "0.05566949397325516 -> 0.0556694977" in by_path(judged)["vae/metrics.json"].details[0]
    assert not judged.failed and judged.identical == 1


def test_a_number_moved_in_a_printed_digit_fails_the_verdict_naming_its_old_and_new_value(tmp_path):
    root = committed(tmp_path / "repo", {"vae/metrics.json": json.dumps(METRICS), "RESULTS.md": RESULTS})
    (root / "vae/metrics.json").write_text(json.dumps({**METRICS, "test_mse": 0.0558}))
    (root / "RESULTS.md").write_text(RESULTS.replace("0.0557", "0.0558"))

    judged = v.verdict(root)

    results = by_path(judged)["RESULTS.md"]
    assert results.outcome == v.PUBLISHED_DIFFER and judged.failed
    assert results.details == ["0.0557 -> 0.0558 in: | VAE | 0.0558 | -37.50 |"]


def test_a_field_the_committed_file_lacks_fails_the_verdict_as_stale(tmp_path):
    root = committed(tmp_path / "repo", {"metrics.json": json.dumps(METRICS)})
    (root / "metrics.json").write_text(json.dumps({**METRICS, "knn5_balanced_accuracy": 0.67}))

    judged = v.verdict(root)

    assert by_path(judged)["metrics.json"].outcome == v.FIELDS_DIFFER and judged.failed
    assert by_path(judged)["metrics.json"].details == ["added knn5_balanced_accuracy"]


def test_changed_words_in_a_document_fail_the_verdict_with_the_lines(tmp_path):
    root = committed(tmp_path / "repo", {"RESULTS.md": RESULTS})
    (root / "RESULTS.md").write_text(RESULTS.replace("VAE", "AE"))

    judgement = by_path(v.verdict(root))["RESULTS.md"]

    assert judgement.outcome == v.TEXT_DIFFERS and "+| AE | 0.0557 | -37.50 |" in judgement.details


def test_a_figure_is_judged_by_the_pixels_that_differ_and_never_fails_the_verdict(tmp_path):
    import imageio.v3 as iio

    image = np.zeros((10, 12, 3), np.uint8)
    root = committed(tmp_path / "repo", {"figure.png": iio.imwrite("<bytes>", image, extension=".png")})
    image[0, :3] = 255
    iio.imwrite(root / "figure.png", image)

    judged = v.verdict(root)

    assert by_path(judged)["figure.png"].details == ["3 of 120 pixels differ"] and not judged.failed


def test_a_file_the_code_writes_that_is_not_committed_fails_the_verdict_but_one_there_before_does_not(tmp_path):
    root = committed(tmp_path / "repo", {"RESULTS.md": RESULTS})
    (root / "notes.txt").write_text("mine")
    before = v.untracked(root)
    (root / "posterior_gaps.json").write_text("{}")

    judged = v.verdict(root, before)

    assert [j.path for j in judged.judgements] == ["posterior_gaps.json"] and judged.failed


def test_an_explorer_page_fails_only_when_a_number_it_prints_moves_at_two_decimals(tmp_path):
    from conftest import untrained_vae_page
    from latentlab.publish.explorer import page_html, read_page

    (tmp_path / "made").mkdir()
    page = untrained_vae_page(tmp_path / "made", 2, "VAE")
    root = committed(tmp_path / "repo", {"explorer.html": page.read_bytes()})
    meta, arrays = read_page(page)

    weights = {name: a.copy() for name, a in arrays.items()}
    weights["decoder.0.weight"] = weights["decoder.0.weight"] * np.float32(1 + 1e-6)  # never printed
    (root / "explorer.html").write_text(page_html(dict(meta), weights), encoding="utf-8")
    assert by_path(v.verdict(root))["explorer.html"].outcome == v.EQUAL_AS_PUBLISHED

    printed = {**arrays, "test_loss": arrays["test_loss"] + np.float32(0.5)}
    (root / "explorer.html").write_text(page_html(dict(meta), printed), encoding="utf-8")
    judgement = by_path(v.verdict(root))["explorer.html"]
    assert judgement.outcome == v.PUBLISHED_DIFFER
    assert judgement.details[0] == f"test_loss: {len(arrays['test_loss'])} values print differently with 2 decimals"


def test_explorer_js_prints_no_number_with_more_decimals_than_the_verdict_compares():
    script = (REPO / "latentlab" / "publish" / "explorer.js").read_text(encoding="utf-8")
    # A unary plus turns a rounded string back into a number (the ticks' float noise removed): not printed digits.
    decimals = [int(n) for plus, n in re.findall(r"(\+?)[\w)\]]*\.toFixed\((\d+)\)", script) if not plus]
    assert decimals and max(decimals) <= v.PAGE_DECIMALS
    assert "toPrecision" not in script and "toExponential" not in script


@pytest.mark.skipif(not (REPO / ".git").exists(), reason="needs the repository's git checkout")
def test_the_documents_rebuilt_from_a_perturbed_copy_of_the_committed_results_are_judged_by_their_printed_digits(
    tmp_path,
):
    """The real report on a clean clone: a metrics.json number moved below its printed digits leaves every
    document as it was; moved by 0.1 it is listed where RESULTS.md and the READMEs print it."""
    from latentlab.commands import write_documents

    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", "--shared", str(REPO), str(clone)], check=True)
    write_documents(clone)  # the documents as this code writes them, committed: the clone's own HEAD
    git(clone, "add", "-A")
    git(clone, "commit", "-q", "--allow-empty", "-m", "documents of this code")
    metrics_path = clone / "Kết_quả_huấn_luyện_Variational_Autoecoder" / "2D_latent_VAE" / "metrics.json"
    metrics = json.loads(metrics_path.read_text(encoding="utf-8"))
    elbo = metrics["test_elbo"]

    def rewritten(value: float) -> v.Verdict:
        metrics_path.write_text(
            json.dumps({**metrics, "test_elbo": value}, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        write_documents(clone)
        return v.verdict(clone)

    last_digits = rewritten(elbo + 1e-9)
    assert [(j.path, j.outcome) for j in last_digits.judgements] == [
        (str(metrics_path.relative_to(clone)), v.EQUAL_AS_PUBLISHED)
    ]
    assert not last_digits.failed

    printed = rewritten(elbo + 0.1)
    results = by_path(printed)["RESULTS.md"]
    assert printed.failed and results.outcome == v.PUBLISHED_DIFFER
    assert any(detail.startswith(f"{elbo:.2f} -> {elbo + 0.1:.2f}") for detail in results.details)


def test_a_number_moved_in_a_row_beside_an_added_row_is_still_found(tmp_path):
    root = committed(tmp_path / "repo", {"RESULTS.md": RESULTS})
    (root / "RESULTS.md").write_text(RESULTS.replace("0.0557", "0.0558") + "| VampPrior VAE | 0.0555 | -37.22 |\n")

    judgement = by_path(v.verdict(root))["RESULTS.md"]

    assert judgement.outcome == v.PUBLISHED_DIFFER
    assert judgement.details == ["0.0557 -> 0.0558 in: | VAE | 0.0558 | -37.50 |", "and the words of 1 line changed"]
