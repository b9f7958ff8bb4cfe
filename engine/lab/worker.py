"""Run a long lab function (a training run) in a child process, relaying its events.

Why a process: the app's window and a training loop in one Python process share one GIL. Drawing
live curves is Python work on the GUI thread, and a small model's training loop is mostly Python
too, so each drawing call waits for the GIL and the window stutters for hundreds of milliseconds.
A child process (``python -m engine.lab.worker``) trains at full speed, exactly like the CLI, and
the app's engine thread only relays its events.

Protocol, JSON lines. The parent writes one request ``{"target": "module:function", "kwargs": {…},
"threads": n}``; the child calls ``function(**kwargs, on_event=emit, cancel=token)`` and writes
every event ``{"kind": …}`` it emits, then ``{"kind": "result", "value": …}`` or ``{"kind":
"error", "types": [exception class names], "message": …}``. The parent may write ``cancel``,
``pause`` or ``resume`` at any time (the token's state is relayed); end of input (the parent has
gone) cancels too, so a child never outlives the app's run.
Anything else the child prints goes to its stderr (kept in a temporary file, quoted on failure).
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import queue
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

POLL_S = 0.05  # how often the parent checks its cancel token while waiting for events
# exception class name in the child -> what the parent raises (anything else: RuntimeError)
ERRORS: dict[str, type[Exception]] = {
    "FileNotFoundError": FileNotFoundError,
    "PermissionError": PermissionError,
    "MemoryError": MemoryError,
    "OutOfMemoryError": MemoryError,  # torch.cuda.OutOfMemoryError
    "ValueError": ValueError,
    "LookupError": LookupError,
    "OSError": OSError,
}


def _error(types: list[str], message: str, os_error: dict | None = None) -> Exception:
    if os_error and os_error.get("errno") is not None and "OSError" in types:
        # keep errno / strerror / filename: "No space left on device" must read as such
        return OSError(os_error["errno"], os_error.get("strerror") or message, os_error.get("filename"))
    for name in types:
        if name in ERRORS:
            return ERRORS[name](message)
    return RuntimeError(message)


def run_in_worker(
    target: str,
    kwargs: dict,
    on_event: Callable[[dict], None],
    cancel=None,
    threads: int = 0,
    nice: int = 0,
    idle: Callable[[], None] | None = None,
):
    """Call ``target`` ("module:function") in a child process; returns its result.

    ``idle()`` is called while no event arrives (every few tens of milliseconds): a paused or busy
    child sends none, and the app still has to serve its other requests meanwhile.

    ``on_event`` gets each event dict on the calling thread; ``cancel`` (``.cancelled``) is passed
    on to the child; ``threads`` sets its torch CPU threads (0: torch's default), ``nice`` lowers its
    CPU priority (POSIX) so that the window is served first when the cores are busy. An exception
    in the child is raised here with its message (ValueError,
    FileNotFoundError, MemoryError… keep their type, an OSError its errno; others become RuntimeError).
    """
    root = str(Path(__file__).resolve().parents[2])  # the folder holding the engine package
    env = dict(os.environ)
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    request = json.dumps({"target": target, "kwargs": kwargs, "threads": threads, "nice": nice})
    with tempfile.TemporaryFile(mode="w+", encoding="utf-8", errors="replace") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "engine.lab.worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
            encoding="utf-8",
            bufsize=1,
            env=env,
        )
        lines: queue.Queue = queue.Queue()

        def read() -> None:
            for line in proc.stdout:
                lines.put(line)
            lines.put(None)

        reader = threading.Thread(target=read, name="parlance-worker-reader", daemon=True)
        reader.start()
        result, failure, sent_cancel, sent_pause = None, None, False, False

        def send(word: str) -> None:
            with contextlib.suppress(OSError):  # the child may have finished already
                proc.stdin.write(word + "\n")
                proc.stdin.flush()

        try:
            send(request)
            while True:
                if cancel is not None and cancel.cancelled and not sent_cancel:
                    sent_cancel = True
                    send("cancel")
                paused = bool(getattr(cancel, "paused", False)) and not sent_cancel
                if paused != sent_pause:
                    sent_pause = paused
                    send("pause" if paused else "resume")
                try:
                    line = lines.get(timeout=POLL_S)
                except queue.Empty:
                    if idle is not None:
                        idle()
                    continue
                if line is None:
                    break
                msg = json.loads(line)
                if msg.get("kind") == "result":
                    result = msg
                elif msg.get("kind") == "error":
                    failure = _error(msg.get("types", []), msg.get("message", "unknown error"), msg.get("os"))
                else:
                    on_event(msg)
        finally:
            if proc.stdin and not proc.stdin.closed:
                with contextlib.suppress(OSError):
                    proc.stdin.close()  # end of input: a child still running cancels and saves
            code = proc.wait()
            reader.join(timeout=5)
            proc.stdout.close()
        if failure is not None:
            raise failure
        if result is None:
            err.seek(0)
            tail = err.read()[-2000:].strip()
            raise RuntimeError(f"the training process ended unexpectedly (exit code {code}): {tail}")
        return result.get("value")


# -- the child ------------------------------------------------------------------------------------


def main() -> int:
    from engine.cancel import CancelToken

    proto = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
    os.dup2(2, 1)  # stray prints (ours or a library's) must not corrupt the protocol
    sys.stdout = sys.stderr
    lock = threading.Lock()

    def emit(obj: dict) -> None:
        with lock:
            proto.write(json.dumps(obj, default=str) + "\n")
            proto.flush()

    token = CancelToken()
    try:
        request = json.loads(sys.stdin.readline() or "{}")

        def watch() -> None:
            actions = {"cancel": token.cancel, "pause": token.pause, "resume": token.resume}
            for line in sys.stdin:
                actions.get(line.strip(), lambda: None)()
            token.cancel()  # end of input: the parent has gone

        threading.Thread(target=watch, name="parlance-worker-stdin", daemon=True).start()
        if request.get("nice") and hasattr(os, "nice"):
            os.nice(int(request["nice"]))  # yield the CPU to the window first
        if request.get("threads"):
            import torch

            torch.set_num_threads(int(request["threads"]))
        module, _, name = request["target"].partition(":")
        fn = getattr(importlib.import_module(module), name)
        value = fn(**request.get("kwargs", {}), on_event=emit, cancel=token)
        emit({"kind": "result", "value": value})
        return 0
    except BaseException as exc:  # reported to the parent, which raises it for the user
        message = str(exc) or type(exc).__name__
        report = {"kind": "error", "types": [c.__name__ for c in type(exc).__mro__], "message": message}
        if isinstance(exc, OSError) and exc.errno is not None:
            report["os"] = {"errno": exc.errno, "strerror": exc.strerror, "filename": exc.filename}
        emit(report)
        return 1


if __name__ == "__main__":
    sys.exit(main())
