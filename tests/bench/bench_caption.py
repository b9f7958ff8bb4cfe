"""Speed of the captioner (issue 6 targets, CPU): one 224x224 image with beam 3 < 80 ms after warm-up,
a folder of 100 images > 15 images/s, a 1-minute 720p video < 20 s.

    python tests/bench/bench_caption.py [--model DIR] [--runs 5] [--threads N] [--precision auto|fp32|bf16]
                                        [--skip-video] [--json]

``--model`` defaults to the shipped ``resources/models/captioner``; without one a randomly initialised
model of the default configuration is used (same cost per step, but its captions run to
``max_len``, so it is slower than a trained model). Inputs are generated (nothing is read from
../shared): a 224x224 photo-like image; 100 photo-like 500x375 JPEGs; a 60 s 1280x720 30 fps H.264
clip with six scenes (cached in ``--workdir``). Figures are medians of ``--runs`` runs after one
warm-up. The peer, in the same run: the same decoder (same precision) searched by
``engine.decoding``'s beam search (model step batched over beams, bookkeeping in a per-beam Python
loop) instead of the all-tensor beam of ``engine.batch_search`` (``engine.decoding.decode_batch``);
also one image with the decoder in fp32 (``--precision fp32``) to show what the bf16 search buys.
For an ensemble folder the peer searches with its first member alone.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def photo_like(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """Smooth colour blobs with some fine texture: JPEG-decodes like a photo, not like flat colour."""
    from PIL import Image

    base = rng.integers(0, 255, (max(2, h // 40), max(2, w // 40), 3), dtype=np.uint8)
    img = np.asarray(Image.fromarray(base).resize((w, h), Image.BICUBIC), dtype=np.int16)
    img = img + rng.integers(-12, 12, (h, w, 3), dtype=np.int16)
    return np.clip(img, 0, 255).astype(np.uint8)


def make_video(path: Path, seconds: int = 60, fps: int = 30, size=(1280, 720), scenes: int = 6) -> None:
    import av

    w, h = size
    rng = np.random.default_rng(0)
    n = seconds * fps
    per_scene = n // scenes
    textures = [photo_like(rng, h + 64, w + per_scene) for _ in range(scenes)]
    tmp = path.with_suffix(".part.mp4")
    c = av.open(str(tmp), "w")
    s = c.add_stream("libx264", rate=fps, options={"preset": "ultrafast", "crf": "23"})
    s.width, s.height, s.pix_fmt = w, h, "yuv420p"
    for i in range(n):
        tex = textures[min(i // per_scene, scenes - 1)]
        dx = i % per_scene  # a slow pan (1 px per frame) inside each scene
        frame = av.VideoFrame.from_ndarray(
            np.ascontiguousarray(tex[32 : 32 + h, dx : dx + w]), format="rgb24"
        )
        for p in s.encode(frame):
            c.mux(p)
    for p in s.encode():
        c.mux(p)
    c.close()
    os.replace(tmp, path)


def median_s(fn, runs: int) -> tuple[float, object]:
    out, times = None, []
    fn()  # warm-up
    for _ in range(runs):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=None)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0 = torch default)")
    ap.add_argument("--workdir", default="/tmp/parlance_bench_caption")
    ap.add_argument("--skip-video", action="store_true")
    ap.add_argument("--precision", default="auto", choices=["auto", "fp32", "bf16"], help="decoder precision")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    import torch
    from PIL import Image

    from engine.caption.captioner import Captioner, caption_options
    from engine.caption.decoder import CaptionerConfig
    from engine.caption.model import CaptionModel
    from engine.caption.video import caption_video
    from engine.caption.vocab import Vocab
    from engine.decoding import DecodeOptions, decode
    from engine.paths import default_model

    if args.threads:
        torch.set_num_threads(args.threads)
    folder = Path(args.model) if args.model else default_model("captioner")
    if (folder / "config.json").is_file():
        cap = Captioner.from_folder(folder, precision=args.precision)
        model_desc = str(folder)
    else:
        torch.manual_seed(0)
        vocab = Vocab([f"w{i}" for i in range(2600)])
        model = CaptionModel(CaptionerConfig(vocab_size=len(vocab))).eval()
        cap = Captioner(model, vocab, precision=args.precision)
        model_desc = "random init, default config (no trained model found)"
    work = Path(args.workdir)
    work.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    results: dict[str, object] = {
        "model": model_desc,
        "threads": torch.get_num_threads(),
        "decoder_precision": str(cap.dtype).removeprefix("torch."),
        "ensemble_members": cap.n_members,
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
        "load_avg_1m_at_start": round(os.getloadavg()[0], 2),
    }

    # -- one image, beam 3 -----------------------------------------------------------------------
    image = photo_like(rng, 224, 224)[None]
    opts = caption_options(3)
    t_img, c1 = median_s(lambda: cap.caption_arrays(image, opts), args.runs)
    t_enc, _ = median_s(lambda: cap.encode(image), args.runs)
    regions = cap.encode(image)
    t_beam, _ = median_s(lambda: cap.caption_regions(regions, opts), args.runs)
    dec, v = cap.decoder, cap.vocab  # the peer searches with the very same (possibly bf16) decoder

    width = cap.model.cfg.feature_dim  # an ensemble's regions hold every member's: the peer takes the first

    def peer(regions=regions):
        static, state = dec.start(regions[..., :width].to(cap.dtype), 1)
        state = {**state, **static}

        def step(tokens, st):
            logp, new, alpha = dec.step(tokens, st, st)
            return logp, {**st, **new}, {"image": alpha}

        o = DecodeOptions(
            method="beam",
            beam_size=3,
            max_len=30,
            min_len=2,
            length_penalty=0.0,
            block_ngram=3,
            ban_unk=True,
            repetition_penalty=1.0,
        )
        return decode(
            step, state, batch=regions.shape[0], bos=v.bos_id, eos=v.eos_id, options=o, unk=v.unk_id
        )

    t_peer, _ = median_s(peer, args.runs)
    results["one_image_beam3_ms"] = round(1000 * t_img, 1)
    results["one_image_encoder_ms"] = round(1000 * t_enc, 1)
    results["one_image_batched_beam_ms"] = round(1000 * t_beam, 1)
    results["one_image_peer_python_beam_ms"] = round(1000 * t_peer, 1)
    results["one_image_caption"] = c1[0].text
    regions16 = cap.encode(np.concatenate([photo_like(rng, 224, 224)[None] for _ in range(16)]))
    t16, _ = median_s(lambda: cap.caption_regions(regions16, opts), args.runs)
    t16_peer, _ = median_s(lambda: peer(regions16), args.runs)
    results["batch16_batched_beam_ms"] = round(1000 * t16, 1)
    results["batch16_peer_python_beam_ms"] = round(1000 * t16_peer, 1)

    # -- a folder of 100 images ------------------------------------------------------------------
    img_dir = work / "images100"
    if not img_dir.is_dir() or len(list(img_dir.glob("*.jpg"))) != 100:
        img_dir.mkdir(exist_ok=True)
        for i in range(100):
            Image.fromarray(photo_like(rng, 375, 500)).save(img_dir / f"img{i:03d}.jpg", quality=90)
    paths = sorted(img_dir.glob("*.jpg"))
    runs = max(1, min(args.runs, 3))
    t_folder, out = median_s(lambda: cap.caption_files(paths, opts, batch_size=16), runs)
    assert all(r.caption is not None for r in out)
    results["folder_100_images_s"] = round(t_folder, 2)
    results["folder_images_per_s"] = round(100 / t_folder, 1)

    # -- a 1-minute 720p video -------------------------------------------------------------------
    if not args.skip_video:
        video = work / "minute_720p.mp4"
        if not video.is_file():
            t0 = time.perf_counter()
            make_video(video)
            results["video_generation_s"] = round(time.perf_counter() - t0, 1)
        t_video, vc = median_s(lambda: caption_video(cap, video, opts), max(1, min(args.runs, 3)))
        results["video_60s_720p_s"] = round(t_video, 2)
        results["video_frames_sampled"] = vc.n_sampled
        results["video_scenes"] = len(vc.scenes)
    results["load_avg_1m_at_end"] = round(os.getloadavg()[0], 2)
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        for k, val in results.items():
            print(f"{k:34s} {val}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
