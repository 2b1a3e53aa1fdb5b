#!/usr/bin/env python3
"""Generate the small random-weight detector and its stage-by-stage outputs.

An independent implementation of Detectron's Faster R-CNN FPN inference path (modeling/ResNet.py, FPN.py,
rpn_heads.py, fast_rcnn_heads.py, ops/generate_proposals.py, ops/collect_and_distribute_fpn_rpn_proposals.py,
core/test.py, utils/boxes.py and detectron-vlp's tools/extract_features.py) in PyTorch (float64) with
torchvision's roi_align and nms. Writes, next to this script:

  small_detector.pkl   the weights as Detectron saves them: a Python 2 pickle {'blobs': {name: float32 array}}
  small_detector.json  the config fields that define the network (Detectron's names)
  small_image.png      the input image (decoded here by PIL, an independent decoder)
  small_stages.npz     the outputs of every stage (see STAGES below)

Run: python3 detect/testdata/make_small_detector.py   (needs numpy, torch, torchvision, PIL)
"""
import io
import json
import math
import os
import pickle
import struct

import numpy as np
import torch
import torch.nn.functional as F
import torchvision
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
torch.set_default_dtype(torch.float64)
rng = np.random.RandomState(20240611)

CFG = {
    "MODEL": {"NUM_CLASSES": 1601, "BBOX_REG_WEIGHTS": [10.0, 10.0, 5.0, 5.0]},
    "PIXEL_MEANS": [102.9801, 115.9465, 122.7717],
    "RESNETS": {"NUM_GROUPS": 2, "WIDTH_PER_GROUP": 2, "STRIDE_1X1": False, "STEM_OUT_DIM": 8,
                "RES2_OUT_DIM": 16, "BLOCK_COUNTS": [2, 1, 2, 1]},
    "FPN": {"DIM": 8, "COARSEST_STRIDE": 32, "RPN_MIN_LEVEL": 2, "RPN_MAX_LEVEL": 6, "ROI_MIN_LEVEL": 2,
            "ROI_MAX_LEVEL": 5, "RPN_ANCHOR_START_SIZE": 32, "RPN_ASPECT_RATIOS": [0.5, 1.0, 2.0],
            "ROI_CANONICAL_SCALE": 24, "ROI_CANONICAL_LEVEL": 4},
    "FAST_RCNN": {"MLP_HEAD_DIM": 2048, "FC7_DIM": 8, "ROI_XFORM_RESOLUTION": 3, "ROI_XFORM_SAMPLING_RATIO": 2},
    "TEST": {"SCALE": 128, "MAX_SIZE": 224, "NMS": 0.3, "RPN_PRE_NMS_TOP_N": 1000, "RPN_POST_NMS_TOP_N": 120,
             "RPN_NMS_THRESH": 0.7, "RPN_MIN_SIZE": 0, "BBOX_XFORM_CLIP": math.log(1000.0 / 16.0)},
}
R, N = CFG["RESNETS"], CFG["FPN"]
blobs = {}


def param(name, shape, std, mean=0.0):
    blobs[name] = (mean + std * rng.standard_normal(shape)).astype(np.float32)
    return torch.from_numpy(blobs[name].astype(np.float64))


def conv_w(name, cout, cin, k, groups=1, gain=1.0):
    return param(name + "_w", (cout, cin // groups, k, k), gain * math.sqrt(2.0 / (cin // groups * k * k)))


def affine(x, name, c, gain=1.0):
    s = param(name + "_s", (c,), 0.15 * gain, gain)
    b = param(name + "_b", (c,), 0.1)
    return x * s.view(1, -1, 1, 1) + b.view(1, -1, 1, 1)


# ---- image: PIL decode, BGR, mean subtraction, cv2.INTER_LINEAR resize, pad to the coarsest stride ----
h0, w0 = 29, 41
yy, xx = np.mgrid[0:h0, 0:w0]
rgb = np.stack([(xx * 6) % 256, (yy * 8) % 256, ((xx + yy) * 5) % 256], -1).astype(np.uint8)
rgb[8:20, 10:30] = [200, 40, 40]
rgb = np.clip(rgb.astype(np.int32) + rng.randint(-20, 21, rgb.shape), 0, 255).astype(np.uint8)
Image.fromarray(rgb).save(os.path.join(HERE, "small_image.png"))
im = np.asarray(Image.open(os.path.join(HERE, "small_image.png")).convert("RGB"))[:, :, ::-1].astype(np.float64)
im = im - np.array(CFG["PIXEL_MEANS"])
T = CFG["TEST"]
scale = T["SCALE"] / min(h0, w0)
if round(scale * max(h0, w0)) > T["MAX_SIZE"]:
    scale = T["MAX_SIZE"] / max(h0, w0)


def cv2_linear_axis(n_in, n_out, s):
    """cv2.resize INTER_LINEAR source indices and weights along one axis (scale factor s given by fx)."""
    f = (np.arange(n_out) + 0.5) / s - 0.5
    i0 = np.floor(f).astype(np.int64)
    t = f - i0
    t[i0 < 0] = 0
    i0[i0 < 0] = 0
    big = i0 >= n_in - 1
    t[big] = 0
    i0[big] = n_in - 1
    return i0, np.minimum(i0 + 1, n_in - 1), t


hs, ws = int(round(h0 * scale)), int(round(w0 * scale))
y0, y1, ty = cv2_linear_axis(h0, hs, scale)
x0, x1, tx = cv2_linear_axis(w0, ws, scale)
rows = im[y0] * (1 - ty)[:, None, None] + im[y1] * ty[:, None, None]
resized = rows[:, x0] * (1 - tx)[None, :, None] + rows[:, x1] * tx[None, :, None]
S = N["COARSEST_STRIDE"]
hp, wp = int(math.ceil(hs / S) * S), int(math.ceil(ws / S) * S)
blob = np.zeros((hp, wp, 3))
blob[:hs, :ws] = resized
data = torch.from_numpy(blob.transpose(2, 0, 1)[None].copy())  # [1, 3, H, W]
im_info = (hp, wp, scale)

# ---- ResNeXt body (ResNet.py: basic_bn_stem, add_stage, bottleneck_transformation) ----
x = F.conv2d(data, conv_w("conv1", R["STEM_OUT_DIM"], 3, 7, gain=1 / 70.0), stride=2, padding=3)
x = F.relu(affine(x, "res_conv1_bn", R["STEM_OUT_DIM"]))
x = F.max_pool2d(x, 3, stride=2, padding=1)
dim_in, dim_out, dim_inner = R["STEM_OUT_DIM"], R["RES2_OUT_DIM"], R["NUM_GROUPS"] * R["WIDTH_PER_GROUP"]
stage_out = {}
for si, count in enumerate(R["BLOCK_COUNTS"]):
    stage = si + 2
    for b in range(count):
        stride = 2 if (stage > 2 and b == 0) else 1
        p = f"res{stage}_{b}"
        s1, s3 = (stride, 1) if R["STRIDE_1X1"] else (1, stride)
        t = F.conv2d(x, conv_w(p + "_branch2a", dim_inner, dim_in, 1), stride=s1)
        t = F.relu(affine(t, p + "_branch2a_bn", dim_inner))
        t = F.conv2d(t, conv_w(p + "_branch2b", dim_inner, dim_inner, 3, R["NUM_GROUPS"]), stride=s3, padding=1,
                     groups=R["NUM_GROUPS"])
        t = F.relu(affine(t, p + "_branch2b_bn", dim_inner))
        t = F.conv2d(t, conv_w(p + "_branch2c", dim_out, dim_inner, 1))
        t = affine(t, p + "_branch2c_bn", dim_out, 0.5)
        if dim_in != dim_out:
            sc = affine(F.conv2d(x, conv_w(p + "_branch1", dim_out, dim_in, 1), stride=stride), p + "_branch1_bn",
                        dim_out, 0.5)
        else:
            sc = x
        x = F.relu(t + sc)
        dim_in = dim_out
    stage_out[stage] = (f"res{stage}_{count - 1}_sum", x)
    dim_out, dim_inner = dim_out * 2, dim_inner * 2

# ---- FPN (FPN.py: add_fpn, lateral 1x1 + nearest 2x top-down, 3x3 outputs, P6 by subsampling P5) ----
D = N["DIM"]


def bias(name, c, std=0.05):
    return param(name + "_b", (c,), std)


top_name, c5 = stage_out[5]
inner = F.conv2d(c5, conv_w("fpn_inner_" + top_name, D, c5.shape[1], 1), bias("fpn_inner_" + top_name, D))
inners = {5: inner}
for lvl in (4, 3, 2):
    name, c = stage_out[lvl]
    lat = F.conv2d(c, conv_w(f"fpn_inner_{name}_lateral", D, c.shape[1], 1), bias(f"fpn_inner_{name}_lateral", D))
    inner = lat + F.interpolate(inner, scale_factor=2, mode="nearest")
    inners[lvl] = inner
fpn = {}
for lvl in (5, 4, 3, 2):
    name = stage_out[lvl][0]
    fpn[lvl] = F.conv2d(inners[lvl], conv_w("fpn_" + name, D, D, 3), bias("fpn_" + name, D), padding=1)
fpn[6] = F.max_pool2d(fpn[5], 1, stride=2)

# ---- RPN (FPN.add_fpn_rpn_outputs: weights of the lowest level shared by all levels) ----
A = len(N["RPN_ASPECT_RATIOS"])
w_conv, b_conv = conv_w("conv_rpn_fpn2", D, D, 3), bias("conv_rpn_fpn2", D)
w_cls, b_cls = param("rpn_cls_logits_fpn2_w", (A, D, 1, 1), 0.3), bias("rpn_cls_logits_fpn2", A, 0.3)
w_box, b_box = param("rpn_bbox_pred_fpn2_w", (4 * A, D, 1, 1), 0.03), bias("rpn_bbox_pred_fpn2", 4 * A, 0.05)


def generate_anchors(stride, size, ratios):
    """Detectron's utils/generate_anchors.py for one size."""
    base = np.array([1, 1, stride, stride], dtype=np.float64) - 1
    w, h = base[2] - base[0] + 1, base[3] - base[1] + 1
    xc, yc = base[0] + 0.5 * (w - 1), base[1] + 0.5 * (h - 1)
    out = []
    for r in ratios:
        ws_ = np.round(np.sqrt(w * h / r))
        hs_ = np.round(ws_ * r)
        sc = size / stride
        ws2, hs2 = ws_ * sc, hs_ * sc
        out.append([xc - 0.5 * (ws2 - 1), yc - 0.5 * (hs2 - 1), xc + 0.5 * (ws2 - 1), yc + 0.5 * (hs2 - 1)])
    return np.array(out)


def bbox_transform(boxes, deltas, weights):
    wx, wy, ww, wh = weights
    widths = boxes[:, 2] - boxes[:, 0] + 1.0
    heights = boxes[:, 3] - boxes[:, 1] + 1.0
    cx, cy = boxes[:, 0] + 0.5 * widths, boxes[:, 1] + 0.5 * heights
    dx, dy = deltas[:, 0::4] / wx, deltas[:, 1::4] / wy
    dw = np.minimum(deltas[:, 2::4] / ww, T["BBOX_XFORM_CLIP"])
    dh = np.minimum(deltas[:, 3::4] / wh, T["BBOX_XFORM_CLIP"])
    pcx, pcy = dx * widths[:, None] + cx[:, None], dy * heights[:, None] + cy[:, None]
    pw, ph = np.exp(dw) * widths[:, None], np.exp(dh) * heights[:, None]
    out = np.zeros(deltas.shape)
    out[:, 0::4], out[:, 1::4] = pcx - 0.5 * pw, pcy - 0.5 * ph
    out[:, 2::4], out[:, 3::4] = pcx + 0.5 * pw - 1, pcy + 0.5 * ph - 1
    return out


def clip_tiled(boxes, h, w):
    boxes[:, 0::4] = np.clip(boxes[:, 0::4], 0, w - 1)
    boxes[:, 1::4] = np.clip(boxes[:, 1::4], 0, h - 1)
    boxes[:, 2::4] = np.clip(boxes[:, 2::4], 0, w - 1)
    boxes[:, 3::4] = np.clip(boxes[:, 3::4], 0, h - 1)
    return boxes


def nms(boxes, scores, thresh):
    """Detectron's nms (areas with +1) through torchvision: boxes grown by one pixel give the same IoU."""
    b = torch.from_numpy(boxes.copy())
    b[:, 2:] += 1
    return torchvision.ops.nms(b, torch.from_numpy(scores.copy()), thresh).numpy()


stages = {"data": data.numpy(), "im_info": np.array(im_info)}
for lvl in (2, 3, 4, 5):
    stages[f"body_res{lvl}"] = stage_out[lvl][1].numpy()
rois_all, scores_all = [], []
for lvl in range(N["RPN_MIN_LEVEL"], N["RPN_MAX_LEVEL"] + 1):
    stages[f"fpn{lvl}"] = fpn[lvl].numpy()
    hid = F.relu(F.conv2d(fpn[lvl], w_conv, b_conv, padding=1))
    # Caffe2 blobs are float32: the proposal op sees the outputs rounded to float32
    probs = torch.sigmoid(F.conv2d(hid, w_cls, b_cls))[0].numpy().astype(np.float32).astype(np.float64)  # [A, H, W]
    deltas = F.conv2d(hid, w_box, b_box)[0].numpy().astype(np.float32).astype(np.float64)  # [4A, H, W]
    stages[f"rpn_cls_probs_fpn{lvl}"], stages[f"rpn_bbox_pred_fpn{lvl}"] = probs, deltas
    stride = 2 ** lvl
    anchors = generate_anchors(stride, N["RPN_ANCHOR_START_SIZE"] * 2 ** (lvl - N["RPN_MIN_LEVEL"]),
                               N["RPN_ASPECT_RATIOS"])
    H, W = probs.shape[1:]
    sx, sy = np.meshgrid(np.arange(W) * stride, np.arange(H) * stride)
    shifts = np.stack([sx.ravel(), sy.ravel(), sx.ravel(), sy.ravel()], 1)
    all_anchors = (anchors[None] + shifts[:, None]).reshape(-1, 4)
    d = deltas.transpose(1, 2, 0).reshape(-1, 4)
    s = probs.transpose(1, 2, 0).reshape(-1)
    order = np.argsort(-s, kind="stable")[:T["RPN_PRE_NMS_TOP_N"]]
    props = clip_tiled(bbox_transform(all_anchors[order], d[order], (1.0, 1.0, 1.0, 1.0)), hp, wp)
    s = s[order]
    ms = T["RPN_MIN_SIZE"] * scale
    pw_, ph_ = props[:, 2] - props[:, 0] + 1, props[:, 3] - props[:, 1] + 1
    keep = np.where((pw_ >= ms) & (ph_ >= ms) & (props[:, 0] + pw_ / 2 < wp) & (props[:, 1] + ph_ / 2 < hp))[0]
    props, s = props[keep], s[keep]
    keep = nms(props, s, T["RPN_NMS_THRESH"])[:T["RPN_POST_NMS_TOP_N"]]
    stages[f"rpn_rois_fpn{lvl}"], stages[f"rpn_roi_probs_fpn{lvl}"] = props[keep], s[keep]
    rois_all.append(props[keep])
    scores_all.append(s[keep])

# ---- collect and distribute (top post-NMS-N over all levels, then levels by scale) ----
rois_c, scores_c = np.concatenate(rois_all), np.concatenate(scores_all)
inds = np.argsort(-scores_c, kind="stable")[:T["RPN_POST_NMS_TOP_N"]]
rois = rois_c[inds]
stages["rois"] = rois
area = (rois[:, 2] - rois[:, 0] + 1) * (rois[:, 3] - rois[:, 1] + 1)
lvls = np.floor(N["ROI_CANONICAL_LEVEL"] + np.log2(np.sqrt(area) / N["ROI_CANONICAL_SCALE"] + 1e-6))
lvls = np.clip(lvls, N["ROI_MIN_LEVEL"], N["ROI_MAX_LEVEL"])
stages["roi_levels"] = lvls.astype(np.int32)

# ---- box head (fast_rcnn_heads.add_roi_2mlp_head; RoIAlign per level, aligned off) ----
Fr = CFG["FAST_RCNN"]
res = Fr["ROI_XFORM_RESOLUTION"]
roi_feat = torch.zeros((len(rois), D, res, res))
for lvl in range(N["ROI_MIN_LEVEL"], N["ROI_MAX_LEVEL"] + 1):
    idx = np.where(lvls == lvl)[0]
    if len(idx) == 0:
        continue
    r = torch.from_numpy(np.hstack([np.zeros((len(idx), 1)), rois[idx]]))
    roi_feat[idx] = torchvision.ops.roi_align(fpn[lvl], r, (res, res), spatial_scale=1.0 / 2 ** lvl,
                                              sampling_ratio=Fr["ROI_XFORM_SAMPLING_RATIO"], aligned=False)
stages["roi_feat"] = roi_feat.numpy()
HD, H7 = Fr["MLP_HEAD_DIM"], Fr["FC7_DIM"]
K = CFG["MODEL"]["NUM_CLASSES"]
fc6 = F.relu(F.linear(roi_feat.reshape(len(rois), -1), param("fc6_w", (HD, D * res * res), 1.0 / math.sqrt(D * res * res)),
                      bias("fc6", HD)))
fc7 = F.relu(F.linear(fc6, param("fc7_w", (H7, HD), 1.0 / math.sqrt(HD)), bias("fc7", H7)))
cls_score = F.linear(fc7, param("cls_score_w", (K, H7), 1.2), bias("cls_score", K, 1.0))
cls_prob = F.softmax(cls_score, dim=1).numpy()
bbox_pred = F.linear(fc7, param("bbox_pred_w", (4 * K, H7), 0.5), bias("bbox_pred", 4 * K, 0.5)).numpy()
# stored in part (the first columns), to keep the fixture small; the final stage covers every column
stages["fc6"], stages["fc7"] = fc6.numpy()[:, :256], fc7.numpy()
stages["cls_prob"], stages["bbox_pred"] = cls_prob[:, :128], bbox_pred[:, :128]

# ---- core/test.py im_detect_bbox, then extract_features.py's per-class NMS and 100-box rule ----
boxes = rois / scale
pred = clip_tiled(bbox_transform(boxes, bbox_pred, CFG["MODEL"]["BBOX_REG_WEIGHTS"]), h0, w0)
stages["pred_boxes"] = pred[:, :128]
max_conf, max_cls, max_box = np.zeros(len(rois)), np.zeros(len(rois), np.int64), np.zeros((len(rois), 4))
for c in range(1, K):
    sc = cls_prob[:, c]
    keep = nms(pred[:, 4 * c:4 * c + 4], sc, T["NMS"])
    upd = keep[sc[keep] > max_conf[keep]]
    max_conf[upd], max_cls[upd], max_box[upd] = sc[upd], c, pred[upd, 4 * c:4 * c + 4]
keep = np.where(max_conf > 0.2)[0]
if len(keep) < 100 or len(keep) > 100:
    keep = np.argsort(max_conf, kind="stable")[::-1][:100]
stages["keep"] = keep.astype(np.int32)
stages["bbox"] = np.hstack([max_box[keep], max_cls[keep, None], max_conf[keep, None]])
stages["feat_sum"], stages["cls_sum"] = fc6.numpy()[keep].sum(1), cls_prob[keep].sum(1)
# the margin of the ordering (top 100 and the next one), so that float32 implementations take the same decisions
top = np.sort(max_conf)[::-1][:101]
stages["min_conf_gap"] = np.array(np.min(-np.diff(top)))


class Py2Pickler(pickle._Pickler):
    """Writes bytes as Python 2 str (SHORT_BINSTRING / BINSTRING), as Detectron's cPickle files hold them."""

    def save_bytes(self, obj):
        if len(obj) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(obj)]) + obj)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", len(obj)) + obj)
        self.memoize(obj)

    dispatch = dict(pickle._Pickler.dispatch)
    dispatch[bytes] = save_bytes

    def save_str(self, obj):  # Python 2 str keys
        self.save_bytes(obj.encode("latin1"))

    dispatch[str] = save_str


buf = io.BytesIO()
Py2Pickler(buf, protocol=2).dump({"blobs": blobs})
with open(os.path.join(HERE, "small_detector.pkl"), "wb") as f:
    f.write(buf.getvalue())
with open(os.path.join(HERE, "small_detector.json"), "w") as f:
    json.dump(CFG, f, indent=1)
np.savez_compressed(os.path.join(HERE, "small_stages.npz"),
                    **{k: (v.astype(np.float32) if v.dtype == np.float64 else v) for k, v in stages.items()})
print({k: v.shape for k, v in stages.items()}, "min conf gap", stages["min_conf_gap"], "rois", len(rois),
      "levels", np.bincount(lvls.astype(int)))
