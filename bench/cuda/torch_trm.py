"""A small, self-contained PyTorch implementation of the official TRM inference forward
(arXiv:2510.04871; SamsungSAILMontreal/TinyRecursiveModels, models/recursive_reasoning/trm.py),
written from its semantics for benchmarking on a machine without that repository. It loads a
trm-node model directory (config.json + model.safetensors, canonical state_dict names) and
runs the inner step: embeddings, H_cycles x [L_cycles x z_L = L(z_L, z_H + x); z_H = L(z_H, z_L)]
with post-norm blocks (attention + RoPE, or token-mixing mlp_t), SwiGLU, RMSNorm, lm_head and
q_head on position 0. The official code runs every cycle but the last under no_grad; at
inference all run under no_grad, which is what this does.

Used by bench/cuda/torch_bench.py; validated there against trm-node's CPU operator before any
timing. Needs torch, numpy and safetensors (all on the GPU image).
"""
from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass

import torch
import torch.nn.functional as F


@dataclass
class Dims:
    seq_len: int
    vocab: int
    hidden: int
    heads: int
    H_cycles: int
    L_cycles: int
    L_layers: int
    halt_max_steps: int
    pos: str
    mlp_t: bool
    puzzle_emb_ndim: int
    puzzle_emb_len: int
    num_puzzle_identifiers: int
    eps: float
    rope_theta: float
    mlp_inter: int
    mlp_t_inter: int

    @property
    def total_len(self) -> int:
        return self.seq_len + self.puzzle_emb_len

    @property
    def head_dim(self) -> int:
        return self.hidden // self.heads


def _swiglu_width(hidden: int, expansion: float) -> int:
    # round(expansion * hidden * 2 / 3) (Python's round: half to even), up to a multiple of 256.
    raw = round(expansion * hidden * 2 / 3)
    return -(raw // -256) * 256


def read_dims(model_dir: str) -> Dims:
    with open(os.path.join(model_dir, "config.json")) as f:
        c = json.load(f)
    hidden = int(c["hidden_size"])
    ndim = int(c.get("puzzle_emb_ndim", 0))
    p_len = int(c.get("puzzle_emb_len", 0))
    if p_len == 0:
        p_len = -(ndim // -hidden)
    seq_len = int(c["seq_len"])
    mlp_t = bool(c.get("mlp_t", False))
    expansion = float(c["expansion"])
    return Dims(
        seq_len=seq_len, vocab=int(c["vocab_size"]), hidden=hidden, heads=int(c["num_heads"]),
        H_cycles=int(c["H_cycles"]), L_cycles=int(c["L_cycles"]), L_layers=int(c["L_layers"]),
        halt_max_steps=int(c["halt_max_steps"]), pos=str(c.get("pos_encodings", "rope")), mlp_t=mlp_t,
        puzzle_emb_ndim=ndim, puzzle_emb_len=p_len, num_puzzle_identifiers=int(c.get("num_puzzle_identifiers", 1)),
        eps=float(c.get("rms_norm_eps", 1e-5)), rope_theta=float(c.get("rope_theta", 10000.0)),
        mlp_inter=_swiglu_width(hidden, expansion),
        mlp_t_inter=_swiglu_width(seq_len + p_len, expansion) if mlp_t else 0,
    )


def rms_norm(x: torch.Tensor, eps: float) -> torch.Tensor:
    # The official norm: in float32, no weight, back to the input dtype.
    dtype = x.dtype
    x = x.float()
    x = x * torch.rsqrt(x.square().mean(-1, keepdim=True) + eps)
    return x.to(dtype)


def rotate_half(x: torch.Tensor) -> torch.Tensor:
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


class TorchTRM(torch.nn.Module):
    """The inner step of TRM in inference, weights from a trm-node model directory."""

    def __init__(self, model_dir: str, device: str = "cuda", dtype: torch.dtype = torch.float32):
        super().__init__()
        from safetensors.torch import load_file

        self.d = read_dims(model_dir)
        self.dtype = dtype
        raw = load_file(os.path.join(model_dir, "model.safetensors"))
        # Checkpoints may carry a prefix before "inner." (e.g. "_orig_mod.model."): strip it.
        w = {}
        for name, t in raw.items():
            at = name.find("inner.")
            w[name[at:] if at >= 0 else name] = t.float()
        d = self.d

        def param(name: str, cast: bool = True) -> torch.Tensor:
            t = w[name].to(device)
            t = t.to(dtype) if cast else t
            # Weights are plain tensors here (not nn.Parameters): without this, torch.compile's
            # CUDA graphs would treat them as inputs and copy them in before every replay.
            try:
                torch._dynamo.mark_static_address(t)
            except Exception:  # older torch: no such helper; only compiled speed is affected
                pass
            return t

        self.embed_tokens = param("inner.embed_tokens.embedding_weight")
        self.puzzle_emb = param("inner.puzzle_emb.weights") if d.puzzle_emb_ndim > 0 else None
        self.embed_pos = param("inner.embed_pos.embedding_weight") if d.pos == "learned" else None
        self.H_init = param("inner.H_init")
        self.L_init = param("inner.L_init")
        self.layers = []
        for i in range(d.L_layers):
            p = f"inner.L_level.layers.{i}."
            layer = {"gate_up": param(p + "mlp.gate_up_proj.weight"), "down": param(p + "mlp.down_proj.weight")}
            if d.mlp_t:
                layer["t_gate_up"] = param(p + "mlp_t.gate_up_proj.weight")
                layer["t_down"] = param(p + "mlp_t.down_proj.weight")
            else:
                layer["qkv"] = param(p + "self_attn.qkv_proj.weight")
                layer["o"] = param(p + "self_attn.o_proj.weight")
            self.layers.append(layer)
        self.lm_head = param("inner.lm_head.weight")
        self.q_w = param("inner.q_head.weight")
        self.q_b = param("inner.q_head.bias")
        if d.pos == "rope":
            # The official RotaryEmbedding: float32 tables, emb = cat(freqs, freqs).
            inv_freq = 1.0 / (d.rope_theta ** (torch.arange(0, d.head_dim, 2, dtype=torch.float32, device=device) / d.head_dim))
            t = torch.arange(d.total_len, dtype=torch.float32, device=device)
            freqs = torch.outer(t, inv_freq)
            emb = torch.cat((freqs, freqs), dim=-1)
            self.cos = emb.cos().to(dtype)
            self.sin = emb.sin().to(dtype)
        else:
            self.cos = self.sin = None

    # --- the network --------------------------------------------------------------------
    def embed(self, inputs: torch.Tensor, puzzle_ids: torch.Tensor) -> torch.Tensor:
        d = self.d
        x = F.embedding(inputs, self.embed_tokens)
        if d.puzzle_emb_ndim > 0:
            pe = self.puzzle_emb[puzzle_ids]
            pad = d.puzzle_emb_len * d.hidden - pe.shape[-1]
            if pad > 0:
                pe = F.pad(pe, (0, pad))
            x = torch.cat((pe.view(-1, d.puzzle_emb_len, d.hidden), x), dim=-2)
        if self.embed_pos is not None:
            x = 0.707106781 * (x + self.embed_pos)
        return math.sqrt(d.hidden) * x

    def swiglu(self, x: torch.Tensor, gate_up: torch.Tensor, down: torch.Tensor) -> torch.Tensor:
        gate, up = F.linear(x, gate_up).chunk(2, dim=-1)
        return F.linear(F.silu(gate) * up, down)

    def attention(self, x: torch.Tensor, layer: dict) -> torch.Tensor:
        d = self.d
        B, T, _ = x.shape
        qkv = F.linear(x, layer["qkv"]).view(B, T, 3 * d.heads, d.head_dim)
        q, k, v = qkv[:, :, : d.heads], qkv[:, :, d.heads : 2 * d.heads], qkv[:, :, 2 * d.heads :]
        if self.cos is not None:
            cos, sin = self.cos.unsqueeze(-2), self.sin.unsqueeze(-2)
            q = q * cos + rotate_half(q) * sin
            k = k * cos + rotate_half(k) * sin
        q, k, v = (t.transpose(1, 2) for t in (q, k, v))
        o = F.scaled_dot_product_attention(q, k, v, is_causal=False)
        return F.linear(o.transpose(1, 2).reshape(B, T, d.hidden), layer["o"])

    def block(self, h: torch.Tensor, layer: dict) -> torch.Tensor:
        eps = self.d.eps
        if self.d.mlp_t:
            t = h.transpose(1, 2)
            t = rms_norm(t + self.swiglu(t, layer["t_gate_up"], layer["t_down"]), eps)
            h = t.transpose(1, 2)
        else:
            h = rms_norm(h + self.attention(h, layer), eps)
        return rms_norm(h + self.swiglu(h, layer["gate_up"], layer["down"]), eps)

    def l_level(self, h: torch.Tensor, injection: torch.Tensor) -> torch.Tensor:
        h = h + injection
        for layer in self.layers:
            h = self.block(h, layer)
        return h

    def initial_carry(self, batch: int):
        d = self.d
        z_H = self.H_init.view(1, 1, -1).expand(batch, d.total_len, d.hidden).contiguous()
        z_L = self.L_init.view(1, 1, -1).expand(batch, d.total_len, d.hidden).contiguous()
        return z_H, z_L

    def step(self, z_H: torch.Tensor, z_L: torch.Tensor, inputs: torch.Tensor, puzzle_ids: torch.Tensor):
        """One ACT step: returns (z_H, z_L, logits [B, seq_len, vocab] fp32, q_halt, q_continue)."""
        d = self.d
        x = self.embed(inputs, puzzle_ids)
        for _ in range(d.H_cycles):
            for _ in range(d.L_cycles):
                z_L = self.l_level(z_L, z_H + x)
            z_H = self.l_level(z_H, z_L)
        logits = F.linear(z_H, self.lm_head)[:, d.puzzle_emb_len :].float()
        q = F.linear(z_H[:, 0], self.q_w, self.q_b).float()
        return z_H, z_L, logits, q[..., 0], q[..., 1]

    @torch.no_grad()
    def answer(self, inputs: torch.Tensor, puzzle_ids: torch.Tensor, steps: int):
        """`steps` ACT steps with no halting (the official evaluation): final logits and q."""
        z_H, z_L = self.initial_carry(inputs.shape[0])
        logits = q_halt = q_cont = None
        for _ in range(steps):
            z_H, z_L, logits, q_halt, q_cont = self.step(z_H, z_L, inputs, puzzle_ids)
        return logits, q_halt, q_cont
