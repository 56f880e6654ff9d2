"""Linear regression trained data-parallel on 1–5 instances: a SageMaker-style training container for Clean Rooms ML.

Each host reads its own shard of the `train` channel (headerless CSV, last column = target). Every epoch all hosts
swap (gradient sum, loss sum) over TCP with every other host, add them up in host order and take the same
full-batch gradient step, so every host holds bit-identical weights. algo-1 writes the model to /opt/ml/model. Any
error ends with a reason in /opt/ml/output/failure and a non-zero exit code. See README.md.
"""

import csv
import hashlib
import json
import math
import os
import signal
import socket
import struct
import sys
import time

import numpy as np

ML = "/opt/ml"
CONFIG_DIR = os.path.join(ML, "input", "config")
DATA_DIR = os.path.join(ML, "input", "data")
MODEL_DIR = os.environ.get("SM_MODEL_DIR", os.path.join(ML, "model"))
OUTPUT_DATA_DIR = os.environ.get("SM_OUTPUT_DATA_DIR", os.path.join(ML, "output", "data"))
FAILURE_FILE = os.path.join(ML, "output", "failure")

SECONDS = "a number of seconds greater than 0 and at most 86400"
HYPERPARAMETERS = {
    # name: (parse, default, check, what the check means)
    "epochs": (int, 20, lambda v: 1 <= v <= 100000, "a whole number from 1 to 100000"),
    "learning_rate": (float, 0.1, lambda v: 0 < v <= 10, "a number greater than 0 and at most 10"),
    "l2": (float, 0.0, lambda v: v >= 0, "a number of at least 0"),
    "seed": (int, 0, lambda v: v >= 0, "a whole number of at least 0"),
    "port": (int, 7777, lambda v: 1 <= v <= 65535, "a whole number from 1 to 65535"),
    "connect_timeout_seconds": (float, 120.0, lambda v: 0 < v <= 86400, SECONDS),
    "exchange_timeout_seconds": (float, 300.0, lambda v: 0 < v <= 86400, SECONDS),
}

# Wire format: every message is a kind byte and a payload length, then the payload.
HEADER = struct.Struct("!BI")
HELLO, DATA, ABORT = 1, 2, 3
MAX_PAYLOAD = 1 << 30
PROTOCOL = "crml-data-parallel/1"


class TrainingError(Exception):
    """A problem the user can fix; its message becomes the run's failure reason."""


class PeerFailed(TrainingError):
    """Another host reported a failure; `origin` is the host where it began, so relaying keeps the first cause."""

    def __init__(self, origin, reason):
        super().__init__(f"{origin} failed: {reason}")
        self.origin, self.reason = origin, reason


class Stopped(Exception):
    """SIGTERM arrived (the run's deadline or a cancel)."""


class PeerStopped(Exception):
    """Another host got SIGTERM: the runner stops all hosts together, so this one is being stopped too."""

    def __init__(self, origin):
        super().__init__(f"{origin} was stopped by SIGTERM")
        self.origin = origin


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


def cluster():
    """(this host, every host in order): resourceconfig.json, else SM_CURRENT_HOST and SM_HOSTS, else one host."""
    config = read_json(os.path.join(CONFIG_DIR, "resourceconfig.json"), None)
    if config is not None:
        where = "resourceconfig.json"
        if not isinstance(config, dict):
            raise TrainingError(f"{where} must hold a JSON object")
        current, hosts = config.get("current_host"), config.get("hosts")
    elif "SM_HOSTS" in os.environ or "SM_CURRENT_HOST" in os.environ:
        where = "SM_CURRENT_HOST/SM_HOSTS"
        current = os.environ.get("SM_CURRENT_HOST")
        try:
            hosts = json.loads(os.environ.get("SM_HOSTS", "null"))
        except ValueError:
            hosts = None
    else:
        return "algo-1", ["algo-1"]
    if (not isinstance(hosts, list) or not hosts or len(set(map(str, hosts))) != len(hosts)
            or not all(isinstance(h, str) and h for h in hosts)):
        raise TrainingError(f"{where}: 'hosts' must be a non-empty list of distinct host names, got {hosts!r}")
    if current not in hosts:
        raise TrainingError(f"{where}: current host {current!r} is not one of the hosts {', '.join(hosts)}")
    return current, hosts


def channel_files(name, content_types):
    """This host's files of a channel (possibly none: ShardedByS3Key with fewer files than hosts), or None."""
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
    return files


def read_csv_files(name, files):
    """(features, target) of every row of every file, or None without rows; every row must be equally wide."""
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
        return None
    matrix = np.asarray(rows, dtype=np.float64)
    return matrix[:, :-1], matrix[:, -1]


def is_number(text):
    try:
        float(text)
        return True
    except ValueError:
        return False


def plural(count, word):
    return f"{count} {word}" + ("" if count == 1 else "s")


class Mesh:
    """One TCP connection between every pair of hosts. With a single host it holds no sockets at all."""

    def __init__(self, me, hosts, port):
        self.me, self.hosts, self.port = me, hosts, port
        self.index = hosts.index(me)
        self.peers = [h for h in hosts if h != me]
        self.conns = {}

    def connect(self, timeout):
        """Each host dials the hosts before it and accepts the hosts after it; both sides check the other's hello."""
        if not self.peers:
            return
        deadline = time.monotonic() + timeout
        # Docker's DNS leaves a query for a container that is not up yet unanswered, and glibc's default (5 s,
        # 2 tries) would hold each attempt for 10 s; give up on a lookup after 1 s and retry instead.
        os.environ.setdefault("RES_OPTIONS", "timeout:1 attempts:1")
        lower, higher = self.hosts[:self.index], self.hosts[self.index + 1:]
        listener = None
        try:
            if higher:
                # Listen before dialling anyone: a peer that connects early waits in the backlog, not in a retry.
                listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                try:
                    listener.bind(("", self.port))
                    listener.listen(len(self.hosts))
                except OSError as e:
                    raise TrainingError(f"{self.me} cannot listen on port {self.port}: {e.strerror or e}") from None
            for peer in lower:
                conn = self._dial(peer, deadline, timeout)
                self.conns[peer] = conn
                self._send(conn, peer, HELLO, self._hello(), timeout, "the handshake")
            waiting = list(higher)
            while waiting:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TrainingError(
                        f"{' and '.join(waiting)} did not connect to {self.me} on port {self.port} within "
                        f"{timeout:g} s (connect_timeout_seconds)")
                listener.settimeout(remaining)
                try:
                    conn, address = listener.accept()
                except socket.timeout:
                    continue
                try:
                    peer = self._check_hello(conn, f"a connection from {address[0]}", waiting, deadline, timeout)
                except TrainingError:
                    conn.close()
                    raise
                self.conns[peer] = conn
                waiting.remove(peer)
                self._send(conn, peer, HELLO, self._hello(), timeout, "the handshake")
            for peer in lower:
                self._check_hello(self.conns[peer], peer, [peer], deadline, timeout)
        finally:
            if listener is not None:
                listener.close()
        for peer in self.peers:
            # Small messages go back and forth every epoch: don't let Nagle hold them back.
            self.conns[peer].setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            print(f"host {self.me} saw peer {peer}", flush=True)

    def _dial(self, peer, deadline, timeout):
        """Retries while the peer's container is not up yet (name not resolvable, connection refused)."""
        note_at = time.monotonic() + 10
        while True:
            attempt_timeout = max(0.1, min(deadline - time.monotonic(), 5.0))
            try:
                return socket.create_connection((peer, self.port), timeout=attempt_timeout)
            except socket.gaierror as e:
                last = f"host name {peer} does not resolve ({e.strerror})"
            except OSError as e:
                last = e.strerror or str(e)
            now = time.monotonic()
            if now >= deadline:
                raise TrainingError(
                    f"could not reach {peer} on port {self.port} within {timeout:g} s (connect_timeout_seconds); "
                    f"last error: {last}")
            if now >= note_at:
                print(f"{self.me}: still trying to reach {peer} ({last})", flush=True)
                note_at += 10
            time.sleep(min(0.5, deadline - now))

    def _hello(self):
        return json.dumps({"protocol": PROTOCOL, "host": self.me, "hosts": self.hosts}).encode()

    def _check_hello(self, conn, who, expected, deadline, timeout):
        limit = f"{timeout:g} s (connect_timeout_seconds)"
        kind, payload = self._receive(conn, who, deadline, "the handshake", limit)
        try:
            hello = json.loads(payload) if kind == HELLO else None
        except ValueError:
            hello = None
        if not isinstance(hello, dict) or hello.get("protocol") != PROTOCOL:
            raise TrainingError(f"{who} on port {self.port} did not speak {PROTOCOL}")
        peer = hello.get("host")
        if peer not in expected:
            raise TrainingError(f"{who} introduced itself as {peer!r} where {self.me} expected {' or '.join(expected)}")
        if hello.get("hosts") != self.hosts:
            raise TrainingError(
                f"{peer} has the hosts {hello.get('hosts')} where {self.me} has {self.hosts}: not the same cluster")
        return peer

    def exchange(self, payload, timeout, during):
        """Every host's payload in host order, this host's own included.

        Each pair swaps with the lower host sending first, and every host visits its peers in host order: all
        hosts then meet their pairs in one global order, so no two hosts ever wait on each other in a cycle, even
        with payloads too large for the socket buffers.
        """
        received = {self.me: payload}
        for peer in self.peers:
            conn, deadline = self.conns[peer], time.monotonic() + timeout
            if self.index < self.hosts.index(peer):
                self._send(conn, peer, DATA, payload, timeout, during)
                received[peer] = self._receive_data(conn, peer, deadline, during, timeout)
            else:
                received[peer] = self._receive_data(conn, peer, deadline, during, timeout)
                self._send(conn, peer, DATA, payload, timeout, during)
        return [received[h] for h in self.hosts]

    def _receive_data(self, conn, peer, deadline, during, timeout):
        limit = f"{timeout:g} s (exchange_timeout_seconds)"
        kind, payload = self._receive(conn, peer, deadline, during, limit)
        if kind != DATA:
            raise TrainingError(f"{peer} sent an unexpected message during {during}")
        return payload

    def _send(self, conn, peer, kind, payload, timeout, during):
        try:
            conn.settimeout(timeout)
            conn.sendall(HEADER.pack(kind, len(payload)) + payload)
        except socket.timeout:
            raise TrainingError(f"{peer} took nothing from {self.me} for {timeout:g} s during {during}") from None
        except OSError as e:
            raise TrainingError(f"lost the connection to {peer} during {during}: {e.strerror or e} "
                                f"({peer} stopped, failed or was killed)") from None

    def _receive(self, conn, peer, deadline, during, limit):
        """(kind, payload) of the next message; a peer's ABORT becomes PeerFailed or PeerStopped."""
        try:
            kind, length = HEADER.unpack(self._receive_exactly(conn, peer, HEADER.size, deadline, during))
            if kind not in (HELLO, DATA, ABORT) or length > MAX_PAYLOAD:
                raise TrainingError(f"{peer} sent a malformed message during {during}")
            payload = self._receive_exactly(conn, peer, length, deadline, during)
        except socket.timeout:
            raise TrainingError(f"no message from {peer} for {limit} during {during}") from None
        except OSError as e:
            raise TrainingError(f"lost the connection to {peer} during {during}: {e.strerror or e} "
                                f"({peer} stopped, failed or was killed)") from None
        if kind == ABORT:
            try:
                report = json.loads(payload)
                origin, reason, stopped = str(report["host"]), str(report["reason"]), report.get("stopped") is True
            except (ValueError, KeyError, TypeError, AttributeError):
                origin, reason, stopped = peer, "no reason given", False
            if stopped:
                raise PeerStopped(origin)
            raise PeerFailed(origin, reason)
        return kind, payload

    @staticmethod
    def _receive_exactly(conn, peer, size, deadline, during):
        # recv may return any part of a message: keep reading until all of it is here.
        buffer = bytearray(size)
        view, got = memoryview(buffer), 0
        while got < size:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise socket.timeout()
            conn.settimeout(remaining)
            count = conn.recv_into(view[got:])
            if count == 0:
                raise TrainingError(
                    f"lost the connection to {peer} during {during}: connection closed "
                    f"({peer} stopped, failed or was killed)")
            got += count
        return bytes(buffer)

    def abort(self, origin, reason, stopped=False):
        """Best effort: tell every peer why this host stops, so they end at once, with the first cause."""
        payload = json.dumps({"host": origin, "reason": reason[:900], "stopped": stopped}).encode()
        message = HEADER.pack(ABORT, len(payload)) + payload
        for conn in self.conns.values():
            try:
                conn.settimeout(2.0)
                conn.sendall(message)
            except OSError:
                pass

    def close(self):
        for conn in self.conns.values():
            conn.close()
        self.conns.clear()


def load_shard(me, content_types):
    """This host's rows of `train` (and `validation` when that channel exists), with one line saying how many."""
    shard = {}
    for name in ("train", "validation"):
        files = channel_files(name, content_types)
        if files is None:
            if name == "train":
                raise TrainingError(f"missing channel 'train': {os.path.join(DATA_DIR, 'train')} does not exist")
            continue
        data = read_csv_files(name, files)
        rows = 0 if data is None else data[0].shape[0]
        print(f"{me}: {plural(len(files), 'file')}, {plural(rows, 'row')} in channel {name}", flush=True)
        shard[name] = data
    return shard


def agree_on_shape(mesh, shard, hp):
    """Every host's shard summary, checked the same way on every host: (feature count, train rows, validation rows)."""
    summary = {name: (None if data is None else [int(data[0].shape[1]), int(data[0].shape[0])])
               for name, data in shard.items()}
    payloads = mesh.exchange(json.dumps(summary).encode(), hp["exchange_timeout_seconds"], "the setup")
    try:
        summaries = [json.loads(p) for p in payloads]
    except ValueError:
        raise TrainingError("a peer sent a malformed shard summary") from None
    features, first = None, None
    totals = {"train": 0, "validation": 0}
    has_validation = False
    for host, other in zip(mesh.hosts, summaries):
        for name in ("train", "validation"):
            if name not in other:
                continue
            has_validation = has_validation or name == "validation"
            if other[name] is None:
                continue
            columns, rows = other[name]
            if features is None:
                features, first = columns, f"channel '{name}' on {host}"
            elif columns != features:
                raise TrainingError(
                    f"channel '{name}' on {host} has {columns} feature columns where {first} has {features}")
            totals[name] += rows
    if totals["train"] == 0:
        raise TrainingError("channel 'train' holds no data rows on any host")
    if has_validation and totals["validation"] == 0:
        raise TrainingError("channel 'validation' holds no data rows on any host")
    return features, totals["train"], (totals["validation"] if has_validation else None)


def fit(mesh, shard, features, train_rows, validation_rows, hp, state):
    """Full-batch gradient descent on the global mean squared error; `state` holds the weights and history so far.

    Exchange k carries each host's sums at the weights after epoch k: the gradient for epoch k+1 and the loss
    that epoch k reports, so one exchange per epoch (plus one before the first) is enough.
    """
    empty = (np.zeros((0, features)), np.zeros(0))
    x, y = shard["train"] or empty
    validation = shard.get("validation") or empty
    lr, l2 = hp["learning_rate"], hp["l2"]

    def global_sums(step):
        residual = x @ state["weights"] + state["bias"] - y
        v_residual = validation[0] @ state["weights"] + state["bias"] - validation[1]
        # step (to catch a host out of step), Σr, Σr², validation Σr², then Σx·r for each feature.
        own = np.concatenate(([step, residual.sum(), residual @ residual, v_residual @ v_residual],
                              x.T @ residual)).astype("<f8")
        during = "the first exchange" if step == 0 else f"epoch {step}"
        total = np.zeros_like(own)
        # Adding in host order on every host gives every host the same bits, so the weights never drift apart.
        for host, payload in zip(mesh.hosts, mesh.exchange(own.tobytes(), hp["exchange_timeout_seconds"], during)):
            theirs = np.frombuffer(payload, dtype="<f8")
            if theirs.shape != own.shape or theirs[0] != step:
                raise TrainingError(f"{host} is out of step with {mesh.me} at {during}")
            total[1:] += theirs[1:]
        return total

    # A diverging run is reported by the finite-loss check, not by numpy's overflow warnings.
    with np.errstate(over="ignore", invalid="ignore"):
        total = global_sums(0)
        for epoch in range(1, hp["epochs"] + 1):
            grad_w = 2.0 * total[4:] / train_rows + 2.0 * l2 * state["weights"]
            grad_b = 2.0 * total[1] / train_rows
            state["weights"] = state["weights"] - lr * grad_w
            state["bias"] = state["bias"] - lr * grad_b
            total = global_sums(epoch)
            entry = {"epoch": epoch, "train_loss": float(total[2] / train_rows)}
            line = f"epoch={epoch} train_loss={entry['train_loss']:.6f}"
            if validation_rows is not None:
                entry["validation_loss"] = float(total[3] / validation_rows)
                if mesh.index == 0:
                    line += f" validation_loss={entry['validation_loss']:.6f}"
            print(line, flush=True)
            if not all(math.isfinite(v) for k, v in entry.items() if k != "epoch"):
                raise TrainingError(
                    f"training diverged at epoch {epoch} (loss is not finite); lower learning_rate "
                    f"(now {hp['learning_rate']})")
            state["history"].append(entry)


def save_model(state, hp, hosts, train_rows):
    os.makedirs(MODEL_DIR, exist_ok=True)
    np.save(os.path.join(MODEL_DIR, "weights.npy"), state["weights"])
    model = {
        "type": "linear-regression",
        "trained_by": "data-parallel",
        "feature_count": int(state["weights"].shape[0]),
        "weights": [float(w) for w in state["weights"]],
        "bias": float(state["bias"]),
        "epochs_completed": len(state["history"]),
        "hosts": hosts,
        "train_rows": train_rows,
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
    me, hosts = cluster()
    content_types = read_json(os.path.join(CONFIG_DIR, "inputdataconfig.json"), {})
    if not isinstance(content_types, dict):
        content_types = {}
    if len(hosts) == 1:
        print(f"{me}: host 1 of 1, training alone (no network)", flush=True)
    else:
        print(f"{me}: host {hosts.index(me) + 1} of {len(hosts)} ({', '.join(hosts)}), port {hp['port']}", flush=True)

    mesh = Mesh(me, hosts, hp["port"])
    state, stopped_by = None, None
    try:
        # Connect before reading data: a host whose data is bad can then tell the others why, instead of
        # leaving them to time out waiting for it.
        mesh.connect(hp["connect_timeout_seconds"])
        shard = load_shard(me, content_types)
        features, train_rows, validation_rows = agree_on_shape(mesh, shard, hp)
        if len(hosts) > 1:
            print(f"{me}: {plural(train_rows, 'training row')} on {len(hosts)} hosts, "
                  f"{plural(features, 'feature')}", flush=True)
        # The same seed on every host gives every host the same starting weights.
        rng = np.random.default_rng(hp["seed"])
        state = {"weights": rng.normal(0.0, 0.01, features), "bias": 0.0, "history": [], "train_rows": train_rows}
        fit(mesh, shard, features, train_rows, validation_rows, hp, state)
    except (Stopped, PeerStopped) as e:
        # Already stopping: a second SIGTERM (or our own, after a peer's notice) must not cut the save short.
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        stopped_by = getattr(e, "origin", me)
        mesh.abort(stopped_by, "stopped by SIGTERM", stopped=True)
    except PeerFailed as e:
        mesh.abort(e.origin, e.reason)
        raise
    except TrainingError as e:
        mesh.abort(me, str(e))
        raise
    except Exception as e:
        mesh.abort(me, f"internal error: {type(e).__name__}: {e}")
        raise
    finally:
        mesh.close()

    # Saving takes milliseconds; a SIGTERM now must not leave half a model behind.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    epochs = len(state["history"]) if state else 0
    if state is not None and me == hosts[0]:
        # After a stop too: the service packages what was learnt so far.
        save_model(state, hp, hosts, state["train_rows"])
        save_metrics(state["history"], hp)
    if stopped_by is not None:
        cause = "by SIGTERM" if stopped_by == me else f"({stopped_by} got SIGTERM)"
        saved = "; model saved" if state is not None and me == hosts[0] else ""
        print(f"stopped after {plural(epochs, 'epoch')} {cause}{saved}", file=sys.stderr, flush=True)
        return 143
    digest = hashlib.sha256(state["weights"].tobytes() + np.float64(state["bias"]).tobytes()).hexdigest()[:16]
    print(f"{me}: finished {plural(epochs, 'epoch')}, model digest {digest}", flush=True)
    if me == hosts[0]:
        # A wide model would flood the log: show the weights only when there are few.
        weights = state["weights"]
        shown = "[" + ", ".join(f"{w:.4f}" for w in weights) + "]" if len(weights) <= 10 else f"{len(weights)} of them"
        print(f"{me}: model saved to {MODEL_DIR}: weights {shown}, bias {state['bias']:.4f}", flush=True)
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
    # As PID 1, Python would otherwise ignore SIGTERM until the engine's SIGKILL.
    signal.signal(signal.SIGTERM, on_sigterm)
    # The runner starts the image with Cmd ["train"] (SageMaker's convention): accepted and ignored.
    try:
        return train()
    except TrainingError as e:
        write_failure(str(e))
    except Stopped:
        print("stopped by SIGTERM", file=sys.stderr, flush=True)
        return 143
    except Exception as e:  # noqa: BLE001 - any failure must still leave a reason behind
        write_failure(f"internal error: {type(e).__name__}: {e}")
    return 1


if __name__ == "__main__":
    sys.exit(main())
