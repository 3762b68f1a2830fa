#!/usr/bin/env python3
"""Pillow baseline for the data benchmark: decode JPEGs and resize them as the original pipeline
did (Image.open(f).convert("RGB").resize(size, Image.BILINEAR)), in one process.

    python3 scripts/bench/pillow_resize.py DIR WIDTH HEIGHT REPEATS

Prints one line: the best images/second over REPEATS passes over every *.jpg in DIR.
"""
import os
import sys
import time

from PIL import Image


def main():
    directory, width, height, repeats = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    files = sorted(os.path.join(directory, name) for name in os.listdir(directory) if name.endswith(".jpg"))
    best = 0.0
    for _ in range(repeats):
        start = time.perf_counter()
        for path in files:
            with Image.open(path) as image:
                image.convert("RGB").resize((width, height), Image.BILINEAR)
        best = max(best, len(files) / (time.perf_counter() - start))
    print(f"{best:.1f}")


if __name__ == "__main__":
    main()
