"""PyTorch baseline for the `models` group of kandinsky-benchmarks.

    pip install 'torch==2.13.0+cpu'
    python3 scripts/bench/torch_unet.py [--repeats 5]

Times the same UNet as Kandinsky (the reference model of scripts/fixtures/make_unet_fixtures.py)
on the CPU with all cores: the forward pass and the full training step (forward, top-k loss,
backward, Adam) of UNet(in 3, out 2, channels 16, depth 4) on 8 x 3 x 96 x 128, and the forward
pass of channels 128 on 1 x 3 x 240 x 320. Prints one JSON object of median seconds.
"""
import argparse
import json
import os
import statistics
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures"))
from make_unet_fixtures import UNet, top_k_loss  # noqa: E402


def median_seconds(fn, repeats):
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(os.cpu_count())
    torch.manual_seed(0)

    model = UNet(3, 2, 16, 4, 0.0)
    images = torch.rand(8, 3, 96, 128)
    targets = (torch.rand(8, 2, 96, 128) > 0.5).float()
    model.eval()

    def forward():
        with torch.no_grad():
            model(images)

    forward_small = median_seconds(forward, args.repeats)
    model.train()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=1e-4)

    def train_step():
        optimizer.zero_grad()
        loss = top_k_loss(model(images), targets)
        loss.backward()
        optimizer.step()

    train_small = median_seconds(train_step, args.repeats)

    big = UNet(3, 2, 128, 4, 0.0).eval()
    big_images = torch.rand(1, 3, 240, 320)

    def forward_big():
        with torch.no_grad():
            big(big_images)

    forward_large = median_seconds(forward_big, max(2, args.repeats // 2))
    print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(),
                      "forward_c16": forward_small, "train_step_c16": train_small, "forward_c128": forward_large}))


if __name__ == "__main__":
    main()
