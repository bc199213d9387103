"""The seed study: tiny runs recorded in seeds.json, resumed without retraining, and reported as mean ± sd."""

import json
from pathlib import Path

import pytest

from conftest import TINY_WIDTHS
from latentlab.cli import main
from latentlab.experiments import EXPERIMENTS
from latentlab.publish.report import comparisons, results_markdown, summary

TINY = ["--epochs", "1", "--train-limit", "64", "--device", "cpu"]
RUN_KEYS = {
    "seed",
    "device",
    "torch",
    "train_seconds",
    "recipe",
    "test_mse",
    "test_recon_sse",
    "test_kl",
    "test_elbo",
    "test_log_likelihood_is",
    "knn5_accuracy",
    "linear_probe_accuracy",
    "active_units",
    "pca_test_mse",
}


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    """Two seeds of the 2-D VAE and the Bernoulli VAE, one epoch on 64 synthetic images, in a scratch tree."""
    from conftest import write_mnist

    root = tmp_path_factory.mktemp("study")
    data = write_mnist(root / "data")
    for name in ("vae-2d", "vae-32d-bernoulli"):
        (root / EXPERIMENTS[name].out_dir).mkdir(parents=True)
    command = ["seeds", "--seeds", "0", "1", "--only", "vae-2d", "vae-32d-bernoulli", *TINY, "--data-root", str(data)]
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(root)
        assert main(command) == 0
    return root, command


def _runs(root: Path, name: str) -> list[dict]:
    """The runs recorded in the experiment's published seeds.json."""
    return json.loads((root / EXPERIMENTS[name].out_dir / "seeds.json").read_text())["runs"]


SMOKE_RECORD = Path("runs") / "seeds" / "{}" / "epochs1-train_limit64" / "seeds.json"


def _smoke_runs(root: Path, name: str) -> list[dict]:
    """The study's smoke runs (a changed recipe): recorded in the scratch tree, beside their models."""
    return json.loads((root / str(SMOKE_RECORD).format(name)).read_text())["runs"]


def test_seeds_json_records_every_seed_with_every_metric(study):
    root, _ = study
    runs = _smoke_runs(root, "vae-2d")
    assert [run["seed"] for run in runs] == [0, 1]
    assert all(RUN_KEYS <= set(run) for run in runs)
    assert all(run["recipe"]["epochs"] == 1 and run["recipe"]["train_limit"] == 64 for run in runs)
    assert all("test_nll_nats" in run for run in _smoke_runs(root, "vae-32d-bernoulli"))


def test_a_smoke_studys_models_and_records_go_to_the_scratch_tree_and_the_result_folder_is_left_as_it_was(study):
    root, _ = study
    assert list((root / EXPERIMENTS["vae-2d"].out_dir).iterdir()) == []
    assert (root / "runs" / "seeds" / "vae-2d" / "epochs1-train_limit64" / "seed1" / "model.pt").is_file()


def test_a_rerun_skips_the_seeds_already_recorded(study, capsys, monkeypatch):
    root, command = study
    record = root / str(SMOKE_RECORD).format("vae-2d")
    before = record.read_bytes()
    monkeypatch.chdir(root)
    assert main(command) == 0
    assert capsys.readouterr().out.count("skipped") == 4
    assert record.read_bytes() == before


def test_a_2d_vaes_seed_records_its_log_px_by_quadrature_and_a_32d_vaes_does_not(study):
    root, _ = study
    for run in _smoke_runs(root, "vae-2d"):
        quadrature = run["log_px_quadrature"]["marginal"]
        assert quadrature["images"] == 64 and quadrature["error_bound"] < 0.05
        assert quadrature["elbo_gap"]["mean"] >= 0 and quadrature["mean"] >= quadrature["elbo"]["mean"]
    assert not any("log_px_quadrature" in run for run in _smoke_runs(root, "vae-32d-bernoulli"))


def _forget(root: Path, name: str, seed: int, field: str) -> dict:
    """Remove ``field`` from the seed's run in the smoke seeds.json and from its job's record.json, as in a run
    recorded before the study measured it; returns what was there."""
    record = root / str(SMOKE_RECORD).format(name)
    saved = json.loads(record.read_text())
    measured = saved["runs"][seed].pop(field)
    record.write_text(json.dumps(saved))
    job = root / "runs" / "seeds" / name / "epochs1-train_limit64" / f"seed{seed}" / "record.json"
    job.write_text(json.dumps({k: v for k, v in json.loads(job.read_text()).items() if k != field}))
    return measured


def test_a_run_recorded_before_log_px_was_measured_is_measured_again_from_its_kept_model(study, capsys, monkeypatch):
    root, command = study
    scratch = root / "runs" / "seeds" / "vae-2d" / "epochs1-train_limit64" / "seed1"
    measured = _forget(root, "vae-2d", 1, "log_px_quadrature")
    model_bytes, metrics_bytes = (scratch / "model.pt").read_bytes(), (scratch / "metrics.json").read_bytes()
    monkeypatch.chdir(root)
    assert main(command) == 0
    out = capsys.readouterr().out
    assert out.count("skipped") == 3 and "measuring log_px_quadrature of the model that made its record" in out
    again = json.loads((root / str(SMOKE_RECORD).format("vae-2d")).read_text())["runs"][1]
    assert again["log_px_quadrature"] == measured
    # measured, neither trained nor evaluated again
    assert (scratch / "model.pt").read_bytes() == model_bytes and (
        scratch / "metrics.json"
    ).read_bytes() == metrics_bytes


def test_every_vae_seed_records_where_its_kl_goes_by_quadrature_in_2d_and_by_the_mixture_in_32d(study):
    from latentlab.core.files import file_sha256

    root, _ = study
    for name, method in (("vae-2d", "quadrature"), ("vae-32d-bernoulli", "mixture")):
        for run in _smoke_runs(root, name):
            split = run["elbo_surgery"]
            model = root / "runs" / "seeds" / name / "epochs1-train_limit64" / f"seed{run['seed']}" / "model.pt"
            assert split["method"] == method and split["model_sha256"] == file_sha256(model)
            assert split["average_kl"] == pytest.approx(split["mutual_information"] + split["aggregate_kl"], abs=2e-6)


def test_a_run_recorded_before_the_split_was_measured_is_measured_again_from_its_kept_model(study, capsys, monkeypatch):
    root, command = study
    scratch = root / "runs" / "seeds" / "vae-32d-bernoulli" / "epochs1-train_limit64" / "seed1"
    measured = _forget(root, "vae-32d-bernoulli", 1, "elbo_surgery")
    metrics_bytes = (scratch / "metrics.json").read_bytes()
    monkeypatch.chdir(root)
    assert main(command) == 0
    out = capsys.readouterr().out
    assert out.count("skipped") == 3 and "measuring elbo_surgery of the model that made its record" in out
    again = json.loads((root / str(SMOKE_RECORD).format("vae-32d-bernoulli")).read_text())["runs"][1]
    assert again["elbo_surgery"] == measured and (scratch / "metrics.json").read_bytes() == metrics_bytes


def _assert_seed1_skipped_without_the_split(root, command, record, capsys, monkeypatch) -> None:
    """The study run again: every run skipped, seed 1 left without a split (nothing trained or measured)."""
    monkeypatch.chdir(root)
    assert main(command) == 0
    assert capsys.readouterr().out.count("skipped") == 4
    assert "elbo_surgery" not in json.loads(record.read_text())["runs"][1]


def test_a_run_whose_model_is_gone_is_not_trained_again_for_the_split(study, capsys, monkeypatch):
    root, command = study
    record = root / str(SMOKE_RECORD).format("vae-32d-bernoulli")
    model = root / "runs" / "seeds" / "vae-32d-bernoulli" / "epochs1-train_limit64" / "seed1" / "model.pt"
    before = record.read_bytes()
    _forget(root, "vae-32d-bernoulli", 1, "elbo_surgery")
    model.rename(model.with_suffix(".away"))
    try:
        _assert_seed1_skipped_without_the_split(root, command, record, capsys, monkeypatch)
    finally:
        model.with_suffix(".away").rename(model)
        record.write_bytes(before)


def test_a_kept_model_that_did_not_make_the_record_is_not_measured_for_it(study, capsys, monkeypatch):
    """seeds.json is shared between machines, a scratch folder is this one's: a model of the same recipe trained
    elsewhere (another device, other seconds) is not the record's."""
    root, command = study
    record = root / str(SMOKE_RECORD).format("vae-32d-bernoulli")
    before = record.read_bytes()
    _forget(root, "vae-32d-bernoulli", 1, "elbo_surgery")
    saved = json.loads(record.read_text())
    saved["runs"][1]["train_seconds"] += 1.0
    record.write_text(json.dumps(saved))
    try:
        _assert_seed1_skipped_without_the_split(root, command, record, capsys, monkeypatch)
    finally:
        record.write_bytes(before)


def _write_folder(root: Path, name: str, elbos: list[float]) -> None:
    """A metrics.json and a seeds.json of the experiment's own recipe with the given test ELBOs."""
    experiment = EXPERIMENTS[name]
    folder = root / experiment.out_dir
    folder.mkdir(parents=True)
    metrics = {
        "model": "vae",
        "latent_dim": 2,
        "epochs": 16,
        "device": "cpu",
        "train_seconds": 60.0,
        "parameters": 1000,
        "test_mse": 0.04,
        "test_recon_sse": 31.0,
        "test_elbo": -37.5,
        "knn5_accuracy": 0.67,
        "bound_samples": 100,
        "bound_test_images": 2000,
        "test_log_likelihood_is": -35.0,
    }
    (folder / "metrics.json").write_text(json.dumps(metrics))
    recipe = experiment.config().recipe()
    runs = [
        {
            "seed": seed,
            "device": "cuda",
            "torch": "x",
            "train_seconds": 10.0,
            "recipe": {**recipe, "seed": seed},
            "test_mse": 0.04 + 0.001 * seed,
            "test_elbo": elbo,
            "knn5_accuracy": 0.6,
        }
        for seed, elbo in enumerate(elbos)
    ]
    runs.append(
        {**runs[0], "seed": 9, "recipe": {**recipe, "seed": 9, "epochs": 1}, "test_elbo": -500.0}
    )  # not the recipe
    (folder / "seeds.json").write_text(json.dumps({"experiment": name, "runs": runs}))


def test_the_report_shows_mean_and_sd_over_the_seeds_of_the_recipe_only(tmp_path):
    _write_folder(tmp_path, "vae-2d", [-38.0, -37.0, -37.5])  # mean -37.50, sd 0.50
    results = results_markdown(tmp_path)
    assert "↳ mean ± sd over 3 seeds" in results and "-37.50 ± 0.50" in results
    table = summary(tmp_path)
    assert "-37.50 (-37.50 ± 0.50)" in table and "vae-2d 3 (cuda)" in table


def test_a_smoke_run_is_never_recorded_as_the_default_recipe(study, monkeypatch):
    """After the smoke study of the fixture, a study of the default recipe trains its own model: the finished
    smoke model of the same seed is not found and recorded under the default recipe."""
    from conftest import write_mnist
    from latentlab.core.checkpoint_file import read_checkpoint
    from latentlab.core.config import TrainConfig
    from latentlab.experiments import Experiment

    root, _ = study
    monkeypatch.chdir(root)
    data = write_mnist(root / "data")
    # The default recipe made tiny (the registry's entry, patched) so that the test trains in a second.
    tiny = {"epochs": 1, **TINY_WIDTHS, "bound_test_images": 8, "bound_samples": 2}
    monkeypatch.setitem(EXPERIMENTS, "vae-2d", Experiment({**EXPERIMENTS["vae-2d"].hyp, **tiny}))
    assert main(["seeds", "--only", "vae-2d", "--seeds", "1", "--device", "cpu", "--data-root", str(data)]) == 0
    (run,) = [run for run in _runs(root, "vae-2d") if run["recipe"]["train_limit"] is None]
    measured = read_checkpoint(root / "runs" / "seeds" / "vae-2d" / "default" / "seed1" / "model.pt")
    assert (
        TrainConfig.from_dict(measured["config"]).recipe()
        == run["recipe"]
        == EXPERIMENTS["vae-2d"].config(seed=1).recipe()
    )


def test_seed_zero_of_the_default_recipe_is_the_committed_model_evaluated_not_retrained(tmp_path, monkeypatch):
    from conftest import write_mnist
    from latentlab.experiments import Experiment

    data = write_mnist(tmp_path / "data")
    monkeypatch.chdir(tmp_path)
    hyp = {"model": "ae", "latent_dim": 2, "epochs": 1, "batch_size": 64, **TINY_WIDTHS, "out_dir": "results/ae"}
    monkeypatch.setitem(EXPERIMENTS, "ae-2d", Experiment(hyp))
    assert (
        main(
            [
                "train",
                *[f"--{k.replace('_', '-')}={v}" for k, v in hyp.items()],
                "--device",
                "cpu",
                "--data-root",
                str(data),
            ]
        )
        == 0
    )
    committed = (tmp_path / "results/ae/model.pt").read_bytes()
    assert main(["seeds", "--only", "ae-2d", "--seeds", "0", "--device", "cpu", "--data-root", str(data)]) == 0
    (run,) = _runs(tmp_path, "ae-2d")
    published = json.loads((tmp_path / "results/ae/metrics.json").read_text())
    assert run["test_mse"] == published["test_mse"] and run["knn5_accuracy"] == published["knn5_accuracy"]
    assert not (tmp_path / "runs" / "seeds" / "ae-2d" / "default" / "seed0" / "model.pt").exists()
    assert (tmp_path / "results/ae/model.pt").read_bytes() == committed


def test_the_study_refuses_to_run_outside_the_repository_root(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["seeds", "--only", "ae-2d", "--seeds", "1"]) == 1
    assert "repository root" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_a_seed_named_twice_is_refused(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["seeds", "--only", "ae-2d", "--seeds", "9", "9"]) == 1
    assert "twice" in capsys.readouterr().err


def test_a_spread_smaller_than_the_tables_digits_is_shown_with_two_significant_digits(tmp_path):
    _write_folder(tmp_path, "vae-2d", [-38.0, -37.0, -37.5])  # test_mse 0.040, 0.041, 0.042: sd 0.001
    assert "0.0410 ± 0.0010" in results_markdown(tmp_path)
    folder = tmp_path / EXPERIMENTS["vae-2d"].out_dir
    runs = json.loads((folder / "seeds.json").read_text())
    # strict=False: the last run, of another recipe, is left as it is
    for run, mse in zip(runs["runs"], (0.03560, 0.03563, 0.03566), strict=False):
        run["test_mse"] = mse
    (folder / "seeds.json").write_text(json.dumps(runs))
    assert "0.035630 ± 0.000030" in results_markdown(tmp_path)


def _set_knn(root: Path, name: str, values: list[float], committed: float) -> None:
    folder = root / EXPERIMENTS[name].out_dir
    runs = json.loads((folder / "seeds.json").read_text())
    # strict=False: the last run, of another recipe, is left as it is
    for run, value in zip(runs["runs"], values, strict=False):
        run["knn5_accuracy"] = value
    (folder / "seeds.json").write_text(json.dumps(runs))
    metrics = json.loads((folder / "metrics.json").read_text())
    (folder / "metrics.json").write_text(json.dumps({**metrics, "knn5_accuracy": committed}))


def test_a_published_value_outside_every_seed_is_called_a_real_difference(tmp_path):
    from latentlab.publish.report import UMAP_VAE

    _write_folder(tmp_path, "vae-2d", [-38.0, -37.0, -37.5])
    _set_knn(tmp_path, "vae-2d", [0.60, 0.62, 0.64], committed=0.62)
    (sentence,) = comparisons(tmp_path)
    assert f"Sainburg et al.'s 2-D conv VAE: {UMAP_VAE:.3f}, theirs is better by more than the seed spread" in sentence
    assert "0.620 ± 0.020 over 3 seeds" in sentence and "outlier" not in sentence


def test_a_published_value_among_the_seeds_is_called_unresolved_and_an_outlying_committed_model_is_named(tmp_path):
    _write_folder(tmp_path, "vae-2d", [-38.0, -37.0, -37.5])
    _set_knn(tmp_path, "vae-2d", [0.70, 0.74, 0.78], committed=0.90)
    (sentence,) = comparisons(tmp_path)
    assert "the seeds cannot tell the two apart" in sentence
    assert "The committed model (0.900) is an outlier among its seeds" in sentence


def test_results_list_the_full_test_set_nll_from_bound_vs_k_json(tmp_path):
    folder = tmp_path / EXPERIMENTS["vae-32d-bernoulli"].out_dir
    folder.mkdir(parents=True)
    bounds = {
        "n_test": 10000,
        "elbo": {"mean": -89.4, "se": 0.2},
        "device": "cuda",
        "bounds": [{"k": 1, "mean": -89.5, "se": 0.2}, {"k": 5000, "mean": -84.3, "se": 0.21}],
    }
    (folder / "bound_vs_k.json").write_text(json.dumps(bounds))
    text = results_markdown(tmp_path)
    assert "| NLL (nats) | 84.30 ± 0.21 | 5000 | 10,000 | 89.40 | cuda |" in text


def test_the_training_time_of_seeds_on_two_devices_gives_each_device_its_median_and_range(tmp_path):
    _write_folder(tmp_path, "vae-2d", [-38.0, -37.0, -37.5])
    folder = tmp_path / EXPERIMENTS["vae-2d"].out_dir
    runs = json.loads((folder / "seeds.json").read_text())
    runs["runs"][0].update(device="cpu", train_seconds=1047.2)
    runs["runs"][2]["train_seconds"] = 12.0
    (folder / "seeds.json").write_text(json.dumps(runs))
    assert "| cpu: 1047 s (1 run); cuda: median 11 s (10–12 s) | cpu, cuda |" in results_markdown(tmp_path)
