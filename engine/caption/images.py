"""Robust image loading: any file a person may drop -> an RGB uint8 array of the encoder's size, or a
clear :class:`ImageError` naming the file and what is wrong with it.

Handled: truncated or corrupt files, empty files, non-images with an image extension, decompression
bombs (the pixel count is checked from the header *before* anything is decoded), CMYK, 16-bit and
32-bit grey, palette and transparent images (composited on white), animated images (first frame),
EXIF orientation. Images are squashed to ``size x size`` (the training data was squashed the same
way, so the aspect ratio is not kept on purpose).

PIL's global ``Image.MAX_IMAGE_PIXELS`` is left alone (no module-level state): the limit is a
per-call argument, checked from the header with a clear "image too large" message. PIL's own
warning (above ~89 Mpx) is not needed for that, and its hard error (above ~179 Mpx, raised while
opening) becomes the same kind of message. JPEGs are decoded at a reduced scale (``draft``, 1/8 for
a phone photo), so they may have ``DRAFT_FACTOR`` times the pixels: a 108 Mpx phone photo costs
about 2 Mpx of memory, while a PNG is decoded whole.

:func:`sniff_media` tells an image from a video by the file's first bytes, whatever its name says.
"""

from __future__ import annotations

import contextlib
import re
import warnings
from pathlib import Path

import numpy as np

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".ppm", ".pgm")
DEFAULT_MAX_PIXELS = 80_000_000  # ~ 9000 x 9000; a 30000 x 30000 bomb (900 Mpx) is refused unread
DRAFT_FACTOR = 2  # JPEGs (decoded at a reduced scale) may have this many times max_pixels: 160 Mpx
DRAFT_FORMATS = ("JPEG", "MPO")  # MPO: the JPEG variant many phones write
DRAFT_MODES = ("RGB", "L", "CMYK", "YCbCr")
SNIFF_BYTES = 64  # bytes read to tell an image from a video
# first bytes -> "image" | "video"; (offset, magic); checked in order
MAGIC = (
    (0, b"\xff\xd8\xff", "image"),  # JPEG
    (0, b"\x89PNG\r\n\x1a\n", "image"),
    (0, b"GIF87a", "image"),
    (0, b"GIF89a", "image"),
    (0, b"BM", "image"),
    (0, b"II*\x00", "image"),  # TIFF
    (0, b"MM\x00*", "image"),
    (8, b"WEBP", "image"),  # RIFF....WEBP
    (8, b"AVI ", "video"),  # RIFF....AVI
    (0, b"\x1aE\xdf\xa3", "video"),  # Matroska / WebM
    (0, b"FLV", "video"),
    (0, b"\x00\x00\x01\xba", "video"),  # MPEG program stream
    (0, b"\x00\x00\x01\xb3", "video"),  # MPEG-1/2 elementary stream
    (0, b"0&\xb2u\x8ef\xcf\x11", "video"),  # ASF / WMV
)
STILL_BRANDS = (b"heic", b"heix", b"heim", b"heis", b"mif1", b"msf1", b"avif", b"avis")  # ISO still images


class ImageError(ValueError):
    """A file that cannot be used as an image; ``str()`` is a message a person can read."""

    def __init__(self, path: str | Path, reason: str):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{Path(path).name}: {reason}")


def is_image_path(path: str | Path) -> bool:
    """True when the file name has an image extension (the content is checked when loading)."""
    return Path(path).suffix.lower() in IMAGE_EXTENSIONS


def sniff_media(path: str | Path) -> str | None:
    """Whether the file is an "image" or a "video", from its first bytes; None when they say neither
    (or it cannot be read): the caller then goes by the file name."""
    try:
        with open(path, "rb") as f:
            head = f.read(SNIFF_BYTES)
    except OSError:
        return None
    for offset, magic, kind in MAGIC:
        if head[offset : offset + len(magic)] == magic:
            return kind
    if head[4:8] == b"ftyp":  # MP4, MOV, 3GP … and HEIF/AVIF stills, told apart by their brand
        return "image" if head[8:12] in STILL_BRANDS else "video"
    if head[:4] in (b"\x00\x00\x00\x14", b"\x00\x00\x00\x08") and head[4:8] in (b"moov", b"mdat", b"wide"):
        return "video"  # an old QuickTime file without ftyp
    if head[:2] in (b"P2", b"P3", b"P5", b"P6") and head[2:3].isspace():  # PGM / PPM
        return "image"
    return None


def load_image(path: str | Path, size: int = 224, max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """Read ``path`` and return an RGB ``uint8`` array of shape ``(size, size, 3)``.

    Raises :class:`ImageError` (a ``ValueError``) with a clear reason for any unusable file.
    """
    return _decode(path, max_pixels, lambda img: pil_to_array(img, size))


def load_with_preview(
    path: str | Path, size: int = 224, preview: int = 512, max_pixels: int = DEFAULT_MAX_PIXELS
) -> tuple[np.ndarray, np.ndarray]:
    """Decode ``path`` once and return ``(array, preview)``: the encoder's ``(size, size, 3)`` array
    and an RGB ``uint8`` picture for display, aspect ratio kept, at most ``preview`` pixels on its
    longest side. Same checks and errors as :func:`load_image`."""

    def both(img):
        from PIL import Image

        rgb = _prepared(img, size)
        shown = rgb.copy()
        shown.thumbnail((preview, preview), Image.BICUBIC, reducing_gap=3.0)
        return _squash(rgb, size), np.asarray(shown, dtype=np.uint8)

    return _decode(path, max_pixels, both)


def _decode(path: str | Path, max_pixels: int, convert):
    """Open ``path`` with every check (size, bomb, format) and return ``convert(pil_image)``."""
    from PIL import Image, UnidentifiedImageError

    p = Path(path)
    if not p.exists():
        raise ImageError(p, "file not found")
    if p.is_dir():
        raise ImageError(p, "is a folder, not an image")
    if p.stat().st_size == 0:
        raise ImageError(p, "empty file (0 bytes)")
    try:
        with warnings.catch_warnings():
            # a damaged file's decoder chatter ("Corrupt EXIF data", libtiff's "More samples per
            # pixel…") would interleave with the CLI's output: the file succeeds or gets its message.
            # PIL's bomb warning (between MAX_IMAGE_PIXELS and twice that) too: the size is checked
            # below, from the header, before anything is decoded.
            warnings.simplefilter("ignore", UserWarning)
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(p) as img:
                w, h = img.size
                limit = pixel_limit(img, max_pixels)
                if w * h > limit:
                    raise ImageError(p, f"image too large ({w}x{h} pixels; limit {limit:,} pixels)")
                if w == 0 or h == 0:
                    raise ImageError(p, f"image has no pixels ({w}x{h})")
                return convert(img)
    except ImageError:
        raise
    except Image.DecompressionBombError as exc:
        # raised by PIL while opening, above twice its MAX_IMAGE_PIXELS: over any limit we allow
        found = re.search(r"\((\d+) pixels\)", str(exc))
        size = f"{int(found[1]):,} pixels; " if found else ""
        with open(p, "rb") as f:  # (PIL said no more: no format to ask it for)
            jpeg = f.read(3) == MAGIC[0][1]
        limit = min(max_pixels * (DRAFT_FACTOR if jpeg else 1), 2 * Image.MAX_IMAGE_PIXELS)
        why = f"image too large ({size}limit {limit:,} pixels): refused unread as a likely decompression bomb"
        raise ImageError(p, why) from None
    except UnidentifiedImageError:
        raise ImageError(p, "not a recognised image format (corrupt, or not an image at all)") from None
    except MemoryError:
        raise ImageError(p, "not enough memory to decode this image") from None
    except Exception as exc:  # noqa: BLE001 - any decoder failure is this file's problem alone
        # (PIL's GIF reader raises IndexError and struct.error on a cut animation, for example)
        msg = str(exc) or type(exc).__name__
        if "truncated" in msg.lower() or "buffer" in msg.lower() or isinstance(exc, (EOFError, IndexError)):
            raise ImageError(
                p, "truncated or damaged image file (the download or copy is incomplete?)"
            ) from None
        raise ImageError(p, f"cannot decode image ({msg})") from None


def pixel_limit(img, max_pixels: int = DEFAULT_MAX_PIXELS) -> int:
    """The most pixels ``img`` (opened, not decoded) may have: ``max_pixels``, or ``DRAFT_FACTOR``
    times that for a baseline JPEG, which is decoded at a reduced scale (see :func:`_prepared`). A
    progressive JPEG is not: its decoder holds every coefficient at full size (345 MB for 108 Mpx
    against 47 MB for the same picture as a baseline JPEG)."""
    progressive = img.info.get("progressive") or img.info.get("progression")
    return max_pixels * DRAFT_FACTOR if _draftable(img) and not progressive else max_pixels


def _draftable(img) -> bool:
    return img.format in DRAFT_FORMATS and img.mode in DRAFT_MODES


def pil_to_array(img, size: int = 224) -> np.ndarray:
    """Any PIL image (first frame of an animation) -> RGB uint8 ``(size, size, 3)``."""
    return _squash(_prepared(img, size), size)


def _prepared(img, size: int):
    """The first frame, upright, in RGB (big JPEGs decoded at a reduced scale, at least 2 x ``size``)."""
    from PIL import ImageOps

    if getattr(img, "is_animated", False):
        img.seek(0)
    if _draftable(img):
        img.draft("RGB", (size * 2, size * 2))  # decode big JPEGs at a reduced scale: much faster
    img.load()
    with contextlib.suppress(Exception):  # a broken EXIF block must not lose the picture
        img = ImageOps.exif_transpose(img)
    return _to_rgb(img)


def _squash(img, size: int) -> np.ndarray:
    from PIL import Image

    if img.size != (size, size):
        img = img.resize((size, size), Image.BICUBIC, reducing_gap=3.0)
    arr = np.asarray(img, dtype=np.uint8)
    if arr.shape != (size, size, 3):  # defensive: every branch above yields RGB
        raise ValueError(f"unexpected decoded shape {arr.shape}")
    return arr


def _to_rgb(img):
    """Convert any PIL mode to RGB: CMYK, 16/32-bit grey, float, palette, with or without alpha."""
    from PIL import Image

    mode = img.mode
    if mode == "RGB":
        return img
    if mode in ("I", "I;16", "I;16B", "I;16L", "I;16N", "F"):
        arr = np.asarray(img, dtype=np.float64)
        lo, hi = float(arr.min()), float(arr.max())
        if mode.startswith("I;16") or (mode == "I" and hi > 255):
            arr = arr / 257.0  # 16-bit range -> 8-bit (always: a dark 16-bit image stays dark)
        elif mode == "F" and hi <= 1.0 and lo >= 0.0:
            arr = arr * 255.0
        arr = np.clip(arr, 0, 255).astype(np.uint8)
        return Image.fromarray(arr, mode="L").convert("RGB")
    if mode == "P" and "transparency" in img.info:
        img = img.convert("RGBA")
        mode = "RGBA"
    if mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return img.convert("RGB")  # CMYK, YCbCr, LAB, HSV, L, 1, P


def list_images(paths: list[str | Path], extensions: tuple[str, ...] = IMAGE_EXTENSIONS) -> list[Path]:
    """Expand folders (sorted, non-recursive) into their files with one of ``extensions``; files
    given directly are kept as they are (their content is checked when loading)."""
    out: list[Path] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            out.extend(sorted(q for q in p.iterdir() if q.is_file() and q.suffix.lower() in extensions))
        else:
            out.append(p)
    return out


def load_batches(paths: list[Path], batch_size: int, size: int = 224, max_pixels: int = DEFAULT_MAX_PIXELS):
    """Yield ``(indices, arrays (n, size, size, 3) uint8, errors {index: message})`` per batch.

    The next batch is decoded on a helper thread while the caller encodes the current one (PIL
    releases the GIL while decoding). A bad file becomes an entry in ``errors``; the rest goes on.
    """
    from concurrent.futures import ThreadPoolExecutor

    def work(start: int):
        idx, arrays, errors = [], [], {}
        for i in range(start, min(start + batch_size, len(paths))):
            try:
                arrays.append(load_image(paths[i], size, max_pixels))
                idx.append(i)
            except ImageError as exc:
                errors[i] = str(exc)
        stacked = np.stack(arrays) if arrays else np.zeros((0, size, size, 3), np.uint8)
        return idx, stacked, errors

    starts = list(range(0, len(paths), max(1, batch_size)))
    if not starts:
        return
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="image-load") as pool:
        pending = pool.submit(work, starts[0])
        for nxt in [*starts[1:], None]:
            result = pending.result()
            if nxt is not None:
                pending = pool.submit(work, nxt)
            yield result
