"""Where the shipped resources are. The engine never decides where USER files live."""

from __future__ import annotations

from pathlib import Path

RESOURCES = Path(__file__).resolve().parent.parent / "resources"


def default_model(name: str) -> Path:
    """The shipped model folder ``resources/models/<name>``."""
    return RESOURCES / "models" / name
