"""Merges bench.js's cuda-results.json and torch_bench.py's torch-results.json (both in --out)
into RESULTS-cuda.md: a section in bench/RESULTS.md's style, with the machine, the parity
checks and, per batch, each implementation's time, answers/s, TFLOP/s and its ratio to the
CUDA operator's bf16 time. Standard library only.

  python3 bench/cuda/report.py --out DIR
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess


def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    cuda = load(os.path.join(a.out, "cuda-results.json")) or {}
    torch_r = load(os.path.join(a.out, "torch-results.json")) or {}
    try:
        gpu = subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version,memory.total", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        gpu = "unknown (nvidia-smi failed)"
    lines = ["## CUDA: the fused operator on one GPU vs PyTorch", ""]
    m = cuda.get("machine", {})
    lines.append(f"Machine: {gpu}; host {m.get('cpu', '?')} ({m.get('cores', '?')} cores), Node {m.get('node', '?')}, "
                 f"PyTorch {torch_r.get('torch', 'not run')}.")
    lines.append("Workload: Sudoku-size TRM (hidden 512, 8 heads, seq 81 + 16 puzzle prefix, vocab 11, H_cycles 3, "
                 "L_cycles 6, 2 layers), random weights, the whole 16-step answer without halting, wall clock from host "
                 "tokens to host logits, median after one warm-up. "
                 f"FLOPs per answer: {cuda.get('flops_per_answer', torch_r.get('flops_per_answer', 0)) / 1e9:.1f} G.")
    lines.append("")
    lines.append("Parity (relative L2 error vs the CPU operator, fp32 bound 1e-4 one step):")
    lines.append("")
    lines.append("| config | fp32 step 1 logits | fp32 step 1 z_H | fp32 16-step agreement | bf16 step 1 logits | bf16 16-step agreement |")
    lines.append("| --- | --- | --- | --- | --- | --- |")
    for c in cuda.get("checks", []):
        lines.append(f"| {c['name']} | {c.get('fp32_step1_logits', float('nan')):.2e} | {c.get('fp32_step1_zH', float('nan')):.2e} | "
                     f"{c.get('fp32_answer_agreement', 0) * 100:.2f}% | {c.get('bf16_step1_logits', float('nan')):.2e} | "
                     f"{c.get('bf16_answer_agreement', 0) * 100:.2f}% |")
    for name, c in (torch_r.get("checks") or {}).items():
        lines.append(f"| torch {name} (sudoku) | {c['step1_logits']:.2e} | | {c['step16_agreement'] * 100:.2f}% | | |")
    lines.append("")
    rows = [r for r in cuda.get("timings", []) + torch_r.get("timings", []) if "seconds" in r]
    base = {r["batch"]: r["seconds"] for r in rows if r["impl"] == "trm-node cuda bf16"}
    lines.append("| implementation | batch | ms / call | answers/s | TFLOP/s | time vs trm-node cuda bf16 |")
    lines.append("| --- | --- | --- | --- | --- | --- |")
    for r in sorted(rows, key=lambda r: (r["batch"], r["impl"])):
        ratio = f"{r['seconds'] / base[r['batch']]:.2f}x" if r["batch"] in base else "-"
        lines.append(f"| {r['impl']} | {r['batch']} | {r['seconds'] * 1e3:.3f} | {r['answers_per_s']:.1f} | {r['tflops']:.2f} | {ratio} |")
    for r in cuda.get("timings", []) + torch_r.get("timings", []):
        if "error" in r:
            lines.append(f"\n{r['impl']} batch {r['batch']} failed: {r['error']}")
    text = "\n".join(lines) + "\n"
    with open(os.path.join(a.out, "RESULTS-cuda.md"), "w") as f:
        f.write(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
