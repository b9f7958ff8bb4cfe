import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# Tiny models gain nothing from intra-op threads, and oversubscribed cores make them crawl.
os.environ.setdefault("OMP_NUM_THREADS", "1")


@pytest.fixture(scope="session")
def tiny_dialogue_model(tmp_path_factory):
    """A tiny HRED really trained on six dialogues (folder path)."""
    from dialogue_fixtures import build_tiny_model

    folder = tmp_path_factory.mktemp("tiny_dialogue")
    build_tiny_model(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_summarizer_model(tmp_path_factory):
    """A tiny pointer-generator really trained to copy the first words of its source (folder)."""
    from summarizer_fixtures import build_tiny_summarizer

    folder = tmp_path_factory.mktemp("tiny_summarizer")
    build_tiny_summarizer(folder)
    return folder


@pytest.fixture(autouse=True)
def _no_network(monkeypatch):
    """Offline means offline: any attempt to open an internet socket fails the test."""
    import socket

    real_connect = socket.socket.connect

    def guarded(self, address):
        if self.family in (socket.AF_INET, socket.AF_INET6):
            host = address[0] if isinstance(address, tuple) else address
            if host not in ("127.0.0.1", "::1", "localhost"):
                raise RuntimeError(f"network access attempted to {address!r} (Parlance is offline)")
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)
