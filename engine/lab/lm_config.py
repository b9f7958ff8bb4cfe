"""The language model's configurations (no torch import: the CLI builds its flags from them)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class LMConfig:
    vocab_size: int = 2000  # tokenizer vocabulary (set from the trained tokenizer)
    emb_dim: int = 64  # piece embedding size
    hidden_size: int = 128  # recurrent state size
    num_layers: int = 1  # stacked recurrent layers
    cell: str = "lstm"  # a name from engine.nn.cells.CELLS
    dropout: float = 0.1  # on embeddings and recurrent outputs in training


@dataclass
class LMTrainConfig:
    vocab_size: int = 2000  # target tokenizer size (a soft limit: small texts give fewer pieces)
    max_tokens: int = 48  # pieces kept per sentence
    epochs: int = 5  # passes over the training sentences
    batch_size: int = 32  # sentences per step
    lr: float = 3e-3  # Adam learning rate
    clip_norm: float = 1.0  # max global gradient norm; 0 disables clipping
    max_steps: int = 0  # optimisation steps budget; 0 = none
    minutes: float = 0.0  # wall-clock budget; 0 = none
    valid_every: int = 20  # every N-th sentence is held out for validation
    seed: int = 0  # tokenizer, initialisation and shuffling seed
