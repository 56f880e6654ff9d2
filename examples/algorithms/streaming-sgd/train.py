"""Linear regression by streaming SGD: a SageMaker-style training container for Clean Rooms ML, for Pipe mode.

In Pipe mode each epoch of a channel arrives through its own FIFO (/opt/ml/input/data/train_0, train_1, ...); in
File or FastFile mode the channel's directory is read file by file instead. Either way the rows are consumed as a
stream in mini-batches, so memory stays the same whatever the data size. Prints one line per epoch for the metric
regexes and leaves the model in /opt/ml/model; any error ends with a reason in /opt/ml/output/failure and exit 1.
See README.md.
"""

import csv
import io
import json
import math
import os
import signal
import sys
import time

import numpy as np

ML = "/opt/ml"
CONFIG_DIR = os.path.join(ML, "input", "config")
DATA_DIR = os.path.join(ML, "input", "data")
MODEL_DIR = os.environ.get("SM_MODEL_DIR", os.path.join(ML, "model"))
OUTPUT_DATA_DIR = os.environ.get("SM_OUTPUT_DATA_DIR", os.path.join(ML, "output", "data"))
FAILURE_FILE = os.path.join(ML, "output", "failure")
POLL_SECONDS = 0.1
DIVERGENCE_FACTOR = 100.0

HYPERPARAMETERS = {
    # name: (parse, default, check, what the check means)
    "epochs": (int, 5, lambda v: 1 <= v <= 100000, "a whole number from 1 to 100000"),
    "learning_rate": (float, 0.01, lambda v: 0 < v <= 10, "a number greater than 0 and at most 10"),
    "batch_size": (int, 64, lambda v: 1 <= v <= 1000000, "a whole number from 1 to 1000000"),
    "fifo_wait_seconds": (float, 60.0, lambda v: 0 < v <= 86400, "a number of seconds greater than 0 and at most 86400"),
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


class Channel:
    """Where one channel's rows come from: a FIFO per epoch (Pipe) or the files of a directory (File, FastFile)."""

    def __init__(self, name, mode, files=None):
        self.name = name
        self.mode = mode  # as inputdataconfig.json says: Pipe, File or FastFile
        self.files = files

    @property
    def pipe(self):
        return self.mode == "Pipe"

    def fifo(self, epoch):
        return os.path.join(DATA_DIR, f"{self.name}_{epoch}")

    def describe(self):
        if self.pipe:
            return f"reading channel {self.name} through the FIFO {self.fifo(0)} ({self.mode} mode)"
        count = f"{len(self.files)} file" + ("" if len(self.files) == 1 else "s")
        return f"reading channel {self.name} from the directory {os.path.join(DATA_DIR, self.name)} ({self.mode} mode, {count})"


def find_channel(name, input_config):
    """The channel as inputdataconfig.json declares it, or as mounted when it does not (a run by hand); None if absent."""
    directory = os.path.join(DATA_DIR, name)
    entry = input_config.get(name)
    if isinstance(entry, dict):
        content_type = entry.get("ContentType", "text/csv")
        if content_type not in ("text/csv", "csv"):
            raise TrainingError(f"channel '{name}' has content type {content_type}; this algorithm reads CSV only")
        mode = entry.get("TrainingInputMode", "File")
        if mode not in ("File", "FastFile", "Pipe"):
            raise TrainingError(f"channel '{name}' has TrainingInputMode '{mode}'; expected Pipe, File or FastFile")
    elif os.path.isdir(directory):
        mode = "File"
    elif os.path.exists(os.path.join(DATA_DIR, f"{name}_0")):
        mode = "Pipe"
    else:
        return None
    if mode == "Pipe":
        return Channel(name, mode)
    # FastFile fetches file contents lazily, but the algorithm sees the same directory as in File mode.
    if not os.path.isdir(directory):
        raise TrainingError(f"channel '{name}' is in {mode} mode but {directory} does not exist")
    files = []
    for root, dirs, names in os.walk(directory, followlinks=True):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        files.extend(os.path.join(root, n) for n in sorted(names) if not n.startswith("."))
    if not files:
        raise TrainingError(f"channel '{name}' ({directory}) holds no files")
    return Channel(name, mode, files)


def wait_for_path(path, seconds, channel, epoch):
    """The runner creates <channel>_<N+1> only after <channel>_<N> was read to the end and closed: poll for it."""
    deadline = time.monotonic() + seconds
    while not os.path.exists(path):
        if time.monotonic() >= deadline:
            raise TrainingError(
                f"channel '{channel}': the FIFO {path} for epoch {epoch} did not appear within {seconds:g} seconds "
                f"(fifo_wait_seconds); is the job in Pipe mode, and was the previous epoch's FIFO fed?")
        time.sleep(POLL_SECONDS)
    if os.path.isdir(path):
        raise TrainingError(f"channel '{channel}': {path} is a directory, not a FIFO")


def open_fifo(path, seconds):
    """Blocking open: it returns when the writer connects. An alarm bounds the wait, so a writer that never comes
    ends the run with a reason instead of hanging it until the deadline."""

    def on_alarm(_signum, _frame):
        raise TrainingError(f"no writer connected to the FIFO {path} within {seconds:g} seconds (fifo_wait_seconds)")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        return open(path, "rb")
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def sources(channel, epoch, wait):
    """The files of one pass, in order, as (label for messages, open binary file)."""
    if channel.pipe:
        path = channel.fifo(epoch)
        wait_for_path(path, wait, channel.name, epoch)
        yield f"channel '{channel.name}', epoch {epoch} FIFO {os.path.basename(path)}", open_fifo(path, wait)
    else:
        for path in channel.files:
            yield f"channel '{channel.name}', {os.path.relpath(path, DATA_DIR)}", open(path, "rb")


def rows(channel, epoch, wait, shape):
    """One pass over the channel, row by row. Each file (the FIFO too) is read to EOF and closed before the next is
    opened, which in Pipe mode is what lets the runner create the next epoch's FIFO."""
    for label, raw in sources(channel, epoch, wait):
        with io.TextIOWrapper(raw, encoding="utf-8", newline="") as text:
            try:
                for line_number, row in enumerate(csv.reader(text), start=1):
                    if not row or all(not cell.strip() for cell in row):
                        continue
                    yield parse_row(row, f"{label} line {line_number}", shape)
            except UnicodeDecodeError as e:
                raise TrainingError(f"{label}: not UTF-8 text ({e.reason}); this algorithm reads CSV only") from None
            except csv.Error as e:
                raise TrainingError(f"{label}: malformed CSV: {e}") from None


def parse_row(row, where, shape):
    # The first row of the run fixes the width; every later row, epoch and channel must match it.
    if shape["columns"] is None:
        if len(row) < 2:
            raise TrainingError(f"{where}: need at least one feature column and a target column")
        shape["columns"], shape["where"] = len(row), where
    elif len(row) != shape["columns"]:
        raise TrainingError(f"{where}: {len(row)} columns where {shape['where']} has {shape['columns']}")
    try:
        values = [float(cell) for cell in row]
    except ValueError:
        bad = next(c for c in row if not is_number(c))
        raise TrainingError(f"{where}: '{bad[:40]}' is not a number (CSV without a header row)") from None
    if not all(math.isfinite(v) for v in values):
        raise TrainingError(f"{where}: values must be finite numbers")
    return values


def is_number(text):
    try:
        float(text)
        return True
    except ValueError:
        return False


def batches(channel, epoch, hp, shape):
    """Mini-batches (features, targets) of at most batch_size rows: only one batch is held in memory at a time."""
    pending = []
    for values in rows(channel, epoch, hp["fifo_wait_seconds"], shape):
        pending.append(values)
        if len(pending) == hp["batch_size"]:
            yield split(pending)
            pending = []
    if pending:
        yield split(pending)


def split(pending):
    matrix = np.asarray(pending, dtype=np.float64)
    return matrix[:, :-1], matrix[:, -1]


class Model:
    def __init__(self):
        self.weights = None  # created at the first row, once the feature count is known
        self.bias = 0.0
        self.history = []


def train_epoch(model, channel, epoch, hp, shape, rng):
    """SGD over one streamed pass. The loss of each batch is taken before its update (progressive validation), so
    train_loss needs no second pass over data that can only be read once."""
    squared, count = 0.0, 0
    for x, y in batches(channel, epoch, hp, shape):
        if model.weights is None:
            model.weights = rng.normal(0.0, 0.01, size=x.shape[1])
        residual = x @ model.weights + model.bias - y
        squared += float(residual @ residual)
        count += len(y)
        model.weights -= hp["learning_rate"] * 2.0 * (x.T @ residual) / len(y)
        model.bias -= hp["learning_rate"] * 2.0 * float(np.mean(residual))
        if not (math.isfinite(squared) and math.isfinite(model.bias) and np.all(np.isfinite(model.weights))):
            raise TrainingError(
                f"training diverged in epoch {epoch} after {count} rows (loss is not finite); lower learning_rate "
                f"(now {hp['learning_rate']:g})")
    if count == 0:
        raise TrainingError(f"channel '{channel.name}' gave no data rows in epoch {epoch}")
    return count, squared / count


def evaluate(model, channel, epoch, hp, shape):
    squared, count = 0.0, 0
    for x, y in batches(channel, epoch, hp, shape):
        residual = x @ model.weights + model.bias - y
        squared += float(residual @ residual)
        count += len(y)
    if count == 0:
        raise TrainingError(f"channel '{channel.name}' gave no data rows in epoch {epoch}")
    return count, squared / count


def fit(model, train_channel, validation_channel, hp):
    rng = np.random.default_rng(hp["seed"])
    shape = {"columns": None, "where": None}
    # A diverging run is reported by the finite-loss check, not by numpy's overflow warnings.
    with np.errstate(over="ignore", invalid="ignore"):
        for epoch in range(hp["epochs"]):
            rows_read, train_loss = train_epoch(model, train_channel, epoch, hp, shape, rng)
            entry = {"epoch": epoch, "rows": rows_read, "train_loss": train_loss}
            line = f"epoch={epoch} rows={rows_read} train_loss={train_loss:.6f}"
            if validation_channel is not None:
                # In Pipe mode validation_<epoch> is read after train_<epoch>, once per epoch.
                entry["validation_rows"], entry["validation_loss"] = evaluate(
                    model, validation_channel, epoch, hp, shape)
                line += f" validation_loss={entry['validation_loss']:.6f}"
            print(line, flush=True)
            # Overflow to inf can take many epochs; a loss that jumps a hundredfold between passes over the same
            # data is already divergence, and a model from it is worthless.
            previous = model.history[-1]["train_loss"] if model.history else None
            if previous is not None and train_loss > DIVERGENCE_FACTOR * previous:
                raise TrainingError(
                    f"training diverged in epoch {epoch} (train_loss grew from {previous:.6g} to {train_loss:.6g}); "
                    f"lower learning_rate (now {hp['learning_rate']:g})")
            model.history.append(entry)


def save_model(model, hp, input_mode):
    os.makedirs(MODEL_DIR, exist_ok=True)
    np.save(os.path.join(MODEL_DIR, "weights.npy"), model.weights)
    document = {
        "type": "linear-regression",
        "trainer": "streaming-sgd",
        "feature_count": int(model.weights.shape[0]),
        "weights": [float(w) for w in model.weights],
        "bias": float(model.bias),
        "epochs": len(model.history),
        "rows_per_epoch": [entry["rows"] for entry in model.history],
        "input_mode": input_mode,
        "hyperparameters": hp,
    }
    with open(os.path.join(MODEL_DIR, "model.json"), "w", encoding="utf-8") as f:
        json.dump(document, f, indent=2)


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
    input_config = read_json(os.path.join(CONFIG_DIR, "inputdataconfig.json"), {})
    if not isinstance(input_config, dict):
        input_config = {}

    train_channel = find_channel("train", input_config)
    if train_channel is None:
        raise TrainingError(
            f"missing channel 'train': neither {os.path.join(DATA_DIR, 'train')} (File mode) nor "
            f"{os.path.join(DATA_DIR, 'train_0')} (Pipe mode) exists")
    validation_channel = find_channel("validation", input_config)
    for channel in (train_channel, validation_channel):
        if channel is not None:
            print(channel.describe(), flush=True)

    model = Model()
    try:
        fit(model, train_channel, validation_channel, hp)
    except Stopped:
        # What was learnt so far stays in /opt/ml/model: the service packages it after a stop too.
        if model.weights is not None:
            save_model(model, hp, train_channel.mode)
        save_metrics(model.history, hp)
        print(f"stopped by SIGTERM after {len(model.history)} epochs"
              + ("; model saved" if model.weights is not None else ""), file=sys.stderr, flush=True)
        return 143
    save_model(model, hp, train_channel.mode)
    save_metrics(model.history, hp)
    return 0


def write_failure(message):
    print(f"error: {message}", file=sys.stderr, flush=True)
    try:
        os.makedirs(os.path.dirname(FAILURE_FILE), exist_ok=True)
        with open(FAILURE_FILE, "w", encoding="utf-8") as f:
            f.write(message[:1024])
    except OSError as e:
        print(f"error: cannot write {FAILURE_FILE}: {e}", file=sys.stderr, flush=True)


def main():
    # As PID 1, Python would otherwise ignore SIGTERM until the engine's SIGKILL. The handler raising also breaks a
    # blocking FIFO open or read (PEP 475 retries only when the handler returns).
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
