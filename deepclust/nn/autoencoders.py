"""Autoencoders shared by every deep method.

* :class:`MLPAutoencoder` — the DEC paper's fully connected d-500-500-2000-10 network (ReLU
  hidden layers, linear embedding and output layers), with any layer sizes.
* :class:`ConvAutoencoder` — DCEC's convolutional autoencoder (X. Guo, X. Liu, E. Zhu,
  J. Yin, "Deep Clustering with Convolutional Autoencoders", ICONIP 2017): conv 32 5x5 s2 ->
  64 5x5 s2 -> 128 3x3 s2 -> dense embedding, mirrored with transposed convolutions. It
  adapts to any image size and channel count.

Both initialise layers as PyTorch's default: weights uniform in ±1/sqrt(fan_in), which is the
VarianceScaling(1/3, fan_in, uniform) kernel initialiser of the DEC-keras reference, and
biases uniform in the same range, where Keras starts them at zero. :func:`initialise_weights`
gives the Keras references' starts instead: ``"fan_in"`` (DEC-keras with SGD pretraining,
its MNIST and Fashion-MNIST setting) and ``"glorot"`` (Keras' default glorot-uniform kernels,
which Guo's DCEC and IDEC code keeps), both with zero biases.
"""

from __future__ import annotations

import math

import torch
from torch import nn

WEIGHT_INITS = ("torch", "fan_in", "glorot")


def initialise_weights(network: nn.Module, scheme: str = "torch") -> nn.Module:
    """Re-initialise every dense and (transposed) convolution layer of ``network`` and return it.

    ``"torch"`` leaves PyTorch's default start; ``"fan_in"`` draws weights uniform in
    ±sqrt(1/fan_in) (Keras' VarianceScaling(1/3, 'fan_in', 'uniform'), DEC-keras) and
    ``"glorot"`` uniform in ±sqrt(6/(fan_in + fan_out)) (Keras' default glorot_uniform, Guo's
    DCEC); both set biases to zero, as Keras does. Fans follow Keras' rule for each layer kind
    (PyTorch's ``_calculate_fan_in_and_fan_out`` gives the same for dense, convolution and
    transposed convolution weights). The scheme is recorded in ``network.weight_init`` and in
    its :meth:`config` (so pretraining caches tell the starts apart).
    """
    if scheme not in WEIGHT_INITS:
        raise ValueError(f"unknown weight_init {scheme!r}; choose from {', '.join(WEIGHT_INITS)}")
    network.weight_init = scheme
    if scheme == "torch":
        return network
    for layer in network.modules():
        if isinstance(layer, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)):
            with torch.no_grad():
                if scheme == "glorot":
                    nn.init.xavier_uniform_(layer.weight)
                else:
                    fan_in, _ = nn.init._calculate_fan_in_and_fan_out(layer.weight)
                    bound = math.sqrt(1.0 / fan_in)
                    layer.weight.uniform_(-bound, bound)
                if layer.bias is not None:
                    layer.bias.zero_()
    return network


def _init_entry(network: nn.Module) -> dict:
    """The config entry of a non-default weight initialisation (none for PyTorch's default, so
    descriptions and cache keys of networks made before the option existed are unchanged)."""
    scheme = getattr(network, "weight_init", "torch")
    return {} if scheme == "torch" else {"weight_init": scheme}


class MLPAutoencoder(nn.Module):
    """Fully connected autoencoder ``input_dim - dims[0] - ... - dims[-1]`` and its mirror.

    Hidden layers use ReLU; the embedding (last encoder layer) and the reconstruction are
    linear. Layers are kept in ``encoder_layers``/``decoder_layers`` (``decoder_layers[i]``
    mirrors ``encoder_layers[i]``) so greedy layer-wise pretraining can train them in pairs.
    """

    def __init__(self, input_dim: int, dims=(500, 500, 2000, 10)):
        super().__init__()
        sizes = [int(input_dim), *(int(d) for d in dims)]
        self.sizes = sizes
        self.encoder_layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:], strict=True))
        self.decoder_layers = nn.ModuleList(nn.Linear(b, a) for a, b in zip(sizes[:-1], sizes[1:], strict=True))

    @property
    def embedding_dim(self) -> int:
        """Size of the embedding z."""
        return self.sizes[-1]

    @property
    def n_layers(self) -> int:
        """Number of encoder layers."""
        return len(self.encoder_layers)

    def encoder_parameters(self) -> list:
        """Parameters of the encoder half (what DEC trains; the decoder is dropped)."""
        return list(self.encoder_layers.parameters())

    def encode_hidden(self, x: torch.Tensor) -> torch.Tensor:
        """Activations of the last hidden encoder layer (what the embedding layer reads)."""
        for layer in self.encoder_layers[:-1]:
            x = torch.relu(layer(x))
        return x

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Embedding z of a batch of flat inputs."""
        return self.encoder_layers[-1](self.encode_hidden(x))

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Reconstruction (flat) from an embedding."""
        for i in reversed(range(self.n_layers)):
            z = self.decoder_layers[i](z)
            if i > 0:
                z = torch.relu(z)
        return z

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Return ``(z, x_hat)``."""
        z = self.encode(x)
        return z, self.decode(z)

    def config(self) -> dict:
        """JSON description from which :func:`build_autoencoder` rebuilds the network."""
        return {"kind": "mlp", "input_dim": self.sizes[0], "dims": self.sizes[1:], **_init_entry(self)}


def _conv_out(size: int, kernel: int, pad: int) -> int:
    return (size + 2 * pad - kernel) // 2 + 1


class ConvAutoencoder(nn.Module):
    """DCEC's convolutional autoencoder for images of shape ``(H, W, C)``.

    Encoder: conv(32, 5x5, stride 2, 'same') -> conv(64, 5x5, s2, 'same') -> conv(128, 3x3,
    s2) -> flatten -> dense(embedding_dim). As in the reference, the last convolution is
    'valid' unless both sides are divisible by 8 (so 28x28 -> 14 -> 7 -> 3). The decoder
    mirrors it with transposed convolutions whose output padding restores each size
    exactly, so any input size works. ReLU everywhere except the embedding and the output.
    Inputs and outputs are flat vectors in H, W, C order (as :class:`deepclust.data.Dataset`
    stores images).
    """

    def __init__(self, input_shape, filters=(32, 64, 128), embedding_dim: int = 10):
        super().__init__()
        if len(input_shape) != 3:
            raise ValueError("input_shape must be (height, width, channels)")
        h, w, c = (int(s) for s in input_shape)
        self.input_shape = (h, w, c)
        self.filters = tuple(int(f) for f in filters)
        self._embedding_dim = int(embedding_dim)
        kernels = (5, 5, 3)
        last_pad = 1 if h % 8 == 0 and w % 8 == 0 else 0
        pads = (2, 2, last_pad)
        sizes = [(h, w)]
        for k, p in zip(kernels, pads, strict=True):
            sizes.append((_conv_out(sizes[-1][0], k, p), _conv_out(sizes[-1][1], k, p)))
        if min(sizes[-1]) < 1:
            raise ValueError(f"images of {h}x{w} are too small for this network")
        chans = (c, *self.filters)
        self.convs = nn.ModuleList(
            nn.Conv2d(chans[i], chans[i + 1], kernels[i], stride=2, padding=pads[i]) for i in range(3)
        )
        self.deconvs = nn.ModuleList()
        for i in reversed(range(3)):
            (ih, iw), (oh, ow) = sizes[i + 1], sizes[i]
            base_h = (ih - 1) * 2 - 2 * pads[i] + kernels[i]
            base_w = (iw - 1) * 2 - 2 * pads[i] + kernels[i]
            self.deconvs.append(nn.ConvTranspose2d(
                chans[i + 1], chans[i], kernels[i], stride=2, padding=pads[i],
                output_padding=(oh - base_h, ow - base_w)))
        self._inner = (self.filters[-1], *sizes[-1])
        flat = math.prod(self._inner)
        self.embed = nn.Linear(flat, self._embedding_dim)
        self.unembed = nn.Linear(self._embedding_dim, flat)

    @property
    def embedding_dim(self) -> int:
        """Size of the embedding z."""
        return self._embedding_dim

    def _to_image(self, x: torch.Tensor) -> torch.Tensor:
        h, w, c = self.input_shape
        return x.reshape(-1, h, w, c).permute(0, 3, 1, 2)

    def encoder_parameters(self) -> list:
        """Parameters of the encoder half (what DEC trains; the decoder is dropped)."""
        return [*self.convs.parameters(), *self.embed.parameters()]

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Embedding z of a batch of flat (H*W*C) images."""
        x = self._to_image(x)
        for conv in self.convs:
            x = torch.relu(conv(x))
        return self.embed(x.flatten(1))

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Flat reconstruction (H*W*C, H, W, C order) from an embedding."""
        x = torch.relu(self.unembed(z)).reshape(-1, *self._inner)
        for i, deconv in enumerate(self.deconvs):
            x = deconv(x)
            if i < len(self.deconvs) - 1:
                x = torch.relu(x)
        return x.permute(0, 2, 3, 1).flatten(1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Return ``(z, x_hat)``."""
        z = self.encode(x)
        return z, self.decode(z)

    def config(self) -> dict:
        """JSON description from which :func:`build_autoencoder` rebuilds the network."""
        return {"kind": "conv", "input_shape": list(self.input_shape), "filters": list(self.filters),
                "embedding_dim": self._embedding_dim, **_init_entry(self)}


def build_autoencoder(config: dict) -> nn.Module:
    """Rebuild an autoencoder from its :meth:`config` dict (used when loading a model)."""
    kind = config.get("kind")
    if kind == "mlp":
        network = MLPAutoencoder(config["input_dim"], config["dims"])
    elif kind == "conv":
        network = ConvAutoencoder(config["input_shape"], config["filters"], config["embedding_dim"])
    else:
        raise ValueError(f"unknown autoencoder kind {kind!r}")
    network.weight_init = config.get("weight_init", "torch")  # the weights are loaded next
    return network
