"""PyTorch reference for `pitlab bench`: the same GPT, train step, sampler and matmul, 1 thread.

Mirrors src/models/gpt.ts (pre-LN blocks, tanh-GELU, tied unembedding, weights [in, out]) and
src/train/optim.ts (AdamW, beta2 0.95, global-norm clip 1.0). Prints one JSON object with rows
{workload, backend: "pytorch", throughput, unit, ms}.
"""
import argparse
import json
import math
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class Block(nn.Module):
    def __init__(self, C, H, ratio):
        super().__init__()
        self.H = H
        self.ln_1 = nn.LayerNorm(C)
        self.c_attn = nn.Linear(C, 3 * C)
        self.c_proj = nn.Linear(C, C)
        self.ln_2 = nn.LayerNorm(C)
        self.c_fc = nn.Linear(C, ratio * C)
        self.mlp_proj = nn.Linear(ratio * C, C)

    def attn(self, x, cache):
        B, T, C = x.shape
        H, D = self.H, C // self.H
        q, k, v = self.c_attn(x).view(B, T, 3, H, D).permute(2, 0, 3, 1, 4)  # [B, H, T, D]
        if cache is not None:
            if cache[0] is not None:
                k = torch.cat([cache[0], k], 2)
                v = torch.cat([cache[1], v], 2)
            cache[0], cache[1] = k, v
        S = k.shape[2]
        att = (q @ k.transpose(-2, -1)) / math.sqrt(D)
        mask = torch.ones(T, S, dtype=torch.bool, device=x.device).tril(S - T)
        att = att.masked_fill(~mask, -1e9).softmax(-1)
        y = (att @ v).transpose(1, 2).reshape(B, T, C)
        return self.c_proj(y)

    def forward(self, x, cache=None):
        x = x + self.attn(self.ln_1(x), cache)
        return x + self.mlp_proj(F.gelu(self.c_fc(self.ln_2(x)), approximate="tanh"))


class Gpt(nn.Module):
    def __init__(self, V, T, L, H, C, ratio=4):
        super().__init__()
        self.wte = nn.Embedding(V, C)
        self.wpe = nn.Embedding(T, C)
        self.h = nn.ModuleList([Block(C, H, ratio) for _ in range(L)])
        self.ln_f = nn.LayerNorm(C)

    def forward(self, ids, caches=None, past=0):
        B, T = ids.shape
        x = self.wte(ids) + self.wpe(torch.arange(past, past + T, device=ids.device))
        for i, block in enumerate(self.h):
            x = block(x, None if caches is None else caches[i])
        return self.ln_f(x) @ self.wte.weight.t()


def timed(fn, warmup, iters):
    for _ in range(warmup):
        fn()
    t0 = time.perf_counter()
    for _ in range(iters):
        fn()
    return (time.perf_counter() - t0) / iters


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--vocab", type=int, default=256)
    p.add_argument("--block", type=int, default=64)
    p.add_argument("--layers", type=int, default=4)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--embd", type=int, default=128)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--iters", type=int, default=10)
    p.add_argument("--sample-rows", type=int, default=64)
    p.add_argument("--sample-tokens", type=int, default=48)
    p.add_argument("--threads", type=int, default=1)
    # cuda: the anchor of scripts/gpu-bench.sh (fp32, TF32 off, so it matches tfjs's float32)
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    p.add_argument("--skip-sample", action="store_true")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    dev = torch.device(a.device)
    if a.device == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
    # CUDA runs asynchronously: synchronise so each timed call includes its GPU work
    sync = torch.cuda.synchronize if a.device == "cuda" else (lambda: None)
    V, T, B = a.vocab, a.block, a.batch
    model = Gpt(V, T, a.layers, a.heads, a.embd).to(dev)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-4, betas=(0.9, 0.95), weight_decay=0.0)
    ids = torch.randint(0, V, (B, T + 1)).to(dev)
    rows = []

    def train_step():
        logits = model(ids[:, :-1])
        loss = F.cross_entropy(logits.reshape(-1, V), ids[:, 1:].reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()

    def timed_sync(fn, warmup, iters):
        def run():
            fn()
            sync()
        return timed(run, warmup, iters)

    s = timed_sync(train_step, 2, a.iters)
    rows.append(dict(workload="train_step", backend="pytorch", throughput=B * T / s, unit="tokens/s", ms=s * 1e3))

    @torch.no_grad()
    def sample_batch():
        prompt = torch.randint(0, V, (a.sample_rows, 8)).to(dev)
        caches = [[None, None] for _ in model.h]
        logits = model(prompt, caches)[:, -1]
        past = prompt.shape[1]
        for _ in range(a.sample_tokens - 1):
            nxt = torch.multinomial(logits.softmax(-1), 1)
            logits = model(nxt, caches, past)[:, -1]
            past += 1

    if not a.skip_sample:
        s = timed_sync(sample_batch, 1, max(1, a.iters // 3))
        n = a.sample_rows * a.sample_tokens
        rows.append(dict(workload="sample", backend="pytorch", throughput=n / s, unit="tokens/s", ms=s * 1e3))

    x, w = torch.randn(1024, 512).to(dev), torch.randn(512, 512).to(dev)
    s = timed_sync(lambda: x @ w, 3, 20)
    rows.append(dict(workload="matmul", backend="pytorch", throughput=2 * 1024 * 512 * 512 / s / 1e9, unit="GFLOP/s", ms=s * 1e3))
    out = dict(torch=torch.__version__, threads=torch.get_num_threads(), rows=rows)
    if a.device == "cuda":
        out["device"] = torch.cuda.get_device_name(0)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
