"""Robust image loading: any file a person may drop -> an RGB uint8 array of the encoder's size, or a
clear :class:`ImageError` naming the file and what is wrong with it.

Handled: truncated or corrupt files, empty files, non-images with an image extension, decompression
bombs (the pixel count is checked from the header *before* anything is decoded), CMYK, 16-bit and
32-bit grey, palette and transparent images (composited on white), animated images (first frame),
EXIF orientation. Images are squashed to ``size x size`` (the training data was squashed the same
way, so the aspect ratio is not kept on purpose).

PIL's global ``Image.MAX_IMAGE_PIXELS`` is left alone (no module-level state): the limit is a
per-call argument, and PIL's own bomb error/warning is turned into :class:`ImageError` too.
"""

from __future__ import annotations

import contextlib
import warnings
from pathlib import Path

import numpy as np

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".ppm", ".pgm")
DEFAULT_MAX_PIXELS = 80_000_000  # ~ 9000 x 9000; a 30000 x 30000 bomb (900 Mpx) is refused unread


class ImageError(ValueError):
    """A file that cannot be used as an image; ``str()`` is a message a person can read."""

    def __init__(self, path: str | Path, reason: str):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{Path(path).name}: {reason}")


def is_image_path(path: str | Path) -> bool:
    """True when the file name has an image extension (the content is checked when loading)."""
    return Path(path).suffix.lower() in IMAGE_EXTENSIONS


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
            # pixel…") would interleave with the CLI's output: the file succeeds or gets its message
            warnings.simplefilter("ignore", UserWarning)
            # PIL warns (not raises) between MAX_IMAGE_PIXELS and twice that: treat it as an error.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(p) as img:
                w, h = img.size
                if w * h > max_pixels:
                    raise ImageError(p, f"image too large ({w}x{h} pixels; limit {max_pixels:,} pixels)")
                if w == 0 or h == 0:
                    raise ImageError(p, f"image has no pixels ({w}x{h})")
                return convert(img)
    except ImageError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageError(p, f"refused as a possible decompression bomb ({exc})") from None
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


def pil_to_array(img, size: int = 224) -> np.ndarray:
    """Any PIL image (first frame of an animation) -> RGB uint8 ``(size, size, 3)``."""
    return _squash(_prepared(img, size), size)


def _prepared(img, size: int):
    """The first frame, upright, in RGB (big JPEGs decoded at a reduced scale, at least 2 x ``size``)."""
    from PIL import ImageOps

    if getattr(img, "is_animated", False):
        img.seek(0)
    if img.format == "JPEG" and img.mode in ("RGB", "L", "CMYK", "YCbCr"):
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
