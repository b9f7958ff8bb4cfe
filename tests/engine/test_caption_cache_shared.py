"""The captioner's image-feature cache is shared by the Train panel's runs of one data folder
(``<data folder>/cache/features``): a second run on the same images extracts nothing and keeps no
copy in its own folder, and a run on other images (even with the same names and file sizes) gets
its own features."""

from __future__ import annotations

import shutil
from pathlib import Path

from train_task_fixtures import TINY_CAPTIONER, write_caption_set

from engine.history import HistoryStore
from engine.lab import task_jobs


def test_the_cache_key_tells_image_folders_apart_even_with_the_same_files(tmp_path):
    from engine.caption.features import cache_key

    images, _ = write_caption_set(tmp_path / "a", train=3, other=1)
    copy = tmp_path / "b" / "images"
    shutil.copytree(images, copy)  # the same names, sizes and modification times
    names = sorted(p.name for p in images.iterdir())
    key = cache_key(images, names, "enc")
    assert cache_key(images.parent / ".." / "a" / "images", names, "enc") == key  # one folder, two spellings
    assert cache_key(copy, names, "enc") != key
    assert cache_key(images, names, "other encoder") != key and cache_key(images, names[1:], "enc") != key


def test_the_panels_cache_is_in_the_data_folder(tmp_path):
    from engine.lab.task_runs import feature_cache_dir

    data = tmp_path / "data"
    run = data / "models" / "run-0003-captioner"
    assert feature_cache_dir(run) == data / "cache" / "features"
    assert (
        feature_cache_dir(tmp_path / "session" / "run-1-captioner")
        == tmp_path / "session" / "cache" / "features"
    )
    (run / "features").mkdir(parents=True)  # a run from before the cache was shared, resumed
    assert feature_cache_dir(run, resume=True) == run / "features"
    assert feature_cache_dir(run) == data / "cache" / "features"


def _extracted(events: list[dict]) -> int:
    return sum(1 for e in events if e["kind"] == "extract")


def test_two_runs_on_the_same_images_extract_once_and_other_images_get_their_own(tmp_path):
    data = tmp_path / "data"  # the app's data folder: runs go in data/models
    out_root = str(data / "models")
    images, captions = write_caption_set(tmp_path / "set1", train=8, other=1)
    tiny = {**TINY_CAPTIONER, "train": {**TINY_CAPTIONER["train"], "epochs": 1, "max_steps": 1}}
    config = {**tiny, "images": str(images), "captions": str(captions)}
    store = HistoryStore.open_in_memory()
    first_events, second_events, other_events = [], [], []
    first = task_jobs.captioner_job(
        config, out_root, isolate=False, progress=first_events.append, store=store
    )
    cache = data / "cache" / "features"
    entries = sorted(p.name for p in cache.iterdir())
    assert _extracted(first_events) > 0 and len(entries) == 4  # train and validation: .npy + .json each
    second = task_jobs.captioner_job(
        config, out_root, isolate=False, progress=second_events.append, store=store
    )
    assert second["folder"] != first["folder"] and store.get_run(second["run_id"])["status"] == "complete"
    assert _extracted(second_events) == 0  # read from the shared cache
    assert sorted(p.name for p in cache.iterdir()) == entries
    for run in (first, second):  # no per-run copy of the features
        assert not (Path(run["folder"]) / "features").exists()
        assert not list(Path(run["folder"]).rglob("*.npy"))

    other_images = tmp_path / "set2" / "images"  # the same names and file sizes, another folder
    shutil.copytree(images, other_images)
    other = {**config, "images": str(other_images)}
    task_jobs.captioner_job(other, out_root, isolate=False, progress=other_events.append, store=store)
    assert _extracted(other_events) > 0 and len(list(cache.iterdir())) == 8


class _FakeCaptioner:
    """What extract() reads of a captioner: a trunk (image -> (n, C, g, g)) and its settings."""

    def __init__(self) -> None:
        from types import SimpleNamespace

        import torch

        self.trunk_channels = 4
        self.cfg = SimpleNamespace(encoder="fake", fine_tune_blocks=0, image_size=64)
        self.trunk = torch.nn.Sequential(torch.nn.AdaptiveAvgPool2d(2), torch.nn.Conv2d(3, 4, 1))


def test_a_failed_extraction_leaves_no_part_file_and_a_killed_ones_is_removed_next_time(
    tmp_path, monkeypatch
):
    """Review: the part file (hundreds of MB for Flickr8k) was removed only on a cancel; out of
    memory, a CUDA error, the app quitting or a killed worker left it in the shared cache for ever."""
    import os

    import pytest

    from engine.caption import features

    images, _ = write_caption_set(tmp_path / "set", train=4, other=1)
    names = sorted(p.name for p in images.iterdir())
    cache = tmp_path / "cache"
    real = features.load_batches

    def failing(paths, batch_size, size):
        for n, batch in enumerate(real(paths, batch_size, size)):
            if n == 1:
                raise MemoryError("out of memory")
            yield batch

    monkeypatch.setattr(features, "load_batches", failing)
    for error in (MemoryError, KeyboardInterrupt):
        if error is KeyboardInterrupt:  # the app quitting mid-extraction
            monkeypatch.setattr(features, "load_batches", lambda *a: (_ for _ in ()).throw(KeyboardInterrupt))
        with pytest.raises(error):
            features.extract(_FakeCaptioner(), images, names, cache / "train-abc", batch_size=2)
        assert list(cache.iterdir()) == []
    monkeypatch.setattr(features, "load_batches", real)

    dead = cache / "train-abc.99999999.npy.part"  # a worker killed mid-extraction (no such pid)
    dead_index = cache / "val-def.99999999.json.part"
    live = cache / f"val-def.{os.getpid()}.npy.part"  # another extraction of this process, going on
    for path in (dead, dead_index, live):
        path.write_bytes(b"x" * 100)
    done = features.extract(_FakeCaptioner(), images, names, cache / "train-abc", batch_size=2)
    assert done.features.shape == (len(names), 4, 2, 2) and done.ok.all()
    assert sorted(p.name for p in cache.iterdir()) == sorted(["train-abc.npy", "train-abc.json", live.name])
