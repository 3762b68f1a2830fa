#!/usr/bin/env python3
"""Synthetic calibration shards for the score-store scale benchmark (scripts/bench/score_scale.sh).

    python3 scripts/bench/make_score_shards.py DIR N H W SHARD_IMAGES [--shards-only]

Writes DIR/p/p-0000.npy, ... (sigmoid outputs, float32 [n, 1, H, W]) and DIR/t/t-0000.npy, ...
(label maps, uint8 [n, H, W]) of SHARD_IMAGES images each, and, unless --shards-only, the same
images whole as DIR/probs.npy and DIR/labels.npy (written through memory maps, so the generator
itself never holds more than one shard). Foreground is likelier near the centre, as in a
segmentation.
"""
import os
import sys

import numpy as np


def main():
    directory, n, h, w, per_shard = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
    whole = "--shards-only" not in sys.argv[6:]
    for folder in ("p", "t"):
        os.makedirs(os.path.join(directory, folder), exist_ok=True)
    if whole:
        probs = np.lib.format.open_memmap(
            os.path.join(directory, "probs.npy"), mode="w+", dtype=np.float32, shape=(n, 1, h, w))
        labels = np.lib.format.open_memmap(
            os.path.join(directory, "labels.npy"), mode="w+", dtype=np.uint8, shape=(n, h, w))
    yy, xx = np.mgrid[0:h, 0:w]
    centre = (1.5 - ((yy - h / 2) ** 2 + (xx - w / 2) ** 2) / (h * w / 8)).astype(np.float32)
    rng = np.random.default_rng(0)
    for k, start in enumerate(range(0, n, per_shard)):
        count = min(per_shard, n - start)
        logits = centre[None, None] + rng.standard_normal((count, 1, h, w), dtype=np.float32)
        p = (1 / (1 + np.exp(-logits))).astype(np.float32)
        t = (rng.random((count, h, w), dtype=np.float32) < p[:, 0]).astype(np.uint8)
        np.save(os.path.join(directory, "p", f"p-{k:04d}.npy"), p)
        np.save(os.path.join(directory, "t", f"t-{k:04d}.npy"), t)
        if whole:
            probs[start:start + count] = p
            labels[start:start + count] = t
    if whole:
        probs.flush()
        labels.flush()


if __name__ == "__main__":
    main()
