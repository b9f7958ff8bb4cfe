"""User settings through QSettings: typed accessors with defaults, one place for every key.

With ``--data-dir`` the settings live in ``<data dir>/settings.ini`` so a test or a portable
install never touches the user's own settings; otherwise the platform's native store is used.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings

from engine.decoding import DecodeOptions

PANELS = ("chat", "summarize", "caption", "forecast", "train")
# text sizes Settings offers: above 18 pt the chat's three panes no longer fit a 1,360-px window
# (the system's display scaling enlarges everything for those who need more)
MIN_FONT_PT, MAX_FONT_PT = 7.0, 18.0
MAX_SIZE = 100_000  # the largest widget size (pixels) a saved layout may hold


class AppSettings:
    def __init__(self, ini_path: Path | None = None) -> None:
        if ini_path is not None:
            self._q = QSettings(str(ini_path), QSettings.Format.IniFormat)
        else:
            self._q = QSettings()

    # ---- generic -------------------------------------------------------------------------
    def _get(self, key: str, default, kind=str):
        value = self._q.value(key, default)
        if value is None:
            return default
        try:
            if kind is str and isinstance(value, list):  # an unquoted comma: QSettings read a list
                return ",".join(str(v) for v in value)
            if kind is bool:
                return value if isinstance(value, bool) else str(value).lower() in ("1", "true", "yes")
            return kind(value)
        except (TypeError, ValueError):
            return default

    def _set(self, key: str, value) -> None:
        self._q.setValue(key, value)

    def sync(self) -> None:
        self._q.sync()

    def writable(self) -> bool:
        """False when the last sync could not write the settings file (a folder in its place, no rights)."""
        return self._q.status() != QSettings.Status.AccessError

    def location(self) -> str:
        return self._q.fileName()

    # ---- appearance ----------------------------------------------------------------------
    @property
    def theme(self) -> str:
        value = self._get("appearance/theme", "system")
        return value if value in ("system", "light", "dark") else "system"

    @theme.setter
    def theme(self, value: str) -> None:
        self._set("appearance/theme", value)

    @property
    def font_pt(self) -> float:
        value = self._get("appearance/font_pt", 10.0, float)
        return min(max(value, MIN_FONT_PT), MAX_FONT_PT) if math.isfinite(value) else 10.0

    @font_pt.setter
    def font_pt(self, value: float) -> None:
        self._set("appearance/font_pt", float(value))

    # ---- compute -------------------------------------------------------------------------
    @property
    def force_cpu(self) -> bool:
        return self._get("compute/force_cpu", False, bool)

    @force_cpu.setter
    def force_cpu(self, value: bool) -> None:
        self._set("compute/force_cpu", bool(value))

    # ---- chat ----------------------------------------------------------------------------
    @property
    def default_decoding(self) -> dict | None:
        """Decoding options for new conversations; None: use each model's own recommended ones."""
        raw = self._get("chat/default_decoding", "")
        if not raw:
            return None
        try:
            value = json.loads(raw)
            if not isinstance(value, dict):  # valid JSON, wrong shape: ignored like bad JSON
                return None
            return DecodeOptions.from_dict(value).to_dict()
        except (ValueError, TypeError):
            return None

    @default_decoding.setter
    def default_decoding(self, value: dict | None) -> None:
        if value is None:
            self._q.remove("chat/default_decoding")
        else:
            self._set("chat/default_decoding", json.dumps(DecodeOptions.from_dict(value).to_dict()))

    @property
    def chat_model(self) -> str:
        return self._get("chat/model", "")

    @chat_model.setter
    def chat_model(self, folder: str) -> None:
        self._set("chat/model", folder)

    @property
    def side_panel(self) -> bool:
        return self._get("chat/side_panel", True, bool)

    @side_panel.setter
    def side_panel(self, value: bool) -> None:
        self._set("chat/side_panel", bool(value))

    # ---- window --------------------------------------------------------------------------
    @property
    def last_panel(self) -> str:
        value = self._get("window/panel", "chat")
        return value if value in PANELS else "chat"

    @last_panel.setter
    def last_panel(self, value: str) -> None:
        self._set("window/panel", value)

    def bytes_value(self, key: str) -> QByteArray | None:
        value = self._q.value(key)
        return value if isinstance(value, QByteArray) and not value.isEmpty() else None

    def set_bytes(self, key: str, value: QByteArray) -> None:
        self._set(key, value)

    def int_list(self, key: str) -> list[int]:
        raw = self._q.value(key)
        if isinstance(raw, str):
            raw = raw.split(",")
        try:
            values = [int(v) for v in (raw or [])]
        except (TypeError, ValueError, OverflowError):
            return []
        # widget sizes: anything outside a screen's range is damage (Qt overflows on it)
        return values if all(0 <= v <= MAX_SIZE for v in values) else []

    def set_int_list(self, key: str, values: list[int]) -> None:
        self._set(key, ",".join(str(int(v)) for v in values))
