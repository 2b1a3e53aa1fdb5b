"""Regenerates the small reference files in this folder with PyTorch and numpy (not needed by the tests).

Run: python3 make_testdata.py   (PyTorch 1.13 and numpy 1.24 were used)
"""
import numpy as np
import torch

g = torch.Generator().manual_seed(0)
base = torch.randn(6, 5, generator=g)
big = torch.arange(40, dtype=torch.float32) / 8 - 2
sd = {
    "a": base,
    "a_t": base.t(),  # non-contiguous view of the same storage
    "a_cols": base[:, 1:4],  # strided view with an offset
    "slice": big[10:22].view(3, 4),  # contiguous view with an offset
    "scalar": torch.tensor(3.25),
    "half": (torch.randn(4, 3, generator=g) * 100).half(),
    "bf16": torch.randn(2, 7, generator=g).bfloat16(),
    "f64": torch.randn(3, generator=g).double(),
    "long": torch.tensor([[-(2**40), 7], [2**53 + 1, -1]], dtype=torch.int64),
    "i32": torch.tensor([-5, 2**31 - 1], dtype=torch.int32),
    "i16": torch.tensor([-300, 300], dtype=torch.int16),
    "i8": torch.tensor([-128, 127], dtype=torch.int8),
    "u8": torch.tensor([0, 255], dtype=torch.uint8),
    "bool": torch.tensor([True, False, True]),
    "empty": torch.zeros(0, 3),
}
torch.save(sd, "torch_zip_views.pt")
torch.save(sd, "torch_legacy_views.bin", _use_new_zipfile_serialization=False)
expected = {k: (v.float() if v.dtype == torch.bfloat16 else v).contiguous().numpy() for k, v in sd.items()}
np.savez_compressed("torch_views_expected.npz", **expected)

x = np.arange(24, dtype=np.float32).reshape(2, 3, 4) / 7
np.save("big_endian_f4.npy", x.astype(">f4"))
np.save("big_endian_i8.npy", np.array([[1, -2], [3, 2**40]], dtype=">i8"))
np.save("fortran_f8.npy", np.asfortranarray(x.astype(np.float64)))
np.save("unicode_strings.npy", np.array([["ab", "ü€"], ["x", ""]]))
np.save("zero_d.npy", np.array(1.5, dtype=np.float16))
