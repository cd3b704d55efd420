#!/usr/bin/env python3
"""The machine's convolution peak as the reference stack reaches it: one large 3x3 convolution
(torch.nn.functional.conv2d, input 128x256x16x16, weights 256x256x3x3, padding 1) in PyTorch,
2*128*256*16*16*256*9 FLOPs over the fastest of ten runs (a peak is the best the machine
reaches; its speed drifts over seconds). Prints one JSON object: the NCHW figure (the
layout PyTorch uses by default) and the channels-last one."""
import json, os, time
import torch

torch.set_num_threads(int(os.environ.get("THREADS", "2")))
x = torch.randn(128, 256, 16, 16)
w = torch.randn(256, 256, 3, 3)
flops = 2 * 128 * 256 * 16 * 16 * 256 * 9


def gflops(x, w, repeats=10):
    with torch.no_grad():
        torch.nn.functional.conv2d(x, w, padding=1)
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            torch.nn.functional.conv2d(x, w, padding=1)
            times.append(time.perf_counter() - start)
    return flops / min(times) / 1e9


out = {"conv_peak_gflops": round(gflops(x, w), 1),
       "conv_peak_channels_last_gflops": round(gflops(x.to(memory_format=torch.channels_last), w.to(memory_format=torch.channels_last)), 1)}
print(json.dumps(out))
