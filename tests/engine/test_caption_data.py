"""Caption data: file formats, the hash split, the vocabulary, the feature cache, model folders."""

from __future__ import annotations

import json
from collections import Counter

import numpy as np
import pytest
import torch
from PIL import Image

from engine.caption import data as D
from engine.caption.decoder import CaptionerConfig
from engine.caption.features import cached_features, load_cached
from engine.caption.model import CaptionModel, load, save
from engine.caption.vocab import Vocab, tokenize
from engine.checkpoint import CheckpointError


def test_kaggle_csv_with_quoted_commas_and_holes(tmp_path):
    p = tmp_path / "captions.txt"
    p.write_text(
        'image,caption\na.jpg,A dog runs .\na.jpg,"A dog, brown, runs"\n,orphan caption\n'
        "b.jpg,\nb.jpg,Two men play football\n\n",
        encoding="utf-8",
    )
    cs = D.read_captions(p)
    assert cs.format == "csv" and cs.skipped == 2
    assert cs.captions == {
        "a.jpg": ["A dog runs .", "A dog, brown, runs"],
        "b.jpg": ["Two men play football"],
    }


def test_flickr_token_format(tmp_path):
    p = tmp_path / "Flickr8k.token.txt"
    p.write_text(
        "1000.jpg#0\tA child in a pink dress .\n1000.jpg#1\tA girl going into a building .\n"
        "2000.jpg#0\tA black dog .\nbroken line without tab\n",
        encoding="utf-8",
    )
    cs = D.read_captions(p)
    assert cs.format == "token" and cs.skipped == 1
    assert cs.captions["1000.jpg"] == ["A child in a pink dress .", "A girl going into a building ."]
    assert cs.captions["2000.jpg"] == ["A black dog ."]


def test_coco_json(tmp_path):
    p = tmp_path / "captions_val.json"
    p.write_text(
        json.dumps(
            {
                "images": [{"id": 1, "file_name": "x.jpg"}, {"id": 2, "file_name": "y.jpg"}],
                "annotations": [
                    {"image_id": 1, "caption": "A cat."},
                    {"image_id": 2, "caption": "A bus."},
                    {"image_id": 1, "caption": "A cat on a mat."},
                    {"image_id": 9, "caption": "lost"},
                ],
            }
        )
    )
    cs = D.read_captions(p)
    assert cs.format == "coco" and cs.skipped == 1
    assert cs.captions == {"x.jpg": ["A cat.", "A cat on a mat."], "y.jpg": ["A bus."]}


def test_bad_caption_files(tmp_path):
    with pytest.raises(FileNotFoundError):
        D.read_captions(tmp_path / "none.csv")
    (tmp_path / "e.csv").write_text("")
    with pytest.raises(ValueError, match="empty"):
        D.read_captions(tmp_path / "e.csv")
    (tmp_path / "h.csv").write_text("file,text\na.jpg,hello\n")
    with pytest.raises(ValueError, match="'image' and 'caption'"):
        D.read_captions(tmp_path / "h.csv")
    (tmp_path / "j.json").write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        D.read_captions(tmp_path / "j.json")


def test_split_is_deterministic_and_roughly_90_5_5():
    names = [f"{i:05d}_img.jpg" for i in range(4000)]
    counts = Counter(D.split_of(n) for n in names)
    assert counts["test"] / 4000 == pytest.approx(0.05, abs=0.015)
    assert counts["val"] / 4000 == pytest.approx(0.05, abs=0.015)
    assert [D.split_of(n) for n in names[:50]] == [D.split_of(n) for n in names[:50]]
    assert D.split_of("sub/dir/x.jpg") == D.split_of("x.jpg")  # folder-independent
    cs = D.CaptionSet({n: ["c"] for n in names})
    parts = [set(D.split(cs, s)) for s in D.SPLITS]
    assert sum(map(len, parts)) == 4000 and not (parts[0] & parts[1]) and not (parts[1] & parts[2])
    with pytest.raises(ValueError, match="known"):
        D.split(cs, "dev")


def test_with_images_drops_missing_files(tmp_path):
    Image.new("RGB", (8, 8)).save(tmp_path / "a.jpg")
    cs = D.with_images(D.CaptionSet({"a.jpg": ["x"], "b.jpg": ["y"]}), tmp_path)
    assert list(cs.captions) == ["a.jpg"] and cs.missing == ["b.jpg"]
    with pytest.raises(ValueError, match="none of the"):
        D.with_images(D.CaptionSet({"z.jpg": ["x"]}), tmp_path)


def test_vocab_min_count_and_json_round_trip(tmp_path):
    v = Vocab.build(["A dog runs.", "a dog sits", "A cat."], min_count=2)
    assert v.itos[:4] == ["<pad>", "<start>", "<end>", "<unk>"] and v.itos[4:] == ["a", "dog"]
    ids = v.encode("A dog flies!")
    assert ids == [1, 4, 5, 3, 2] and v.decode(ids) == "a dog <unk>"
    assert tokenize("The dog's ball, 2 times.") == ["the", "dog's", "ball", "2", "times"]
    v.save(tmp_path / "v.json")
    assert Vocab.load(tmp_path / "v.json").itos == v.itos
    (tmp_path / "bad.json").write_text('{"kind": "something"}')
    with pytest.raises(ValueError, match="word vocabulary"):
        Vocab.load(tmp_path / "bad.json")


def _tiny_model(vocab: Vocab, **kw) -> CaptionModel:
    torch.manual_seed(0)
    cfg = CaptionerConfig(vocab_size=len(vocab), region_dim=16, embed_dim=8, hidden_dim=16, attn_dim=8, **kw)
    return CaptionModel(cfg, pretrained_encoder=True).eval()


def test_feature_cache_writes_float16_once_and_records_bad_images(tmp_path):
    img = tmp_path / "img"
    img.mkdir()
    for i, c in enumerate([(255, 0, 0), (0, 255, 0)]):
        Image.new("RGB", (50, 40), c).save(img / f"{i}.jpg")
    (img / "bad.jpg").write_text("not an image")
    model = _tiny_model(Vocab(["a"]))
    names = ["0.jpg", "1.jpg", "bad.jpg"]
    fs = cached_features(model, tmp_path / "cache", img, names, "train", batch_size=2)
    assert fs.features.dtype == np.float16 and fs.features.shape == (3, 320, 7, 7)
    assert fs.ok.tolist() == [True, True, False] and "bad.jpg" in fs.errors
    files = sorted(p.name for p in (tmp_path / "cache").iterdir())
    assert (
        len(files) == 2
        and files[0].startswith("train-")
        and {f.rsplit(".", 1)[1] for f in files} == {"npy", "json"}
    )
    mtime = (tmp_path / "cache" / files[1]).stat().st_mtime_ns
    again = cached_features(model, tmp_path / "cache", img, names, "train")
    assert (tmp_path / "cache" / files[1]).stat().st_mtime_ns == mtime  # read, not recomputed
    np.testing.assert_array_equal(again.features, fs.features)
    with torch.no_grad():  # the cached numbers are the trunk's output
        from engine.caption.encoder import normalize
        from engine.caption.images import load_image

        ref = model.trunk(normalize(load_image(img / "0.jpg")[None])).numpy()
    np.testing.assert_allclose(fs.features[0].astype(np.float32), ref[0], atol=0.02, rtol=0.01)
    other = cached_features(model, tmp_path / "cache", img, names[:2], "train")  # new list -> new cache
    assert len(list((tmp_path / "cache").iterdir())) == 4 and other.features.shape[0] == 2
    (tmp_path / "cache" / files[0]).write_bytes(b"garbage")
    with pytest.raises(ValueError, match="damaged"):
        load_cached(tmp_path / "cache" / files[0].rsplit(".", 1)[0])


def test_feature_extraction_waits_while_paused(tmp_path):
    import threading
    import time

    from engine.cancel import CancelToken

    img = tmp_path / "img"
    img.mkdir()
    Image.new("RGB", (50, 40), (9, 9, 9)).save(img / "0.jpg")
    token = CancelToken()
    token.pause()
    threading.Timer(0.4, token.resume).start()
    t0 = time.monotonic()
    fs = cached_features(_tiny_model(Vocab(["a"])), tmp_path / "cache", img, ["0.jpg"], "train", cancel=token)
    assert time.monotonic() - t0 >= 0.35 and fs.ok.tolist() == [True]


@pytest.mark.parametrize("fine_tune", [0, 1])
def test_checkpoint_round_trip(tmp_path, fine_tune):
    vocab = Vocab(["a", "red", "ball"])
    model = _tiny_model(vocab, fine_tune_blocks=fine_tune)
    with torch.no_grad():
        for p in model.top.parameters():
            p.add_(0.01)  # a fine-tuned top must survive the round trip; a frozen one is not stored
    save(tmp_path / "m", model, vocab)
    files = sorted(p.name for p in (tmp_path / "m").iterdir())
    assert files == ["config.json", "model.safetensors", "vocab.json"]
    meta = json.loads((tmp_path / "m" / "config.json").read_text())
    assert meta["kind"] == "captioner" and meta["schema_version"] == 1 and meta["config"]["hidden_dim"] == 16
    from safetensors.torch import load_file

    keys = load_file(str(tmp_path / "m" / "model.safetensors")).keys()
    assert any(k.startswith("top.") for k in keys) == bool(fine_tune)
    assert not any("trunk" in k for k in keys)
    loaded, v2, _ = load(tmp_path / "m")
    assert v2.itos == vocab.itos
    x = torch.randn(2, model.trunk_channels, 7, 7)
    tokens = torch.tensor([[1, 4, 5, 2], [1, 6, 2, 0]])
    with torch.no_grad():
        regions = model.regions(x)
        torch.testing.assert_close(loaded.decoder(regions, tokens)[0], model.decoder(regions, tokens)[0])
        same_top = torch.allclose(loaded.regions(x), regions, atol=1e-6)
    assert same_top == bool(fine_tune)  # the frozen top comes from the package, not the folder


def test_broken_model_folders_name_the_file(tmp_path):
    vocab = Vocab(["a", "b"])
    save(tmp_path / "m", _tiny_model(vocab), vocab)
    with pytest.raises(CheckpointError, match="not found"):
        load(tmp_path / "nowhere")
    (tmp_path / "m" / "vocab.json").rename(tmp_path / "m" / "v.bak")
    with pytest.raises(CheckpointError, match="vocab.json: missing"):
        load(tmp_path / "m")
    (tmp_path / "m" / "v.bak").rename(tmp_path / "m" / "vocab.json")
    w = tmp_path / "m" / "model.safetensors"
    w.write_bytes(w.read_bytes()[:100])
    with pytest.raises(CheckpointError, match="model.safetensors: damaged"):
        load(tmp_path / "m")
    (tmp_path / "m" / "config.json").write_text("{broken")
    with pytest.raises(CheckpointError, match="config.json: damaged"):
        load(tmp_path / "m")
    save(tmp_path / "n", _tiny_model(vocab), vocab)
    meta = json.loads((tmp_path / "n" / "config.json").read_text())
    meta["kind"] = "dialogue"
    (tmp_path / "n" / "config.json").write_text(json.dumps(meta))
    with pytest.raises(CheckpointError, match="expected 'captioner'"):
        load(tmp_path / "n")
    meta["kind"], meta["config"]["hidden_dim"] = "captioner", 24
    (tmp_path / "n" / "config.json").write_text(json.dumps(meta))
    with pytest.raises(CheckpointError, match="config.json: its sizes do not match model.safetensors"):
        load(tmp_path / "n")
