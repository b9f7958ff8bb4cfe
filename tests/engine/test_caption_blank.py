"""Blank, almost uniform pictures (a black frame, a white page, one colour) get a plain caption
flagged ``low_information`` instead of the model's invented people; in videos such frames neither
start nor make a scene, and a clip that is all blank says so."""

from __future__ import annotations

import argparse

import av
import numpy as np
import pytest
import torch
from caption_fixtures import write_photo
from PIL import Image

from engine.caption.captioner import BLANK_STD, Captioner, blank_caption, caption_options, plain_caption
from engine.caption.cli import _caption_dict
from engine.caption.decoder import CaptionerConfig
from engine.caption.model import CaptionModel
from engine.caption.video import SamplingOptions, caption_video, iter_samples, scene_ends
from engine.caption.vocab import Vocab


@pytest.fixture(scope="module")
def tiny_captioner():
    torch.manual_seed(0)
    vocab = Vocab(["a", "man", "is", "climbing", "wall"])
    cfg = CaptionerConfig(
        vocab_size=len(vocab), region_dim=16, embed_dim=8, hidden_dim=16, attn_dim=8, dropout=0.0, max_len=6
    )
    return Captioner(CaptionModel(cfg, pretrained_encoder=False), vocab)


def solid(rgb, size=(224, 224)) -> np.ndarray:
    return np.full((*size, 3), rgb, np.uint8)


def photo_array(seed=0, size=224) -> np.ndarray:
    rng = np.random.default_rng(seed)
    img = np.zeros((size, size, 3), np.uint8)
    img[: size // 2] = rng.integers(90, 230, 3)
    img[size // 2 :] = rng.integers(20, 160, 3)
    return np.clip(img.astype(np.int16) + rng.integers(-12, 12, img.shape), 0, 255).astype(np.uint8)


@pytest.mark.parametrize(
    "rgb, text",
    [
        ((0, 0, 0), "a black image"),
        ((255, 255, 255), "a white image"),
        ((128, 128, 128), "a gray image"),
        ((10, 40, 230), "a plain blue image"),
        ((220, 20, 20), "a plain red image"),
    ],
)
def test_one_colour_pictures_are_blank(rgb, text):
    assert blank_caption(solid(rgb)) == text
    assert blank_caption(solid(rgb), "video") == text.replace("image", "video")


def test_pictures_with_something_in_them_are_not_blank():
    rng = np.random.default_rng(0)
    noise = rng.integers(0, 256, (224, 224, 3), dtype=np.uint8)
    assert blank_caption(noise) is None  # noise is not flagged: std does not separate it from photos
    assert blank_caption(photo_array()) is None
    # a flat, low-contrast picture (fog, a clear sky): a gradient of 36 levels, std ~10 like the
    # flattest Flickr8k photo, is still a picture
    fog = np.repeat(np.linspace(110, 146, 224)[None, :, None], 224, axis=0).repeat(3, axis=2)
    assert blank_caption(fog.astype(np.uint8)) is None
    # a page with a few lines of dark text on white
    page = solid((255, 255, 255))
    for y in range(30, 200, 24):
        page[y : y + 8, 20:200:3] = 0
    assert blank_caption(page) is None
    # slight sensor noise on a black frame (std 2) is still blank
    dark = np.clip(rng.normal(8, 2, (224, 224, 3)), 0, 255).astype(np.uint8)
    assert blank_caption(dark) == "a black image"
    assert 0 < BLANK_STD < 10.4  # below the flattest real photo measured


def test_caption_arrays_gives_blank_pictures_a_plain_flagged_caption(tiny_captioner, monkeypatch):
    images = np.stack([solid((0, 0, 0)), photo_array(1), solid((255, 255, 255)), photo_array(2)])
    seen = []
    encode = tiny_captioner.encode
    monkeypatch.setattr(tiny_captioner, "encode", lambda x: seen.append(len(x)) or encode(x))
    caps = tiny_captioner.caption_arrays(images, caption_options(2))
    assert seen == [2]  # only the two photos went through the model
    assert [c.low_information for c in caps] == [True, False, True, False]
    assert caps[0].text == "a black image" and caps[2].text == "a white image"
    assert caps[0].words == ["a", "black", "image"] and caps[0].logprob == 0.0
    assert caps[0].attention.shape == (3, 7, 7) and np.allclose(caps[0].attention.sum((1, 2)), 1.0)
    assert caps[0].alternatives == []
    ref = tiny_captioner.caption_arrays(images[[1, 3]], caption_options(2))
    assert [caps[1].text, caps[3].text] == [r.text for r in ref]
    # the raw model output stays available
    raw = tiny_captioner.caption_arrays(images[:1], caption_options(2), check_blank=False)
    assert raw[0].low_information is False and raw[0].text != "a black image"
    seen.clear()
    assert [c.text for c in tiny_captioner.caption_arrays(images[[0, 2]])] == [
        "a black image",
        "a white image",
    ]
    assert seen == []  # an all-blank batch never runs the model


def test_caption_files_flags_a_black_jpeg(tiny_captioner, tmp_path):
    black, photo = tmp_path / "black.jpg", tmp_path / "photo.png"
    Image.new("RGB", (640, 480), (0, 0, 0)).save(black, quality=40)
    write_photo(photo)
    got = tiny_captioner.caption_files([black, photo], caption_options(1))
    assert got[0].caption.text == "a black image" and got[0].caption.low_information
    assert not got[1].caption.low_information


def test_cli_json_shows_the_flag():
    args = argparse.Namespace(alternatives=0, attention=False)
    d = _caption_dict(plain_caption("a black image"), args)
    assert d == {"caption": "a black image", "logprob": 0.0, "low_information": True}


def _clip(path, segments, fps=10, size=(96, 64)):
    """``segments``: (seconds, rgb or None for a red/blue picture with a moving bar)."""
    w, h = size
    c = av.open(str(path), "w")
    s = c.add_stream("mpeg4", rate=fps)
    s.width, s.height, s.pix_fmt = w, h, "yuv420p"
    i = 0
    for seconds, rgb, bar in segments:
        for _ in range(int(seconds * fps)):
            arr = np.zeros((h, w, 3), np.uint8)
            arr[:] = rgb
            if bar:
                arr[:, (i * 4) % w : (i * 4) % w + 8] = 255
                arr[: h // 3] = (250, 250, 120)
            for p in s.encode(av.VideoFrame.from_ndarray(arr, format="rgb24")):
                c.mux(p)
            i += 1
    for p in s.encode():
        c.mux(p)
    c.close()


def test_black_between_two_scenes_makes_no_scene(tmp_path, tiny_captioner):
    p = tmp_path / "black_gap.mp4"
    _clip(p, [(2.0, (220, 20, 20), True), (1.0, (0, 0, 0), False), (2.0, (20, 20, 220), True)])
    opts = SamplingOptions(every_s=0.5)
    frames = list(iter_samples(p, 64, opts))
    black = [f for f in frames if 2.0 <= f.time_s < 3.0]
    assert black and all(f.blank and f.reason == "uniform" and f.scene == 0 for f in black)
    cuts = [f.time_s for f in frames if f.reason == "scene"]
    assert cuts[0] == pytest.approx(0.0) and len(cuts) == 2 and cuts[1] == pytest.approx(3.0, abs=0.11)
    vc = caption_video(tiny_captioner, p, caption_options(1), opts, batch_size=3)
    assert len(vc.scenes) == 2 and vc.scenes[1].start_s == pytest.approx(3.0, abs=0.11)
    assert vc.n_blank == len(black) and vc.n_sampled == len(frames)
    assert sum(s.n_frames for s in vc.scenes) == len(frames) - len(black)
    assert all(s.end_s < 2.0 or s.start_s >= 3.0 for s in vc.scenes)  # no black frame in a scene
    assert not vc.caption.low_information and "blank" in vc.note
    assert all(not s.caption.low_information for s in vc.scenes)


def test_a_clip_that_starts_black_starts_its_first_scene_at_the_picture(tmp_path, tiny_captioner):
    p = tmp_path / "fade_in.mp4"
    _clip(p, [(1.5, (0, 0, 0), False), (2.0, (20, 20, 220), True)])
    vc = caption_video(tiny_captioner, p, caption_options(1), SamplingOptions(every_s=0.5))
    assert len(vc.scenes) == 1 and vc.scenes[0].start_s == pytest.approx(1.5, abs=0.11)
    assert vc.scenes[0].thumb is not None and vc.scenes[0].thumb.mean() > 40  # not a black thumbnail
    assert scene_ends([s.start_s for s in vc.scenes], vc.length_s)[-1] == pytest.approx(3.5, abs=0.15)


def test_an_all_black_clip_says_so(tmp_path, tiny_captioner):
    p = tmp_path / "black.mp4"
    _clip(p, [(2.0, (0, 0, 0), False)])
    vc = caption_video(tiny_captioner, p, caption_options(1), SamplingOptions(every_s=0.5))
    assert vc.caption.text == "a black video" and vc.caption.low_information
    assert vc.scenes == [] and vc.n_sampled == vc.n_blank >= 4
    assert "blank" in vc.note and vc.length_s == pytest.approx(2.0, abs=0.15)
