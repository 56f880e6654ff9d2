"""Linear regression by mini-batch gradient descent: a SageMaker-style training container for Clean Rooms ML.

Reads headerless CSV files (last column = target) from the `train` channel and, when present, the `validation`
channel; prints one line per epoch for the metric regexes; leaves the model in /opt/ml/model. Any error ends with a
reason in /opt/ml/output/failure and a non-zero exit code. See README.md.
"""

import csv
import json
import math
import os
import signal
import sys
import tarfile

import numpy as np

ML = "/opt/ml"
CONFIG_DIR = os.path.join(ML, "input", "config")
DATA_DIR = os.path.join(ML, "input", "data")
MODEL_DIR = os.environ.get("SM_MODEL_DIR", os.path.join(ML, "model"))
OUTPUT_DATA_DIR = os.environ.get("SM_OUTPUT_DATA_DIR", os.path.join(ML, "output", "data"))
FAILURE_FILE = os.path.join(ML, "output", "failure")

HYPERPARAMETERS = {
    # name: (parse, default, check, what the check means)
    "epochs": (int, 20, lambda v: 1 <= v <= 100000, "a whole number from 1 to 100000"),
    "learning_rate": (float, 0.05, lambda v: 0 < v <= 10, "a number greater than 0 and at most 10"),
    "batch_size": (int, 32, lambda v: v >= 1, "a whole number of at least 1"),
    "l2": (float, 0.0, lambda v: v >= 0, "a number of at least 0"),
    "seed": (int, 0, lambda v: v >= 0, "a whole number of at least 0"),
}


class TrainingError(Exception):
    """A problem the user can fix; its message becomes the run's failure reason."""


class Stopped(Exception):
    """SIGTERM arrived (the run's deadline or a cancel)."""


def on_sigterm(_signum, _frame):
    raise Stopped()


def read_json(path, default):
    if not os.path.exists(path):
        return default
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        raise TrainingError(f"cannot read {path}: {e}") from e


def parse_hyperparameters(raw):
    if not isinstance(raw, dict):
        raise TrainingError("hyperparameters.json must hold a JSON object")
    values = {}
    for name, (parse, default, check, meaning) in HYPERPARAMETERS.items():
        if name not in raw:
            values[name] = default
            continue
        text = str(raw[name]).strip()
        try:
            value = parse(text)
        except ValueError:
            value = None
        if value is None or (isinstance(value, float) and not math.isfinite(value)) or not check(value):
            raise TrainingError(f"hyperparameter '{name}' must be {meaning}, got '{raw[name]}'")
        values[name] = value
    for name in sorted(set(raw) - set(HYPERPARAMETERS)):
        print(f"warning: unknown hyperparameter '{name}' ignored", file=sys.stderr, flush=True)
    return values


def channel_files(name, content_types):
    directory = os.path.join(DATA_DIR, name)
    if not os.path.isdir(directory):
        return None
    content_type = content_types.get(name, {}).get("ContentType", "text/csv")
    if content_type not in ("text/csv", "csv"):
        raise TrainingError(f"channel '{name}' has content type {content_type}; this algorithm reads CSV only")
    files = []
    for root, dirs, names in os.walk(directory, followlinks=True):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        files.extend(os.path.join(root, n) for n in sorted(names) if not n.startswith("."))
    if not files:
        raise TrainingError(f"channel '{name}' ({directory}) holds no files")
    return files


def read_csv_files(name, files):
    """All rows of every file as one float matrix; every row must have the same number of columns."""
    rows = []
    columns = None
    for path in files:
        with open(path, newline="", encoding="utf-8") as f:
            for line_number, row in enumerate(csv.reader(f), start=1):
                if not row or all(not cell.strip() for cell in row):
                    continue
                where = f"channel '{name}', {os.path.relpath(path, DATA_DIR)} line {line_number}"
                if columns is None:
                    columns = len(row)
                    if columns < 2:
                        raise TrainingError(f"{where}: need at least one feature column and a target column")
                elif len(row) != columns:
                    raise TrainingError(f"{where}: {len(row)} columns where earlier rows have {columns}")
                try:
                    values = [float(cell) for cell in row]
                except ValueError:
                    bad = next(c for c in row if not is_number(c))
                    raise TrainingError(f"{where}: '{bad[:40]}' is not a number (CSV without a header row)") from None
                if not all(math.isfinite(v) for v in values):
                    raise TrainingError(f"{where}: values must be finite numbers")
                rows.append(values)
    if not rows:
        raise TrainingError(f"channel '{name}' holds no data rows")
    matrix = np.asarray(rows, dtype=np.float64)
    return matrix[:, :-1], matrix[:, -1]


def is_number(text):
    try:
        float(text)
        return True
    except ValueError:
        return False


def base_model(content_types):
    """Incremental training: the model.tar.gz of an earlier run, in the channel whose content type says so."""
    names = [n for n, c in content_types.items()
             if isinstance(c, dict) and c.get("ContentType") == "application/x-sagemaker-model"]
    if not names:
        return None
    name = names[0]
    path = os.path.join(DATA_DIR, name, "model.tar.gz")
    try:
        with tarfile.open(path, "r:gz") as archive:
            member = archive.extractfile("model.json")
            model = json.load(member) if member else None
    except (OSError, KeyError, ValueError, tarfile.TarError) as e:
        raise TrainingError(f"channel '{name}': cannot read model.json from {path}: {e}") from e
    if not isinstance(model, dict) or model.get("type") != "linear-regression":
        raise TrainingError(f"channel '{name}': {path} does not hold a linear-regression model")
    return name, model


def mse(x, y, weights, bias):
    residual = x @ weights + bias - y
    return float(np.mean(residual * residual))


def save_model(weights, bias, hp, epochs_done):
    os.makedirs(MODEL_DIR, exist_ok=True)
    np.save(os.path.join(MODEL_DIR, "weights.npy"), weights)
    model = {
        "type": "linear-regression",
        "feature_count": int(weights.shape[0]),
        "weights": [float(w) for w in weights],
        "bias": float(bias),
        "epochs_completed": epochs_done,
        "hyperparameters": hp,
    }
    with open(os.path.join(MODEL_DIR, "model.json"), "w", encoding="utf-8") as f:
        json.dump(model, f, indent=2)


def save_metrics(history, hp):
    os.makedirs(OUTPUT_DATA_DIR, exist_ok=True)
    last = history[-1] if history else {}
    summary = {
        "epochs": len(history),
        "final_train_loss": last.get("train_loss"),
        "final_validation_loss": last.get("validation_loss"),
        "hyperparameters": hp,
        "history": history,
    }
    with open(os.path.join(OUTPUT_DATA_DIR, "metrics.json"), "w", encoding="utf-8") as f:
        json.dump({k: v for k, v in summary.items() if v is not None}, f, indent=2)


def train():
    hp = parse_hyperparameters(read_json(os.path.join(CONFIG_DIR, "hyperparameters.json"), {}))
    content_types = read_json(os.path.join(CONFIG_DIR, "inputdataconfig.json"), {})
    if not isinstance(content_types, dict):
        content_types = {}

    train_files = channel_files("train", content_types)
    if train_files is None:
        raise TrainingError(f"missing channel 'train': {os.path.join(DATA_DIR, 'train')} does not exist")
    x, y = read_csv_files("train", train_files)
    validation = None
    validation_files = channel_files("validation", content_types)
    if validation_files is not None:
        vx, vy = read_csv_files("validation", validation_files)
        if vx.shape[1] != x.shape[1]:
            raise TrainingError(
                f"channel 'validation' has {vx.shape[1]} feature columns where 'train' has {x.shape[1]}")
        validation = (vx, vy)

    start, previous = None, 0
    base = base_model(content_types)
    if base is not None:
        name, model = base
        if model.get("feature_count") != x.shape[1]:
            raise TrainingError(
                f"channel '{name}': the base model has {model.get('feature_count')} features where 'train' has {x.shape[1]}")
        start = (np.asarray(model["weights"], dtype=np.float64), float(model["bias"]))
        previous = int(model.get("epochs_completed", 0))
        print(f"warm start from channel '{name}': a base model trained {previous} epochs, "
              f"train_loss before this run={mse(x, y, start[0], start[1]):.6f}", flush=True)
    weights, bias, history, stopped = fit(x, y, validation, hp, start)
    save_model(weights, bias, hp, len(history) + previous)
    save_metrics(history, hp)
    if stopped:
        # What was learnt so far stays in /opt/ml/model: the service packages it after a stop too.
        print(f"stopped by SIGTERM after {len(history)} epochs; model saved", file=sys.stderr, flush=True)
        return 143
    return 0


def fit(x, y, validation, hp, start=None):
    """Mini-batch gradient descent on the mean squared error, from zero or from `start`; one metric line per epoch."""
    rng = np.random.default_rng(hp["seed"])
    weights, bias = (start[0].copy(), start[1]) if start is not None else (np.zeros(x.shape[1]), 0.0)
    history = []
    n = x.shape[0]
    # A diverging run is reported by the finite-loss check, not by numpy's overflow warnings.
    with np.errstate(over="ignore", invalid="ignore"):
        try:
            for epoch in range(1, hp["epochs"] + 1):
                order = rng.permutation(n)
                for start in range(0, n, hp["batch_size"]):
                    batch = order[start:start + hp["batch_size"]]
                    residual = x[batch] @ weights + bias - y[batch]
                    grad_w = 2.0 * x[batch].T @ residual / len(batch) + 2.0 * hp["l2"] * weights
                    grad_b = 2.0 * float(np.mean(residual))
                    weights -= hp["learning_rate"] * grad_w
                    bias -= hp["learning_rate"] * grad_b
                entry = {"epoch": epoch, "train_loss": mse(x, y, weights, bias)}
                line = f"epoch={epoch} train_loss={entry['train_loss']:.6f}"
                if validation is not None:
                    entry["validation_loss"] = mse(validation[0], validation[1], weights, bias)
                    line += f" validation_loss={entry['validation_loss']:.6f}"
                print(line, flush=True)
                if not all(math.isfinite(v) for k, v in entry.items() if k != "epoch"):
                    raise TrainingError(
                        f"training diverged at epoch {epoch} (loss is not finite); lower learning_rate "
                        f"(now {hp['learning_rate']})")
                history.append(entry)
        except Stopped:
            return weights, bias, history, True
    return weights, bias, history, False


def write_failure(message):
    print(f"error: {message}", file=sys.stderr, flush=True)
    try:
        os.makedirs(os.path.dirname(FAILURE_FILE), exist_ok=True)
        with open(FAILURE_FILE, "w", encoding="utf-8") as f:
            f.write(message[:1024])
    except OSError as e:
        print(f"error: cannot write {FAILURE_FILE}: {e}", file=sys.stderr, flush=True)


def main():
    # As PID 1, Python would otherwise ignore SIGTERM until the engine's SIGKILL.
    signal.signal(signal.SIGTERM, on_sigterm)
    # The runner starts the image with Cmd ["train"] (SageMaker's convention): accepted and ignored.
    try:
        return train()
    except TrainingError as e:
        write_failure(str(e))
    except Stopped:
        print("stopped by SIGTERM before training began", file=sys.stderr, flush=True)
        return 143
    except Exception as e:  # noqa: BLE001 - any failure must still leave a reason behind
        write_failure(f"internal error: {type(e).__name__}: {e}")
    return 1


if __name__ == "__main__":
    sys.exit(main())
