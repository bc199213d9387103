"""Smaller things a new user hit (issue 37 §6): each test names the behaviour it holds."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from conftest import TINY_WIDTHS

REPO = Path(__file__).resolve().parents[1]

# As on Windows, where Python has no fcntl module: the folder lock must still hold.
NO_FCNTL = "import sys\nsys.modules['fcntl'] = None\n"
HOLD = (
    "from latentlab.core.files import hold_folder\nimport time\n"
    "with hold_folder(sys.argv[1]):\n    print('held', flush=True)\n    time.sleep(60)\n"
)
TAKE = (
    "from latentlab.cli import guarded\nfrom latentlab.core.files import hold_folder\n"
    "def take():\n    with hold_folder(sys.argv[1]):\n        print('taken')\nsys.exit(guarded(take))\n"
)


def test_a_result_folder_is_held_on_a_system_without_fcntl_as_on_windows(tmp_path):
    folder = tmp_path / "run"
    holder = subprocess.Popen(
        [sys.executable, "-c", NO_FCNTL + HOLD, str(folder)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )
    try:
        assert holder.stdout.readline().strip() == "held", holder.stderr.read()
        second = subprocess.run(
            [sys.executable, "-c", NO_FCNTL + TAKE, str(folder)], capture_output=True, text=True, cwd=REPO
        )
    finally:
        holder.kill()
        holder.wait()
    assert second.returncode == 1 and "taken" not in second.stdout, second.stderr
    assert "in use by another run" in second.stderr and f"process {holder.pid}" in second.stderr


def test_explore_reads_the_data_root_recorded_in_the_folders_config_json(tiny_config, tmp_path, monkeypatch):
    import json

    from conftest import as_flags
    from latentlab.cli import main

    out = Path(tiny_config.out_dir)
    flags = as_flags(
        {
            "model": "vae",
            "latent_dim": 2,
            "epochs": 1,
            "batch_size": 32,
            "train_limit": 64,
            "device": "cpu",
            "data_root": tiny_config.data_root,
            "out_dir": out,
        }
    )
    assert main(["train", *flags, *as_flags(TINY_WIDTHS)]) == 0
    assert json.loads((out / "config.json").read_text())["data_root"] == tiny_config.data_root
    elsewhere = tmp_path / "elsewhere"  # no data/ here, and no $MNIST_ROOT: only config.json says where MNIST is
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    monkeypatch.delenv("MNIST_ROOT", raising=False)
    assert main(["explore", str(out), "--device", "cpu"]) == 0
    assert (out / "explorer.html").is_file() and not (elsewhere / "data").exists()


def test_the_installed_package_has_a_latentlab_command():
    from importlib.metadata import entry_points

    import tomllib

    from latentlab.cli import main

    declared = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]["scripts"]
    assert declared["latentlab"] == "latentlab.cli:main"
    (command,) = entry_points(group="console_scripts", name="latentlab")  # as pip installed it
    assert command.load() is main and callable(main)


def test_hubconf_says_how_to_read_its_entries_help_from_a_clone_and_that_way_works():
    import ast
    import os

    doc = ast.get_docstring(ast.parse((REPO / "hubconf.py").read_text(encoding="utf-8")))
    assert 'source="local"' in doc and "python -m pydoc hubconf" in doc  # torch.hub.help reads GitHub only
    shown = subprocess.run(
        [sys.executable, "-m", "pydoc", "hubconf"],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, "PAGER": "cat"},
        timeout=120,
    )
    assert shown.returncode == 0, shown.stderr
    assert "vae_2d(device" in shown.stdout and "test MSE per pixel" in shown.stdout


def test_the_readmes_bibtex_keeps_the_capitals_of_ae_vae_and_mnist_and_names_the_month():
    import re

    for readme in ("README.md", "README.en.md"):
        text = (REPO / readme).read_text(encoding="utf-8")
        block = text.split("<!-- bibtex:start -->", 1)[1].split("<!-- bibtex:end -->", 1)[0]
        titles = re.findall(r"^title = \{(.*)\},?$", block, re.M)
        software = next(title for title in titles if title.startswith("latentlab"))
        for acronym in ("AE", "VAE", "MNIST", "2-D", "32-D"):  # BibTeX styles lower-case an unbraced title
            assert f"{{{acronym}}}" in software, (readme, acronym)
        months = re.findall(r"^month = (.*?),?$", block, re.M)
        assert months and all(re.fullmatch(r"jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec", m) for m in months), (
            readme,
            months,
        )


def test_the_interpolation_table_of_an_image_folder_heads_its_column_classes_not_classs(tmp_path):
    import torch

    from conftest import synthetic_digits
    from latentlab import Autoencoder
    from latentlab.core.data import Classes, DeviceSplit
    from latentlab.publish.unconditional_gallery import interpolation

    images, _ = synthetic_digits(12, seed=3)
    split = DeviceSplit(
        torch.from_numpy(images), torch.arange(12) % 3, torch.device("cpu"), Classes(("cat", "dog", "fox"))
    )  # an image folder's classes: the noun is "class"
    model = Autoencoder(2, **TINY_WIDTHS).eval()
    header = next(
        line
        for line in interpolation(model, "AE, 2-D latent", split, tmp_path).splitlines()
        if line.startswith("# pair")
    )
    assert " classes " in header and "classs" not in header


def test_a_run_of_one_epoch_of_one_step_says_so_in_the_singular(tiny_config, capsys):
    import dataclasses

    from conftest import as_flags
    from latentlab.cli import main

    config = dataclasses.replace(tiny_config, epochs=1, batch_size=32, train_limit=20)  # 20 images: one batch
    values = {k: v for k, v in dataclasses.asdict(config).items() if v is not None and k != "retrain"}
    assert main(["train", *as_flags(values)]) == 0
    assert "1 epoch of 1 step." in capsys.readouterr().out
