"""Pictures and a clip for the Caption panel's screenshot demo, drawn here (flat illustrations made
with PIL and PyAV), so no photo with somebody else's licence is needed or shipped."""

from __future__ import annotations

from pathlib import Path

import numpy as np

W, H = 480, 360


def _grad(top, bottom, h: int = H) -> np.ndarray:
    t = np.linspace(0, 1, h)[:, None, None]
    return (np.array(top, float)[None, None] * (1 - t) + np.array(bottom, float)[None, None] * t) * np.ones(
        (1, W, 1)
    )


def _soft(arr, rng, blur: float = 1.0, noise: int = 5):
    from PIL import Image, ImageFilter

    img = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(blur))
    grain = rng.integers(-noise, noise + 1, (H, W, 3))
    return Image.fromarray(np.clip(np.asarray(img, np.int16) + grain, 0, 255).astype(np.uint8))


def _person(d, x, y, s, shirt, pants=(40, 40, 60), skin=(230, 190, 160)) -> None:
    d.ellipse([x - 6 * s, y - 34 * s, x + 6 * s, y - 22 * s], fill=skin)
    d.rectangle([x - 8 * s, y - 22 * s, x + 8 * s, y], fill=shirt)
    d.rectangle([x - 7 * s, y, x - 1 * s, y + 22 * s], fill=pants)
    d.rectangle([x + 1 * s, y, x + 7 * s, y + 22 * s], fill=pants)


def pool(rng, shift: int = 0):
    from PIL import ImageDraw

    img = _soft(_grad((40, 120, 180), (20, 80, 140)), rng, 0.5, 12)
    d = ImageDraw.Draw(img)
    for _ in range(40):
        x, y = int(rng.integers(0, W)), int(rng.integers(0, H))
        d.ellipse([x - 20, y - 3, x + 20, y + 3], fill=(90, 170, 220))
    d.ellipse([190 + shift, 150, 300 + shift, 230], fill=(240, 248, 255))
    _person(d, 245 + shift, 200, 1.8, (230, 190, 160), (30, 30, 80))
    return _soft(np.asarray(img), rng, 1.2, 6)


def street(rng, shift: int = 0):
    from PIL import ImageDraw

    img = _soft(_grad((150, 180, 210), (200, 210, 220)), rng, 0.5)
    d = ImageDraw.Draw(img)
    for x0, h, c in ((0, 260, (150, 110, 90)), (150, 300, (190, 180, 160)), (330, 240, (120, 120, 130))):
        d.rectangle([x0, H - h, x0 + 150, H], fill=c)
        for wx in range(x0 + 15, x0 + 140, 30):
            for wy in range(H - h + 20, H - 80, 40):
                d.rectangle([wx, wy, wx + 14, wy + 22], fill=(60, 70, 90))
    d.rectangle([0, 300, W, H], fill=(90, 90, 95))
    _person(d, 230 + shift, 300, 1.9, (30, 30, 30))
    _person(d, 300 - shift, 295, 1.7, (200, 200, 60))
    return _soft(np.asarray(img), rng)


def snow(rng):
    from PIL import ImageDraw

    arr = _grad((120, 150, 200), (190, 205, 230))
    arr[120:] = _grad((240, 242, 248), (252, 252, 255), H - 120)
    img = _soft(arr, rng, 0.5)
    d = ImageDraw.Draw(img)
    d.polygon([(0, 120), (140, 40), (300, 120)], fill=(230, 235, 245))
    _person(d, 200, 230, 2.6, (200, 30, 30), (30, 30, 40))
    d.line([(120, 300), (300, 280)], fill=(30, 30, 30), width=6)
    return _soft(np.asarray(img), rng, 1.0, 4)


def field(rng):
    from PIL import ImageDraw

    arr = _grad((120, 180, 230), (170, 210, 240))
    arr[150:] = _grad((80, 150, 50), (50, 120, 35), H - 150)
    img = _soft(arr, rng, 0.6, 14)
    d = ImageDraw.Draw(img)
    _person(d, 150, 240, 2.2, (220, 40, 40))
    _person(d, 320, 250, 2.0, (240, 200, 40))
    d.ellipse([225, 280, 255, 310], fill=(250, 250, 250))
    return _soft(np.asarray(img), rng, 1.0, 10)


def bike(rng):
    from PIL import ImageDraw

    arr = _grad((140, 190, 240), (200, 225, 245))
    arr[220:] = _grad((140, 120, 90), (120, 100, 70), H - 220)
    img = _soft(arr, rng, 0.5, 8)
    d = ImageDraw.Draw(img)
    for cx in (170, 310):
        d.ellipse([cx - 50, 220, cx + 50, 320], outline=(20, 20, 20), width=8)
    d.line([(170, 270), (240, 270), (310, 270), (260, 200), (170, 270)], fill=(200, 30, 30), width=7)
    _person(d, 240, 200, 2.0, (40, 120, 200))
    return _soft(np.asarray(img), rng)


def beach(rng):
    from PIL import ImageDraw

    arr = _grad((110, 170, 235), (190, 220, 245))
    arr[120:200] = _grad((30, 110, 170), (80, 160, 200), 80)
    arr[200:] = _grad((225, 205, 160), (240, 220, 180), H - 200)
    img = _soft(arr, rng, 0.6)
    d = ImageDraw.Draw(img)
    d.ellipse([60, 180, 420, 215], fill=(245, 250, 255))
    _person(d, 160, 250, 2.4, (230, 190, 160), (200, 40, 40))
    _person(d, 330, 240, 2.2, (230, 190, 160), (40, 60, 200))
    return _soft(np.asarray(img), rng, 1.0, 4)


PICTURES = {"pool": pool, "street": street, "snow": snow, "field": field, "bike": bike, "beach": beach}


def write_clip(path: Path, fps: int = 8, seconds: float = 4.0) -> None:
    """Two shots (the pool, then the street), the people moving a little in each."""
    import av

    with av.open(str(path), "w") as c:
        s = c.add_stream("mpeg4", rate=fps)
        s.width, s.height, s.pix_fmt = W, H, "yuv420p"
        n = int(fps * seconds)
        for i in range(n):
            rng = np.random.default_rng(1)
            img = pool(rng, i * 3) if i < n // 2 else street(rng, (i - n // 2) * 3)
            for pkt in s.encode(av.VideoFrame.from_image(img)):
                c.mux(pkt)
        for pkt in s.encode():
            c.mux(pkt)


def make_files(folder: Path) -> list[Path]:
    """The demo's files in ``folder``: six pictures, a clip and one damaged download."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, draw in PICTURES.items():
        path = folder / f"{name}.jpg"
        draw(np.random.default_rng(0)).save(path, quality=92)
        paths.append(path)
    clip = folder / "holiday_clip.mp4"
    write_clip(clip)
    broken = folder / "download.jpg"
    broken.write_bytes(paths[1].read_bytes()[:6000])  # cut short, as an interrupted download
    return [*paths, broken, clip]


def fill(panel) -> None:
    """What ``desktop.views.caption.demo`` shows: the files above captioned synchronously on this
    thread (nothing is saved), a video selected on its first scene, one word's map drawn."""
    import atexit
    import shutil
    import tempfile

    from desktop import caption_ops as ops

    folder = Path(tempfile.mkdtemp(prefix="parlance-caption-demo-"))
    atexit.register(shutil.rmtree, folder, True)  # kept while the app runs ("Caption again" reads it)
    paths = [str(p) for p in make_files(folder)]
    panel.sources = paths
    reports: list[dict] = []
    result = ops.caption_paths(paths, panel.beam.value(), progress=reports.append)
    for info in reports:
        for item in info.get("items", []):
            item["note"] = ""
        panel.apply_progress("demo", info)
    panel.progress_row.hide()
    panel._report("demo", result)
    panel._after_change()
    clip = next(k for k, it in panel.items.items() if it["media"] == "video" and not it.get("error"))
    panel.grid.select(clip)
    panel.detail.timeline.setCurrentRow(1)  # the first scene, on its own frame
    words = panel.detail.view["words"] if panel.detail.view else []
    pick = next(
        (i for i, w in enumerate(words) if w in ("dog", "boy", "man", "girl", "people")), len(words) - 1
    )
    panel.detail.select_word(pick)
