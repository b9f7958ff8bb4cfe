"""gc_guard: a guarded package executes with no garbage collection, restored afterwards (also when
the import fails); while installed, cycles made on another thread are finalised on the GUI thread."""

from __future__ import annotations

import gc
import importlib
import sys
import threading

import pytest

from desktop import gc_guard
from desktop.gc_guard import ImportGuard, due_generation


@pytest.fixture
def probe_package(tmp_path, monkeypatch):
    """A package whose import records whether automatic collection was on, with a submodule."""
    pkg = tmp_path / "guard_probe_pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text(
        "import gc\nGC_ON = gc.isenabled()\nfrom guard_probe_pkg import sub\n", encoding="utf-8"
    )
    (pkg / "sub.py").write_text("VALUE = 42\n", encoding="utf-8")
    bad = tmp_path / "guard_probe_bad.py"
    bad.write_text("raise RuntimeError('broken on purpose')\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    guard = ImportGuard(("guard_probe_pkg", "guard_probe_bad"))
    sys.meta_path.insert(0, guard)
    yield
    sys.meta_path.remove(guard)
    for name in ("guard_probe_pkg", "guard_probe_pkg.sub", "guard_probe_bad"):
        sys.modules.pop(name, None)
    importlib.invalidate_caches()


def test_the_desktop_package_guards_torch():
    guards = [f for f in sys.meta_path if isinstance(f, ImportGuard)]
    assert guards and "torch" in guards[0].names


def test_a_guarded_package_executes_with_collection_off_then_restores_it(probe_package):
    assert gc.isenabled()
    mod = importlib.import_module("guard_probe_pkg")
    assert mod.GC_ON is False
    assert gc.isenabled()
    assert mod.sub.VALUE == 42 and mod.__spec__.submodule_search_locations
    assert importlib.import_module("guard_probe_pkg") is mod  # cached: the guard is not consulted


def test_a_failing_import_still_restores_collection(probe_package):
    with pytest.raises(RuntimeError, match="broken on purpose"):
        importlib.import_module("guard_probe_bad")
    assert gc.isenabled()


def test_collection_that_was_off_stays_off(probe_package):
    gc.disable()
    try:
        importlib.import_module("guard_probe_pkg")
        assert not gc.isenabled()
    finally:
        gc.enable()


@pytest.mark.parametrize(
    ("counts", "expected"),
    [
        ((700, 0, 0), None),  # at the threshold: not yet
        ((701, 0, 0), 0),
        ((701, 11, 0), 1),
        ((701, 11, 11), 2),
        ((701, 10, 50), 0),  # the older generations only when the younger one's count is over
        ((5, 50, 50), None),
    ],
)
def test_the_gui_thread_collects_when_cpython_would(counts, expected):
    assert due_generation(counts, (700, 10, 10)) == expected
    assert due_generation(counts, (0, 10, 10)) is None  # thresholds of 0: collection is off


class _Cycle:
    finalised_on: list[str] = []

    def __init__(self) -> None:
        self.me = self

    def __del__(self) -> None:
        _Cycle.finalised_on.append(threading.current_thread().name)


def test_cycles_made_on_a_worker_thread_are_finalised_on_the_gui_thread(qtbot, qapp):
    _Cycle.finalised_on.clear()
    gc.collect()
    gc_guard.install(qapp)
    try:
        assert not gc.isenabled() and gc_guard.collector() is not None

        def work() -> None:
            _Cycle()
            junk = [[i] for i in range(50_000)]  # enough allocation to trigger a collection
            del junk

        worker = threading.Thread(target=work, name="worker")
        worker.start()
        worker.join()
        assert _Cycle.finalised_on == []  # nothing collected on the worker
        qtbot.waitUntil(lambda: bool(_Cycle.finalised_on), timeout=5000)
        assert _Cycle.finalised_on == [threading.main_thread().name]
        assert gc_guard.collector().collections >= 1
    finally:
        gc_guard.uninstall()
    assert gc.isenabled() and gc_guard.collector() is None


def test_installs_are_counted_and_no_app_leaves_collection_alone(qapp):
    gc_guard.install(None)
    assert gc.isenabled() and gc_guard.collector() is None
    gc_guard.install(qapp)
    gc_guard.install(qapp)
    gc_guard.uninstall()
    assert not gc.isenabled()
    gc_guard.uninstall()
    assert gc.isenabled()
    gc_guard.uninstall()  # one too many: harmless
    assert gc.isenabled()
