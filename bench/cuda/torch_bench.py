"""PyTorch running the official TRM architecture (torch_trm.py) on the weights bench.js wrote:
validates against trm-node's CPU reference first, then times the whole 16-step answer the
same way bench.js times the CUDA operator (wall clock from host tokens to host logits, one
warm-up, median of repeats): eager fp32, eager bf16 (the official forward dtype), and
torch.compile(mode="reduce-overhead") bf16 and fp32.

  python3 bench/cuda/torch_bench.py --out DIR [--work DIR] [--budget S] [--batches 1,64,512,4096]
      [--compile-unit step|l_level]

--compile-unit: what torch.compile wraps. 'step' (one whole ACT step: 42 blocks, torch's
best case, slow to compile) or 'l_level' (one L_level pass, reused 21 times a step; compiles
in seconds). The unit is written into the results.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_trm import TorchTRM  # noqa: E402

STEPS = 16


def rel(a: torch.Tensor, b: torch.Tensor) -> float:
    a, b = a.double().flatten(), b.double().flatten()
    return float((a - b).norm() / b.norm().clamp_min(1e-30))


def flops_per_step(d) -> float:
    # The same count as bench/lib/workloads.js flopsPerStep.
    D, T = d.hidden, d.total_len
    if d.mlp_t:
        mix = 2 * D * T * 2 * d.mlp_t_inter + 2 * D * d.mlp_t_inter * T
    else:
        mix = 2 * T * D * 3 * D + 2 * T * D * D + 2 * 2 * T * T * D
    channel = 2 * T * D * 2 * d.mlp_inter + 2 * T * d.mlp_inter * D
    calls = d.H_cycles * (d.L_cycles + 1)
    return calls * d.L_layers * (mix + channel) + 2 * d.seq_len * D * d.vocab + 2 * 2 * D


def timed(fn, budget: float) -> dict:
    fn()
    torch.cuda.synchronize()
    samples = []
    start = time.perf_counter()
    while len(samples) < 50:
        t0 = time.perf_counter()
        fn()  # ends with .cpu(): synchronises
        samples.append(time.perf_counter() - t0)
        if len(samples) >= 3 and time.perf_counter() - start > budget:
            break
    return {"median": statistics.median(samples), "samples": len(samples), "min": min(samples)}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--work", default=None, help="where bench.js wrote sudoku-model/ and reference.safetensors (default --out)")
    ap.add_argument("--budget", type=float, default=12.0)
    ap.add_argument("--batches", default="1,64,512,4096")
    ap.add_argument("--compile-unit", choices=["step", "l_level"], default="l_level")
    ap.add_argument("--skip-compile", action="store_true")
    a = ap.parse_args()
    work = a.work or a.out
    model_dir = os.path.join(work, "sudoku-model")
    batches = [int(b) for b in a.batches.split(",")]
    # Parity mode: true fp32 products, as trm-node's fp32.
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    dev = "cuda"
    from safetensors.torch import load_file

    ref = load_file(os.path.join(work, "reference.safetensors"))
    results = {"torch": torch.__version__, "device": torch.cuda.get_device_name(0), "compile_unit": a.compile_unit,
               "checks": {}, "timings": []}

    models = {"fp32": TorchTRM(model_dir, dev, torch.float32), "bf16": TorchTRM(model_dir, dev, torch.bfloat16)}
    d = models["fp32"].d
    flops_answer = flops_per_step(d) * STEPS
    results["flops_per_answer"] = flops_answer

    # ---- validate before timing -----------------------------------------------------------
    inputs = ref["inputs"].long().to(dev)
    pids = torch.zeros(inputs.shape[0], dtype=torch.long, device=dev)
    ok = True
    for name, m in models.items():
        with torch.no_grad():
            z_H, z_L = m.initial_carry(inputs.shape[0])
            _, _, logits1, q1, _ = m.step(z_H, z_L, inputs, pids)
            logits16, _, _ = m.answer(inputs, pids, STEPS)
        e1 = rel(logits1.cpu(), ref["logits_step1"])
        eq = rel(q1.cpu(), ref["q_halt_step1"])
        e16 = rel(logits16.cpu(), ref["logits_step16"])
        agree = float((logits16.cpu().argmax(-1) == ref["logits_step16"].argmax(-1)).float().mean())
        results["checks"][name] = {"step1_logits": e1, "step1_q_halt": eq, "step16_logits": e16, "step16_agreement": agree}
        print(f"torch {name} vs trm-node cpu fp32: step1 logits {e1:.2e} q_halt {eq:.2e}; step16 logits {e16:.2e}, "
              f"predictions {agree * 100:.2f}%", flush=True)
        if name == "fp32" and not (e1 < 1e-4 and eq < 1e-4):
            ok = False
    results["parity_ok"] = ok
    if not ok:
        print("torch fp32 does not reproduce trm-node's CPU operator: not timing a different model", file=sys.stderr)
        json.dump(results, open(os.path.join(a.out, "torch-results.json"), "w"), indent=2)
        return 3

    # ---- timings --------------------------------------------------------------------------
    def answer_fn(step, m, batch):
        tokens = torch.randint(0, d.vocab, (batch, d.seq_len), dtype=torch.int32)
        ids = torch.zeros(batch, dtype=torch.long)

        @torch.no_grad()
        def run():
            x_in, p_in = tokens.to(dev, non_blocking=False).long(), ids.to(dev)
            z_H, z_L = m.initial_carry(batch)
            logits = None
            for _ in range(STEPS):
                z_H, z_L, logits, _, _ = step(z_H, z_L, x_in, p_in)
            return logits.cpu()

        return run

    variants = [("eager", "fp32"), ("eager", "bf16")]
    if not a.skip_compile:
        variants += [("compile", "bf16"), ("compile", "fp32")]
    for mode, precision in variants:
        m = models[precision]
        if mode == "compile":
            torch._dynamo.config.cache_size_limit = 64
            if a.compile_unit == "step":
                step = torch.compile(m.step, mode="reduce-overhead", dynamic=False)
            else:
                level = torch.compile(m.l_level, mode="reduce-overhead", dynamic=False)

                def step(z_H, z_L, x_in, p_in, m=m, level=level):
                    x = m.embed(x_in, p_in)
                    for _ in range(m.d.H_cycles):
                        for _ in range(m.d.L_cycles):
                            # CUDA-graph outputs are overwritten by the next replay: keep a copy.
                            z_L = level(z_L, z_H + x).clone()
                        z_H = level(z_H, z_L).clone()
                    logits = torch.nn.functional.linear(z_H, m.lm_head)[:, m.d.puzzle_emb_len:].float()
                    q = torch.nn.functional.linear(z_H[:, 0], m.q_w, m.q_b).float()
                    return z_H, z_L, logits, q[..., 0], q[..., 1]
        else:
            step = m.step
        for batch in batches:
            if precision == "fp32" and batch > 512:
                continue  # as bench.js: the parity mode is timed at the smaller batches
            label = f"torch {mode} {precision}" + (f" ({a.compile_unit})" if mode == "compile" else "")
            try:
                t0 = time.perf_counter()
                fn = answer_fn(step, m, batch)
                fn()  # compile / warm-up outside the timing
                warm = time.perf_counter() - t0
                t = timed(fn, a.budget)
            except Exception as e:  # keep the other rows
                print(f"{label} batch {batch}: FAILED {type(e).__name__}: {e}", flush=True)
                results["timings"].append({"impl": label, "batch": batch, "error": str(e)[:500]})
                continue
            row = {"impl": label, "batch": batch, "seconds": t["median"], "samples": t["samples"], "warmup_s": warm,
                   "answers_per_s": batch / t["median"], "tflops": flops_answer * batch / t["median"] / 1e12}
            print(f"{label} batch {batch}: {t['median'] * 1e3:.3f} ms median of {t['samples']}, "
                  f"{row['answers_per_s']:.1f} answers/s, {row['tflops']:.2f} TFLOP/s (warm-up {warm:.1f} s)", flush=True)
            results["timings"].append(row)
            torch.cuda.empty_cache()

    with open(os.path.join(a.out, "torch-results.json"), "w") as f:
        json.dump(results, f, indent=2)
    print(f"wrote {os.path.join(a.out, 'torch-results.json')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
