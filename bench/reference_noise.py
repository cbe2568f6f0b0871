#!/usr/bin/python3
"""The reference's cost of the same work on this machine (Debian python3-torch 1.13, python3-pywt):
torch.randn of a (1,128,64,64) noise on one thread, and one SES candidate rebuild as ses_search does
it (pywt.waverec2 of the searched low band with the base noise's fixed high bands, back to torch).
Prints JSON."""
import json, time
import numpy as np
import pywt
import torch

torch.set_num_threads(1)

def per_call_ms(fn, min_s=2.0):
    for _ in range(3):
        fn()
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < min_s:
        fn()
        n += 1
    return 1000 * (time.perf_counter() - start) / n

seed = [0]
def randn():
    seed[0] += 1
    torch.randn((1, 128, 64, 64), generator=torch.Generator("cpu").manual_seed(seed[0]))

base = torch.randn((1, 128, 64, 64), generator=torch.Generator("cpu").manual_seed(0))
coeffs = pywt.wavedec2(base[0].numpy(), "db1", level=4, mode="symmetric", axes=(-2, -1))
low = torch.randn(10, coeffs[0].size)
row = [0]
def ses_rebuild():
    row[0] = (row[0] + 1) % 10
    c_low = low[row[0]].view(coeffs[0].shape).numpy()
    z = pywt.waverec2([c_low] + list(coeffs[1:]), "db1", mode="symmetric", axes=(-2, -1))
    torch.from_numpy(z).unsqueeze(0)

print(json.dumps({"torch": torch.__version__, "pywt": pywt.__version__,
                  "randn_ms": per_call_ms(randn), "ses_rebuild_ms": per_call_ms(ses_rebuild)}))
