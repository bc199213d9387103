"""The prepared GPU lease of issue #33 (.ci/gpu_round.py), dry-run on the CPU with tiny settings: every
command of the plan runs, and what the device would send back is there."""

import subprocess
import sys
import tarfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def repository_view(where: Path) -> Path:
    """The repository's files seen from ``where`` through links, with a runs/ of its own: the plan writes
    its scratch runs there instead of into the checkout's runs/."""
    where.mkdir()
    for entry in REPO.iterdir():
        if entry.name not in {"runs", ".git", ".venv", "build"}:
            (where / entry.name).symlink_to(entry)
    return where


def test_the_gpu_round_runs_every_command_of_its_plan_and_packs_what_the_device_sends_back(tmp_path, mnist_root):
    view = repository_view(tmp_path / "repo")
    out = tmp_path / "out"
    done = subprocess.run(
        [sys.executable, ".ci/gpu_round.py", "--dry-run", "--data-root", str(mnist_root), "--out", str(out)],
        cwd=view,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert sorted(p.name for p in out.iterdir()) == ["frontier.tar.gz", "logs.tar.gz", "summary.txt", "sweeps.tar.gz"]
    with tarfile.open(out / "frontier.tar.gz") as tar:
        assert {"runs/gpu/frontier/model.pt", "runs/gpu/frontier/bound_vs_k.json"} <= set(tar.getnames())
    with tarfile.open(out / "sweeps.tar.gz") as tar:
        names = tar.getnames()
    for experiment in ("ae-2d", "vae-2d"):
        records = [n for n in names if n.startswith(f"runs/seeds/{experiment}/") and n.endswith("/record.json")]
        assert len(records) == 2  # two seeds of the tiny recipe
        assert any(n.startswith(f"runs/sweeps/{experiment}/") and n.endswith(".md") for n in names)
    assert [n.split("/")[-2] for n in names if n.endswith("model.pt")] == ["seed0", "seed0"]  # scratch models stay
    assert (out / "summary.txt").read_text().count(": done") == 3
