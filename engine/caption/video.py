"""Video: stream frames with PyAV, sample them uniformly and at scene changes, caption the clip.

Frames are decoded one at a time and dropped; only the sampled frames (a batch at a time), one
running feature sum per open scene and the clip, and a small thumbnail per scene are kept, so
memory stays bounded however long the video is. Scene changes are found by comparing consecutive
frames, downscaled to 64x36 (up to ``analysis_fps`` per second): their mean absolute pixel
difference and the distance of their colour histograms (see :func:`is_cut`). The clip caption
comes from the mean of all sampled frames' region features (the "mean vector of a clip" of the
LRCN/S2VT baselines); each scene gets its own caption from the mean of its frames: a timeline.
Blank frames (black between scenes, a fade, an all-white title card; see
engine.caption.captioner.blank_caption) neither start a scene nor go into any caption; a clip with
nothing else gets a plain caption saying it is blank.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

VIDEO_EXTENSIONS = (
    ".mp4",
    ".mov",
    ".avi",
    ".mkv",
    ".webm",
    ".m4v",
    ".mpg",
    ".mpeg",
    ".wmv",
    ".flv",
    ".3gp",
    ".ts",
    ".ogv",
)


class VideoError(ValueError):
    """A video that cannot be used; ``str()`` is a message a person can read."""

    def __init__(self, path: str | Path, reason: str):
        self.path, self.reason = str(path), reason
        super().__init__(f"{Path(path).name}: {reason}")


def is_video_path(path: str | Path) -> bool:
    return Path(path).suffix.lower() in VIDEO_EXTENSIONS


def media_kind(path: str | Path) -> str:
    """Whether to caption ``path`` as an "image" or a "video": what its first bytes say (a video
    named .jpg is a video), else what its name says."""
    from engine.caption.images import sniff_media

    return sniff_media(path) or ("video" if is_video_path(path) else "image")


@dataclass
class SamplingOptions:
    every_s: float = 2.0  # one uniform sample per this many seconds
    scene_threshold: float = 0.4  # colour-histogram distance (0..1) between frames that starts a scene
    min_pixel_change: float = 20.0  # ... and the mean absolute pixel change (0..255) it also needs
    cut_pixel_change: float = 35.0  # a mean absolute pixel change this large is a cut on its own
    min_scene_s: float = 1.0  # a cut closer than this to the previous one is ignored
    max_samples: int = 2000  # stop sampling after this many frames (very long videos)
    analysis_fps: float = 12.0  # frames per second compared for scene changes (others only decoded)
    thumb_height: int = 90  # scene thumbnail height in pixels


@dataclass
class SampledFrame:
    time_s: float  # presentation time
    reason: str  # "uniform" | "scene" (first frame of a new scene)
    scene: int  # scene number, from 0
    image: np.ndarray  # (size, size, 3) uint8, squashed for the encoder
    thumb: np.ndarray | None = None  # (thumb_height, w, 3) uint8 for the first frame of a scene
    blank: bool = False  # almost one colour: not part of any scene (``scene`` is the one before it)


def _histogram(rgb: np.ndarray) -> np.ndarray:
    """Small frame ``(h, w, 3)`` -> normalised 3 x 16-bin colour histogram ``(48,)``, lightly smoothed
    across neighbouring bins so codec noise at a bin edge does not look like a change."""
    q = (rgb >> 4).reshape(-1, 3).astype(np.int64)  # 16 levels per channel
    h = np.stack([np.bincount(q[:, c], minlength=16) for c in range(3)]).astype(np.float32)  # (3, 16)
    padded = np.pad(h, ((0, 0), (1, 1)), mode="edge")
    h = 0.25 * padded[:, :-2] + 0.5 * h + 0.25 * padded[:, 2:]
    return (h / np.maximum(1.0, h.sum(1, keepdims=True))).reshape(-1)


def _distance(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a - b).sum() / 6.0)  # half L1 per channel, averaged: 0 same .. 1 disjoint


def is_cut(
    small: np.ndarray, prev: np.ndarray, hist: np.ndarray, prev_hist: np.ndarray, opts: SamplingOptions
) -> bool:
    """A scene change between two small frames: the picture changed a lot (a cut between similar-looking
    shots), or the colour distribution moved and the picture changed noticeably (codec noise at a
    histogram bin edge alone is not enough)."""
    change = float(np.abs(small.astype(np.int16) - prev.astype(np.int16)).mean())
    if change >= opts.cut_pixel_change:
        return True
    return change >= opts.min_pixel_change and _distance(hist, prev_hist) > opts.scene_threshold


def video_duration(path: str | Path) -> float | None:
    """The container's duration in seconds (None when it does not say or cannot be read)."""
    import av

    try:
        with av.open(str(path)) as container:
            return container.duration / 1e6 if container.duration else None
    except (av.error.FFmpegError, OSError, UnicodeDecodeError):
        return None


def scene_ends(starts: list[float], length: float) -> list[float]:
    """When each scene of a timeline ends: where the next one starts, the last at ``length``
    (a scene is shown from its first sampled frame until the next cut, not until its last sample)."""
    return [*starts[1:], max(length, starts[-1])] if starts else []


def _start_s(stream) -> float:
    """When the stream's first frame is due (MPEG-TS and camera files often start at 5 s or 1000 s):
    times on the timeline are measured from here."""
    if stream.start_time is not None and stream.time_base:
        return float(stream.start_time * stream.time_base)
    return 0.0


def _claimed_s(container, stream) -> float | None:
    """How long the file says its video is: the stream's own duration (audio may run longer), else
    the container's."""
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    return container.duration / 1e6 if container.duration else None


_TRANSPOSE = {90: "ROTATE_90", 180: "ROTATE_180", 270: "ROTATE_270"}


def upright(frame):
    """The frame as a PIL image turned the way the file says it is shown (a phone's portrait video
    is stored landscape with a display rotation, as a photo's EXIF orientation)."""
    from PIL import Image

    img = frame.to_image()
    turn = _TRANSPOSE.get(round(float(getattr(frame, "rotation", 0) or 0)) % 360)
    return img.transpose(getattr(Image.Transpose, turn)) if turn else img


def open_video(path: str | Path):
    """-> (container, video stream); VideoError for a missing, unreadable or unsupported file."""
    import av

    p = Path(path)
    if not p.is_file():
        raise VideoError(p, "file not found")
    if p.stat().st_size == 0:
        raise VideoError(p, "empty file (0 bytes)")
    if not os.access(p, os.R_OK):
        raise VideoError(p, "permission denied: this account cannot read the file")
    try:
        container = av.open(str(p))
    except av.error.EOFError:
        raise VideoError(p, "the video has no frames (empty or cut short)") from None
    except (av.error.FFmpegError, UnicodeDecodeError) as exc:
        raise VideoError(
            p, f"not a readable video ({exc.__class__.__name__}: damaged or not a video)"
        ) from None
    if not container.streams.video:
        container.close()
        raise VideoError(p, "no video stream (audio only, or not a video)")
    stream = container.streams.video[0]
    if stream.codec_context is None:
        tag = getattr(stream, "codec_tag", "") or "unknown"
        container.close()
        raise VideoError(p, f"unsupported video codec ({tag}): no decoder for it in this FFmpeg build")
    stream.thread_type = "AUTO"  # frame + slice threads
    return container, stream


def frames_at(path: str | Path, times_s: list[float], height: int = 90) -> list[np.ndarray | None]:
    """The first frame at or after each time in ``times_s`` (seconds), ``height`` pixels high, for
    thumbnails of scenes captioned earlier; None for a time past the end. One pass over the stream
    after a seek to the earliest time (keyframe before it), so a few scenes cost about one decode."""
    import av
    from PIL import Image

    order = sorted(range(len(times_s)), key=lambda i: times_s[i])
    out: list[np.ndarray | None] = [None] * len(times_s)
    if not order:
        return out
    container, stream = open_video(path)
    try:
        first = max(0.0, float(times_s[order[0]]))
        t0 = _start_s(stream)
        if first > 0 and stream.time_base:
            try:
                container.seek(
                    int((first + t0) / stream.time_base), stream=stream, backward=True, any_frame=False
                )
            except av.error.FFmpegError:
                container.seek(0)
        k = 0
        rate = float(stream.average_rate or 25.0)
        for n, frame in enumerate(container.decode(stream)):
            t = float(frame.time) - t0 if frame.time is not None else n / rate
            while k < len(order) and t >= float(times_s[order[k]]) - 1e-3:
                img = upright(frame)
                w = max(1, round(img.width * height / max(1, img.height)))
                out[order[k]] = np.asarray(img.resize((w, height), Image.BILINEAR), dtype=np.uint8)
                k += 1
            if k == len(order):
                break
    except av.error.FFmpegError:
        pass  # a damaged tail: the frames found so far are kept
    finally:
        container.close()
    return out


def iter_samples(
    path: str | Path,
    size: int = 224,
    opts: SamplingOptions | None = None,
    cancel=None,
    stats: dict | None = None,
) -> Iterator[SampledFrame]:
    """Decode ``path`` streaming and yield sampled frames in time order (seconds from the stream's
    start, frames upright). ``stats``, when given, is filled as decoding goes: ``last_s`` (time of
    the last decoded frame), ``frame_s`` (one frame's duration), ``claimed_s`` (the length the
    file claims, or None) and ``damaged`` (decoding stopped at an error). A blank frame (see
    :func:`engine.caption.captioner.blank_caption`, judged on the small analysis frame) never starts
    a scene: it is yielded with ``blank`` set and the scene before it (-1 before the first), and the
    next picture after it is compared with it, so a cut through black starts one new scene."""
    import av

    from engine.caption.captioner import blank_caption

    opts = opts or SamplingOptions()
    container, stream = open_video(path)
    stats = {} if stats is None else stats
    from PIL import Image

    from engine.caption.images import pil_to_array

    decoded = sampled = 0
    scene = -1
    next_uniform = 0.0
    last_cut = -1e9
    last_analysed = -1e9
    prev_hist: np.ndarray | None = None
    prev_small: np.ndarray | None = None
    blank = False  # the last analysed frame is blank
    rate = float(stream.average_rate or 25.0)
    t0 = _start_s(stream)
    stats.update(last_s=0.0, frame_s=1.0 / rate, claimed_s=_claimed_s(container, stream), damaged=False)
    try:
        try:
            for frame in container.decode(stream):
                if cancel is not None and cancel.cancelled:
                    return
                t = float(frame.time) - t0 if frame.time is not None else decoded / rate
                stats["last_s"] = max(stats["last_s"], t)
                decoded += 1
                cut = False
                if t - last_analysed >= 1.0 / opts.analysis_fps - 1e-6 or scene < 0:
                    last_analysed = t
                    small = frame.to_ndarray(format="rgb24", width=64, height=36)
                    hist = _histogram(small)
                    blank = blank_caption(small) is not None  # black, a fade: no scene of its own
                    if not blank and (
                        scene < 0
                        or (
                            prev_hist is not None
                            and t - last_cut >= opts.min_scene_s
                            and is_cut(small, prev_small, hist, prev_hist, opts)
                        )
                    ):
                        cut = True
                    prev_hist, prev_small = hist, small
                if not cut and t < next_uniform:
                    continue
                img = upright(frame)
                thumb = None
                if cut:
                    scene, last_cut = scene + 1, t
                    tw = max(1, round(img.width * opts.thumb_height / max(1, img.height)))
                    thumb = np.asarray(img.resize((tw, opts.thumb_height), Image.BILINEAR), dtype=np.uint8)
                next_uniform = t + opts.every_s
                yield SampledFrame(
                    t, "scene" if cut else "uniform", scene, pil_to_array(img, size), thumb, blank
                )
                sampled += 1
                if sampled >= opts.max_samples:
                    return
        except av.error.DecoderNotFoundError:
            raise VideoError(
                path, "unsupported video codec: no decoder for it in this FFmpeg build"
            ) from None
        except av.error.FFmpegError as exc:
            if decoded == 0:
                raise VideoError(path, f"cannot decode the video ({exc.__class__.__name__})") from None
            stats["damaged"] = True  # a damaged tail: keep what was decoded before it
        if decoded == 0:
            raise VideoError(path, "the video has no frames")
    finally:
        container.close()


@dataclass
class Scene:
    start_s: float  # time of the scene's first sampled frame
    end_s: float  # time of its last sampled frame
    n_frames: int  # sampled frames pooled for its caption
    caption: object = None  # engine.caption.captioner.Caption
    thumb: np.ndarray | None = None  # first frame, thumb_height pixels high


@dataclass
class VideoCaption:
    path: str
    caption: object  # Caption of the whole clip (mean of all sampled frames)
    scenes: list[Scene] = field(default_factory=list)  # the timeline
    n_sampled: int = 0  # frames sampled (blank ones are counted but not encoded)
    duration_s: float = 0.0  # time of the last sampled frame
    length_s: float = 0.0  # how long the video runs: what was decoded, or what the file claims
    note: str = ""  # e.g. the video stops before the length its file claims (cut short, damaged)
    n_blank: int = 0  # sampled frames that were blank (almost one colour), left out of the captions


def video_length(stats: dict) -> tuple[float, str]:
    """(length in seconds, note) from :func:`iter_samples`' ``stats``: the claimed length unless
    decoding stopped well before it (a copy cut short, a damaged tail) — then what was decoded, and
    a note saying so."""
    decoded = stats.get("last_s", 0.0) + stats.get("frame_s", 0.0)
    claimed = stats.get("claimed_s")
    if claimed and decoded < claimed - max(1.0, 3 * stats.get("frame_s", 0.0)):
        why = "damaged" if stats.get("damaged") else "cut short"
        return (
            decoded,
            f"The video stops after {decoded:.1f} s of the {claimed:.1f} s its file claims ({why}).",
        )
    if stats.get("damaged"):
        return max(decoded, claimed or 0.0), "A damaged part of the video was skipped."
    return max(decoded, claimed or 0.0), ""


def caption_video(
    captioner,
    path: str | Path,
    options=None,
    sampling: SamplingOptions | None = None,
    batch_size: int = 8,
    progress: Callable[[float], None] | None = None,
    cancel=None,
) -> VideoCaption:
    """Caption a video: one clip caption and a caption per scene. Raises VideoError for bad files."""
    import torch

    from engine.caption.captioner import blank_caption, plain_caption

    sampling = sampling or SamplingOptions()
    total = None  # (49, D) running sum over all sampled frames
    n_total = 0
    scenes: list[Scene] = []
    scene_sum: dict[int, torch.Tensor] = {}
    ready: list[tuple[Scene, torch.Tensor]] = []  # closed scenes waiting to be captioned
    pending: list[SampledFrame] = []

    def flush() -> None:
        nonlocal total, n_total
        if not pending:
            return
        regions = captioner.encode(np.stack([f.image for f in pending])).float()  # (n, 49, D)
        for f, r in zip(pending, regions):
            total = r.clone() if total is None else total + r
            n_total += 1
            scene_sum[f.scene] = r.clone() if f.scene not in scene_sum else scene_sum[f.scene] + r
            sc = scenes[f.scene]
            sc.end_s, sc.n_frames = f.time_s, sc.n_frames + 1
        pending.clear()

    def close_scenes(upto: int) -> None:  # scenes < upto are complete: queue their mean features
        for s in sorted(k for k in scene_sum if k < upto):
            ready.append((scenes[s], scene_sum.pop(s) / scenes[s].n_frames))
        if len(ready) >= 16:
            caption_ready()

    def caption_ready() -> None:
        if ready:
            caps = captioner.caption_regions(torch.stack([m for _, m in ready]), options)
            for (sc, _), cap in zip(ready, caps):
                sc.caption = cap
            ready.clear()

    stats: dict = {}
    blanks: dict[str, int] = {}  # plain caption of each blank frame -> how many
    for f in iter_samples(path, captioner.image_size, sampling, cancel, stats):
        if f.blank:
            text = blank_caption(f.image, "video") or "a blank, almost uniform video"
            blanks[text] = blanks.get(text, 0) + 1
            continue
        if f.reason == "scene":
            scenes.append(Scene(f.time_s, f.time_s, 0, None, f.thumb))
        pending.append(f)
        if len(pending) >= batch_size:
            flush()
            close_scenes(f.scene)
            if progress is not None:
                progress(f.time_s)
    flush()
    close_scenes(len(scenes))
    caption_ready()
    n_blank = sum(blanks.values())
    if n_total + n_blank == 0:
        raise VideoError(path, "no frames could be sampled")
    length, note = video_length(stats)
    if n_total == 0:
        clip = plain_caption(max(blanks, key=blanks.get))
        why = f"Every sampled frame ({n_blank}) is blank (almost one colour): there is nothing to caption."
    else:
        clip = captioner.caption_regions((total / n_total).unsqueeze(0), options)[0]
        why = (
            f"{n_blank} of {n_total + n_blank} sampled frames were blank (almost one colour) and "
            "were left out of the captions."
            if n_blank
            else ""
        )
    note = " ".join(filter(None, [note, why]))
    end = scenes[-1].end_s if scenes else 0.0
    return VideoCaption(str(path), clip, scenes, n_total + n_blank, end, max(length, end), note, n_blank)
