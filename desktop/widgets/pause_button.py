"""Pause / Continue for a running training job (the Train panel's tabs): the job stops between
two steps and its clock stops with it (``EngineService.pause``; a run in a child process gets the
word through its pipe), so time budgets, ETAs and tokens/s are not spoilt by the pause."""

from __future__ import annotations

from PySide6.QtWidgets import QPushButton

PAUSED_NOTE = "Paused: the run waits between two steps and its clock is stopped. Continue to go on."


class PauseButton(QPushButton):
    def __init__(self, service, parent=None) -> None:
        super().__init__("Pause", parent)
        self.service = service
        self.job_id: int | None = None
        self.setCheckable(True)
        self.setToolTip("Pause the run between two steps (Continue goes on where it stopped)")
        self.setEnabled(False)
        self.toggled.connect(self._on_toggled)

    @property
    def paused(self) -> bool:
        return self.isChecked()

    def attach(self, job_id: int | None) -> None:
        """The running job it pauses (None: no run, the button is off and unpressed)."""
        self.job_id = job_id
        self.blockSignals(True)
        self.setChecked(False)
        self.setText("Pause")
        self.blockSignals(False)
        self.setEnabled(job_id is not None)

    def _on_toggled(self, on: bool) -> None:
        self.setText("Continue" if on else "Pause")
        if self.job_id is not None:
            self.service.pause(self.job_id, on)
