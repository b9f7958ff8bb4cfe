"""choose_device says where a device that cannot be used came from: PARLANCE_DEVICE or the caller.

A PARLANCE_DEVICE=cuda on a machine without CUDA read "device 'cuda' requested but CUDA is not
available; use 'cpu'", as if the user had typed it; nothing named the variable."""

from __future__ import annotations

import pytest
import torch

from engine import device
from engine.cli import main
from engine.device import ENV_VAR, choose_device


@pytest.fixture
def no_gpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    if getattr(torch.backends, "mps", None) is not None:
        monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("cuda", "CUDA is not available"),
        ("CUDA:1", "CUDA is not available"),
        ("mps", "MPS is not available"),
        ("nonsense", "not a device name; known: auto, cpu, cuda, cuda:N, mps"),
    ],
)
def test_a_device_from_the_environment_is_named_as_such(monkeypatch, no_gpu, value, reason):
    monkeypatch.setenv(ENV_VAR, f" {value} ")
    with pytest.raises(device.DeviceError) as err:
        choose_device()
    assert str(err.value) == (
        f"PARLANCE_DEVICE={value} cannot be used ({reason}); unset PARLANCE_DEVICE or set it to cpu"
    )
    assert err.value.reason == reason and err.value.from_env == value
    assert isinstance(err.value, ValueError)  # the CLI's one error path still takes it


def test_an_explicit_device_keeps_its_message_and_wins_over_the_environment(monkeypatch, no_gpu):
    monkeypatch.setenv(ENV_VAR, "nonsense")
    with pytest.raises(device.DeviceError) as err:
        choose_device("cuda")
    assert str(err.value) == "device 'cuda' requested but CUDA is not available; use 'cpu'"
    assert err.value.from_env is None and err.value.reason == "CUDA is not available"
    assert choose_device("cpu").name == "cpu"
    assert choose_device(force_cpu=True).name == "cpu"  # the CPU switch ignores the variable


def test_a_cuda_index_that_is_not_a_number_is_an_unknown_device(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    with pytest.raises(device.DeviceError, match="unknown device 'cuda:x'"):
        choose_device("cuda:x")


def test_the_cli_names_the_variable_and_exits_2_without_a_traceback(monkeypatch, no_gpu, capsys):
    monkeypatch.setenv(ENV_VAR, "cuda")
    assert main(["chat", "hi"]) == 2
    err = capsys.readouterr().err
    assert err.strip() == (
        "error: PARLANCE_DEVICE=cuda cannot be used (CUDA is not available); "
        "unset PARLANCE_DEVICE or set it to cpu"
    )
