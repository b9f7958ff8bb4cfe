"""The Train panel's runs table with many recorded runs: a refresh (``RunsTable.set_runs`` again with
the same runs, as after every run that ends) and selecting runs one at a time (Ctrl-click).

    QT_QPA_PLATFORM=offscreen python tests/bench/bench_runs_table.py [--sizes 50 200 500] [--runs 3]

The runs are generated (2,000-point curves, as in a long dialogue run). Measured for the table as it
is and, in the same run, for the peer that is the table as it was: a ResizeToContents header filled
one setItem() at a time, and every selected curve drawn again at each selection change. The peer's
refresh grows with the square of the runs (about 100 s for 500), so it is timed only up to
``--peer-max`` runs. Also timed, on a history with the largest size: the runs job the panel reads
(no curves) against ``HistoryStore.list_runs()`` with every curve (what it read before), and the
curves of 5 selected runs. The medians of ``--runs`` are printed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "desktop"), str(ROOT / "tests")]

POINTS = 2000


def _runs(n: int) -> list[dict]:
    out = []
    for i in range(n, 0, -1):
        curve = [[s * 10, 50.0 * 0.999**s + 1.0 + (i % 7) * 0.1, s * 0.5] for s in range(POINTS)]
        out.append(
            {
                "id": i,
                "task": "dialogue",
                "data": f"/home/user/data/chats/corpus_{i}.txt",
                "config": {"model": {"cell": ("gru", "lstm", "rnn")[i % 3]}},
                "status": "complete",
                "metrics": {"best_val_ppl": 12.0 + i % 9, "steps": POINTS * 10},
                "duration_s": 1800.0,
                "started_at": "2026-12-01T10:00:00Z",
                "checkpoint": f"/home/user/.local/share/parlance/models/dialogue-run-{i}",
                "curves": {"train_loss": curve, "val_ppl": curve},
            }
        )
    return out


def _peer_class():
    """The runs table as it was before the fix (kept here for the comparison)."""
    from PySide6.QtWidgets import QHeaderView

    from desktop.widgets import runs_table as rt

    class OldRunsTable(rt.RunsTable):
        def __init__(self) -> None:
            super().__init__()
            self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)

        def set_runs(self, runs: list[dict]) -> None:
            keep = {r["id"] for r in self.selected()}
            self.runs = list(runs)
            self.table.blockSignals(True)
            self.table.setRowCount(len(self.runs))
            for row, run in enumerate(self.runs):
                self._fill_row(row, run)  # the same cells, one setItem() at a time under ResizeToContents
                if run["id"] in keep:
                    self.table.selectRow(row)
            self.table.blockSignals(False)
            self._on_selection()

        def _on_selection(self) -> None:
            chosen = self.selected()
            self.overlay.clear()
            key = rt.run_metric(chosen[0]) if chosen else ""
            self.overlay.set_log_y(True)
            for run in chosen:
                points = (run.get("curves") or {}).get(key) or []
                label = f"#{run['id']} {rt.run_cell(run) or run.get('task', '')}"
                self.overlay.set_curve(label, [p[0] for p in points], [p[1] for p in points])
            self.overlay.flush()
            self.overlay.widget.setVisible(bool(chosen))
            self.selection_changed.emit(chosen)

    return OldRunsTable


def _pump(app, seconds: float) -> None:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        app.processEvents()


def _table(app, cls):
    table = cls()
    table.resize(1200, 800)
    table.show()
    _pump(app, 0.1)
    return table


def _refresh(app, cls, runs: list[dict]) -> float:
    table = _table(app, cls)
    table.set_runs(runs)
    _pump(app, 0.1)
    t0 = time.perf_counter()
    table.set_runs(runs)
    app.processEvents()
    took = time.perf_counter() - t0
    table.close()
    table.deleteLater()
    _pump(app, 0.05)
    return took


def _select(app, cls, runs: list[dict], n: int) -> tuple[float, float]:
    """Select ``n`` runs one at a time; (total, worst single change) in seconds, painting included."""
    from PySide6.QtCore import QItemSelectionModel

    flags = QItemSelectionModel.SelectionFlag
    table = _table(app, cls)
    table.set_runs(runs)
    _pump(app, 0.1)
    model, worst, t0 = table.table.model(), 0.0, time.perf_counter()
    for row in range(n):
        t = time.perf_counter()
        table.table.selectionModel().select(model.index(row, 0), flags.Select | flags.Rows)
        app.processEvents()
        worst = max(worst, time.perf_counter() - t)
    total = time.perf_counter() - t0
    assert len(table.overlay.names()) == n
    table.close()
    table.deleteLater()
    _pump(app, 0.05)
    return total, worst


def _list_runs(runs: list[dict], repeats: int) -> tuple[float, float, float]:
    """Medians (s) of: list_runs() with every curve (the peer: what the runs job read), the runs job
    as it is (no curves, folders resolved), and reading the curves of 5 selected runs."""
    from engine.history import HistoryStore
    from engine.lab import jobs

    with tempfile.TemporaryDirectory() as tmp, HistoryStore(Path(tmp) / "history.db") as store:
        for run in reversed(runs):
            rid = store.add_run("dialogue", run["config"], run["data"], "cpu", run["checkpoint"])
            store.update_run(rid, status="complete", metrics=run["metrics"], curves=run["curves"])
        peer, now, curves = [], [], []
        for _ in range(repeats):
            t0 = time.perf_counter()
            assert len(store.list_runs()) == len(runs)
            t1 = time.perf_counter()
            assert len(jobs.runs_job(store=store)) == len(runs)
            t2 = time.perf_counter()
            assert len(jobs.run_curves_job([1, 2, 3, 4, 5], store=store)) == 5
            t3 = time.perf_counter()
            peer.append(t1 - t0)
            now.append(t2 - t1)
            curves.append(t3 - t2)
    return statistics.median(peer), statistics.median(now), statistics.median(curves)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[50, 200, 500])
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--peer-max", type=int, default=200, help="time the peer's refresh up to this many runs")
    p.add_argument("--select", type=int, default=50, help="runs selected one at a time")
    args = p.parse_args()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    from desktop.widgets.runs_table import RunsTable

    app = QApplication.instance() or QApplication([])
    old = _peer_class()
    runs = _runs(max(args.sizes))
    print(f"runs table refresh, median of {args.runs} (s)")
    for n in args.sizes:
        new = statistics.median(_refresh(app, RunsTable, runs[:n]) for _ in range(args.runs))
        peer = (
            f"{statistics.median(_refresh(app, old, runs[:n]) for _ in range(args.runs)):.3f}"
            if n <= args.peer_max
            else "not run"
        )
        print(f"  {n:4d} runs: now {new:.3f}  peer (before) {peer}", flush=True)
    n = max(args.sizes)
    print(f"select {args.select} of {n} runs one at a time, median of {args.runs} (total s / worst change s)")
    for name, cls in (("now", RunsTable), ("peer (before)", old)):
        results = [_select(app, cls, runs[:n], args.select) for _ in range(args.runs)]
        total = statistics.median(r[0] for r in results)
        worst = statistics.median(r[1] for r in results)
        print(f"  {name:14s} {total:.2f} / {worst:.3f}", flush=True)
    peer, now, curves = _list_runs(runs[:n], args.runs)
    print(f"reading {n} runs, median of {args.runs}: runs job now {now:.3f} s (no curves); peer, every curve")
    print(f"  read as before (HistoryStore.list_runs()): {peer:.2f} s; 5 runs' curves: {curves:.3f} s")


if __name__ == "__main__":
    main()
