"""Renders the growing GANs' table in docs/gan/pytorch-check/README.md from the check files beside it.

    /usr/bin/python3 tools/pytorch/growing_check_table.py

Replaces the text between the README's `<!-- growing-check:begin -->` and `<!-- growing-check:end -->` lines with a
table of each pytorch-check-{progan,progan-stage1,progan-full,msggan}.json that check_checkpoint.py wrote: the model
and the channels per stage it recorded, the stage and alpha, and the largest absolute differences it measured.
"""
import json
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs" / "gan" / "pytorch-check"
RUNS = ["progan", "progan-stage1", "progan-full", "msggan"]
BEGIN, END = "<!-- growing-check:begin -->", "<!-- growing-check:end -->"


def e(x):
    return f"{x:.1e}" if x is not None else ""


def table():
    rows = [
        "| run | channels per stage | stage, α | G(z) | D as `sample` scores | G(z) at stage size | "
        "D on G(z) as training | G's 4 px / 8 px scales | tolerance | verdict |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in RUNS:
        name = f"pytorch-check-{r}.json"
        d = json.loads((DOCS / name).read_text())
        m = d["maxAbsDiff"]
        g = d.get("growth")
        spec = d["modelSpec"]
        stage = f"{g['stage']} ({4 << g['stage']} px), {g['alpha']:g}" if g else "—"
        label = f"`{name}`" + (f" ({d['generator']})" if d.get("generator") == "G_ema" else "")
        training = m.get("D_fake") if "D_fake" in m else m.get("D_scales")
        scales = f"{e(m.get('G_z_scale0'))} / {e(m.get('G_z_scale1'))}" if "G_z_scale0" in m else ""
        at_stage = e(m.get("G_z_stage")) if "G_z_stage" in m else ""
        rows.append(
            f"| {label} | {', '.join(map(str, spec.get('stageWidths', []))) or '—'} | {stage} | {e(m['G_z'])} | "
            f"{e(m['D_G_z'])} | {at_stage} | {e(training)}{' (all scales)' if 'D_scales' in m else ''} | {scales} | "
            f"{d['tol']:g} | {'ok' if d['ok'] else 'FAILED'} |")
    return "\n".join(rows)


def main():
    readme = DOCS / "README.md"
    text = readme.read_text()
    if BEGIN not in text or END not in text:
        sys.exit(f"{readme}: no {BEGIN} … {END} block to fill")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    readme.write_text(f"{head}{BEGIN}\n{table()}\n{END}{tail}")
    print(f"wrote {readme}")


if __name__ == "__main__":
    main()
