# A parity fixture made by the ORIGINAL VLP code (its pytorch_pretrained_bert package, LuoweiZhou/VLP) with
# another seed, width and weight scale than vlp-tiny/vlp-wide, reusing vlp-wide's inputs: the masked-LM loss,
# every gradient and the BertAdam trajectory and parameters (checks of `deno task parity`; no decode or VQA
# entries, so those checks are skipped). Not used by the tests: it is how the tolerances of model/README.md
# "Parity tolerances" were checked on fixtures they were not derived from.
#   usage: python3 make_parity_fixture.py VLP_SOURCE_DIR INPUTS_FIXTURE_DIR OUTDIR SEED HIDDEN STD
# VLP_SOURCE_DIR holds the original's pytorch_pretrained_bert/; torch (tested with 1.13) and numpy needed.
import sys, os, json, collections.abc, types, pickle
import numpy as np, torch
import torch._six
torch._six.container_abcs = collections.abc
for name in ['tqdm', 'boto3', 'requests', 'botocore', 'botocore.exceptions', 'apex', 'apex.optimizers']:  # unused download helpers
    if name not in sys.modules:
        mod = types.ModuleType(name); mod.tqdm = None; mod.ClientError = Exception; mod.FP16_Optimizer = object; sys.modules[name] = mod
src, W, out = (os.path.abspath(a) for a in sys.argv[1:4])
seed, hidden, std = int(sys.argv[4]), int(sys.argv[5]), float(sys.argv[6])
sys.path.insert(0, src)
os.makedirs(out, exist_ok=True)
rng = np.random.RandomState(seed)
# the original's constructor loads Detectron fc7 weights from the working directory; they are overwritten below
os.makedirs(os.path.join(out, 'detectron_weights'), exist_ok=True)
pickle.dump(rng.randn(2048, 2048).astype(np.float32) * 0.01, open(os.path.join(out, 'detectron_weights/fc7_w.pkl'), 'wb'))
pickle.dump(rng.randn(2048).astype(np.float32) * 0.01, open(os.path.join(out, 'detectron_weights/fc7_b.pkl'), 'wb'))
os.chdir(out)
from pytorch_pretrained_bert.modeling import BertConfig, BertForPreTrainingLossMask
from pytorch_pretrained_bert.optimization import BertAdam
torch.manual_seed(seed)
cfg = dict(vocab_size=28996, hidden_size=hidden, num_hidden_layers=2, num_attention_heads=4,
           intermediate_size=2 * hidden, type_vocab_size=6, max_position_embeddings=512, hidden_act='gelu',
           layer_norm_eps=1e-5, len_vis_input=100, enable_butd=True, new_segment_ids=True, max_tgt_length=20,
           initializer_range=std)
config = BertConfig(28996, hidden_size=hidden, num_hidden_layers=2, num_attention_heads=4,
                    intermediate_size=2 * hidden, type_vocab_size=6, max_position_embeddings=512,
                    initializer_range=std)
def build():
    return BertForPreTrainingLossMask(config, num_labels=2, enable_butd=True, len_vis_input=100, tasks='img2txt')
model = build()
with torch.no_grad():
    for n, p in model.named_parameters():
        p.copy_(torch.randn(p.shape) * std + (1.0 if 'LayerNorm.weight' in n else 0.0))
sd = {k: v.clone() for k, v in model.state_dict().items()}
torch.save(sd, 'model.bin')
ld = lambda k: torch.from_numpy(np.load(f'{W}/{k}.npy'))
vis_feats = ld('region_feats').float(); vis_pe = ld('vis_pe').float()
input_ids = ld('input_ids'); seg = ld('segment_ids_s2s'); mask = ld('attention_mask_s2s')
mpos = ld('masked_pos'); mids = ld('masked_ids'); mw = ld('masked_weights')
def loss_of(m):
    l, _, _ = m(vis_feats, vis_pe, input_ids, seg, mask, masked_lm_labels=mids, next_sentence_label=torch.zeros(1),
                masked_pos=mpos, masked_weights=mw, task_idx=3, drop_worst_ratio=0)
    return l
model.eval()
model.zero_grad()
loss = loss_of(model); loss.backward()
grads = {n: p.grad.numpy().copy() for n, p in model.named_parameters() if p.grad is not None}
grads['vis_embed.0.weight'] = grads['vis_embed.0.weight'][:16]
np.savez('grads_s2s.npz', **grads)
# BertAdam, 3 steps, as the fixture's values.bertadam
m2 = build(); m2.load_state_dict(sd); m2.eval()
no_decay = ['bias', 'LayerNorm.bias', 'LayerNorm.weight']
po = list(m2.named_parameters())
groups = [{'params': [p for n, p in po if not any(nd in n for nd in no_decay)], 'weight_decay': 0.01},
          {'params': [p for n, p in po if any(nd in n for nd in no_decay)], 'weight_decay': 0.0}]
hyp = dict(lr=1e-3, warmup=0.1, t_total=10, schedule='warmup_linear', b1=0.9, b2=0.999, e=1e-6, max_grad_norm=1.0,
           weight_decay=0.01, no_decay=no_decay, steps=3)
opt = BertAdam(groups, lr=hyp['lr'], warmup=hyp['warmup'], t_total=hyp['t_total'], schedule=hyp['schedule'])
traj = []
for k in range(3):
    opt.zero_grad(); l = loss_of(m2); traj.append(float(l)); l.backward(); opt.step()
np.savez('params_after_bertadam3.npz', **{n: p.detach().numpy() for n, p in m2.named_parameters() if p.numel() < 200000})
for k in ['region_feats', 'vis_pe', 'input_ids', 'segment_ids_s2s', 'attention_mask_s2s', 'masked_pos', 'masked_ids', 'masked_weights']:
    np.save(f'{k}.npy', np.load(f'{W}/{k}.npy'))
arrays = {k: {'shape': list(np.load(f'{k}.npy').shape), 'dtype': str(np.load(f'{k}.npy').dtype)} for k in
          ['region_feats', 'vis_pe', 'input_ids', 'segment_ids_s2s', 'attention_mask_s2s', 'masked_pos', 'masked_ids', 'masked_weights']}
arrays['grads_s2s.npz'] = {'note': 'vis_embed.0.weight: first 16 rows'}
json.dump({'config': cfg, 'arrays': arrays, 'values': {'mlm_loss_s2s_drop0': float(loss), 'bertadam': hyp,
           'bertadam_loss_trajectory': traj}, 'state_dict_keys': {k: list(v.shape) for k, v in sd.items()}},
          open('manifest.json', 'w'))
print('loss', float(loss), 'trajectory', traj)
