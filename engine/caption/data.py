"""Caption datasets: readers for the common file formats and a deterministic split.

Formats (detected from the file):
* Kaggle/Flickr8k CSV with a header ``image,caption`` (quoted captions may hold commas);
* Flickr8k token file: ``name.jpg#i<TAB>caption`` per line;
* COCO captions JSON: ``{"images": [{"id", "file_name"}], "annotations": [{"image_id", "caption"}]}``.

Rows with holes (no image name, empty caption) are skipped and counted, never fatal. The split
is by hashing the file name (md5 % 20: 0 -> test, 1 -> val, else train), so it is the same on
every machine and does not move when images are added.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from dataclasses import dataclass, field
from pathlib import Path

SPLITS = ("train", "val", "test")


@dataclass
class CaptionSet:
    captions: dict[str, list[str]]  # image file name -> its reference captions, in file order
    skipped: int = 0  # rows without an image name or caption
    format: str = ""  # "csv" | "token" | "coco"
    missing: list[str] = field(default_factory=list)  # names with no file (see with_images)

    def __len__(self) -> int:
        return len(self.captions)


def split_of(name: str) -> str:
    """Deterministic split of an image file name: ~5% test, ~5% val, ~90% train."""
    bucket = int(hashlib.md5(Path(name).name.encode("utf-8")).hexdigest(), 16) % 20
    return "test" if bucket == 0 else "val" if bucket == 1 else "train"


def read_captions(path: str | Path) -> CaptionSet:
    """Read a caption file in any supported format; raises ValueError/FileNotFoundError clearly."""
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"caption file not found: {p}")
    raw = p.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    stripped = text.lstrip()
    if not stripped:
        raise ValueError(f"{p.name}: the caption file is empty")
    if stripped[0] in "{[":
        out = _read_coco(text, p)
    else:
        first = stripped.splitlines()[0]
        out = _read_token(text) if "\t" in first and "#" in first.split("\t", 1)[0] else _read_csv(text, p)
    if not out.captions:
        raise ValueError(f"{p.name}: no usable (image, caption) rows in {out.format} format")
    return out


def _add(caps: dict[str, list[str]], name: str, caption: str) -> bool:
    name, caption = (name or "").strip(), " ".join((caption or "").split())
    if not name or not caption:
        return False
    caps.setdefault(name, []).append(caption)
    return True


def _read_csv(text: str, p: Path) -> CaptionSet:
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None) or []
    cols = [h.strip().lower() for h in header]
    if "image" not in cols or "caption" not in cols:
        raise ValueError(f"{p.name}: CSV header must name 'image' and 'caption' columns, got {header[:4]}")
    i_img, i_cap = cols.index("image"), cols.index("caption")
    caps: dict[str, list[str]] = {}
    skipped = 0
    for row in reader:
        if not row or not any(c.strip() for c in row):
            continue
        if len(row) <= max(i_img, i_cap) or not _add(caps, row[i_img], row[i_cap]):
            skipped += 1
    return CaptionSet(caps, skipped, "csv")


def _read_token(text: str) -> CaptionSet:
    caps: dict[str, list[str]] = {}
    skipped = 0
    for line in text.splitlines():
        if not line.strip():
            continue
        key, sep, caption = line.partition("\t")
        if not sep or not _add(caps, key.rsplit("#", 1)[0], caption):
            skipped += 1
    return CaptionSet(caps, skipped, "token")


def _read_coco(text: str, p: Path) -> CaptionSet:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{p.name}: not valid JSON ({exc})") from None
    if not isinstance(data, dict) or not isinstance(data.get("annotations"), list):
        raise ValueError(f"{p.name}: COCO captions JSON needs 'images' and 'annotations' lists")
    names = {}
    for img in data.get("images") or []:
        if isinstance(img, dict) and "id" in img and img.get("file_name"):
            names[img["id"]] = str(img["file_name"])
    caps: dict[str, list[str]] = {}
    skipped = 0
    for ann in data["annotations"]:
        name = names.get(ann.get("image_id")) if isinstance(ann, dict) else None
        if name is None or not _add(caps, name, str(ann.get("caption") or "")):
            skipped += 1
    return CaptionSet(caps, skipped, "coco")


def with_images(cs: CaptionSet, image_dir: str | Path) -> CaptionSet:
    """Keep the images that exist under ``image_dir`` (names may include sub-folders)."""
    d = Path(image_dir)
    if not d.is_dir():
        raise FileNotFoundError(f"image folder not found: {d}")
    kept, missing = {}, []
    for name, caps in cs.captions.items():
        if (d / name).is_file():
            kept[name] = caps
        else:
            missing.append(name)
    if not kept:
        raise ValueError(f"none of the {len(cs.captions)} captioned images exist under {d}")
    return CaptionSet(kept, cs.skipped, cs.format, missing)


def split(cs: CaptionSet, which: str) -> dict[str, list[str]]:
    """The images (sorted by name) of one split (``train``/``val``/``test``) or ``all``."""
    if which != "all" and which not in SPLITS:
        raise ValueError(f"unknown split {which!r}; known: all, {', '.join(SPLITS)}")
    return {n: cs.captions[n] for n in sorted(cs.captions) if which == "all" or split_of(n) == which}
