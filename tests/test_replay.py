"""genlab.figures.replay: the frames and the GIF of a run's replay."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from genlab.figures import png, replay
from genlab.kinds import kind_of


def test_points_frames_make_a_looping_gif_with_one_frame_per_snapshot():
    rng = np.random.default_rng(0)
    real = rng.normal(size=(200, 2)).astype(np.float32)
    points = kind_of("points")
    frames = [replay.captioned(points.frame(real * s, real), s) for s in (1, 2, 3)]
    im = Image.open(io.BytesIO(replay.gif(frames, ms_per_frame=100)))
    assert im.format == "GIF" and im.n_frames == 3 and im.info.get("loop") == 0
    # generated points differ between frames: the frames are not all the same picture
    a, b = (np.asarray(f.convert("RGB")) for f in frames[:2])
    assert (a != b).any()


def test_image_and_series_frames_and_what_has_no_picture():
    grid = png.image_grid_png(np.zeros((4, 1, 8, 8), dtype=np.float32))
    framed = replay.captioned(kind_of("images").frame(grid), 5)
    assert framed.height == Image.open(io.BytesIO(grid)).height + 18
    series = np.sin(np.linspace(0, 6, 24, dtype=np.float32))[None, :, None].repeat(3, 0)
    assert kind_of("sequences").frame(series).size == (replay.SIZE, replay.SIZE // 2)
    assert not kind_of("text").replays and kind_of("text").frame(["abc"]) is None
    with pytest.raises(ValueError, match="no frames"):
        replay.gif([])


def test_a_critic_field_is_drawn_in_the_live_canvas_colours_with_y_up():
    """The GIF's underlay for 2D runs: D's values on a grid as the live canvas colours them
    (purple = fake, white = cannot tell, green = real), the grid's first row at the bottom."""
    z = np.full((8, 8), 0.5, dtype=np.float32)
    z[:4] = 1.0  # low y: D says real
    z[4:] = 0.0  # high y: D says fake
    im = np.asarray(replay.field_image(z, mid=0.5, probability=True), dtype=np.int16)
    assert im.shape == (replay.SIZE, replay.SIZE, 3)
    top, bottom = im[5, 5], im[-5, -5]
    assert top[2] > top[1] and bottom[1] > bottom[0] + 50  # purple above, green below
    middle = np.asarray(replay.field_image(np.full((4, 4), 0.0), 0.0, probability=False))
    assert middle.min() > 240  # a score at its "cannot tell" value: white (at 85 % opacity)
    underlay = replay.field_image(z, 0.5, True)
    framed = kind_of("points").frame(np.zeros((1, 2), np.float32), np.ones((4, 2)), underlay)
    assert np.asarray(framed)[5, 5].tolist() == np.asarray(underlay)[5, 5].tolist()
