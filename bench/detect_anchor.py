#!/usr/bin/env python3
"""The anchor of bench/detect_bench.ts: the same detector (ResNeXt-101 64x4d FPN, 1601 classes, fc6 2048,
random weights, frozen BN folded into the convolutions) in PyTorch + torchvision on the CPU, the same input
size and stages: body + FPN, RPN and proposals (per level top 1000, NMS 0.7, 1000 collected), RoIAlign + box
head (1000 RoIs), class boxes + per-class NMS (1600 torchvision.ops.nms calls, as detectron-vlp loops).
Prints one JSON line {"images_per_s", "stage_ms", ...}.

python3 bench/detect_anchor.py [--images N] [--height H] [--width W] [--threads N]
"""
import argparse
import json
import math
import time

import torch
import torch.nn.functional as F
import torchvision

p = argparse.ArgumentParser()
p.add_argument("--images", type=int, default=2)
p.add_argument("--height", type=int, default=480)
p.add_argument("--width", type=int, default=800)
p.add_argument("--threads", type=int, default=0)
a = p.parse_args()
if a.threads:
    torch.set_num_threads(a.threads)
torch.manual_seed(1)
BLOCKS, G, WPG, D, K, HD, RES = (3, 4, 23, 3), 64, 4, 256, 1601, 2048, 7


def conv(cin, cout, k, stride=1, groups=1):
    c = torch.nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=True)
    torch.nn.init.kaiming_normal_(c.weight)
    return c


class Block(torch.nn.Module):
    def __init__(self, cin, inner, out, stride):
        super().__init__()
        self.a, self.b, self.c = conv(cin, inner, 1), conv(inner, inner, 3, stride, G), conv(inner, out, 1)
        self.sc = conv(cin, out, 1, stride) if cin != out else None

    def forward(self, x):
        t = self.c(F.relu(self.b(F.relu(self.a(x))))) * 0.3
        return F.relu(t + (self.sc(x) * 0.3 if self.sc is not None else x))


class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = conv(3, 64, 7, 2)
        stages, cin, inner, out = [], 64, G * WPG, 256
        for s, n in enumerate(BLOCKS):
            stages.append(torch.nn.Sequential(*[Block(cin if i == 0 else out, inner, out, 2 if s > 0 and i == 0 else 1)
                                                for i in range(n)]))
            cin, inner, out = out, inner * 2, out * 2
        self.stages = torch.nn.ModuleList(stages)
        self.lat = torch.nn.ModuleList([conv(256 * 2 ** s, D, 1) for s in range(4)])
        self.out = torch.nn.ModuleList([conv(D, D, 3) for _ in range(4)])
        self.rpn, self.cls, self.box = conv(D, D, 3), conv(D, 3, 1), conv(D, 12, 1)
        self.fc6, self.fc7 = torch.nn.Linear(D * RES * RES, HD), torch.nn.Linear(HD, HD)
        self.cls_score, self.bbox_pred = torch.nn.Linear(HD, K), torch.nn.Linear(HD, 4 * K)

    def body(self, x):
        x = F.max_pool2d(F.relu(self.stem(x / 70)), 3, 2, 1)
        cs = []
        for st in self.stages:
            x = st(x)
            cs.append(x)
        inner = self.lat[3](cs[3])
        ps = [None] * 4
        ps[3] = self.out[3](inner)
        for s in (2, 1, 0):
            inner = self.lat[s](cs[s]) + F.interpolate(inner, scale_factor=2, mode="nearest")
            ps[s] = self.out[s](inner)
        return ps + [F.max_pool2d(ps[3], 1, 2)]


def anchors(stride, size):
    out = []
    for r in (0.5, 1.0, 2.0):
        ws = round(math.sqrt(stride * stride / r)) * size / stride
        hs = round(round(math.sqrt(stride * stride / r)) * r) * size / stride
        c = 0.5 * (stride - 1)
        out.append([c - 0.5 * (ws - 1), c - 0.5 * (hs - 1), c + 0.5 * (ws - 1), c + 0.5 * (hs - 1)])
    return torch.tensor(out)


def decode(boxes, d, wts=(1.0, 1.0, 1.0, 1.0)):
    w, h = boxes[:, 2] - boxes[:, 0] + 1, boxes[:, 3] - boxes[:, 1] + 1
    cx, cy = boxes[:, 0] + 0.5 * w, boxes[:, 1] + 0.5 * h
    d = d.view(d.shape[0], -1, 4)
    clip = math.log(1000 / 16)
    pcx, pcy = d[..., 0] / wts[0] * w[:, None] + cx[:, None], d[..., 1] / wts[1] * h[:, None] + cy[:, None]
    pw = torch.exp((d[..., 2] / wts[2]).clamp(max=clip)) * w[:, None]
    ph = torch.exp((d[..., 3] / wts[3]).clamp(max=clip)) * h[:, None]
    return torch.stack([pcx - 0.5 * pw, pcy - 0.5 * ph, pcx + 0.5 * pw - 1, pcy + 0.5 * ph - 1], -1)


net = Net().eval()
H, W = a.height, a.width
scale = 600 / min(H, W)
if round(scale * max(H, W)) > 1000:
    scale = 1000 / max(H, W)
hs, ws = round(H * scale), round(W * scale)
hp, wp = math.ceil(hs / 32) * 32, math.ceil(ws / 32) * 32
img = torch.zeros(1, 3, hp, wp)
img[:, :, :hs, :ws] = torch.rand(1, 3, hs, ws) * 255 - 115
stages = {"body_fpn": 0.0, "rpn": 0.0, "head": 0.0, "nms": 0.0}
with torch.no_grad():
    for it in range(a.images + 1):
        t0 = time.perf_counter()
        ps = net.body(img)
        t1 = time.perf_counter()
        rois, scores = [], []
        for li, pl in enumerate(ps):
            lvl, stride = li + 2, 2 ** (li + 2)
            hid = F.relu(net.rpn(pl))
            prob = torch.sigmoid(net.cls(hid))[0].permute(1, 2, 0).reshape(-1)
            dl = net.box(hid)[0].permute(1, 2, 0).reshape(-1, 4)
            h, w = pl.shape[2:]
            sy, sx = torch.meshgrid(torch.arange(h) * stride, torch.arange(w) * stride, indexing="ij")
            sh = torch.stack([sx.reshape(-1), sy.reshape(-1), sx.reshape(-1), sy.reshape(-1)], 1).float()
            anc = (anchors(stride, 32 * 2 ** li)[None] + sh[:, None]).reshape(-1, 4)
            top = torch.argsort(-prob)[:1000]
            b = decode(anc[top], dl[top]).reshape(-1, 4)
            b[:, 0::2] = b[:, 0::2].clamp(0, wp - 1)
            b[:, 1::2] = b[:, 1::2].clamp(0, hp - 1)
            bb = b.clone()
            bb[:, 2:] += 1
            keep = torchvision.ops.nms(bb, prob[top], 0.7)[:1000]
            rois.append(b[keep])
            scores.append(prob[top][keep])
        r, s = torch.cat(rois), torch.cat(scores)
        r = r[torch.argsort(-s)[:1000]]
        area = (r[:, 2] - r[:, 0] + 1) * (r[:, 3] - r[:, 1] + 1)
        lv = torch.floor(4 + torch.log2(torch.sqrt(area) / 224 + 1e-6)).clamp(2, 5)
        t2 = time.perf_counter()
        feat = torch.zeros(len(r), D, RES, RES)
        for lvl in range(2, 6):
            idx = torch.nonzero(lv == lvl).reshape(-1)
            if len(idx):
                rr = torch.cat([torch.zeros(len(idx), 1), r[idx]], 1)
                feat[idx] = torchvision.ops.roi_align(ps[lvl - 2], rr, RES, 1 / 2 ** lvl, 2, aligned=False)
        fc6 = F.relu(net.fc6(feat.reshape(len(r), -1)))
        fc7 = F.relu(net.fc7(fc6))
        prob = F.softmax(net.cls_score(fc7), 1)
        deltas = net.bbox_pred(fc7)
        t3 = time.perf_counter()
        boxes = decode(r / scale, deltas, (10.0, 10.0, 5.0, 5.0))
        boxes[..., 0::2] = boxes[..., 0::2].clamp(0, W - 1)
        boxes[..., 1::2] = boxes[..., 1::2].clamp(0, H - 1)
        grown = boxes.clone()
        grown[..., 2:] += 1
        max_conf = torch.zeros(len(r))
        for c in range(1, K):
            keep = torchvision.ops.nms(grown[:, c], prob[:, c], 0.3)
            sc = prob[keep, c]
            upd = keep[sc > max_conf[keep]]
            max_conf[upd] = prob[upd, c]
        torch.argsort(max_conf, descending=True)[:100]
        t4 = time.perf_counter()
        if it == 0:
            continue
        for k, v in zip(stages, (t1 - t0, t2 - t1, t3 - t2, t4 - t3)):
            stages[k] += v * 1000 / a.images
ms = sum(stages.values())
print(json.dumps({"bench": "detect_anchor", "torch": torch.__version__, "threads": torch.get_num_threads(),
                  "input": [hp, wp], "images_per_s": round(1000 / ms, 4),
                  "stage_ms": {k: round(v) for k, v in stages.items()}}))
