"""The desktop captions a blank picture like any other: a plain caption, flagged, with a note, saved
to the history with the flag and shown again from there; a photo next to it is the model's."""

from __future__ import annotations

from caption_fixtures import write_photo
from PIL import Image

import desktop.caption_ops as ops
from engine.history import HistoryStore


def test_a_black_picture_gets_a_plain_flagged_caption_and_keeps_it_in_the_history(tmp_path):
    folder = tmp_path / "pics"
    folder.mkdir()
    Image.new("RGB", (320, 240), (0, 0, 0)).save(folder / "a_black.png")
    write_photo(folder / "b_photo.png")
    store = HistoryStore.open_in_memory()
    items = []
    ops.caption_paths([str(folder)], beam=1, store=store, progress=lambda r: items.extend(r.get("items", [])))
    black, photo = sorted(items, key=lambda it: it["name"])
    assert black["caption"] == "a black image" and black["low_information"] is True
    assert black["note"] == ops.BLANK_NOTE and black["error"] is None
    assert black["attention"].shape == (3, 7, 7) and black["caption_id"] is not None
    assert photo["low_information"] is False and photo["note"] != ops.BLANK_NOTE
    again = ops.open_caption(black["caption_id"], store=store)
    assert again["caption"] == "a black image" and again["low_information"] is True
    assert ops.BLANK_NOTE in again["note"]
    assert ops.open_caption(photo["caption_id"], store=store)["low_information"] is False
    store.close()


def test_the_json_export_says_which_caption_is_plain(tmp_path):
    import json

    from desktop.caption_export import write_export

    folder = tmp_path / "pics"
    folder.mkdir()
    Image.new("RGB", (320, 240), (255, 255, 255)).save(folder / "white.png")
    write_photo(folder / "photo.png")
    items = []
    ops.caption_paths([str(folder)], beam=1, store=None, progress=lambda r: items.extend(r.get("items", [])))
    write_export(str(tmp_path / "out.json"), items, "json")
    record = json.loads((tmp_path / "out.json").read_text(encoding="utf-8"))
    flags = {c["name"]: c.get("low_information", False) for c in record["captions"]}
    assert flags == {"white.png": True, "photo.png": False}
