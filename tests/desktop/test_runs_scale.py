"""The Train panel's runs table with many runs (scale hunt, finding 1): a refresh that measured
every column again at each of its 10 x N cells, a selection lost at each refresh, every selected
curve re-drawn at each selection change, and four tabs each reading every run when the panel opened."""

from __future__ import annotations

import fakes
from PySide6.QtCore import QItemSelectionModel
from PySide6.QtWidgets import QStyledItemDelegate

from desktop.widgets.runs_table import FOLDER_COLUMN, RunsTable


def _run(i: int, task: str = "dialogue", points: int = 50) -> dict:
    curve = [[s, 100.0 / (s + 1) + i, s * 0.1] for s in range(points)]
    return {
        "id": i,
        "task": task,
        "data": f"/data/corpus_{i}.txt",
        "config": {"model": {"cell": "lstm"}},
        "status": "complete",
        "metrics": {"best_val_ppl": 10.0 + i, "steps": points},
        "duration_s": 60.0 * i,
        "started_at": "2026-12-01T10:00:00Z",
        "checkpoint": f"/models/dialogue-run-{i}",
        "curves": {"train_loss": curve, "val_ppl": curve},
    }


class CountingDelegate(QStyledItemDelegate):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.hints = 0

    def sizeHint(self, option, index):  # noqa: N802 (Qt's name)
        self.hints += 1
        return super().sizeHint(option, index)


def _table(qtbot) -> RunsTable:
    table = RunsTable()
    qtbot.addWidget(table)
    table.resize(1200, 700)
    table.show()
    qtbot.waitExposed(table)
    return table


def _select_rows(table: RunsTable, rows) -> None:
    model, flags = table.table.model(), QItemSelectionModel.SelectionFlag
    for row in rows:  # one selection change per row, like Ctrl-clicks
        table.table.selectionModel().select(model.index(row, 0), flags.Select | flags.Rows)


def test_a_refresh_measures_the_cells_a_bounded_number_of_times(qtbot):
    """A ResizeToContents header measured every column again at each setItem(): about 10 x N^2 / 2
    size hints for N runs (13 s for 200 runs, 101 s for 500). Now the columns are sized once."""
    table = _table(qtbot)
    delegate = CountingDelegate(table.table)
    table.table.setItemDelegate(delegate)
    runs = [_run(i) for i in range(40, 0, -1)]
    table.set_runs(runs)
    qtbot.wait(20)  # shown and laid out
    delegate.hints = 0
    table.set_runs(runs)  # the refresh after a run ends
    qtbot.wait(20)
    assert table.table.rowCount() == 40 and table.table.item(39, 0).text() == "#1"
    assert delegate.hints < 10 * 40 * 3  # linear in the rows (was 144,000: every cell at every setItem)


def test_columns_fit_their_text_and_the_last_shown_one_fills_the_table(qtbot):
    table = _table(qtbot)
    table.set_runs([_run(i) for i in range(5, 0, -1)])
    view, header = table.table, table.table.horizontalHeader()
    for col in range(FOLDER_COLUMN):
        assert view.columnWidth(col) >= view.sizeHintForColumn(col), col
    assert header.length() == view.viewport().width()  # the folder column stretches to the edge
    view.setColumnHidden(FOLDER_COLUMN, True)  # the tabs of tasks that keep no model
    table.set_runs([_run(i) for i in range(6, 0, -1)])
    assert header.length() == view.viewport().width()


def test_a_refresh_keeps_every_selected_run_selected_by_id(qtbot):
    """selectRow() per kept row (ExtendedSelection) cleared the rows selected before it, and the
    rows kept their old selection when a new run moved the runs down."""
    table = _table(qtbot)
    table.set_runs([_run(i) for i in range(10, 0, -1)])
    table.select([9, 7, 4])
    assert sorted(r["id"] for r in table.selected()) == [4, 7, 9]
    table.set_runs([_run(i) for i in range(11, 0, -1)])  # run 11 ended: every row moves down one
    assert sorted(r["id"] for r in table.selected()) == [4, 7, 9]
    assert sorted(table.overlay.names()) == ["#4 lstm", "#7 lstm", "#9 lstm"]


def test_a_selection_change_draws_only_the_curve_that_changed(qtbot, monkeypatch):
    """Every selection change cleared the plot and drew every selected run's curve again."""
    table = _table(qtbot)
    runs = [_run(i) for i in range(30, 0, -1)]
    table.set_runs(runs)
    _select_rows(table, range(10))
    drawn, removed = [], []
    set_curve, remove = table.overlay.set_curve, table.overlay.remove

    def draw(name, *args, **kwargs):
        drawn.append(name)
        return set_curve(name, *args, **kwargs)

    monkeypatch.setattr(table.overlay, "set_curve", draw)
    monkeypatch.setattr(table.overlay, "remove", lambda name: (removed.append(name), remove(name)))
    _select_rows(table, [10])
    assert drawn == ["#20 lstm"] and removed == []
    flags = QItemSelectionModel.SelectionFlag
    table.table.selectionModel().select(table.table.model().index(3, 0), flags.Deselect | flags.Rows)
    assert drawn == ["#20 lstm"] and removed == ["#27 lstm"]
    assert len(table.overlay.names()) == 10
    _select_rows(table, [20])  # a new curve takes a colour no curve shown has
    colors = {name: c.opts["pen"].color().name() for name, c in table.overlay.curves.items()}
    assert colors.pop("#10 lstm") not in colors.values()
    drawn.clear()
    table.set_runs(runs)  # a refresh with the same curves draws nothing again
    assert drawn == []
    runs[0] = _run(30, points=80)  # ...but a curve that grew is drawn again
    table.set_runs(runs)
    assert drawn == ["#30 lstm"] and table.overlay.points("#30 lstm") == 80


def test_the_plot_follows_the_compared_measure(qtbot):
    table = _table(qtbot)
    summarizer = _run(2, task="summarizer")
    summarizer["curves"] = {"train_loss": [[0, 3.0, 0.0], [1, 2.0, 0.1]], "rouge_l": [[1, 0.2, 0.1]]}
    summarizer["metrics"] = {"metric": "rouge_l", "best_metric": 0.2}
    table.set_runs([summarizer, _run(1)])
    table.select([1])
    assert table.overlay.log_y and table.overlay.points("#1 lstm") == 50
    table.select([1, 2])  # unlike measures: both by their training loss, on a linear axis
    assert not table.overlay.log_y and table.overlay.points("#1 lstm") == 50
    assert table.overlay.points("#2 lstm") == 2
    table.select([2])
    assert table.overlay.names() == ["#2 lstm"] and table.overlay.points("#2 lstm") == 1
    assert table.overlay.plot.getAxis("left").labelText == "ROUGE-L"


def test_the_training_tabs_share_one_reading_of_the_runs(qtbot, tmp_path):
    """Each of the four tabs read every run with its curves (500 runs: 4 x 1.3 s when the panel
    opened); now the tabs asking while a reading is under way share it."""
    from desktop.widgets.train_captioner import CaptionerTrainTab
    from desktop.widgets.train_dialogue import DialogueTrainTab
    from desktop.widgets.train_forecaster import ForecasterTrainTab
    from desktop.widgets.train_summarizer import SummarizerTrainTab

    service = fakes.tab_service(tmp_path)
    tabs = [
        cls(service) for cls in (DialogueTrainTab, SummarizerTrainTab, CaptionerTrainTab, ForecasterTrainTab)
    ]
    for tab in tabs:
        qtbot.addWidget(tab)
    (job,) = service.runs_jobs()
    assert all(tab.runs_job == job for tab in tabs)
    runs = [_run(4, "forecaster"), _run(3, "captioner"), _run(2, "summarizer"), _run(1, "dialogue")]
    service.job_finished.emit(job, runs)
    assert [[r["id"] for r in tab.runs.runs] for tab in tabs] == [[1], [2], [3], [4]]
    tabs[1].refresh_runs()  # a run ended: read again, not the reading before
    assert len(service.runs_jobs()) == 2 and tabs[1].runs_job == service.runs_jobs()[1]
    tabs[2].refresh_runs()
    assert len(service.runs_jobs()) == 2
    service.job_failed.emit(tabs[1].runs_job, "runs: the history could not be read")
    assert tabs[1].runs.runs == [] and tabs[0].runs.runs  # only the tabs that asked
    tabs[0].refresh_runs()
    assert len(service.runs_jobs()) == 3


def test_a_tab_sharing_a_reading_that_just_ended_still_gets_it_once(qtbot, tmp_path):
    """The engine thread's job_finished reaches only the connections made before it was emitted: a
    tab built just after the reading ended (its notice not yet handled here) shared it, and its
    table stayed empty. Each tab that asked gets the result from the sharer, and fills its table once."""
    import threading

    from desktop.widgets.train_dialogue import DialogueTrainTab
    from desktop.widgets.train_summarizer import SummarizerTrainTab

    service = fakes.tab_service(tmp_path)
    first = DialogueTrainTab(service)
    qtbot.addWidget(first)
    (job,) = service.runs_jobs()
    runs = [_run(2, "summarizer"), _run(1, "dialogue")]
    engine = threading.Thread(target=service.job_finished.emit, args=(job, runs))
    engine.start()
    engine.join()  # emitted on another thread: queued for the window's thread
    second = SummarizerTrainTab(service)
    qtbot.addWidget(second)
    assert second.runs_job == job
    fills = []
    for tab in (first, second):
        set_runs = tab.runs.set_runs
        tab.runs.set_runs = lambda rs, set_runs=set_runs: (fills.append(len(rs)), set_runs(rs))
    qtbot.waitUntil(lambda: len(fills) == 2)
    qtbot.wait(50)
    assert fills == [1, 1] and [r["id"] for r in second.runs.runs] == [2]
