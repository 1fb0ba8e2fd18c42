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

    def hidden(self, ids, caches=None, past=0):
        """Final hidden states after ln_f: [B, T, C]."""
        B, T = ids.shape
        x = self.wte(ids) + self.wpe(torch.arange(past, past + T, device=ids.device))
        for i, block in enumerate(self.h):
            x = block(x, None if caches is None else caches[i])
        return self.ln_f(x)

    def forward(self, ids, caches=None, past=0):
        return self.hidden(ids, caches, past) @ self.wte.weight.t()


def replay_parts(step, dev):
    """One recorded optimizer step's micro-batches as tensors (built before any timing)."""
    parts = []
    for p in step:
        B, T = p["B"], p["T"]
        part = dict(ids=torch.tensor(p["ids"], dtype=torch.long, device=dev).view(B, T), tokens=p["tokens"])
        if "lossMask" in p:
            part["mask"] = torch.tensor(p["lossMask"], dtype=torch.float32, device=dev).view(B, T - 1)
            part["normaliser"] = max(1, p["normaliser"])
        else:
            part["readout"] = torch.tensor(p["readout"], dtype=torch.float32, device=dev).view(B, T)
            part["loglik"] = torch.tensor(p["loglik"], dtype=torch.float32, device=dev).view(B, T - 1)
            part["pairs"] = p["pairs"]
            if "fromRow" in p:
                part["from_row"] = torch.tensor(p["fromRow"], dtype=torch.float32, device=dev).view(B, B)
        parts.append(part)
    return parts


def target_log_probs(model, hidden, targets):
    """log p(target) at each position of hidden [B, L, C] from the tied LM head: [B, L], and the
    log-softmax it came from (SFT logs accuracy and entropy from it, as pitlab's fused op does)."""
    B, L, _ = hidden.shape
    lp = (hidden @ model.wte.weight.t()).log_softmax(-1)
    return lp.gather(-1, targets.unsqueeze(-1)).squeeze(-1), lp


def sft_part_loss(model, part):
    """src/train/sft.ts: the prompt-masked NLL summed over the batch's targets, plus the logged
    token accuracy and entropy."""
    ids, mask = part["ids"], part["mask"]
    logp, lp = target_log_probs(model, model.hidden(ids[:, :-1]), ids[:, 1:])
    with torch.no_grad():
        (lp.argmax(-1) == ids[:, 1:]).float().mul(mask).sum()
        (-(lp.exp() * lp).sum(-1) * mask).sum()
    return -(logp * mask).sum() / part["normaliser"]


def reward_part_loss(model, head, kind, loglik_weight, part, total_pairs):
    """src/models/reward.ts ('eos+loglik') and src/train/reward.ts: EOS readout plus lambda times
    the mean log-likelihood of y (minus y_ref's for R_PIT), then Bradley-Terry or PIT's five
    constraints, weighted by the part's share of the batch."""
    ids = part["ids"]
    hidden = model.hidden(ids)
    w = part["readout"]
    pooled = (hidden * w.unsqueeze(-1)).sum(1)
    score = (pooled @ head.weight.t()).squeeze(-1) + head.bias * w.sum(1)
    logp, _ = target_log_probs(model, hidden[:, :-1], ids[:, 1:])
    ll = (logp * part["loglik"]).sum(1)
    if "from_row" in part:
        ll = ll - part["from_row"] @ ll
    score = score + loglik_weight * ll
    P = part["pairs"]
    nls = lambda d: F.softplus(-d)
    if kind == "rp":
        loss = nls(score[:P] - score[P : 2 * P]).mean()
    else:
        wl, ww, ll_, lw = (score[k * P : (k + 1) * P] for k in range(4))
        loss = (nls(wl - ww) + nls(wl - ll_) + nls(wl - lw) + nls(ww - lw) + nls(ll_ - lw)).mean()
    return loss * (P / total_pairs)


def load_pitlab_weights(model, head, weights, dev):
    """pitlab's parameter names and [in, out] matrices (src/models/gpt.ts) into these modules."""
    t = lambda name: torch.tensor(weights[name], dtype=torch.float32, device=dev)
    linear = {"attn.c_attn": "c_attn", "attn.c_proj": "c_proj", "mlp.c_fc": "c_fc", "mlp.c_proj": "mlp_proj"}
    with torch.no_grad():
        model.wte.weight.copy_(t("wte").view_as(model.wte.weight))
        model.wpe.weight.copy_(t("wpe").view_as(model.wpe.weight))
        for i, block in enumerate(model.h):
            for ln in ("ln_1", "ln_2"):
                getattr(block, ln).weight.copy_(t(f"h.{i}.{ln}.weight"))
                getattr(block, ln).bias.copy_(t(f"h.{i}.{ln}.bias"))
            for src, dst in linear.items():
                lin = getattr(block, dst)
                lin.weight.copy_(t(f"h.{i}.{src}.weight").view(lin.in_features, lin.out_features).t())
                lin.bias.copy_(t(f"h.{i}.{src}.bias"))
        model.ln_f.weight.copy_(t("ln_f.weight"))
        model.ln_f.bias.copy_(t("ln_f.bias"))
        if head is not None:
            head.weight.copy_(t("score.weight").view(1, -1))
            head.bias.copy_(t("score.bias"))


def stage_replay(path, dev, sync):
    """Rows for `pitlab bench`'s stage rows: the same trainers' steps on the same batches."""
    with open(path) as f:
        spec = json.load(f)
    m = spec["model"]
    rows = []
    for w in spec["workloads"]:
        torch.manual_seed(0)
        model = Gpt(m["vocab"], m["block"], m["layers"], m["heads"], m["embd"]).to(dev)
        params = list(model.parameters())
        head = None
        if w["kind"] != "sft":
            head = nn.Linear(m["embd"], 1).to(dev)
            params += list(head.parameters())
        load_pitlab_weights(model, head, w["initial"], dev)
        opt = torch.optim.AdamW(params, lr=w["lr"], betas=(0.9, 0.95), weight_decay=0.0)
        steps = [replay_parts(s, dev) for s in w["steps"]]

        def run(step):
            opt.zero_grad(set_to_none=True)
            total_pairs = sum(p.get("pairs", 0) for p in step)
            total = 0.0
            for part in step:
                if head is None:
                    loss = sft_part_loss(model, part)
                else:
                    loss = reward_part_loss(model, head, w["kind"], w["loglikWeight"], part, total_pairs)
                loss.backward()
                total += loss.item()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            sync()
            return total

        # Step 1 from pitlab's starting weights checks that this is the trainer's computation; it
        # and step 2 also warm up, as pitlab's bench warms its kernels first.
        first_loss = run(steps[0])
        for step in steps[1:2]:
            run(step)
        t0 = time.perf_counter()
        for step in steps:
            run(step)
        s = time.perf_counter() - t0
        tokens = sum(p["tokens"] for step in steps for p in step)
        rows.append(dict(workload=w["workload"], backend="pytorch", throughput=tokens / s, unit="tokens/s",
                         ms=s * 1e3 / len(steps), stepOneLoss=dict(replay=first_loss, trainer=w["firstLoss"]),
                         note=f"{len(steps)} steps replayed; step-1 loss {first_loss:.6f}, pitlab's {w['firstLoss']:.6f}"))
    return rows


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
    p.add_argument("--stage-replay", metavar="FILE", help="replay the stage trainers' batches written by the stage bench")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    dev = torch.device(a.device)
    if a.device == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
    # CUDA runs asynchronously: synchronise so each timed call includes its GPU work
    sync = torch.cuda.synchronize if a.device == "cuda" else (lambda: None)
    if a.stage_replay:
        print(json.dumps(dict(torch=torch.__version__, threads=torch.get_num_threads(), rows=stage_replay(a.stage_replay, dev, sync))))
        return
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
