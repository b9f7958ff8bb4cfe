"""Video sampling and captioning on clips generated here with PyAV; bad videos get clear errors."""

from __future__ import annotations

import av
import numpy as np
import pytest
import torch
from caption_fixtures import write_clip

from engine.caption.captioner import Captioner, caption_options
from engine.caption.decoder import CaptionerConfig
from engine.caption.model import CaptionModel
from engine.caption.video import (
    SamplingOptions,
    VideoError,
    caption_video,
    frames_at,
    iter_samples,
    scene_ends,
    video_duration,
)
from engine.caption.vocab import Vocab


@pytest.fixture(scope="module")
def tiny_captioner():
    torch.manual_seed(0)
    vocab = Vocab(["a", "red", "blue", "screen"])
    cfg = CaptionerConfig(
        vocab_size=len(vocab), region_dim=16, embed_dim=8, hidden_dim=16, attn_dim=8, dropout=0.0, max_len=6
    )
    return Captioner(CaptionModel(cfg, pretrained_encoder=False), vocab)


def test_uniform_and_scene_sampling(tmp_path):
    p = tmp_path / "clip.mp4"
    write_clip(p)
    frames = list(iter_samples(p, 224, SamplingOptions(every_s=1.0, scene_threshold=0.3, min_scene_s=0.5)))
    times = [f.time_s for f in frames]
    assert times == sorted(times)
    assert frames[0].reason == "scene" and frames[0].scene == 0 and frames[0].time_s == pytest.approx(0.0)
    cuts = [f for f in frames if f.reason == "scene"]
    assert len(cuts) == 2 and cuts[1].time_s == pytest.approx(1.5, abs=0.11)
    assert [f.scene for f in frames] == sorted(f.scene for f in frames)
    uniform = [f.time_s for f in frames if f.reason == "uniform"]
    assert uniform and all(b - a >= 0.99 for a, b in zip(times, times[1:]) if b in uniform)
    for f in frames:
        assert f.image.shape == (224, 224, 3) and f.image.dtype == np.uint8
    red, blue = frames[0].image.mean(axis=(0, 1)), cuts[1].image.mean(axis=(0, 1))
    assert red[0] > 150 > red[2] and blue[2] > 150 > blue[0]
    assert cuts[1].thumb is not None and cuts[1].thumb.shape[0] == 90
    assert len(frames) <= 6


def test_frames_at_finds_the_frame_of_each_time_in_any_order(tmp_path):
    p = tmp_path / "clip.mp4"
    write_clip(p, seconds=4.0, cut_at=2.0, size=(160, 96))
    late, early, past = frames_at(p, [2.5, 0.3, 60.0], height=48)
    assert past is None  # after the end
    assert early.shape == (48, 80, 3) and late.shape == (48, 80, 3)
    red, blue = early.mean(axis=(0, 1)), late.mean(axis=(0, 1))
    assert red[0] > 150 > red[2] and blue[2] > 150 > blue[0]
    assert frames_at(p, []) == []
    with pytest.raises(VideoError, match="file not found"):
        frames_at(tmp_path / "gone.mp4", [0.0])


def test_max_samples_bounds_the_work(tmp_path):
    p = tmp_path / "clip.mp4"
    write_clip(p, seconds=4.0)
    frames = list(iter_samples(p, 32, SamplingOptions(every_s=0.1, max_samples=5)))
    assert len(frames) == 5


def test_caption_video_gives_clip_caption_and_scene_timeline(tmp_path, tiny_captioner):
    p = tmp_path / "clip.mp4"
    write_clip(p)
    vc = caption_video(
        tiny_captioner,
        p,
        caption_options(2),
        SamplingOptions(every_s=0.5, scene_threshold=0.3, min_scene_s=0.5),
        batch_size=2,
    )
    assert vc.n_sampled >= 6
    assert len(vc.scenes) == 2
    assert vc.scenes[0].start_s == pytest.approx(0.0) and vc.scenes[1].start_s == pytest.approx(1.5, abs=0.11)
    assert sum(s.n_frames for s in vc.scenes) == vc.n_sampled
    assert all(s.caption is not None and s.caption.attention.shape[1:] == (7, 7) for s in vc.scenes)
    assert isinstance(vc.caption.text, str)
    length = video_duration(p)
    assert length == pytest.approx(3.0, abs=0.1)  # the written clip: 3 s
    ends = scene_ends([s.start_s for s in vc.scenes], length)
    assert ends == [vc.scenes[1].start_s, length]  # until the next cut, the last until the end
    assert scene_ends([], 3.0) == [] and video_duration(tmp_path / "none.mp4") is None


def test_text_file_named_mp4(tmp_path, tiny_captioner):
    p = tmp_path / "notes.mp4"
    p.write_text("not a video at all\n" * 10)
    with pytest.raises(VideoError, match="notes.mp4: not a readable video"):
        caption_video(tiny_captioner, p)


def test_zero_byte_and_missing_video(tmp_path):
    p = tmp_path / "empty.mp4"
    p.write_bytes(b"")
    with pytest.raises(VideoError, match="empty file"):
        list(iter_samples(p))
    with pytest.raises(VideoError, match="not found"):
        list(iter_samples(tmp_path / "gone.mp4"))


def test_video_with_no_frames(tmp_path):
    p = tmp_path / "header_only.mkv"
    c = av.open(str(p), "w", format="matroska")
    s = c.add_stream("mpeg4", rate=10)
    s.width, s.height, s.pix_fmt = 64, 64, "yuv420p"
    c.start_encoding()
    c.close()
    with pytest.raises(VideoError, match="no frames"):
        list(iter_samples(p))


def test_audio_only_file(tmp_path):
    p = tmp_path / "sound.m4a"
    c = av.open(str(p), "w")
    s = c.add_stream("aac", rate=16000)
    frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
    frame.sample_rate = 16000
    for pkt in [*s.encode(frame), *s.encode()]:
        c.mux(pkt)
    c.close()
    with pytest.raises(VideoError, match="no video stream"):
        list(iter_samples(p))


def test_unsupported_codec(tmp_path):
    if "libx264" not in av.codecs_available:
        pytest.skip("this FFmpeg build has no H.264 encoder to make the sample")
    good = tmp_path / "h264.mp4"
    write_clip(good, seconds=1.0, codec="libx264")
    data = good.read_bytes()
    assert b"avc1" in data
    bad = tmp_path / "unknown_codec.mp4"
    bad.write_bytes(data.replace(b"avc1", b"zzzz"))  # a codec tag no decoder knows
    with pytest.raises(VideoError, match="unsupported video codec"):
        list(iter_samples(bad))


def test_cut_between_similar_looking_shots(tmp_path):
    """Two shots with the same colour palette (histograms alike) still split into two scenes."""
    rng = np.random.default_rng(0)
    shots = [rng.integers(0, 255, (6, 8, 3), dtype=np.uint8) for _ in range(2)]
    p = tmp_path / "same_palette.mp4"
    c = av.open(str(p), "w")
    s = c.add_stream("mpeg4", rate=10)
    s.width, s.height, s.pix_fmt = 96, 64, "yuv420p"
    for i in range(30):
        arr = np.kron(shots[i // 15], np.ones((11, 12, 1), np.uint8))[:64, :96]
        for pkt in s.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(arr), format="rgb24")):
            c.mux(pkt)
    for pkt in s.encode():
        c.mux(pkt)
    c.close()
    frames = list(iter_samples(p, 32, SamplingOptions(every_s=10.0)))
    assert [f.reason for f in frames] == ["scene", "scene"]
    assert frames[1].time_s == pytest.approx(1.5, abs=0.11)


def _marked_clip(path, n=30, fps=10, first_pts=0, fmt=None, faststart=False):
    """Frames whose top half is white (an orientation mark), pts from ``first_pts``."""
    c = av.open(str(path), "w", format=fmt, options={"movflags": "faststart"} if faststart else {})
    s = c.add_stream("mpeg4", rate=fps)
    s.width, s.height, s.pix_fmt = 64, 48, "yuv420p"
    for i in range(n):
        arr = np.zeros((48, 64, 3), np.uint8)
        arr[:24] = 255
        frame = av.VideoFrame.from_ndarray(arr, format="rgb24")
        frame.pts = first_pts + i
        for p in s.encode(frame):
            c.mux(p)
    for p in s.encode():
        c.mux(p)
    c.close()


def test_a_phone_portrait_video_is_sampled_upright(tmp_path):
    """A 90° display matrix in the track header (how phones store portrait video): frames are turned
    as the file says, like an image's EXIF orientation; they were captioned sideways (bug hunt)."""
    import struct

    p = tmp_path / "portrait.mp4"
    _marked_clip(p, n=10)
    data = p.read_bytes()
    identity = struct.pack(">9i", 0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000)
    turned = struct.pack(">9i", 0, 0x10000, 0, -0x10000, 0, 0, 0, 0, 0x40000000)
    at = data.find(identity, data.find(b"tkhd"))
    assert at > 0
    p.write_bytes(data[:at] + turned + data[at + 36 :])
    first = next(iter_samples(p, 64, SamplingOptions(thumb_height=40)))
    assert first.thumb.shape[0] > first.thumb.shape[1]  # portrait
    # the white top of the stored frame is on the right once turned clockwise
    assert first.image[:, -8:].mean() > 200 and first.image[:, :8].mean() < 50


def test_times_count_from_the_stream_start_and_a_cut_copy_says_so(tmp_path, tiny_captioner):
    """A stream starting at 5 s (MPEG-TS, cameras) was a 7.2 s clip with a timeline from 5 s; a copy
    cut short was captioned with the length its header claims and no word of it (bug hunt)."""
    late = tmp_path / "late.mp4"
    _marked_clip(late, n=30, first_pts=50)
    vc = caption_video(tiny_captioner, late, caption_options(1))
    assert vc.scenes[0].start_s == pytest.approx(0.0, abs=0.01)
    assert vc.length_s == pytest.approx(3.0, abs=0.15) and vc.note == ""
    assert frames_at(late, [0.0])[0] is not None

    whole = tmp_path / "whole.mp4"
    _marked_clip(whole, n=200, faststart=True)
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size * 2 // 3])
    full = caption_video(tiny_captioner, whole, caption_options(1))
    assert full.length_s == pytest.approx(20.0, abs=0.15) and full.note == ""
    short = caption_video(tiny_captioner, cut, caption_options(1))
    assert short.length_s < 16 and "stops after" in short.note and "20.0 s" in short.note
