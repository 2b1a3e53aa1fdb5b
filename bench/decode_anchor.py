"""The anchor of bench/decode_bench.ts: the ORIGINAL VLP decoder (`BertForSeq2SeqDecoder` from a checkout of
LuoweiZhou/VLP), BERT-base configuration with random weights, on PyTorch's CPU, with the inputs
`decode_img2txt.py` builds (prompt ids, segment ids 4/5, positions 0..121, the decoder mask, region features).
`--device cuda` runs it on the GPU (float32, TF32 off), as `decode_img2txt.py` does there; each time then
ends with a `torch.cuda.synchronize()`.

Started by the bench with `--vlp DIR`; reads one command per line on stdin ("greedy" or "beam5") and answers
each with one line: the seconds one decode of the batch took. Model construction happens once, before the
first "ready" line.

Patched around the original (not in it), as needed on PyTorch >= 1.5, by decode/testdata/make_beam_cases.py's
helpers: `torch.div` of integer tensors floors (beam back-pointers), and the file-download helpers it imports
are stubbed (nothing is downloaded).
"""
import argparse
import os
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "decode", "testdata"))
from make_beam_cases import load_modeling, patch_torch  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--vlp", required=True)
    ap.add_argument("--images", type=int, default=8)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--device", default="cpu", help="cpu or cuda")
    args = ap.parse_args()
    dev = torch.device(args.device)
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            print("error: --device cuda, but PyTorch sees no CUDA device", file=sys.stderr)
            sys.exit(1)
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    patch_torch()
    real_stdout = sys.stdout
    sys.stdout = sys.stderr  # the original prints notes on import
    modeling = load_modeling(args.vlp)
    torch.manual_seed(0)
    config = modeling.BertConfig(28996, hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
                                 intermediate_size=3072, type_vocab_size=6, max_position_embeddings=512)
    models = {}
    for name, K in (("greedy", 1), ("beam5", 5)):
        m = modeling.BertForSeq2SeqDecoder(config, mask_word_id=103, search_beam_size=K, length_penalty=0.0,
                                           eos_id=102, forbid_duplicate_ngrams=False, ngram_size=3, min_len=None,
                                           enable_butd=True, len_vis_input=100)
        if models:
            m.load_state_dict(next(iter(models.values())).state_dict())
        models[name] = m.eval().to(dev)
    B, A, T = args.images, 102, 20
    L = A + T
    input_ids = torch.tensor([[101] + [100] * 100 + [102]] * B)
    token_type_ids = torch.tensor([[4] * A + [5] * T] * B)
    position_ids = torch.arange(L).repeat(B, 1)
    mask = torch.zeros(L, L, dtype=torch.long)
    mask[:, :A] = 1
    mask[A:, A:] = torch.tril(torch.ones(T, T, dtype=torch.long))
    mask = mask.repeat(B, 1, 1)
    g = torch.Generator().manual_seed(2)
    feats = torch.rand(B, 100, 2048, generator=g) * 2
    vis_pe = torch.randn(B, 100, 1607, generator=g)
    inputs = [t.to(dev) for t in (feats, vis_pe, input_ids, token_type_ids, position_ids, mask)]
    task_idx = torch.full((B,), 3, device=dev)
    sys.stdout = real_stdout
    print("ready", flush=True)
    for line in sys.stdin:
        what = line.strip()
        if what not in models:
            print(f"unknown command {what}", flush=True)
            continue
        t0 = time.perf_counter()
        with torch.no_grad():
            models[what](*inputs, task_idx=task_idx)
        if dev.type == "cuda":
            torch.cuda.synchronize()
        print(f"{time.perf_counter() - t0:.6f}", flush=True)


if __name__ == "__main__":
    main()
