"""Export the Caption panel's captions as CSV or JSON (runs on the engine thread; no Qt here)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from engine.history_export import write_whole  # whole or not at all: an earlier file survives

EXPORT_FORMATS = ("csv", "json")
CSV_HEADER = ["file", "path", "media", "scene", "start_s", "end_s", "caption", "logprob", "sha256"]


def cell(value):
    """A CSV cell a spreadsheet shows as text: a string opening with = + - @ (or a tab or carriage
    return) would be run as a formula ("=HYPERLINK(…)" as a file name), so it gets a leading '."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def export_rows(items: list[dict]) -> list[list]:
    """CSV rows: one per captioned image; a video gives its clip caption and one row per scene."""
    rows = [list(CSV_HEADER)]
    for it in items:
        if it.get("error") or not it.get("caption"):
            continue
        base = [it["name"], it["path"], it["media"]]
        rows.append([*base, "", "", "", it["caption"], round(it["logprob"], 4), it["sha256"]])
        for n, s in enumerate(it.get("scenes") or [], start=1):
            times = [round(s["start_s"], 2), round(s.get("until_s", s["end_s"]), 2)]
            rows.append([*base, n, *times, s["caption"], round(s["logprob"], 4), it["sha256"]])
    return rows


def export_record(items: list[dict]) -> dict:
    def beams(x: dict) -> list[dict]:
        return [{"caption": t, "logprob": round(lp, 4)} for t, lp in x.get("alternatives") or []]

    captions, errors = [], []
    for it in items:
        if it.get("error"):
            errors.append({"file": it["name"], "path": it["path"], "error": it["error"]})
            continue
        if not it.get("caption"):
            continue
        rec = {k: it[k] for k in ("name", "path", "media", "sha256", "caption", "beam")}
        rec.update(logprob=round(it["logprob"], 4), alternatives=beams(it))
        if it.get("low_information"):  # a plain caption of a blank picture, not the model's
            rec["low_information"] = True
        if it["media"] == "video":
            rec["scenes"] = [
                {k: s[k] for k in ("start_s", "n_frames", "caption")}
                | {"end_s": s.get("until_s", s["end_s"]), "logprob": round(s["logprob"], 4)}
                | {"alternatives": beams(s)}
                for s in it.get("scenes") or []
            ]
        captions.append(rec)
    return {"captions": captions, "errors": errors}


def write_export(path: str, items: list[dict], fmt: str) -> dict:
    """Write every caption in ``items`` to ``path`` as ``fmt`` (csv or json)."""
    if fmt not in EXPORT_FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; known: {', '.join(EXPORT_FORMATS)}")
    if fmt == "csv":
        rows = export_rows(items)
        buf = io.StringIO(newline="")
        csv.writer(buf).writerows([cell(v) for v in row] for row in rows)
        write_whole(Path(path), buf.getvalue(), private=False)
        return {"path": path, "rows": len(rows) - 1}
    record = export_record(items)
    write_whole(Path(path), json.dumps(record, ensure_ascii=False, indent=2) + "\n", private=False)
    return {"path": path, "rows": len(record["captions"])}
