"""PyTorch baseline for the `models` group of kandinsky-benchmarks.

    pip install 'torch==2.13.0+cpu'
    python3 scripts/bench/torch_unet.py [--repeats 5]
    python3 scripts/bench/torch_unet.py --serve   # as kandinsky-benchmarks runs it (see serve())

Times the same UNet as Kandinsky (the reference model of scripts/fixtures/make_unet_fixtures.py)
on the CPU with all cores: the forward pass and the full training step (forward, top-k loss,
backward, Adam) of UNet(in 3, out 2, channels 16, depth 4) on 8 x 3 x 96 x 128, and the forward
pass of channels 128 on 1 x 3 x 240 x 320. Prints one JSON object of median seconds, or, with
--serve, times blocks of runs on request so that another program can alternate them with its own.
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


def make_cases():
    """The timed cases by name: functions that run one forward pass or one training step."""
    torch.manual_seed(0)
    model = UNet(3, 2, 16, 4, 0.0)
    images = torch.rand(8, 3, 96, 128)
    targets = (torch.rand(8, 2, 96, 128) > 0.5).float()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=1e-4)
    big = UNet(3, 2, 128, 4, 0.0).eval()
    big_images = torch.rand(1, 3, 240, 320)

    def forward_c16():
        model.eval()
        with torch.no_grad():
            model(images)

    def train_step_c16():
        model.train()
        optimizer.zero_grad()
        loss = top_k_loss(model(images), targets)
        loss.backward()
        optimizer.step()

    def forward_c128():
        with torch.no_grad():
            big(big_images)

    return {"forward_c16": forward_c16, "train_step_c16": train_step_c16, "forward_c128": forward_c128}


def serve(cases):
    """For each line `<case> <runs>` of stdin, runs the case once unmeasured and then `runs` times,
    and prints the median seconds on a line of its own, until `quit` or the end of input: the
    caller alternates such blocks with blocks of its own runs."""
    for fn in cases.values():
        fn()  # warm-up
    print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads()}), flush=True)
    for line in sys.stdin:
        request = line.split()
        if not request or request[0] == "quit":
            break
        print(median_seconds(cases[request[0]], int(request[1])), flush=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--serve", action="store_true",
                        help="time blocks of runs requested on stdin (see serve())")
    args = parser.parse_args()
    torch.set_num_threads(os.cpu_count())
    cases = make_cases()
    if args.serve:
        serve(cases)
        return
    medians = {name: median_seconds(fn, max(2, args.repeats // 2) if name == "forward_c128" else args.repeats)
               for name, fn in cases.items()}
    print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(), **medians}))


if __name__ == "__main__":
    main()
