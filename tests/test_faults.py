"""Training faults and untrusted files: stop cleanly, say why, keep what is on disk."""

import dataclasses
from pathlib import Path

import pytest
import torch

import latentlab.core.training as training
from latentlab import load_model
from latentlab.core.checkpoint import TrainingInterrupted, save_atomic
from latentlab.core.checkpoint_file import FORMAT, MODEL_FILE
from latentlab.core.errors import LatentlabError
from latentlab.core.files import write_json_atomic
from latentlab.core.training import train


def test_a_nan_loss_stops_training_at_once_naming_epoch_and_step(tiny_config):
    exploding = dataclasses.replace(tiny_config, lr=1e30)  # Adam's first step sends the weights to inf
    with pytest.raises(LatentlabError, match=r"The loss became nan in epoch 1, at or before step 2") as error:
        train(exploding)
    assert "no epoch had finished, so no checkpoint was written" in str(error.value)
    assert "--lr (now 1e+30)" in str(error.value)
    assert not any(Path(tiny_config.out_dir).iterdir())


def test_an_interrupted_write_leaves_the_old_file_and_no_temporary(tmp_path):
    path = tmp_path / "metrics.json"
    write_json_atomic({"version": 1}, path)

    class Unserialisable:
        pass

    with pytest.raises(TypeError):
        write_json_atomic({"version": 2, "bad": Unserialisable()}, path)
    assert path.read_text().strip() == '{\n  "version": 1\n}'
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.json"]


class _MakesAMarker:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def test_a_checkpoint_that_would_run_code_is_refused_and_the_code_does_not_run(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pt"
    torch.save({"format": FORMAT, "payload": _MakesAMarker(marker)}, path)
    with pytest.raises(LatentlabError, match="refused"):
        load_model(path)
    assert not marker.exists()


def test_a_file_that_is_not_a_checkpoint_says_so(tmp_path):
    path = tmp_path / "model.pt"
    path.write_bytes(b"just some bytes")
    with pytest.raises(LatentlabError, match="not a latentlab checkpoint"):
        load_model(path)


def test_a_plain_pytorch_file_says_it_is_not_a_latentlab_checkpoint(tmp_path):
    path = tmp_path / "weights.pt"
    torch.save({"weight": torch.zeros(3)}, path)
    with pytest.raises(LatentlabError, match="not a latentlab checkpoint"):
        load_model(path)


def test_weights_of_another_latent_size_are_named_not_a_shape_traceback(tiny_config, tmp_path):
    train(tiny_config)
    state = torch.load(f"{tiny_config.out_dir}/{MODEL_FILE}", weights_only=True)
    state["config"]["latent_dim"] = 5  # the weights stay those of a 2-D latent
    save_atomic(state, tmp_path / "edited.pt")
    with pytest.raises(LatentlabError, match="do not fit the architecture") as error:
        load_model(tmp_path / "edited.pt")
    assert "latent_dim=5" in str(error.value) and "size mismatch" in str(error.value)


def test_resuming_with_other_settings_is_refused_with_the_difference(tiny_config, monkeypatch):
    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    real = training.split_losses
    calls = []

    def second_call_interrupts(*args, **kwargs):
        calls.append(1)
        return interrupt() if len(calls) == 2 else real(*args, **kwargs)

    monkeypatch.setattr(training, "split_losses", second_call_interrupts)
    with pytest.raises(TrainingInterrupted):
        train(tiny_config)
    monkeypatch.setattr(training, "split_losses", real)
    with pytest.raises(LatentlabError, match="latent_dim: asked 3, found 2"):
        train(dataclasses.replace(tiny_config, latent_dim=3))


class _RunsAShellCommand:
    """The classic exploit: unpickling calls os.system."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        import os

        return (os.system, (f"touch {self.marker}",))


def test_a_checkpoint_that_would_run_a_shell_command_is_refused_as_such(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pt"
    torch.save({"format": FORMAT, "payload": _RunsAShellCommand(marker)}, path)
    with pytest.raises(LatentlabError, match="refused: it contains Python objects") as error:
        load_model(path)
    assert "system" in str(error.value)
    assert not marker.exists()


def test_a_plain_pickle_is_not_a_checkpoint_and_torch_prints_no_warning(tmp_path, recwarn):
    import pickle

    path = tmp_path / "model.pt"
    path.write_bytes(pickle.dumps({"weights": [1, 2, 3]}, protocol=4))
    with pytest.raises(LatentlabError, match="not a latentlab checkpoint"):
        load_model(path)
    assert len(recwarn) == 0


@pytest.mark.parametrize(
    "damage, words",
    [
        (lambda state: state.pop("config"), "no 'config' entry"),
        (lambda state: state.update(config=["vae", 2]), "'config' entry is a list"),
        (lambda state: state["config"].update(model="gan"), "model is 'gan'"),
        (lambda state: state["config"].update(latent_dim="two"), "latent_dim is 'two'"),
        (lambda state: state.update(model={"weight": "not a tensor"}), "other than tensors"),
        (lambda state: state.pop("epoch"), "no 'epoch' entry"),
    ],
)
def test_a_marked_checkpoint_with_damaged_contents_is_one_clear_error(tiny_config, tmp_path, damage, words):
    train(tiny_config)
    state = torch.load(f"{tiny_config.out_dir}/{MODEL_FILE}", weights_only=True)
    damage(state)
    save_atomic(state, tmp_path / "damaged.pt")
    with pytest.raises(LatentlabError, match="damaged") as error:
        load_model(tmp_path / "damaged.pt")
    assert words in str(error.value)
