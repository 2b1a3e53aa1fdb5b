"""Expected beam-search outputs of the ORIGINAL VLP code on a fake model (writes beam_cases.json).

The original `BertForSeq2SeqDecoder.beam_search` runs unchanged; only its transformer (`self.bert`) and LM
head (`self.cls`) are replaced by a fake whose next-word logits are a hash of (image, words so far, word),
so every setting (beam size, length penalty, min_len, n-gram blocking with ignore words, beams that end at
different steps) can be pinned down. decode/beam_original_test.ts recomputes the same logits in TypeScript.

Usage (needs PyTorch; run once, the JSON is committed):
    python3 decode/testdata/make_beam_cases.py --vlp PATH/TO/LuoweiZhou-VLP --out decode/testdata/beam_cases.json

Two things the original needs to run on a CPU with PyTorch >= 1.5 are patched around it, not in it:
`torch.div` of integer tensors floors (as in the PyTorch the code was written for), and `.cuda()` (used on
the n-gram mask) is the identity.
"""
import argparse
import json
import sys
import types

import torch

M = 0xFFFFFFFF


def mix32(x):
    x ^= x >> 16
    x = (x * 0x7FEB352D) & M
    x ^= x >> 15
    x = (x * 0x846CA68B) & M
    x ^= x >> 16
    return x


def logit(seed, image, history, w):
    """A value in [-8, 8) on a 2^-20 grid (exact in float32)."""
    x = seed & M
    for t in [image] + list(history) + [w]:
        x = mix32((x ^ ((t + 0x9E3779B9) & M)) & M)
    return (x >> 8) / 2.0 ** 20 - 8.0


def patch_torch():
    """What the original needs on a CPU with PyTorch >= 1.5: integer `torch.div` floors, `.cuda()` is a no-op."""
    int_div = torch.div

    def div(a, b, **kw):
        if not kw and not torch.is_floating_point(a):
            return int_div(a, b, rounding_mode="floor")
        return int_div(a, b, **kw)

    torch.div = div
    torch.Tensor.cuda = lambda self, *a, **k: self


def load_modeling(vlp):
    """`pytorch_pretrained_bert.modeling` from a VLP checkout, its download helpers stubbed (never used)."""
    for name in ("tqdm", "boto3", "botocore", "botocore.exceptions", "requests"):
        sys.modules.setdefault(name, types.ModuleType(name))
    sys.modules["tqdm"].tqdm = None
    sys.modules["botocore.exceptions"].ClientError = Exception
    pkg = types.ModuleType("pytorch_pretrained_bert")
    pkg.__path__ = [vlp + "/pytorch_pretrained_bert"]
    sys.modules["pytorch_pretrained_bert"] = pkg
    import pytorch_pretrained_bert.modeling as modeling

    return modeling


class FakeBert(torch.nn.Module):
    """Hidden states carry [token id, image] at every position; layer 1 holds the logits at the last one."""

    def __init__(self, case):
        super().__init__()
        self.case = case

    def forward(self, vis_feats, vis_pe, input_ids, token_type_ids, position_ids, attention_mask,
                prev_embedding=None, prev_encoded_layers=None, output_all_encoded_layers=True, len_vis_input=None):
        c = self.case
        N, Lq = input_ids.shape
        V, A = c["V"], c["A"]
        ids = input_ids.clone().float()
        if prev_encoded_layers is None:
            ids[:, 1] = vis_feats[:, 0, 0]  # image index in the first region slot
            prev = torch.zeros(N, 0, 2)
        else:
            prev = prev_encoded_layers[0]
        carrier = torch.zeros(N, Lq, 2)
        carrier[:, :, 0] = ids
        full = torch.cat([prev, carrier], dim=1)  # every position so far, the [MASK] last
        layer1 = torch.zeros(N, Lq, V)
        for n in range(N):
            image = int(full[n, 1, 0].item())
            history = [int(v) for v in full[n, A:-1, 0].tolist()]
            row = [logit(c["seed"], image, history, w) for w in range(V)]
            boost = c["eos_boost"]
            if len(history) < len(boost):
                row[c["eos"]] += boost[len(history)]
            layer1[n, -1] = torch.tensor(row, dtype=torch.float32)
        emb = torch.zeros(N, Lq, 1)
        return emb, [carrier, layer1], None


class FakeHead(torch.nn.Module):
    def forward(self, last_hidden, _pooled, task_idx=None):
        return last_hidden, None


CASES = [
    # K, length_penalty, min_len, forbid, ngram, ignore, eos_boost
    (2, 0.0, None, False, 3, None, []),
    (3, 0.0, None, False, 3, None, [0, 0, 2, 4, 6, 8]),
    (5, 0.0, None, False, 3, None, [0, 1, 3, 6, 9, 12]),
    (3, 1.0, None, False, 3, None, [0, 1, 2, 3, 4, 5]),
    (3, -0.7, None, False, 3, None, [1, 1, 2, 3, 4, 5]),
    (4, 0.5, 2, False, 3, None, [5, 5, 5, 5, 5, 5]),
    (3, 0.0, 4, False, 3, None, [3, 3, 3, 3, 3, 3, 3, 3]),
    (2, 0.0, 1, False, 3, None, [8, 8, 8]),
    (3, 0.0, None, True, 3, None, []),
    (3, 0.0, None, True, 2, None, [0, 0, 0, 1, 2]),
    (4, 0.3, 3, True, 2, [5, 6], [0, 0, 0, 2, 4, 6]),
    (3, 0.0, None, True, 1, [7], []),
    (2, 1.0, 2, True, 3, [4], [0, 0, 1, 2, 3]),
    (5, -0.2, None, True, 2, None, [2, 2, 2, 2, 2, 2]),
    (2, 0.0, None, False, 3, None, [12]),  # [SEP] first: every beam pushed out at once
    (3, 0.0, None, False, 3, None, [0, 9]),  # beams end together at step 1
]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--vlp", required=True, help="checkout of LuoweiZhou/VLP")
    ap.add_argument("--out", required=True, help="JSON file to write")
    args = ap.parse_args()
    modeling = load_modeling(args.vlp)
    patch_torch()

    B, A, T, V, EOS, MASK = 3, 4, 8, 10, 3, 9
    out = {"B": B, "A": A, "T": T, "V": V, "eos": EOS, "cases": []}
    for i, (K, lp, min_len, forbid, ngram, ignore, boost) in enumerate(CASES):
        case = {"seed": 1000 + i, "V": V, "A": A, "eos": EOS, "eos_boost": boost}
        config = modeling.BertConfig(vocab_size_or_config_json_file=V, hidden_size=8, num_hidden_layers=1,
                                     num_attention_heads=2, intermediate_size=8)
        model = modeling.BertForSeq2SeqDecoder(
            config, mask_word_id=MASK, search_beam_size=K, length_penalty=lp, eos_id=EOS,
            forbid_duplicate_ngrams=forbid, forbid_ignore_set=set(ignore) if ignore else None, ngram_size=ngram,
            min_len=min_len, enable_butd=False, len_vis_input=A - 2)
        model.bert = FakeBert(case)
        model.cls = FakeHead()
        model.eval()
        vis = torch.zeros(B, A - 2, 1)
        vis[:, 0, 0] = torch.arange(B).float()
        input_ids = torch.tensor([[1] + [2] * (A - 2) + [EOS]] * B)
        with torch.no_grad():
            traces = model.beam_search(vis, None, input_ids, torch.zeros(B, A + T, dtype=torch.long),
                                       torch.arange(A + T).repeat(B, 1), torch.ones(B, A + T, A + T))
        out["cases"].append({
            "seed": case["seed"], "beam_size": K, "length_penalty": lp, "min_len": min_len,
            "forbid_duplicate_ngrams": forbid, "ngram_size": ngram, "forbid_ignore": ignore or [],
            "eos_boost": boost, "pred_seq": traces["pred_seq"].tolist(),
            "wids": traces["wids"].tolist(), "ptrs": traces["ptrs"].tolist(),
        })
    with open(args.out, "w") as f:
        json.dump(out, f, separators=(",", ":"))
        f.write("\n")


if __name__ == "__main__":
    main()
