"""The status bar: engine state, compute device, loaded models, history on/off, reply speed."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QStatusBar


class StatusBar(QStatusBar):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setSizeGripEnabled(False)
        self.state = self._label("StatusDot", "● Starting…", "What the engine is doing")
        self.models = self._label("StatusModels", "Model: —", "Models loaded in memory")
        self.device = self._label("StatusDevice", "Device: detecting…", "Where the models run")
        self.history = self._label("StatusHistory", "History: …", "Where conversations are saved")
        self.speed = self._label("StatusSpeed", "", "Speed of the last reply")
        for w in (self.state, self.models, self.device, self.history, self.speed):
            self.addPermanentWidget(w)

    def _label(self, name: str, text: str, tip: str) -> QLabel:
        label = QLabel(text)
        label.setObjectName(name)
        label.setToolTip(tip)
        return label

    def set_state(self, state: str, text: str) -> None:
        """``state``: "ready", "busy" or "off" (colours the dot)."""
        self.state.setProperty("state", state)
        self.state.setText(f"● {text}")
        self.state.style().unpolish(self.state)
        self.state.style().polish(self.state)

    def set_device(self, label: str) -> None:
        self.device.setText(f"Device: {label}")

    def set_models(self, names: list[str]) -> None:
        # "Models: Chat (dialogue), Summarizer": the chat model by its folder, the others by their task
        head = "Models: " if len(names) > 1 else "Model: "
        self.models.setText(head + (", ".join(names) or "none loaded"))

    def set_history(self, on: bool, where: str | None, read_only: bool = False) -> None:
        off = "History: read-only (not saved)" if read_only else "History: off (not saved)"
        self.history.setText("History: on" if on else off)
        self.history.setToolTip(
            f"Saved in {where}" if on and where else where or "Conversations are not saved"
        )

    def set_speed(self, tokens_per_s: float | None, latency_ms: float | None = None) -> None:
        if tokens_per_s is None:
            self.speed.setText("")
            return
        text = f"{tokens_per_s:.1f} tok/s"
        if latency_ms is not None:
            text += f" · {latency_ms:.0f} ms" if latency_ms < 1000 else f" · {latency_ms / 1000:.1f} s"
        self.speed.setText(text)
