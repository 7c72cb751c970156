#!/usr/bin/env python3
"""Load a GAN checkpoint written by this project's trainer into PyTorch, and check it computes what we compute.

    python3 tools/pytorch/check_checkpoint.py runs/dcgan-mnist/checkpoint.safetensors \
        [--tensors samples.safetensors] [--tol 1e-4]

The models below are the lesson's PyTorch models written out in torch.nn, with the same module layout as
src/gan/models.ts, so the checkpoint's "G.*" and "D.*" entries are two ordinary torch state_dicts: they load
with load_state_dict(strict=True) and nothing renamed. (The "optG.*"/"optD.*" entries hold the Adam state.)

With --tensors (written by `npm run cli -- sample --checkpoint ... --out grid.png --tensors FILE`), the script
also runs G on the same latents and D on G's images, both in eval mode, and reports the largest differences
from our engine's outputs; it exits with status 1 when one exceeds --tol.
"""
import argparse
import json
import sys

import torch
from torch import nn
from safetensors import safe_open
from safetensors.torch import load_file


def dense_gan(z_dim, channels, size):
    out = channels * size * size
    G = nn.Sequential(
        nn.Linear(z_dim, 256), nn.LeakyReLU(0.2),
        nn.Linear(256, 512), nn.BatchNorm1d(512), nn.LeakyReLU(0.2),
        nn.Linear(512, 1024), nn.BatchNorm1d(1024), nn.LeakyReLU(0.2),
        nn.Linear(1024, out), nn.Tanh(), nn.Unflatten(1, (channels, size, size)))
    D = nn.Sequential(
        nn.Flatten(),
        nn.Linear(out, 512), nn.LeakyReLU(0.2),
        nn.Linear(512, 256), nn.LeakyReLU(0.2),
        nn.Linear(256, 1))
    return G, D


def lesson_dcgan(z_dim, channels):
    # 1 -> 3 -> 7 -> 15 -> 28 with k3 s2; the last layer has padding 2 and output_padding 1.
    G = nn.Sequential(
        nn.ConvTranspose2d(z_dim, 256, 3, 2, bias=False), nn.BatchNorm2d(256), nn.ReLU(),
        nn.ConvTranspose2d(256, 128, 3, 2, bias=False), nn.BatchNorm2d(128), nn.ReLU(),
        nn.ConvTranspose2d(128, 64, 3, 2, bias=False), nn.BatchNorm2d(64), nn.ReLU(),
        nn.ConvTranspose2d(64, channels, 3, 2, padding=2, output_padding=1, bias=False), nn.Tanh())
    # 28 -> 14 -> 7 -> 3 -> 1
    D = nn.Sequential(
        nn.Conv2d(channels, 64, 4, 2, 1, bias=False), nn.LeakyReLU(0.2),
        nn.Conv2d(64, 128, 4, 2, 1, bias=False), nn.BatchNorm2d(128), nn.LeakyReLU(0.2),
        nn.Conv2d(128, 256, 4, 2, 1, bias=False), nn.BatchNorm2d(256), nn.LeakyReLU(0.2),
        nn.Conv2d(256, 1, 3, 1, 0, bias=False), nn.Flatten())
    return G, D


def paper_dcgan(z_dim, channels, size, width):
    ups = {32: 3, 64: 4}[size]
    ch = width * 2 ** (ups - 1)
    g = [nn.ConvTranspose2d(z_dim, ch, 4, 1, 0, bias=False), nn.BatchNorm2d(ch), nn.ReLU()]
    for _ in range(1, ups):
        g += [nn.ConvTranspose2d(ch, ch // 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ch // 2), nn.ReLU()]
        ch //= 2
    g += [nn.ConvTranspose2d(ch, channels, 4, 2, 1, bias=False), nn.Tanh()]
    d = [nn.Conv2d(channels, width, 4, 2, 1, bias=False), nn.LeakyReLU(0.2)]
    ch = width
    for _ in range(1, ups):
        d += [nn.Conv2d(ch, ch * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ch * 2), nn.LeakyReLU(0.2)]
        ch *= 2
    d += [nn.Conv2d(ch, 1, 4, 1, 0, bias=False), nn.Flatten()]
    return nn.Sequential(*g), nn.Sequential(*d)


class Net(nn.Module):
    """Our `Net`: the layers sit in a child called `main`, as in the PyTorch DCGAN example."""

    def __init__(self, main):
        super().__init__()
        self.main = main

    def forward(self, x):
        return self.main(x)


def build(model):
    kind, z, c, size = model["kind"], model["zDim"], model["channels"], model["size"]
    if kind == "dense":
        G, D = dense_gan(z, c, size)
    elif kind == "dcgan":
        G, D = lesson_dcgan(z, c)
    elif kind in ("dcgan32", "dcgan64"):
        G, D = paper_dcgan(z, c, size, model.get("width", 64))
    else:
        sys.exit(f"unknown model kind {kind!r} in the checkpoint's metadata")
    return Net(G), Net(D)


def sub_state_dict(state, prefix):
    return {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("checkpoint")
    ap.add_argument("--tensors", help="z/images/logits written by `sample --tensors`")
    ap.add_argument("--tol", type=float, default=1e-4, help="largest allowed absolute difference [1e-4]")
    args = ap.parse_args()

    with safe_open(args.checkpoint, framework="pt") as f:
        meta = f.metadata() or {}
    if "meta" not in meta:
        sys.exit(f"{args.checkpoint}: no 'meta' entry in the safetensors metadata; not a checkpoint of this project's trainer")
    info = json.loads(meta["meta"])
    G, D = build(info["model"])
    state = load_file(args.checkpoint)
    G.load_state_dict(sub_state_dict(state, "G."), strict=True)
    D.load_state_dict(sub_state_dict(state, "D."), strict=True)
    G.eval()
    D.eval()
    n_g = sum(p.numel() for p in G.parameters())
    n_d = sum(p.numel() for p in D.parameters())
    print(f"loaded {info['model']['kind']} at step {info.get('step')} into torch {torch.__version__}: "
          f"G {n_g:,} and D {n_d:,} parameters, strict=True")

    if not args.tensors:
        return 0
    ref = load_file(args.tensors)
    with torch.no_grad():
        images = G(ref["z"])
        logits = D(ref["images"])
    err_images = (images - ref["images"]).abs().max().item()
    err_logits = (logits.reshape(ref["logits"].shape) - ref["logits"]).abs().max().item()
    ok = err_images <= args.tol and err_logits <= args.tol * max(1.0, ref["logits"].abs().max().item())
    print(f"G(z) vs ours: max |diff| {err_images:.3g} over {images.numel()} values; "
          f"D(images) vs ours: max |diff| {err_logits:.3g} (|logit| up to {ref['logits'].abs().max().item():.3g}); "
          f"{'OK' if ok else 'MISMATCH'} at tol {args.tol:g}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
