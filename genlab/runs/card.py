"""The model card of a finished run: README.md in its folder, in Hugging Face model-card style.

YAML front matter (library, tags, dataset, its licence, the final metrics), then what was trained
on what, the full config, the final metrics beside their real-vs-real floors, the last sample
snapshot as a PNG next to the card, how to sample and resume it, and the library versions. It is
a pure function of the run folder: `write_model_card(run_dir)` rebuilds it for any saved run.
"""

from __future__ import annotations

import json
from importlib import metadata
from pathlib import Path
from typing import Any

from genlab.data import DATASETS, load_dataset
from genlab.kinds import kind_of
from genlab.methods import METHODS
from genlab.metrics import metric_info
from genlab.runs.store import RunDir, atomic_write

CARD_STATES = ("done", "stopped")  # a run that ended on purpose with weights worth sampling
SAMPLE_PNG = "card-sample.png"  # not sample.png: `genlab sample` writes that one by default
PIPELINE = {"images": "unconditional-image-generation"}  # HF's tag, where it has one
PACKAGES = ("numpy", "pillow", "safetensors", "scikit-learn", "tensorboard", "mlflow")


def library_versions(info: dict[str, Any]) -> dict[str, str]:
    """The versions run.json recorded (genlab, torch, python, platform), then those of the other
    libraries installed here that a run's results depend on."""
    out = dict(info.get("versions") or {})
    for name in PACKAGES:
        try:
            out.setdefault(name, metadata.version(name))
        except metadata.PackageNotFoundError:
            pass
    return out


def _yaml(value: Any) -> str:
    """A YAML flow value: JSON is valid YAML, so scalars, lists and maps need no YAML library."""
    return json.dumps(value, ensure_ascii=False, default=str)


def final_metrics(rows: list[dict[str, Any]]) -> dict[str, float]:
    """The newest value of every metric key of metrics.jsonl rows."""
    last: dict[str, float] = {}
    for r in rows:
        last.update({k: v for k, v in r.items() if k not in ("step", "t")})
    return last


def metrics_table(last: dict[str, float]) -> list[str]:
    """Markdown rows: each quality metric beside its real-vs-real floor, then the losses."""
    lines = ["| metric | value | real vs real (floor) | better |", "|---|---|---|---|"]
    shown = set()
    for k in sorted(k for k in last if k.startswith("eval/")):
        floor = last.get("floor/" + k.split("/", 1)[1])
        label, better, _ = metric_info.get(k, (k, "", ""))
        lines.append(
            f"| {label} (`{k}`) | {last[k]:.4g} | {'' if floor is None else f'{floor:.4g}'} "
            f"| {better} |"
        )
        shown |= {k, "floor/" + k.split("/", 1)[1]}
    for k in sorted(k for k in last if k not in shown):
        label, better, _ = metric_info.get(k, (k, "", ""))
        lines.append(f"| {label} (`{k}`) | {last[k]:.4g} | | {better} |")
    return lines


def _sample_image(d: RunDir, info: dict[str, Any]) -> tuple[int, Any, str] | None:
    """Save the last snapshot as SAMPLE_PNG; returns (step, payload, kind) or None."""
    found = d.list_samples()
    if not found:
        return None
    step, path = found[-1]
    kind = (info.get("spec") or {}).get("kind", "")
    payload = RunDir.load_sample(path)
    real = None
    if kind_of(kind).reference_n:
        try:
            data = load_dataset(info["dataset"], info.get("data_file"), info.get("data_options"))
            real = kind_of(kind).reference(data)
        except (ValueError, OSError):  # a deleted upload: the samples are drawn alone
            real = None
    atomic_write(d.path / SAMPLE_PNG, kind_of(kind).png(payload, real))
    return step, payload, kind


def model_card(run_dir: Path | str, info: dict[str, Any] | None = None) -> str:
    """The card's Markdown text (writes the sample PNG beside it)."""
    d = RunDir(run_dir)
    info = info or d.read_info()
    method, dataset = info["method"], info["dataset"]
    spec = info.get("spec") or {}
    cls, ds = METHODS.get(method), DATASETS.get(dataset)
    method_label = cls.label if cls else method
    data_label = ds.label if ds else dataset
    licence = ds.licence if ds else "unknown"
    last = final_metrics(d.read_metrics())
    sample = _sample_image(d, info)
    step = int(info.get("step", 0))
    ext = {"images": "png", "text": "txt"}.get(spec.get("kind", ""), "csv")
    front = {
        "library_name": "genlab",
        "tags": ["genlab", method, spec.get("kind", ""), "generative"],
        "datasets": [dataset],
        "dataset_license": licence,
        "pipeline_tag": PIPELINE.get(spec.get("kind", "")),
        "genlab": {"run_id": info["id"], "status": info.get("status"), "step": step},
        "metrics": {k: round(v, 6) for k, v in sorted(last.items()) if "/" in k},
    }
    head = ["---"] + [f"{k}: {_yaml(v)}" for k, v in front.items() if v is not None] + ["---"]
    shape = " x ".join(str(s) for s in spec.get("shape", []))
    what = (
        f"A **{method_label}** (`{method}`) trained for {step:,} steps on **{data_label}** "
        f"(`{dataset}`: {spec.get('description') or spec.get('kind', '')}; "
        f"{spec.get('n_train', '?')} training items of shape {shape}"
        + (f", {spec['n_classes']} classes" if spec.get("n_classes") else "")
        + f"), seed {info.get('seed')}, on {info.get('device', '?')}. "
        f"Status: {info.get('status')}, {float(info.get('elapsed_s', 0)):.0f} s of training."
    )
    body = [f"# {method_label} on {data_label}", "", what, ""]
    if sample is not None:
        s_step, payload, kind = sample
        body += ["## Samples", "", f"![samples at step {s_step:,}]({SAMPLE_PNG})", ""]
        lines = kind_of(kind).lines(payload)
        if lines is not None:
            body += ["```", *lines[:20], "```", ""]
    body += [
        "## Final metrics",
        "",
        "Each quality metric beside its real-vs-real floor: the same figure computed for a "
        "second real sample of the same size, i.e. what a perfect model would score.",
        "",
        *(metrics_table(last) if last else ["No metrics were logged."]),
        "",
        "## How to sample",
        "",
        "```bash",
        f"python -m genlab sample {d.path} --n 64 --out samples.{ext}",
        f"python -m genlab resume {d.path} --steps {max(step * 2, 1)}",
        "```",
        "",
        "```python",
        "import genlab",
        f'run = genlab.load("{d.path}")',
        "x = run.samples(64)",
        "```",
        "",
        "## Config",
        "",
        "Method (`method_config`):",
        "",
        "```json",
        json.dumps(info.get("method_config", {}), indent=1),
        "```",
        "",
        "Training (`train_config`):",
        "",
        "```json",
        json.dumps(info.get("train_config", {}), indent=1),
        "```",
        "",
    ]
    changes = info.get("live_changes") or []
    if changes:
        body += ["Live changes while it trained:", ""]
        body += [f"- step {c['step']}: `{c['key']}` = {c['value']}" for c in changes] + [""]
    body += [
        "## Dataset licence",
        "",
        licence,
        "",
        "## Library versions",
        "",
        *(f"- {k}: {v}" for k, v in library_versions(info).items()),
        "",
    ]
    return "\n".join(head + [""] + body)


def write_model_card(run_dir: Path | str, info: dict[str, Any] | None = None) -> Path:
    path = RunDir(run_dir).path / "README.md"
    atomic_write(path, model_card(run_dir, info).encode())
    return path
