"""Files for the caption tests, made here with PIL, numpy and PyAV (shared by engine and desktop
tests): clips with a scene cut, a decompression-bomb PNG and every awkward file a person may drop."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np


def write_clip(
    path,
    seconds: float = 3.0,
    fps: int = 10,
    cut_at: float = 1.5,
    codec: str = "mpeg4",
    fmt: str | None = None,
    size=(96, 64),
) -> None:
    """Red frames with a moving bar, then blue frames from ``cut_at`` on (one hard scene cut)."""
    import av

    w, h = size
    c = av.open(str(path), "w", format=fmt)
    s = c.add_stream(codec, rate=fps)
    s.width, s.height, s.pix_fmt = w, h, "yuv420p"
    for i in range(int(seconds * fps)):
        arr = np.zeros((h, w, 3), np.uint8)
        arr[:] = (220, 20, 20) if i / fps < cut_at else (20, 20, 220)
        arr[:, (i * 4) % w] = 255
        for p in s.encode(av.VideoFrame.from_ndarray(arr, format="rgb24")):
            c.mux(p)
    for p in s.encode():
        c.mux(p)
    c.close()


def write_empty_video(path) -> None:
    """A Matroska file with a video stream header and no frames."""
    import av

    c = av.open(str(path), "w", format="matroska")
    s = c.add_stream("mpeg4", rate=10)
    s.width, s.height, s.pix_fmt = 64, 64, "yuv420p"
    c.start_encoding()
    c.close()


def write_unknown_codec(path) -> bool:
    """An H.264 MP4 whose codec tag is changed to one no decoder knows; False when this FFmpeg
    build has no H.264 encoder to make it."""
    import av

    if "libx264" not in av.codecs_available:
        return False
    good = Path(path).with_name("h264_source.mp4")
    write_clip(good, seconds=1.0, codec="libx264")
    Path(path).write_bytes(good.read_bytes().replace(b"avc1", b"zzzz"))
    good.unlink()
    return True


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return (
        struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    )


def write_bomb_png(path, side: int = 30000) -> None:
    """A valid 1-bit grey PNG of side x side pixels that compresses to ~100 KB."""
    row = b"\x00" * (1 + (side + 7) // 8)  # filter byte + packed bits
    comp = zlib.compressobj(9)
    chunks = [comp.compress(row * 1000) for _ in range(side // 1000)]
    chunks.append(comp.compress(row * (side % 1000)))
    chunks.append(comp.flush())
    ihdr = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    Path(path).write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", b"".join(chunks))
        + _png_chunk(b"IEND", b"")
    )


def write_photo(path, seed: int = 0, size=(320, 240)) -> Path:
    """A picture with some structure (sky, ground, a few blobs) so captions and attention vary."""
    from PIL import Image, ImageDraw

    rng = np.random.default_rng(seed)
    w, h = size
    img = Image.new("RGB", size, tuple(int(v) for v in rng.integers(90, 230, 3)))
    draw = ImageDraw.Draw(img)
    draw.rectangle([0, h // 2, w, h], fill=tuple(int(v) for v in rng.integers(20, 160, 3)))
    for _ in range(4):
        x, y = int(rng.integers(0, w - 40)), int(rng.integers(0, h - 40))
        r = int(rng.integers(15, 60))
        draw.ellipse([x, y, x + r, y + r], fill=tuple(int(v) for v in rng.integers(0, 255, 3)))
    noise = rng.integers(-12, 12, (h, w, 3))
    arr = np.clip(np.asarray(img, dtype=np.int16) + noise, 0, 255).astype(np.uint8)
    Image.fromarray(arr).save(path)
    return Path(path)


def write_bad_files(folder) -> dict[str, str]:
    """Every awkward file of the issue in ``folder``: name -> what its per-file message says.
    Files that are odd but usable (CMYK, 16-bit, palette, animated GIF) map to ""."""
    from PIL import Image

    folder = Path(folder)
    truncated = folder / "truncated.jpg"
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (256, 256, 3), dtype=np.uint8)).save(truncated, quality=95)
    truncated.write_bytes(truncated.read_bytes()[: truncated.stat().st_size // 2])
    (folder / "empty.jpg").write_bytes(b"")
    (folder / "notes.jpg").write_text("this is not a picture\n" * 20)
    write_bomb_png(folder / "bomb.png")
    Image.new("CMYK", (50, 40), (0, 255, 255, 0)).save(folder / "cmyk.jpg")
    Image.fromarray(np.full((40, 40), 40000, dtype=np.uint16)).save(folder / "deep16.png")
    pal = Image.new("P", (30, 30), 0)
    pal.putpalette([0, 0, 0, 0, 0, 255] + [0] * 762)
    pal.paste(1, (0, 0, 15, 30))
    pal.save(folder / "palette.png", transparency=0)
    frames = [Image.new("RGB", (32, 32), c) for c in ((255, 0, 0), (0, 255, 0), (0, 0, 255))]
    frames[0].save(folder / "anim.gif", save_all=True, append_images=frames[1:], duration=100, loop=0)
    write_empty_video(folder / "no_frames.mkv")
    (folder / "notes.mp4").write_text("not a video at all\n" * 10)
    expected = {
        "truncated.jpg": "truncated",
        "empty.jpg": "empty file",
        "notes.jpg": "not a recognised image",
        "bomb.png": "decompression bomb",
        "cmyk.jpg": "",
        "deep16.png": "",
        "palette.png": "",
        "anim.gif": "",
        "no_frames.mkv": "no frames",
        "notes.mp4": "not a readable video",
    }
    if write_unknown_codec(folder / "unknown_codec.mp4"):
        expected["unknown_codec.mp4"] = "unsupported video codec"
    return expected
