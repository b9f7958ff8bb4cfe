"""Big pictures get the clear "image too large" message (never PIL's raw bomb text), 108 Mpx phone
JPEGs pass the size check (they are decoded at a reduced scale), and a file is told to be an image or
a video by its first bytes."""

from __future__ import annotations

import io
import warnings

import numpy as np
import pytest
from caption_fixtures import write_bomb_png, write_clip

from engine.caption.images import DEFAULT_MAX_PIXELS, ImageError, load_image


def _jpeg_claiming(path, width: int, height: int, progressive: bool = False) -> None:
    """A small real JPEG whose header says it is ``width x height`` (its data is then too short)."""
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.full((16, 16, 3), 90, np.uint8)).save(buf, "JPEG", progressive=progressive)
    data = bytearray(buf.getvalue())
    sof = data.index(b"\xff\xc2" if progressive else b"\xff\xc0")  # frame header: length, precision, h, w
    data[sof + 5 : sof + 9] = height.to_bytes(2, "big") + width.to_bytes(2, "big")
    path.write_bytes(bytes(data))


def test_a_100_mpx_png_gets_the_clear_too_large_message(tmp_path):
    p = tmp_path / "huge.png"
    write_bomb_png(p, side=10_000)  # 100 Mpx: over PIL's warning level, under its hard limit
    with pytest.raises(ImageError) as err:
        load_image(p)
    limit = f"limit {DEFAULT_MAX_PIXELS:,} pixels"
    assert str(err.value) == f"huge.png: image too large (10000x10000 pixels; {limit})"


def test_over_pils_hard_limit_the_message_still_says_too_large_and_the_limit(tmp_path):
    p = tmp_path / "bomb.png"
    write_bomb_png(p, side=15_000)  # 225 Mpx: PIL refuses it while opening
    with pytest.raises(ImageError) as err:
        load_image(p)
    assert "image too large (225,000,000 pixels; limit 80,000,000 pixels)" in str(err.value)
    assert "decompression bomb" in str(err.value) and "DOS attack" not in str(err.value)


def test_a_108_mpx_phone_jpeg_passes_the_size_check(tmp_path):
    from PIL import Image

    from engine.caption.images import pixel_limit

    p = tmp_path / "phone.jpg"
    _jpeg_claiming(p, 12_000, 9_000)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # PIL's, over 89 Mpx
        img = Image.open(p)
    with img:
        assert pixel_limit(img) == 2 * DEFAULT_MAX_PIXELS >= 12_000 * 9_000
    # decoded at 1/8 scale (its data is 16 x 16 pixels: the rest reads as grey), never whole
    assert load_image(p).shape == (224, 224, 3)
    big = tmp_path / "big.jpg"
    _jpeg_claiming(big, 12_000, 14_000)  # 168 Mpx: over the JPEG limit
    with pytest.raises(ImageError, match=r"image too large \(12000x14000 pixels; limit 160,000,000 pixels\)"):
        load_image(big)


def test_sniff_media_reads_the_first_bytes_not_the_name(tmp_path):
    from PIL import Image

    from engine.caption.images import sniff_media

    clip = tmp_path / "clip.jpg"
    write_clip(clip, seconds=0.3, fmt="mp4")
    mkv = tmp_path / "clip.png"
    write_clip(mkv, seconds=0.3, fmt="matroska")
    photo = tmp_path / "photo.mp4"
    Image.new("RGB", (8, 8)).save(photo, "JPEG")
    png, gif = tmp_path / "a.mov", tmp_path / "b.avi"
    Image.new("RGB", (8, 8)).save(png, "PNG")
    Image.new("P", (8, 8)).save(gif, "GIF")
    text = tmp_path / "notes.jpg"
    text.write_text("not a picture")
    assert [sniff_media(p) for p in (clip, mkv, photo, png, gif, text)] == [
        "video",
        "video",
        "image",
        "image",
        "image",
        None,
    ]
    assert sniff_media(tmp_path / "missing.jpg") is None


def test_a_progressive_jpeg_gets_no_extra_allowance(tmp_path):
    """Its decoder holds every coefficient at full size: 345 MB for 108 Mpx, not 47 MB."""
    p = tmp_path / "progressive.jpg"
    _jpeg_claiming(p, 12_000, 9_000, progressive=True)
    with pytest.raises(ImageError, match=r"limit 80,000,000 pixels"):
        load_image(p)
