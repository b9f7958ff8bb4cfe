"""Image loading for the captioner: every awkward file becomes RGB 224x224 or a clear per-file error."""

from __future__ import annotations

import numpy as np
import pytest
from caption_fixtures import write_bomb_png
from PIL import Image

from engine.caption.images import ImageError, list_images, load_batches, load_image, load_with_preview


def _rgb(path, color=(200, 40, 40), size=(64, 48)):
    Image.new("RGB", size, color).save(path)
    return path


def test_plain_jpeg_is_squashed_to_224(tmp_path):
    arr = load_image(_rgb(tmp_path / "a.jpg", size=(300, 120)))
    assert arr.shape == (224, 224, 3) and arr.dtype == np.uint8
    assert abs(int(arr[..., 0].mean()) - 200) < 6


def test_truncated_jpeg(tmp_path):
    p = tmp_path / "t.jpg"
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (256, 256, 3), dtype=np.uint8)).save(p, quality=95)
    p.write_bytes(p.read_bytes()[: p.stat().st_size // 2])
    with pytest.raises(ImageError, match="truncated"):
        load_image(p)


def test_zero_byte_file(tmp_path):
    p = tmp_path / "empty.jpg"
    p.write_bytes(b"")
    with pytest.raises(ImageError, match="empty file"):
        load_image(p)


def test_text_file_named_jpg(tmp_path):
    p = tmp_path / "notes.jpg"
    p.write_text("this is not a picture\n" * 20)
    with pytest.raises(ImageError, match="not a recognised image"):
        load_image(p)


def test_decompression_bomb_is_refused_unread(tmp_path):
    p = tmp_path / "bomb.png"
    write_bomb_png(p)
    assert p.stat().st_size < 2_000_000
    with pytest.raises(ImageError, match=r"bomb.png: image too large \(900,000,000 pixels; limit 80,000,000"):
        load_image(p)
    # and with a raised limit PIL's own guard still refuses it, with a clear message
    with pytest.raises(ImageError, match="decompression bomb"):
        load_image(p, max_pixels=10**12)


def test_pixel_limit_is_a_parameter(tmp_path):
    with pytest.raises(ImageError, match="too large"):
        load_image(_rgb(tmp_path / "a.png"), max_pixels=100)


def test_cmyk_jpeg(tmp_path):
    p = tmp_path / "cmyk.jpg"
    Image.new("CMYK", (50, 50), (0, 255, 255, 0)).save(p)  # pure red in CMYK
    arr = load_image(p)
    assert arr.shape == (224, 224, 3)
    r, g, b = (int(arr[..., c].mean()) for c in range(3))
    assert r > 200 and g < 60 and b < 60


def test_16bit_grey_png_keeps_its_range(tmp_path):
    p = tmp_path / "deep.png"
    a = np.full((40, 40), 40000, dtype=np.uint16)
    Image.fromarray(a).save(p)
    with Image.open(p) as im:
        assert im.mode.startswith("I")
    arr = load_image(p)
    assert arr.shape == (224, 224, 3)
    assert abs(int(arr.mean()) - 40000 // 257) <= 2  # scaled, not clipped to white


def test_palette_png_with_transparency_on_white(tmp_path):
    p = tmp_path / "pal.png"
    img = Image.new("P", (30, 30), 0)
    img.putpalette([0, 0, 0, 0, 0, 255] + [0] * 762)
    img.paste(1, (0, 0, 15, 30))
    img.info["transparency"] = 0
    img.save(p, transparency=0)
    arr = load_image(p)
    assert arr.shape == (224, 224, 3)
    assert tuple(arr[112, 200]) == (255, 255, 255)  # transparent half -> white
    assert arr[112, 20, 2] > 200 and arr[112, 20, 0] < 50  # opaque half stays blue


def test_animated_gif_first_frame(tmp_path):
    p = tmp_path / "anim.gif"
    frames = [Image.new("RGB", (32, 32), c) for c in ((255, 0, 0), (0, 255, 0), (0, 0, 255))]
    frames[0].save(p, save_all=True, append_images=frames[1:], duration=100, loop=0)
    with Image.open(p) as im:
        assert im.is_animated
    arr = load_image(p)
    assert arr[..., 0].mean() > 200 and arr[..., 1].mean() < 50


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(ImageError, match="not found"):
        load_image(tmp_path / "nope.jpg")
    with pytest.raises(ImageError, match="folder"):
        load_image(tmp_path)


def test_batch_goes_on_past_bad_files(tmp_path):
    good1, good2 = _rgb(tmp_path / "1.jpg"), _rgb(tmp_path / "2.png", (0, 200, 0))
    bad = tmp_path / "3.jpg"
    bad.write_bytes(b"")
    paths = [good1, bad, good2]
    batches = list(load_batches(paths, batch_size=2))
    idx = [i for b in batches for i in b[0]]
    errors = {i: m for b in batches for i, m in b[2].items()}
    assert idx == [0, 2] and list(errors) == [1] and "3.jpg" in errors[1]
    assert sum(b[1].shape[0] for b in batches) == 2


def test_list_images_expands_folders(tmp_path):
    _rgb(tmp_path / "b.jpg")
    _rgb(tmp_path / "a.png")
    (tmp_path / "readme.txt").write_text("x")
    (tmp_path / "clip.mp4").write_bytes(b"x")
    names = [p.name for p in list_images([tmp_path])]
    assert names == ["a.png", "b.jpg"]
    assert [p.name for p in list_images([tmp_path], (".jpg", ".mp4"))] == ["b.jpg", "clip.mp4"]
    assert list_images([tmp_path / "readme.txt"]) == [tmp_path / "readme.txt"]  # named files are kept


def test_load_with_preview_keeps_the_aspect_and_matches_load_image(tmp_path):
    p = tmp_path / "wide.jpg"
    rng = np.random.default_rng(1)
    Image.fromarray(rng.integers(0, 255, (300, 900, 3), dtype=np.uint8)).save(p, quality=90)
    arr, preview = load_with_preview(p, 224, preview=450)
    assert np.array_equal(arr, load_image(p))  # the encoder sees exactly what load_image gives
    assert preview.shape == (150, 450, 3) and preview.dtype == np.uint8
    small = _rgb(tmp_path / "small.png", size=(40, 30))
    assert load_with_preview(small, 224, preview=450)[1].shape == (30, 40, 3)  # never enlarged
    with pytest.raises(ImageError, match="empty file"):
        (tmp_path / "e.jpg").write_bytes(b"")
        load_with_preview(tmp_path / "e.jpg")


def test_a_cut_animated_gif_is_that_files_error_and_the_folder_goes_on(tmp_path):
    """PIL raises IndexError / struct.error on a cut animation: it used to escape and stop the whole
    folder (CLI and desktop) (bug hunt)."""
    from engine.caption.images import load_batches

    frames = [Image.fromarray(np.full((64, 64, 3), v, np.uint8)) for v in (30, 200)]
    full = tmp_path / "full.gif"
    frames[0].save(full, save_all=True, append_images=frames[1:], duration=100)
    data = full.read_bytes()
    good = tmp_path / "good.png"
    Image.new("RGB", (32, 32), (10, 200, 10)).save(good)
    bad = []
    for cut in range(len(data) // 3, len(data) - 1, max(1, len(data) // 40)):
        p = tmp_path / f"cut{cut}.gif"
        p.write_bytes(data[:cut])
        bad.append(p)
    paths = [good, *bad]
    got = {}
    for idx, _arrays, errors in load_batches(paths, batch_size=4, size=32):
        got.update({i: "ok" for i in idx} | errors)
    assert got[0] == "ok" and len(got) == len(paths)  # every file answered, none stopped the rest
    assert all(got[i] == "ok" or "cut" in got[i] for i in range(1, len(paths)))


def test_a_dark_16_bit_image_stays_dark():
    """A 16-bit image is scaled by its range, not by its own maximum: values 255 and 256 of 65,535
    are both near black (255 was shown white, 256 black) (bug hunt)."""
    from engine.caption.images import _to_rgb

    for v in (199, 255, 256):
        img = Image.fromarray(np.full((8, 8), v, np.uint16))
        assert img.mode.startswith("I;16")
        assert np.asarray(_to_rgb(img)).max() <= 1
