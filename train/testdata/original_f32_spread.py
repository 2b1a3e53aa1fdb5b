# How far the ORIGINAL's own float32 results move between equally valid runs of the same code on the same
# fixture (made by make_parity_fixture.py): the batch items in another order (exact arithmetic: the same loss
# and gradients) and OpenBLAS on 1 or 2 threads. Writes, per run, the step-0 gradients and the BertAdam loss
# trajectory (3 steps, the fixture's hyper-parameters) to OUTDIR/run_<order>_t<threads>.npz; compared with our
# float64 twin they give the spread of the original's distance from exact arithmetic (model/README.md "Parity
# tolerances", the seed-11 findings). Not used by the tests.
#   usage: python3 original_f32_spread.py VLP_SOURCE_DIR FIXTURE_DIR OUTDIR
# Each run is a fresh process (OPENBLAS_NUM_THREADS is read at load time); torch (tested with 1.13) and numpy.
import sys, os, json, subprocess
src, fx, out = (os.path.abspath(a) for a in sys.argv[1:4])
ORDERS = ['0,1,2,3,4', '4,3,2,1,0', '2,0,4,1,3', '1,3,0,4,2']
if len(sys.argv) == 4:
    os.makedirs(out, exist_ok=True)
    for order in ORDERS:
        for t in ['1', '2']:
            env = dict(os.environ, OPENBLAS_NUM_THREADS=t, OMP_NUM_THREADS=t)
            subprocess.run([sys.executable, __file__, src, fx, out, order, t], env=env, check=True)
    sys.exit(0)
import collections.abc, types, warnings
import numpy as np, torch
import torch._six
torch._six.container_abcs = collections.abc
warnings.filterwarnings('ignore')
for name in ['tqdm', 'boto3', 'requests', 'botocore', 'botocore.exceptions', 'apex', 'apex.optimizers']:
    if name not in sys.modules:
        mod = types.ModuleType(name); mod.tqdm = None; mod.ClientError = Exception; mod.FP16_Optimizer = object; sys.modules[name] = mod
order, threads = sys.argv[4], sys.argv[5]
perm = [int(x) for x in order.split(',')]
sys.path.insert(0, src); os.chdir(fx)
from pytorch_pretrained_bert.modeling import BertConfig, BertForPreTrainingLossMask
from pytorch_pretrained_bert.optimization import BertAdam
man = json.load(open('manifest.json')); c = man['config']; hyp = man['values']['bertadam']
config = BertConfig(c['vocab_size'], hidden_size=c['hidden_size'], num_hidden_layers=c['num_hidden_layers'],
                    num_attention_heads=c['num_attention_heads'], intermediate_size=c['intermediate_size'],
                    type_vocab_size=c['type_vocab_size'], max_position_embeddings=c['max_position_embeddings'],
                    initializer_range=c['initializer_range'])
ld = lambda k: torch.from_numpy(np.load(f'{k}.npy')[perm])
def build():
    m = BertForPreTrainingLossMask(config, num_labels=2, enable_butd=True, len_vis_input=100, tasks='img2txt')
    m.load_state_dict(torch.load('model.bin')); m.eval(); return m
def loss_of(m):
    l, _, _ = m(ld('region_feats').float(), ld('vis_pe').float(), ld('input_ids'), ld('segment_ids_s2s'),
                ld('attention_mask_s2s'), masked_lm_labels=ld('masked_ids'), next_sentence_label=torch.zeros(1),
                masked_pos=ld('masked_pos'), masked_weights=ld('masked_weights').float(), task_idx=3,
                drop_worst_ratio=0)
    return l
model = build(); loss_of(model).backward()
res = {f'grad:{n}': p.grad.numpy() for n, p in model.named_parameters() if p.grad is not None}
m2 = build(); nd = hyp['no_decay']; po = list(m2.named_parameters())
opt = BertAdam([{'params': [p for n, p in po if not any(x in n for x in nd)], 'weight_decay': hyp['weight_decay']},
                {'params': [p for n, p in po if any(x in n for x in nd)], 'weight_decay': 0.0}],
               lr=hyp['lr'], warmup=hyp['warmup'], t_total=hyp['t_total'], schedule=hyp['schedule'])
traj = []
for k in range(hyp['steps']):
    opt.zero_grad(); l = loss_of(m2); traj.append(float(l)); l.backward(); opt.step()
res['trajectory'] = np.array(traj)
np.savez(os.path.join(out, f'run_{order.replace(",", "")}_t{threads}.npz'), **res)
print(order, threads, traj)
