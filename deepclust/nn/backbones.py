"""Convolutional backbones for DeepCluster, the fixed Sobel filter, and batch augmentation.

* :class:`Sobel` — DeepCluster's fixed input transform (Caron et al. 2018, section 3.3 and
  its reference code): average the colour channels to grey, then two 3x3 Sobel filters give
  horizontal and vertical gradients. It removes colour, which a CNN would otherwise use as
  a trivial cue for clustering, and boosts local contrast.
* :class:`SmallCNN` — for digit- and garment-sized images (e.g. 28x28): two blocks of two
  3x3 convolutions (32 then 64 filters, batch-norm, ReLU, 2x2 max-pool), then a 256-unit
  ReLU feature layer (with dropout while training). ``forward(x, activate=False)`` returns that
  layer before its ReLU — the features DeepCluster clusters, as its reference code strips the
  last ReLU of AlexNet's classifier before computing features and puts it back for training.
* :class:`ResNet18` — the ResNet-18 architecture (He et al. 2016, as torchvision defines it:
  BasicBlocks [2, 2, 2, 2], 64-512 channels), randomly initialised; images of 64 pixels and
  more use its 7x7 stride-2 stem and max-pool, smaller ones a 3x3 stride-1 stem (the usual
  CIFAR variant). Features are the 512-d global average pool. Nothing is downloaded.

Every backbone maps a batch ``(n, C, H, W)`` to features ``(n, feature_dim)``.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


class Sobel(nn.Module):
    """Grey-scale then Sobel gradients: ``(n, C, H, W)`` -> ``(n, 2, H, W)`` (fixed weights)."""

    def __init__(self):
        super().__init__()
        gx = torch.tensor([[1.0, 0.0, -1.0], [2.0, 0.0, -2.0], [1.0, 0.0, -1.0]])
        self.register_buffer("kernel", torch.stack([gx, gx.t()]).unsqueeze(1))  # (2, 1, 3, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        grey = x.mean(dim=1, keepdim=True)
        return F.conv2d(grey, self.kernel, padding=1)


class SmallCNN(nn.Module):
    """A small VGG-style CNN for images of about 28x28 (see the module docstring)."""

    def __init__(self, in_channels: int, height: int, width: int, feature_dim: int = 256):
        super().__init__()

        def block(cin, cout):
            return [nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU(),
                    nn.Conv2d(cout, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU(), nn.MaxPool2d(2)]

        self.body = nn.Sequential(*block(in_channels, 32), *block(32, 64))
        flat = 64 * (height // 4) * (width // 4)
        self.fc = nn.Sequential(nn.Dropout(0.5), nn.Linear(flat, feature_dim))
        self.feature_dim = feature_dim

    def forward(self, x: torch.Tensor, activate: bool = True) -> torch.Tensor:
        """Features ``(n, feature_dim)``: after the final ReLU, or before it with ``activate=False``."""
        out = self.fc(self.body(x).flatten(1))
        return F.relu(out) if activate else out


class _BasicBlock(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = nn.Sequential()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride=stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(out)) + self.shortcut(x))


class ResNet18(nn.Module):
    """ResNet-18 feature extractor (512-d), randomly initialised (see the module docstring)."""

    def __init__(self, in_channels: int, height: int, width: int):
        super().__init__()
        if min(height, width) >= 64:
            self.stem = nn.Sequential(nn.Conv2d(in_channels, 64, 7, stride=2, padding=3, bias=False),
                                      nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(3, stride=2, padding=1))
        else:
            self.stem = nn.Sequential(nn.Conv2d(in_channels, 64, 3, padding=1, bias=False), nn.BatchNorm2d(64),
                                      nn.ReLU())
        layers, cin = [], 64
        for cout, stride in ((64, 1), (128, 2), (256, 2), (512, 2)):
            layers += [_BasicBlock(cin, cout, stride), _BasicBlock(cout, cout, 1)]
            cin = cout
        self.layers = nn.Sequential(*layers)
        self.feature_dim = 512
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x: torch.Tensor, activate: bool = True) -> torch.Tensor:
        """The 512-d average-pooled features (``activate`` is accepted for a common signature:
        the pool follows the last block's ReLU and there is no separate feature layer)."""
        return F.adaptive_avg_pool2d(self.layers(self.stem(x)), 1).flatten(1)


def build_backbone(name: str, in_channels: int, height: int, width: int) -> nn.Module:
    """``"small"`` (:class:`SmallCNN`) or ``"resnet18"`` (:class:`ResNet18`)."""
    if name == "small":
        return SmallCNN(in_channels, height, width)
    if name == "resnet18":
        return ResNet18(in_channels, height, width)
    raise ValueError(f"unknown backbone {name!r}")


def augment(x: torch.Tensor, generator: torch.Generator, natural: bool) -> torch.Tensor:
    """Random augmentation of a batch ``(n, C, H, W)`` with one affine warp per image.

    ``natural=True`` (photographs): a random resized crop (area 30-100%, aspect 3/4-4/3)
    and a horizontal flip with probability 1/2. ``natural=False`` (digits, garments): a
    shift of up to 10% of the side and a rotation of up to 10 degrees.
    """
    n = x.shape[0]
    u = torch.rand(n, 5, generator=generator).to(x.device)
    if natural:
        area = 0.3 + 0.7 * u[:, 0]
        aspect = torch.exp((u[:, 1] - 0.5) * 2 * math.log(4 / 3))
        sx, sy = (area * aspect).sqrt().clamp(max=1.0), (area / aspect).sqrt().clamp(max=1.0)
        tx, ty = (1 - sx) * (2 * u[:, 2] - 1), (1 - sy) * (2 * u[:, 3] - 1)
        flip = torch.where(u[:, 4] < 0.5, -1.0, 1.0)
        zero = torch.zeros_like(sx)
        theta = torch.stack([torch.stack([sx * flip, zero, tx], 1), torch.stack([zero, sy, ty], 1)], 1)
    else:
        angle = (2 * u[:, 0] - 1) * math.radians(10)
        tx, ty = (2 * u[:, 1] - 1) * 0.2, (2 * u[:, 2] - 1) * 0.2  # 10% of the side, in [-1, 1] units
        cos, sin = torch.cos(angle), torch.sin(angle)
        theta = torch.stack([torch.stack([cos, -sin, tx], 1), torch.stack([sin, cos, ty], 1)], 1)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, padding_mode="zeros", align_corners=False)
