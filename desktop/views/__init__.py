"""Panels of the main window, one module each.

A panel module ``desktop/views/<name>.py`` (summarize, caption, forecast, train) exposes::

    def create_panel(service: EngineService, parent: QWidget) -> QWidget

and may give the returned widget these optional methods:

    handle_drop(paths: list[str]) -> None          # files dropped on the window while it is shown
    show_history_item(kind: str, item_id: int)     # a search hit of its kind ("summary", "caption",
                                                   # "forecast") was chosen in the chat's search

The window imports the module the first time the panel is shown, so keep module-level imports
light (no torch at import time: do model work in jobs, see engine_service.EngineService.submit).
Until the module exists the panel shows "<Panel> is not built yet".
"""
