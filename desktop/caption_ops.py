"""The Caption panel's jobs: what runs on the engine thread (no Qt, no widgets here).

``caption_paths`` captions dropped files and folders in batches and reports each batch through
``progress`` as it is done, so the grid fills while the rest goes on: first ``{"stage": "files"}``
(every file, so the grid shows them waiting), then ``{"stage": "batch", "items": [...]}`` per
batch of images and ``{"stage": "video"}`` while a video is read. An item is a plain dict (see
:func:`_item`): the caption, its alternative beams with log-probabilities, one 7x7 attention map
per word, a small thumbnail (``uint8`` array) and a preview (JPEG bytes, at most
``PREVIEW_SIDE`` pixels), or ``error``: a message for a person, for a file that cannot be used.
Images and previews are decoded here, never on the window's thread.

Every caption is saved in the history (``store.add_caption``) with the SHA-256 of the file, its
name and where it was, the beams and the attention maps; never the picture itself.
``open_caption`` shows a saved one again (the picture only when the file is still there, unchanged).
"""

from __future__ import annotations

import hashlib
import io
import time
from pathlib import Path

import numpy as np

from engine.history import save_or_note
from engine.paths import default_model

CAPTION_KIND = "caption"
MODEL_FOLDER = default_model("captioner")
BATCH = 8  # images encoded together: a progress report (and a chance to cancel) per batch
PREVIEW_SIDE = 512  # longest side of the picture shown large
THUMB_SIDE = 160  # longest side of a grid thumbnail
SCENE_HEIGHT = 360  # height of a video scene's frame, shown large
SCENE_THUMB_HEIGHT = 64  # height of a scene's thumbnail in the timeline
META_KIND = "parlance.caption/1"
MAX_STORED_SCENES = 500  # scenes of one video kept in its history row


def model_problem(folder: str | Path = MODEL_FOLDER) -> str | None:
    """None when ``folder`` looks like a captioner model folder, else what is wrong (cheap check)."""
    folder = Path(folder)
    missing = [n for n in ("config.json", "model.safetensors", "vocab.json") if not (folder / n).is_file()]
    if not missing:
        return None
    return (
        f"The caption model is missing: {folder} has no {', '.join(missing)}. Reinstall Parlance to get "
        "the shipped model back, or train one with `python -m engine train captioner`."
    )


def load_captioner(folder: str | Path, device: str = "cpu", cache=None):
    """The captioner in ``folder``, loaded once per session through the service's model ``cache``."""
    from desktop.task_models import load_model_once

    def build():
        from engine.caption.captioner import Captioner

        return Captioner.from_folder(folder, device, "auto")

    folder = Path(folder)
    problem = model_problem(folder)
    return load_model_once(folder, "caption model", problem, build, f"captioner:{folder}", "Captioner", cache)


def file_sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def jpeg_bytes(rgb: np.ndarray, quality: int = 88) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def shrink(rgb: np.ndarray, side: int = 0, height: int = 0) -> np.ndarray:
    """``rgb`` scaled down to at most ``side`` pixels on its longest side (or to ``height``)."""
    from PIL import Image

    img = Image.fromarray(rgb)
    if height:
        img = img.resize((max(1, round(img.width * height / img.height)), height), Image.BILINEAR)
    else:
        img.thumbnail((side, side), Image.BILINEAR)
    return np.asarray(img, dtype=np.uint8)


def list_media(paths: list[str]) -> list[Path]:
    """Dropped files and folders -> the files to caption (folders: their images and videos)."""
    from engine.caption.images import IMAGE_EXTENSIONS, list_images
    from engine.caption.video import VIDEO_EXTENSIONS

    files = list_images([p for p in paths if p], IMAGE_EXTENSIONS + VIDEO_EXTENSIONS)
    files = list(dict.fromkeys(files))  # a folder dropped twice (or a file and its folder): once each
    if not files:
        names = ", ".join(Path(p).name or str(p) for p in paths if p) or "nothing"
        raise ValueError(f"No images or videos to caption in {names}.")
    return files


# ----------------------------------------------------------------------------------------- items
def _caption_fields(cap) -> dict:
    return {
        "caption": cap.text,
        "words": list(cap.words),
        "logprob": float(cap.logprob),
        "attention": np.asarray(cap.attention, dtype=np.float32),
        "alternatives": [(str(t), float(lp)) for t, lp in cap.alternatives],
        "low_information": bool(getattr(cap, "low_information", False)),
    }


BLANK_NOTE = "A blank picture (almost one colour): this plain caption is not the model's."


def _item(index: int, path: Path, media: str, beam: int, **fields) -> dict:
    item = {
        "index": index,
        "path": str(path),
        "name": path.name,
        "media": media,
        "beam": beam,
        "error": None,
        "caption": "",
        "words": [],
        "logprob": 0.0,
        "attention": np.zeros((0, 7, 7), np.float32),
        "alternatives": [],
        "low_information": False,  # a blank picture: a plain caption, not the model's
        "sha256": "",
        "caption_id": None,
        "thumb": None,
        "preview": None,
        "scenes": [],
        "note": "",
        "model": "",  # the name of the model folder that made the caption
    }
    item.update(fields)
    return item


def _meta(item: dict) -> dict:
    def att(a) -> list:
        return np.round(np.asarray(a, dtype=np.float64), 4).tolist()

    meta = {
        "kind": META_KIND,
        "media": item["media"],
        "path": item["path"],
        "beam": item["beam"],
        "logprob": round(item["logprob"], 4),
        "words": item["words"],
        "attention": att(item["attention"]),
        "alternatives": [[t, round(lp, 4)] for t, lp in item["alternatives"]],
        "model": item.get("model", ""),
    }
    if item.get("low_information"):
        meta["low_information"] = True
    if item["media"] == "video":
        meta["duration_s"] = item.get("duration_s", 0.0)
        if item.get("note"):
            meta["note"] = item["note"]
        meta["scenes"] = [
            {k: s[k] for k in ("start_s", "end_s", "until_s", "n_frames", "caption", "words", "logprob")}
            | {"attention": att(s["attention"]), "alternatives": [[t, lp] for t, lp in s["alternatives"]]}
            for s in item["scenes"][:MAX_STORED_SCENES]
        ]
    return meta


def _save(item: dict, store, failed: list[str]) -> None:
    """Save ``item``; after one failed write (a locked or read-only history) the rest of the batch
    is not tried again (each try waits out the lock) and carries the same note."""
    if failed:
        why = failed[0]
    elif store is None:
        why = "History is off: this caption is not saved."
    else:
        item["caption_id"], why = save_or_note(
            lambda: store.add_caption(item["name"], item["sha256"], item["caption"], _meta(item)), "caption"
        )
        if why:
            failed.append(why)
    if why:
        item["note"] = " ".join(filter(None, [item.get("note"), why]))


# ------------------------------------------------------------------------------------------ jobs
def caption_paths(
    paths: list[str],
    beam: int = 3,
    model: str | None = None,
    batch_size: int = BATCH,
    *,
    progress=None,
    cancel=None,
    store=None,
    device: str = "cpu",
    cache=None,
) -> dict:
    """Caption the images and videos in ``paths`` (files or folders); see the module docstring."""
    from engine.caption.captioner import caption_options
    from engine.caption.video import media_kind

    report = progress or (lambda info: None)
    stopped = lambda: cancel is not None and cancel.cancelled  # noqa: E731
    report({"stage": "loading"})
    captioner = load_captioner(model or MODEL_FOLDER, device, cache)
    model_name = Path(model or MODEL_FOLDER).name
    files = list_media(paths)
    media = [media_kind(f) for f in files]  # by the bytes: a video named .jpg is a video
    total = len(files)
    report(
        {
            "stage": "files",
            "files": [
                {"index": i, "path": str(f), "name": f.name, "media": m}
                for i, (f, m) in enumerate(zip(files, media))
            ],
            "total": total,
        }
    )
    options = caption_options(int(beam))
    images = [i for i, m in enumerate(media) if m == "image"]
    done = saved = 0
    failed: list[str] = []  # why saving stopped working, once it did
    t0 = time.perf_counter()
    batches = _image_batches(files, images, batch_size, captioner.image_size)
    for batch in batches:
        if stopped():
            break
        good = [(i, arr, prev) for i, arr, prev in batch if arr is not None]
        caps = captioner.caption_arrays(np.stack([a for _, a, _ in good]), options) if good else []
        if stopped():
            break  # this batch is neither saved nor shown: the panel dropped it already
        items = []
        for i, arr, prev in batch:
            if arr is None:
                items.append(_item(i, files[i], "image", beam, error=str(prev), reason=_reason(prev)))
        for (i, _, prev), cap in zip(good, caps):
            item = _item(i, files[i], "image", beam, model=model_name, **_caption_fields(cap))
            if item["low_information"]:
                item["note"] = BLANK_NOTE
            item.update(
                sha256=file_sha256(files[i]), preview=jpeg_bytes(prev), thumb=shrink(prev, THUMB_SIDE)
            )
            _save(item, store, failed)
            saved += item["caption_id"] is not None
            items.append(item)
        done += len(batch)
        report(
            {"stage": "batch", "items": sorted(items, key=lambda x: x["index"]), "done": done, "total": total}
        )
    batches.close()  # stops the helper thread when the loop ended early
    for i in (i for i, m in enumerate(media) if m == "video"):
        if stopped():
            break
        item = _caption_video(captioner, files[i], i, beam, options, done, total, report, cancel)
        item["model"] = model_name
        if stopped():
            break
        if item["error"] is None:
            _save(item, store, failed)
            saved += item["caption_id"] is not None
        done += 1
        report({"stage": "batch", "items": [item], "done": done, "total": total})
    return {
        "done": done,
        "total": total,
        "saved": saved,
        "cancelled": stopped(),
        "seconds": time.perf_counter() - t0,
    }


def _reason(exc) -> str:
    return getattr(exc, "reason", None) or str(exc)


def _image_batches(files: list[Path], indices: list[int], batch_size: int, size: int):
    """Yield lists of ``(index, array or None, preview or the ImageError)``; the next batch is
    decoded on a helper thread while the current one is captioned (PIL releases the GIL)."""
    from concurrent.futures import ThreadPoolExecutor

    from engine.caption.images import ImageError, load_with_preview

    def work(chunk: list[int]):
        out = []
        for i in chunk:
            try:
                arr, prev = load_with_preview(files[i], size, PREVIEW_SIDE)
                out.append((i, arr, prev))
            except ImageError as exc:
                out.append((i, None, exc))
        return out

    chunks = [indices[k : k + max(1, batch_size)] for k in range(0, len(indices), max(1, batch_size))]
    if not chunks:
        return
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="caption-load") as pool:
        pending = pool.submit(work, chunks[0])
        for nxt in [*chunks[1:], None]:
            result = pending.result()
            if nxt is not None:
                pending = pool.submit(work, nxt)
            yield result


def _caption_video(captioner, path: Path, index, beam, options, done, total, report, cancel) -> dict:
    from engine.caption.video import SamplingOptions, VideoError, caption_video, scene_ends, video_duration

    duration = video_duration(path)

    def moved(time_s: float) -> None:
        report(
            {"stage": "video", "index": index, "name": path.name, "time_s": time_s, "duration_s": duration}
            | {"done": done, "total": total}
        )

    moved(0.0)
    try:
        vc = caption_video(
            captioner,
            path,
            options,
            SamplingOptions(thumb_height=SCENE_HEIGHT),
            progress=moved,
            cancel=cancel,
        )
    except VideoError as exc:
        return _item(index, path, "video", beam, error=str(exc), reason=_reason(exc))
    scenes = []
    for s in vc.scenes:
        if s.caption is None:
            continue
        frame = s.thumb if s.thumb is not None else np.zeros((SCENE_HEIGHT, SCENE_HEIGHT, 3), np.uint8)
        scenes.append(
            {"start_s": float(s.start_s), "end_s": float(s.end_s), "n_frames": int(s.n_frames)}
            | _caption_fields(s.caption)
            | {"frame": jpeg_bytes(frame), "thumb": shrink(frame, height=SCENE_THUMB_HEIGHT)}
        )
    length = float(vc.length_s)
    for scene, until in zip(scenes, scene_ends([sc["start_s"] for sc in scenes], length)):
        scene["until_s"] = until
    first = vc.scenes[0].thumb if vc.scenes and vc.scenes[0].thumb is not None else None
    return _item(
        index,
        path,
        "video",
        beam,
        **_caption_fields(vc.caption),
        sha256=file_sha256(path),
        scenes=scenes,
        duration_s=length,
        note=vc.note,
        n_sampled=int(vc.n_sampled),
        preview=None if first is None else jpeg_bytes(first),
        thumb=None if first is None else shrink(first, THUMB_SIDE),
    )


# ------------------------------------------------------------------------------------- history
def open_caption(item_id: int, *, store=None) -> dict:
    """A saved caption as an item, with its picture when the file is still where it was and its
    SHA-256 is the one saved (the history keeps the fingerprint, never the picture)."""
    from engine.caption.images import ImageError, load_with_preview

    if store is None:
        raise ValueError("History is off, so saved captions cannot be opened.")
    row = store.get_caption(int(item_id))  # ValueError: missing or damaged
    meta = row.get("meta") or {}
    path = Path(meta.get("path") or row["file_name"])
    media = meta.get("media", "image")
    words = list(meta.get("words") or row["caption"].split())
    attention = np.asarray(meta.get("attention") or np.zeros((0, 7, 7)), dtype=np.float32)
    if attention.ndim != 3 or attention.shape[0] != len(words):
        attention = np.zeros((0, 7, 7), np.float32)  # saved by another program: no maps
    scenes = [
        {**s, "attention": np.asarray(s.get("attention") or [], dtype=np.float32).reshape(-1, 7, 7)}
        | {"alternatives": [tuple(a) for a in s.get("alternatives") or []], "frame": None, "thumb": None}
        for s in meta.get("scenes") or []
    ]
    item = _item(
        -1,
        path,
        media,
        int(meta.get("beam", 0)),
        caption=row["caption"],
        words=words,
        logprob=float(meta.get("logprob", 0.0)),
        attention=attention,
        alternatives=[tuple(a) for a in meta.get("alternatives") or []],
        sha256=row["file_hash"],
        caption_id=row["id"],
        scenes=scenes,
        duration_s=float(meta.get("duration_s", 0.0)),
        source="history",
        model=str(meta.get("model", "")),
        low_information=bool(meta.get("low_information")),
    )
    saved = row["created_at"][:16].replace("T", " ")
    notes = [f"From the history, saved {saved} UTC. The history keeps the file's SHA-256, not the picture."]
    if isinstance(meta.get("note"), str) and meta["note"]:
        notes.append(meta["note"])
    elif item["low_information"]:
        notes.append(BLANK_NOTE)
    if not path.is_file():
        notes.append(f"The file is no longer at {path}.")
    elif file_sha256(path) != row["file_hash"]:
        notes.append(f"The file at {path} has changed since, so it is not shown.")
    elif media == "image":
        try:
            _, prev = load_with_preview(path, 224, PREVIEW_SIDE)
            item.update(preview=jpeg_bytes(prev), thumb=shrink(prev, THUMB_SIDE))
        except ImageError as exc:
            notes.append(f"The file can no longer be read: {_reason(exc)}")
    else:
        _video_frames(item, path, notes)
    item["note"] = " ".join(notes)
    return item


def _video_frames(item: dict, path: Path, notes: list[str]) -> None:
    """Fill a reopened video's picture and scene frames from the (unchanged) file, frame by time."""
    from engine.caption.video import VideoError, frames_at

    scenes = item["scenes"]
    try:
        frames = frames_at(path, [float(s.get("start_s", 0.0)) for s in scenes] or [0.0], SCENE_HEIGHT)
    except VideoError as exc:
        notes.append(f"The video can no longer be read: {_reason(exc)}")
        return
    for scene, frame in zip(scenes, frames):
        if frame is not None:
            scene.update(frame=jpeg_bytes(frame), thumb=shrink(frame, height=SCENE_THUMB_HEIGHT))
    if frames[0] is not None:
        item.update(preview=jpeg_bytes(frames[0]), thumb=shrink(frames[0], THUMB_SIDE))
