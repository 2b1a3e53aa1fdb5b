"""The anchor of bench/gpu_bench.ts on the same GPU: the ORIGINAL VLP pre-training model
(`BertForPreTrainingLossMask` from a checkout of LuoweiZhou/VLP, `enable_butd`, BERT-base, random weights) in
PyTorch on CUDA, float32 (TF32 off, as on the V100s the original trained on), one training step of the same
shape as our bench: batch 64, L = 123 (CLS, 100 regions, SEP, 20 caption tokens, SEP), 3 masked positions,
seq2seq mask, dropout on, then BertAdam on every parameter. Also cuBLAS float32 GEMM TFLOP/s at the fc1
shape, as a ceiling.

BertAdam: the original's `pytorch_pretrained_bert/optimization.py` imports `torch._six` and uses the
`add_(scalar, tensor)` overloads that PyTorch 2 removed, so the same per-tensor update (gradient-norm clip of
each tensor, m/v without bias correction, decoupled weight decay, warmup_linear schedule) is written out
below, one tensor at a time as there.

Usage: python3 bench/gpu_anchor.py --vlp DIR [--steps N] [--quick]   (DIR holds pytorch_pretrained_bert/)
Progress goes to stderr; the last stdout line is ONE JSON object.
"""
import argparse
import json
import os
import pickle
import sys
import tempfile
import time

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "decode", "testdata"))
from make_beam_cases import load_modeling  # noqa: E402


def bert_adam_step(params, lr, weight_decay_of, state, b1=0.9, b2=0.999, eps=1e-6, max_grad_norm=1.0):
    """The original BertAdam.step, tensor by tensor (no bias correction; clip per tensor)."""
    for p in params:
        if p.grad is None:
            continue
        grad = p.grad
        st = state.setdefault(p, {})
        if not st:
            st["m"] = torch.zeros_like(p)
            st["v"] = torch.zeros_like(p)
        torch.nn.utils.clip_grad_norm_(p, max_grad_norm)
        st["m"].mul_(b1).add_(grad, alpha=1 - b1)
        st["v"].mul_(b2).addcmul_(grad, grad, value=1 - b2)
        update = st["m"] / (st["v"].sqrt() + eps)
        wd = weight_decay_of[p]
        if wd > 0:
            update += wd * p.data
        p.data.add_(-lr * update)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--vlp", required=True)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--quick", action="store_true", help="tiny model on whatever device there is")
    args = ap.parse_args()
    dev = "cuda" if torch.cuda.is_available() else "cpu"
    if dev == "cpu" and not args.quick:
        print("error: no CUDA device (use --quick to check the script on a CPU)", file=sys.stderr)
        sys.exit(1)
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    real_stdout = sys.stdout
    sys.stdout = sys.stderr  # the original prints notes on import
    modeling = load_modeling(args.vlp)
    torch.manual_seed(0)
    C, NL, NH, I, V = (32, 2, 4, 64, 1300) if args.quick else (768, 12, 12, 3072, 28996)
    B, R, T, P = (2, 100, 9, 3) if args.quick else (64, 100, 21, 3)
    L = 1 + R + 1 + T
    config = modeling.BertConfig(V, hidden_size=C, num_hidden_layers=NL, num_attention_heads=NH,
                                 intermediate_size=I, type_vocab_size=6, max_position_embeddings=512)
    # enable_butd reads the detector's fc7 layer from detectron_weights/*.pkl in the working directory
    cwd = os.getcwd()
    with tempfile.TemporaryDirectory() as tmp:
        os.makedirs(os.path.join(tmp, "detectron_weights"))
        rng = np.random.default_rng(0)
        for name, shape in (("fc7_w", (2048, 2048)), ("fc7_b", (2048,))):
            with open(os.path.join(tmp, "detectron_weights", name + ".pkl"), "wb") as f:
                pickle.dump((rng.standard_normal(shape) * 0.01).astype(np.float32), f)
        os.chdir(tmp)
        try:
            model = modeling.BertForPreTrainingLossMask(config, enable_butd=True, len_vis_input=R)
        finally:
            os.chdir(cwd)
    model.to(dev).train()
    no_decay = ("bias", "LayerNorm.bias", "LayerNorm.weight")
    params = [p for _, p in model.named_parameters()]
    weight_decay_of = {p: (0.0 if any(nd in n for nd in no_decay) else 0.01) for n, p in model.named_parameters()}

    g = torch.Generator().manual_seed(1)
    vis_feats = torch.rand(B, R, 2048, generator=g).to(dev)
    vis_pe = torch.rand(B, R, 6 + 1601, generator=g).to(dev)
    input_ids = torch.randint(1000, V, (B, L), generator=g).to(dev)
    token_type_ids = torch.cat([torch.full((B, R + 2), 4), torch.full((B, T), 5)], 1).to(dev)
    # seq2seq: every position sees the image part (CLS, regions, SEP); caption tokens see earlier tokens
    mask = torch.zeros(L, L)
    mask[:, : R + 2] = 1
    mask[R + 2:, R + 2:] = torch.tril(torch.ones(T, T))
    attention_mask = mask.unsqueeze(0).expand(B, L, L).contiguous().to(dev)
    masked_pos = torch.stack([torch.randperm(T, generator=g)[:P] + R + 2 for _ in range(B)]).to(dev)
    masked_ids = torch.randint(1000, V, (B, P), generator=g).to(dev)
    masked_weights = torch.ones(B, P).to(dev)
    state = {}

    def step():
        model.zero_grad()
        mlm, _, _ = model(vis_feats, vis_pe, input_ids, token_type_ids, attention_mask,
                          masked_lm_labels=masked_ids, next_sentence_label=torch.zeros(B, dtype=torch.long, device=dev),
                          masked_pos=masked_pos, masked_weights=masked_weights, drop_worst_ratio=0)
        mlm.backward()
        bert_adam_step(params, 1e-5, weight_decay_of, state)
        return mlm

    sync = torch.cuda.synchronize if dev == "cuda" else (lambda: None)
    t0 = time.perf_counter()
    first = step().item()
    print(f"warm-up step: {time.perf_counter() - t0:.2f} s, loss {first:.4f}", file=sys.stderr)
    step()
    sync()
    t0 = time.perf_counter()
    for _ in range(args.steps):
        loss = step()
    last = loss.item()
    secs = time.perf_counter() - t0
    train = {"B": B, "L": L, "P": P, "steps": args.steps, "msPerStep": secs * 1000 / args.steps,
             "examplesPerSec": B * args.steps / secs, "firstLoss": first, "lastLoss": last}
    print(f"training: {train['msPerStep']:.1f} ms/step, {train['examplesPerSec']:.1f} examples/s", file=sys.stderr)

    # cuBLAS float32 GEMM at the fc1 shape [B·L, C] x [I, C]^T
    a = torch.rand(B * L, C, device=dev)
    w = torch.rand(I, C, device=dev)
    for _ in range(3):
        a @ w.t()
    sync()
    reps = 2 if args.quick else 50
    t0 = time.perf_counter()
    for _ in range(reps):
        a @ w.t()
    sync()
    ms = (time.perf_counter() - t0) * 1000 / reps
    gemm = {"m": B * L, "n": I, "k": C, "ms": ms, "tflops": 2 * B * L * I * C / (ms * 1e-3) / 1e12}
    print(f"cuBLAS f32 fc1: {ms:.3f} ms, {gemm['tflops']:.2f} TFLOP/s", file=sys.stderr)

    sys.stdout = real_stdout
    print(json.dumps({"bench": "gpu_anchor", "what": "original VLP, PyTorch float32",
                     "device": torch.cuda.get_device_name() if dev == "cuda" else "cpu",
                     "torch": torch.__version__, "quick": args.quick, "train": train, "gemm_fc1": gemm}))


if __name__ == "__main__":
    main()
