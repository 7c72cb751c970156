"""The growing GANs (progan, msggan) in torch.nn, written from the papers and our state_dict layout.

ProGAN: Karras et al. 2018, "Progressive Growing of GANs" (arXiv 1710.10196), section 4 and table 2, and the
authors' released code as the paper describes it. MSG-GAN: Karnewar & Wang 2020 (arXiv 1903.06048), section 3.
Module names and tensor shapes follow src/gan/progan.ts and src/gan/msggan.ts, so the checkpoint's "G.*" and "D.*"
entries load with load_state_dict(strict=True); the computations below are the papers', written in plain torch
ops (no code of ours is translated):

  - equalized learning rate: the stored weight w (drawn N(0, 1)) is used as w * gain / sqrt(fan_in), with He's
    fan_in = in_channels * kh * kw and gain sqrt(2), or 1 for the linear layers (toRGB, D's score);
  - G's first layer is the paper's code's dense layer from the latent to 4x4 maps, gain sqrt(2)/4 over a fan-in of
    z_dim. Our checkpoint stores it as a 4x4 transposed conv [z_dim, C, 4, 4]; here it is a matrix product with that
    weight reshaped to [z_dim, C*16], scaled by (sqrt(2)/4)/sqrt(z_dim);
  - D's 4x4 "conv" on the 4x4 maps is the paper's code's dense layer over the C*16 flattened features (fan-in C*16);
  - pixelwise feature normalization x / sqrt(mean_c x^2 + 1e-8), on the latent and after every activation in G;
  - minibatch standard deviation: the batch split into groups of G samples as the paper's code does
    (reshape [G, N/G, C, H, W]: sample n is in group n mod N/G), the population stddev (+1e-8 under the root) of
    each feature over the group, averaged over features, appended as one channel;
  - the fade: (1 - alpha) * old + alpha * new, old being G's previous toRGB image upsampled (nearest) and D's
    previous fromRGB on the 2x2 average-pooled image; reals are faded the same way (the paper's code does so);
  - the channel plan: the paper's feature maps inversely proportional to the resolution, capped (its table 2 halves
    them with every doubling from 64 px up): stage s of a last stage K has width * 2^min(3, K - s) channels;
  - MSG-GAN: G's toRGB image at every block; D reads the full image with fromRGB and joins each smaller scale to the
    features coming down, by phi_lin ([features ; 1x1 conv of the image], the image and the features each half of
    the block's C_s input channels, as the authors' code splits them) or phi_simple ([features ; image]).
"""
import math

import torch
import torch.nn.functional as F
from torch import nn

SLOPE = 0.2
EPS = 1e-8
SQRT2 = math.sqrt(2.0)


def lrelu(x):
    return F.leaky_relu(x, SLOPE)


def pixel_norm(x):
    return x * torch.rsqrt(x.pow(2).mean(dim=1, keepdim=True) + EPS)


def group_size(n, group):
    """Samples per stddev group for a batch of n: the configured size when it divides n (the paper's code needs
    that), else the largest smaller size that does (src/gan/progan.ts `minibatchGroup`, so a grid of any size is
    scored)."""
    for g in range(min(group, n), 1, -1):
        if n % g == 0:
            return g
    return 1


def minibatch_stddev(x, group):
    n, c, h, w = x.shape
    g = group_size(n, group)
    y = x.reshape(g, n // g, c, h, w)                 # [G, M, C, H, W]: sample i*M + m in group m
    y = y - y.mean(dim=0, keepdim=True)
    y = torch.sqrt(y.pow(2).mean(dim=0) + EPS)         # [M, C, H, W]
    y = y.mean(dim=(1, 2, 3))                          # [M]
    y = y.repeat(g).reshape(n, 1, 1, 1).expand(n, 1, h, w)
    return torch.cat([x, y], dim=1)


def fade(old, new, alpha):
    return (1.0 - alpha) * old + alpha * new


def upsample(x, factor=2):
    return F.interpolate(x, scale_factor=factor, mode="nearest")


def pool(x, factor=2):
    return F.avg_pool2d(x, factor)


def stage_channels(width, K, s):
    """Channels of stage s's blocks for a last stage K: width at the last stage, doubling per stage below it, at
    most 8 * width (the paper's plan)."""
    return width * 2 ** min(3, K - s)


def channel_plan(width, K):
    """The channels of stages 0..K (4x4 first): what a checkpoint's meta.model.stageWidths records."""
    return [stage_channels(width, K, s) for s in range(K + 1)]


class EqConv2d(nn.Module):
    def __init__(self, cin, cout, k, padding=0, gain=SQRT2):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(cout, cin, k, k))
        self.bias = nn.Parameter(torch.zeros(cout))
        self.scale = gain / math.sqrt(cin * k * k)
        self.padding = padding

    def forward(self, x):
        return F.conv2d(x, self.weight * self.scale, self.bias, padding=self.padding)


class EqLinear(nn.Module):
    def __init__(self, fin, fout, gain=SQRT2):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(fout, fin))
        self.bias = nn.Parameter(torch.zeros(fout))
        self.scale = gain / math.sqrt(fin)

    def forward(self, x):
        return F.linear(x, self.weight * self.scale, self.bias)


class LatentToMaps(nn.Module):
    """The paper code's dense layer z -> 4x4xC (gain sqrt(2)/4, fan-in z_dim), weight stored as [z_dim, C, 4, 4]."""

    def __init__(self, z_dim, cout):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(z_dim, cout, 4, 4))
        self.bias = nn.Parameter(torch.zeros(cout))
        self.scale = (SQRT2 / 4) / math.sqrt(z_dim)

    def forward(self, z):
        n, z_dim = z.shape[0], self.weight.shape[0]
        c = self.weight.shape[1]
        w = self.weight.reshape(z_dim, c * 16) * self.scale
        return (z.reshape(n, z_dim) @ w).reshape(n, c, 4, 4) + self.bias.reshape(1, c, 1, 1)


class Dense4x4(nn.Module):
    """The paper code's dense layer over D's flattened 4x4xC features (gain sqrt(2), fan-in C*16), weight [out, C, 4, 4]."""

    def __init__(self, cin, cout):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(cout, cin, 4, 4))
        self.bias = nn.Parameter(torch.zeros(cout))
        self.scale = SQRT2 / math.sqrt(cin * 16)

    def forward(self, x):
        w = self.weight.reshape(self.weight.shape[0], -1) * self.scale
        return F.linear(x.flatten(1), w, self.bias)


class GBlock(nn.Module):
    def __init__(self, first, cin, cout):
        super().__init__()
        self.first = first
        self.conv1 = LatentToMaps(cin, cout) if first else EqConv2d(cin, cout, 3, padding=1)
        self.conv2 = EqConv2d(cout, cout, 3, padding=1)

    def forward(self, x):
        if not self.first:
            x = upsample(x)
        x = pixel_norm(lrelu(self.conv1(x)))
        return pixel_norm(lrelu(self.conv2(x)))


class DBlock(nn.Module):
    def __init__(self, last, cin, cout, mid=None, group=4):
        super().__init__()
        self.last = last
        self.group = group
        if last:
            self.conv1 = EqConv2d(cin + 1, cout, 3, padding=1)
            self.conv2 = Dense4x4(cout, cout)
            self.linear = EqLinear(cout, 1, gain=1.0)
        else:
            mid = cin if mid is None else mid
            self.conv1 = EqConv2d(cin, mid, 3, padding=1)
            self.conv2 = EqConv2d(mid, cout, 3, padding=1)

    def forward(self, x):
        if self.last:
            x = lrelu(self.conv1(minibatch_stddev(x, self.group)))
            return self.linear(lrelu(self.conv2(x)))
        return pool(lrelu(self.conv2(lrelu(self.conv1(x)))))


def generator_layers(z_dim, channels, width, K):
    blocks, to_rgb = [], []
    for s in range(K + 1):
        c = stage_channels(width, K, s)
        blocks.append(GBlock(s == 0, z_dim if s == 0 else stage_channels(width, K, s - 1), c))
        to_rgb.append(EqConv2d(c, channels, 1, gain=1.0))
    return nn.ModuleList(blocks), nn.ModuleList(to_rgb)


class ProganG(nn.Module):
    def __init__(self, z_dim, channels, width, K):
        super().__init__()
        self.blocks, self.to_rgb = generator_layers(z_dim, channels, width, K)

    def forward(self, z, stage, alpha):
        h = pixel_norm(z)
        for s in range(stage):
            h = self.blocks[s](h)
        new = self.to_rgb[stage](self.blocks[stage](h))
        if stage == 0 or alpha == 1:
            return new
        return fade(upsample(self.to_rgb[stage - 1](h)), new, alpha)


class ProganD(nn.Module):
    def __init__(self, channels, width, K, group=4):
        super().__init__()
        cs = [stage_channels(width, K, s) for s in range(K + 1)]
        self.from_rgb = nn.ModuleList(EqConv2d(channels, c, 1) for c in cs)
        self.blocks = nn.ModuleList(
            DBlock(s == 0, cs[s], cs[0] if s == 0 else cs[s - 1], group=group) for s in range(K + 1))

    def forward(self, x, stage, alpha):
        h = lrelu(self.from_rgb[stage](x))
        if stage > 0:
            h = self.blocks[stage](h)
            if alpha != 1:
                h = fade(lrelu(self.from_rgb[stage - 1](pool(x))), h, alpha)
        for s in range(stage - 1 if stage > 0 else 0, -1, -1):
            h = self.blocks[s](h)
        return h


def reals_at(x, stage, alpha):
    """Full-size images as ProGAN's D sees reals at a stage: pooled to 4*2^stage, and during a fade blended with
    their own 2x2-pooled-and-upsampled version (the paper's code's process_reals)."""
    r = 4 * 2 ** stage
    at = x if x.shape[2] == r else pool(x, x.shape[2] // r)
    if alpha == 1:
        return at
    return fade(upsample(pool(at)), at, alpha)


class MsgG(nn.Module):
    def __init__(self, z_dim, channels, width, K):
        super().__init__()
        self.blocks, self.to_rgb = generator_layers(z_dim, channels, width, K)

    def forward_scales(self, z):
        h = pixel_norm(z)
        out = []
        for block, rgb in zip(self.blocks, self.to_rgb):
            h = block(h)
            out.append(rgb(h))
        return out

    def forward(self, z):
        return self.forward_scales(z)[-1]


class MsgD(nn.Module):
    def __init__(self, channels, width, K, combine="lin", group=4):
        super().__init__()
        self.K = K
        self.combine = combine
        cs = channel_plan(width, K)
        lin = combine == "lin"
        # what comes down into block s < K from block s + 1, and what the image at scale s adds
        above = [cs[s] // 2 if lin else cs[s] for s in range(K + 1)]
        image = [cs[s] // 2 if lin else channels for s in range(K + 1)]
        self.from_rgb = EqConv2d(channels, cs[K], 1)
        if lin and K > 0:
            self.rgb_to_features = nn.ModuleList(EqConv2d(channels, image[s], 1) for s in range(K))
        self.blocks = nn.ModuleList(
            DBlock(s == 0, cs[K] if s == K else above[s] + image[s], cs[0] if s == 0 else above[s - 1], mid=cs[s],
                   group=group)
            for s in range(K + 1))

    def forward_scales(self, xs):
        h = lrelu(self.from_rgb(xs[self.K]))
        for s in range(self.K, -1, -1):
            if s < self.K:
                img = xs[s]
                h = torch.cat([h, self.rgb_to_features[s](img) if self.combine == "lin" else img], dim=1)
            h = self.blocks[s](h)
        return h

    def forward(self, x):
        return self.forward_scales(pyramid(x, self.K))


def pyramid(x, K):
    """[x_0 (4x4), ..., x_K = x]: each smaller scale the 2x2 average pool of the next (MSG-GAN's real scales)."""
    xs = [x]
    for _ in range(K):
        xs.insert(0, pool(xs[0]))
    return xs


def last_stage(size):
    K = round(math.log2(size / 4))
    if 4 * 2 ** K != size:
        raise ValueError(f"growing GAN size {size} is not 4*2^k")
    return K


def growth_at(images, K, L):
    """Stage and alpha after `images` images with phases of L (the trainer's schedule, from its docs: stage 0 for
    L images, then each stage k fades in over L and trains L more at alpha 1)."""
    if images < L or K == 0:
        return 0, 1.0
    k = (images - L) // (2 * L) + 1
    if k > K:
        return K, 1.0
    return k, min(1.0, (images - L - 2 * (k - 1) * L) / L)
