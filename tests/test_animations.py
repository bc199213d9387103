"""The GIF writer: one fixed palette, exact frames, unchanged pixels not stored again."""

import imageio.v3 as iio
import numpy as np

from latentlab.publish.animations import _palette, _palette_indices, _write_gif


def _frames_on_the_palette(count: int, seed: int = 0) -> np.ndarray:
    """(count, 128, 256, 3): a fixed noisy background of palette colours and a moving 8x8 square."""
    rng = np.random.default_rng(seed)
    palette = _palette().astype(np.uint8)
    background = palette[rng.integers(0, len(palette), size=(128, 256))]
    frames = np.repeat(background[None], count, axis=0)
    for t in range(count):
        frames[t, 20:28, t : t + 8] = palette[t % 10]  # a digit colour
    return frames


def test_a_gif_of_palette_colours_reads_back_exactly(tmp_path):
    frames = _frames_on_the_palette(12)
    _write_gif(list(frames), tmp_path / "walk.gif")
    assert np.array_equal(iio.imread(tmp_path / "walk.gif", index=None)[..., :3], frames)


def test_every_colour_maps_to_its_nearest_palette_colour():
    palette = _palette()
    colours = np.random.default_rng(1).integers(0, 256, size=(1, 50, 20, 3)).astype(np.uint8)
    nearest = ((colours[..., None, :].astype(int) - palette) ** 2).sum(-1).argmin(-1)
    assert np.array_equal(palette[_palette_indices(colours)], palette[nearest])


def test_pixels_a_frame_leaves_unchanged_are_not_stored_again(tmp_path):
    # The noisy background barely compresses: stored in every frame, 40 frames would
    # cost about 40 times one frame; only the moving square should cost anything.
    _write_gif(list(_frames_on_the_palette(1)), tmp_path / "one.gif")
    _write_gif(list(_frames_on_the_palette(40)), tmp_path / "forty.gif")
    assert (tmp_path / "forty.gif").stat().st_size < 3 * (tmp_path / "one.gif").stat().st_size
