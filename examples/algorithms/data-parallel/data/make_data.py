"""Writes the example data set: headerless CSV, three feature columns then the target.

    python3 data/make_data.py    # rewrites data/train/part-1.csv … part-6.csv and data/validation/validation.csv

target = 2.0*x1 - 3.0*x2 + 0.5*x3 + 1.0 + noise, with a fixed seed, so the files are the same every time. The
training rows are split over six files so that ShardedByS3Key has something to share out (up to 5 instances).
Plain Python (no numpy) so it runs anywhere.
"""

import os
import random

WEIGHTS = (2.0, -3.0, 0.5)
BIAS = 1.0
NOISE = 0.1
SEED = 20240502
TRAIN_FILES = 6
ROWS_PER_FILE = 100


def rows(rng, count):
    for _ in range(count):
        features = [rng.uniform(-2.0, 2.0) for _ in WEIGHTS]
        target = sum(w * x for w, x in zip(WEIGHTS, features)) + BIAS + rng.gauss(0.0, NOISE)
        yield features + [target]


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        for row in data:
            f.write(",".join(f"{v:.6f}" for v in row) + "\n")


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    rng = random.Random(SEED)
    for i in range(1, TRAIN_FILES + 1):
        write(os.path.join(here, "train", f"part-{i}.csv"), rows(rng, ROWS_PER_FILE))
    write(os.path.join(here, "validation", "validation.csv"), rows(rng, 100))


if __name__ == "__main__":
    main()
