#!/usr/bin/env python3
"""Load a GAN checkpoint written by this project's trainer into PyTorch, and check it computes what we compute.

    python3 tools/pytorch/check_checkpoint.py runs/dcgan-mnist/checkpoint.safetensors \
        [--tensors samples.safetensors] [--tol 1e-4] [--generator raw|ema] [--out FILE.json]

The models below are the lesson's PyTorch models written out in torch.nn, with the same module layout as
src/gan/models.ts, so the checkpoint's "G.*" and "D.*" entries are two ordinary torch state_dicts: they load
with load_state_dict(strict=True) and nothing renamed. (The "optG.*"/"optD.*" entries hold the Adam state.) The
growing kinds (progan, msggan) are in growing_gans.py beside this file, written from the papers; a progan checkpoint
is run at the stage and fade alpha its metadata records (meta.growth).

With --tensors (written by `npm run cli -- sample --checkpoint ... --out grid.png --tensors FILE`), the script
also runs G on the same latents and D on our images, both in eval mode, and reports the largest differences
from our engine's outputs; it exits with status 1 when one exceeds --tol. For progan, G's image is upsampled
(nearest) to full size and D scores our images as `sample` does (pooled to the stage's size, faded as reals
mid-fade); for msggan D scores the pyramid of 2x2 average pools of our images. For these two kinds `sample` also
writes what a training step gives D and D's logits of it (progan: stage_images, G's image at the stage's own size,
and logits_fake; msggan: scales.0, ... its smaller scales, and logits_scales), and they are compared too.

The outcome is also written as JSON (--out, default pytorch-check.json beside the checkpoint): the checkpoint and
tensors files with their SHA-256, the model and step (and for progan the stage and alpha, beside the trainer's
schedule recomputed from the step), torch's version, the date, the tensors' shapes, and the largest absolute
differences of each output compared. It needs torch (Debian: `apt-get install python3-torch`); the
`safetensors` package is used when installed, else the small reader below.
"""
import argparse
import datetime
import hashlib
import json
import os
import platform
import struct
import sys

import torch
from torch import nn

sys.dont_write_bytecode = True  # no __pycache__ in tools/pytorch/ for the import below
import growing_gans as growing  # noqa: E402 (beside this file: the progan and msggan nets)

GROWING = ("progan", "msggan")

try:
    from safetensors.torch import load_file as _st_load_file
except ImportError:  # Debian has no python3-safetensors; the format is simple enough to read here
    _st_load_file = None

_DTYPES = {"F64": torch.float64, "F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16,
           "I64": torch.int64, "I32": torch.int32, "I16": torch.int16, "I8": torch.int8, "U8": torch.uint8,
           "BOOL": torch.bool}


def read_safetensors(path):
    """(metadata dict, {name: tensor}) of a safetensors file: an 8-byte little-endian header length, a JSON
    header of {name: {dtype, shape, data_offsets}} plus "__metadata__", then the raw little-endian data."""
    with open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 8:
        sys.exit(f"{path}: too short to be a safetensors file")
    (n,) = struct.unpack("<Q", raw[:8])
    try:
        header = json.loads(raw[8:8 + n])
    except ValueError as e:
        sys.exit(f"{path}: the safetensors header is not JSON ({e})")
    meta = header.pop("__metadata__", None) or {}
    if _st_load_file is not None:
        return meta, _st_load_file(path)
    data = raw[8 + n:]
    tensors = {}
    for name, entry in header.items():
        if entry["dtype"] not in _DTYPES:
            sys.exit(f"{path}: entry {name!r} has dtype {entry['dtype']}, which this reader does not know")
        start, end = entry["data_offsets"]
        dtype = _DTYPES[entry["dtype"]]
        t = torch.frombuffer(bytearray(data[start:end]), dtype=dtype) if end > start else torch.empty(0, dtype=dtype)
        tensors[name] = t.reshape(entry["shape"])
    return meta, tensors


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


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


def build(model, mbstd_group=4, combine=None, ckpt="checkpoint"):
    kind, z, c, size = model["kind"], model["zDim"], model["channels"], model["size"]
    if kind in GROWING:
        K = growing.last_stage(size)
        width = model["width"]
        plan = growing.channel_plan(width, K)
        if model.get("stageWidths") != plan:
            sys.exit(f"{ckpt}: meta.model.stageWidths is {model.get('stageWidths')}, not the channel plan {plan} of width "
                     f"{width} at {size} px (a checkpoint written before the plan was recorded has other shapes)")
        if kind == "progan":
            return growing.ProganG(z, c, width, K), growing.ProganD(c, width, K, mbstd_group)
        return growing.MsgG(z, c, width, K), growing.MsgD(c, width, K, combine or "lin", mbstd_group)
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


def growth_of(info, K, ckpt):
    """The stage and alpha the checkpoint records (meta.growth), and the trainer's schedule recomputed from the
    step, batch size and growImages for comparison (the last step's: images = (step - 1) * batch)."""
    rec = info.get("growth")
    if not isinstance(rec, dict) or "stage" not in rec or "alpha" not in rec:
        sys.exit(f"{ckpt}: a progan checkpoint without meta.growth (stage and alpha)")
    stage, alpha = int(rec["stage"]), float(rec["alpha"])
    if not (0 <= stage <= K and 0 <= alpha <= 1):
        sys.exit(f"{ckpt}: meta.growth stage {stage}, alpha {alpha} is outside stage 0..{K}, alpha 0..1")
    out = {"stage": stage, "alpha": alpha, "resolution": 4 * 2 ** stage}
    opts = info.get("options") or {}
    step, batch, L = info.get("step"), opts.get("batchSize"), opts.get("growImages")
    if all(isinstance(v, (int, float)) for v in (step, batch, L)):
        images = max(0, int(step) - 1) * int(batch)
        s2, a2 = growing.growth_at(images, K, int(L))
        out["schedule"] = {"images": images, "growImages": int(L), "stage": s2, "alpha": a2,
                           "matchesRecorded": s2 == stage and abs(a2 - alpha) <= 1e-12}
    return out


def max_diff(ours_torch, ref):
    return (ours_torch.reshape(ref.shape) - ref).abs().max().item()


def compare(ref, G, D, kind, info, growth):
    """{name: (torch tensor, our tensor, what it is)} of every output the tensors file lets us check."""
    z, images_ref = ref["z"], ref["images"]
    size = info["model"]["size"]
    pairs = {}
    if kind == "progan":
        stage, alpha = growth["stage"], growth["alpha"]
        g = G(z, stage, alpha)
        r = g.shape[2]
        images = growing.upsample(g, size // r) if r < size else g
        up = f", upsampled (nearest) to {size}px as `sample` draws it" if r < size else ""
        pairs["G_z"] = (images, images_ref, f"G(z) at stage {stage} (alpha {alpha:g}), {r}px{up}")
        logits = D(growing.reals_at(images_ref, stage, alpha), stage, alpha)
        pairs["D_G_z"] = (logits, ref["logits"], "D on our images as `sample` scores them: pooled to the stage's "
                                                 "size and, mid-fade, faded as reals are")
        if "stage_images" in ref:
            pairs["G_z_stage"] = (g, ref["stage_images"], "G(z) at the stage's own size")
        if "logits_fake" in ref:
            pairs["D_fake"] = (D(ref["stage_images"], stage, alpha), ref["logits_fake"],
                               "D on our stage-size G(z) as training scores fakes")
    elif kind == "msggan":
        scales = G.forward_scales(z)
        pairs["G_z"] = (scales[-1], images_ref, "G(z) at full size (the last scale)")
        pairs["D_G_z"] = (D(images_ref), ref["logits"], "D on our images' pyramid of 2x2 average pools")
        K = len(scales) - 1
        for s in range(K):
            if f"scales.{s}" in ref:
                pairs[f"G_z_scale{s}"] = (scales[s], ref[f"scales.{s}"], f"G's {4 * 2 ** s}px output (toRGB {s})")
        if "logits_scales" in ref and all(f"scales.{s}" in ref for s in range(K)):
            ours = [ref[f"scales.{s}"] for s in range(K)] + [images_ref]
            pairs["D_scales"] = (D.forward_scales(ours), ref["logits_scales"],
                                 "D on our G's own scales, as training scores fakes")
    else:
        pairs["G_z"] = (G(z), images_ref, "G(z)")
        pairs["D_G_z"] = (D(images_ref), ref["logits"], "D on our images")
    return pairs


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("checkpoint")
    ap.add_argument("--tensors", help="z/images/logits written by `sample --tensors`")
    ap.add_argument("--tol", type=float, default=1e-4, help="largest allowed absolute difference [1e-4]")
    ap.add_argument("--generator", choices=["raw", "ema"],
                    help="which generator `sample --tensors` drew from: the trained G ('G.*') or the weight average "
                         "('G_ema.*'); default: as `sample` does, the average when the checkpoint has one")
    ap.add_argument("--mbstd-group", type=int, default=4,
                    help="progan/msggan: samples per minibatch-stddev group in D (our MBSTD_GROUP) [4]")
    ap.add_argument("--out", help="JSON file for the outcome [pytorch-check.json beside the checkpoint]")
    args = ap.parse_args()

    meta, state = read_safetensors(args.checkpoint)
    if "meta" not in meta:
        sys.exit(f"{args.checkpoint}: no 'meta' entry in the safetensors metadata; not a checkpoint of this project's trainer")
    info = json.loads(meta["meta"])
    kind = info["model"]["kind"]
    combine = None
    if kind == "msggan":
        combine = "lin" if any(k.startswith("D.rgb_to_features.") for k in state) else "simple"
    G, D = build(info["model"], args.mbstd_group, combine, args.checkpoint)
    growth = None
    if kind == "progan":
        growth = growth_of(info, growing.last_stage(info["model"]["size"]), args.checkpoint)
    has_ema = any(k.startswith("G_ema.") for k in state)
    generator = args.generator or ("ema" if has_ema else "raw")
    if generator == "ema" and not has_ema:
        sys.exit(f"{args.checkpoint}: --generator ema, but the checkpoint has no G_ema.* entries (trained without --g-ema)")
    g_prefix = "G_ema." if generator == "ema" else "G."
    G.load_state_dict(sub_state_dict(state, g_prefix), strict=True)
    D.load_state_dict(sub_state_dict(state, "D."), strict=True)
    G.eval()
    D.eval()
    n_g = sum(p.numel() for p in G.parameters())
    n_d = sum(p.numel() for p in D.parameters())
    where = f" (stage {growth['stage']}, alpha {growth['alpha']:g})" if growth else ""
    print(f"loaded {kind} at step {info.get('step')}{where} into torch {torch.__version__}: "
          f"{g_prefix[:-1]} {n_g:,} and D {n_d:,} parameters, strict=True")
    if growth and "schedule" in growth and not growth["schedule"]["matchesRecorded"]:
        print(f"note: the schedule gives stage {growth['schedule']['stage']}, alpha {growth['schedule']['alpha']:g} "
              f"for step {info.get('step')}; the checkpoint records stage {growth['stage']}, alpha {growth['alpha']:g}")

    out = {
        "checkpoint": args.checkpoint,
        "checkpointSha256": sha256(args.checkpoint),
        "model": kind,
        "modelSpec": info["model"],
        "step": int(info["step"]) if info.get("step") is not None else None,
        "generator": g_prefix[:-1],
        "strictLoad": True,
        "parameters": {"G": n_g, "D": n_d},
        "torch": torch.__version__,
        "safetensorsReader": "the safetensors package" if _st_load_file is not None else "check_checkpoint.py's own",
        "python": platform.python_version(),
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    if growth:
        out["growth"] = growth
    if kind in GROWING:
        out["mbstdGroup"] = args.mbstd_group
    if combine:
        out["combine"] = combine
    rc = 0
    if args.tensors:
        _, ref = read_safetensors(args.tensors)
        with torch.no_grad():
            pairs = compare(ref, G, D, kind, info, growth)
        diffs, what, ok = {}, {}, True
        for name, (ours_torch, ours, desc) in pairs.items():
            d = max_diff(ours_torch, ours)
            # images in [-1, 1] take an absolute tolerance; scores one relative to their largest magnitude above 1
            limit = args.tol * (max(1.0, ours.abs().max().item()) if name.startswith("D") else 1.0)
            diffs[name] = d
            what[name] = desc
            ok = ok and d <= limit
            print(f"{name}: max |diff| {d:.3g} over {ours.numel()} values (|ours| up to {ours.abs().max().item():.3g}) "
                  f"— {desc}")
        logit_max = ref["logits"].abs().max().item()
        print(f"{'OK' if ok else 'MISMATCH'} at tol {args.tol:g}")
        out.update({
            "tensors": args.tensors,
            "tensorsSha256": sha256(args.tensors),
            "shapes": {k: list(v.shape) for k, v in ref.items()},
            "maxAbsDiff": diffs,
            "compared": what,
            "logitMaxAbs": logit_max,
            "tol": args.tol,
            "ok": ok,
        })
        rc = 0 if ok else 1
    path = args.out or os.path.join(os.path.dirname(os.path.abspath(args.checkpoint)), "pytorch-check.json")
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(out, f, indent=2)
        f.write("\n")
    os.replace(tmp, path)
    print(f"wrote {path}")
    return rc


if __name__ == "__main__":
    sys.exit(main())
