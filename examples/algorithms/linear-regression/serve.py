"""The inference server of the linear-regression example: SageMaker's inference container contract over python3's
http.server and the trained weights.

Started with the argument `serve` (see entry.sh). Loads /opt/ml/model/model.json (what train.py saved), then
answers on port 8080:
- GET /ping: 200 once the model is loaded;
- POST /invocations: headerless CSV records, one per line, each the model's features (a last target column, as in
  the training data, is accepted and ignored); the answer is one prediction per line, in order, as CSV (default)
  or, with `Accept: application/json`, as JSON lines `{"prediction": …}`.
Every request is recorded on stdout as `invocation bytes=<body bytes> records=<lines>` so that whoever reads the
job's log can check what each request carried. A record that is not numbers is a 400 naming its line.
"""

import json
import math
import os
import signal
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer

MODEL_DIR = os.environ.get("SM_MODEL_DIR", "/opt/ml/model")
PORT = 8080
MAX_BODY = 100 * 1024 * 1024  # maxPayloadInMB's largest value


def load_model():
    path = os.path.join(MODEL_DIR, "model.json")
    with open(path, encoding="utf-8") as f:
        model = json.load(f)
    if not isinstance(model, dict) or model.get("type") != "linear-regression":
        raise ValueError(f"{path} does not hold a linear-regression model")
    return [float(w) for w in model["weights"]], float(model["bias"])


class BadRecord(Exception):
    pass


def predict(weights, bias, body):
    out = []
    for number, line in enumerate(body.decode("utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        cells = line.split(",")
        if len(cells) not in (len(weights), len(weights) + 1):
            raise BadRecord(f"line {number}: {len(cells)} columns, the model has {len(weights)} features")
        try:
            features = [float(c) for c in cells[: len(weights)]]
        except ValueError:
            raise BadRecord(f"line {number}: not a number: {line[:60]!r}") from None
        if not all(math.isfinite(v) for v in features):
            raise BadRecord(f"line {number}: values must be finite numbers")
        out.append(sum(w * x for w, x in zip(weights, features)) + bias)
    return out


def handler(weights, bias):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *args):  # the request log goes to stderr, quietly
            pass

        def reply(self, status, body, content_type="text/plain"):
            data = body.encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            if self.path == "/ping":
                self.reply(200, "")
            else:
                self.reply(404, f"no such path: {self.path}")

        def do_POST(self):
            if self.path != "/invocations":
                self.reply(404, f"no such path: {self.path}")
                return
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY:
                self.reply(413, f"a request of {length} bytes is more than {MAX_BODY}")
                return
            body = self.rfile.read(length)
            content_type = (self.headers.get("Content-Type") or "text/csv").split(";")[0].strip()
            if content_type not in ("text/csv", "csv"):
                self.reply(415, f"content type {content_type} is not text/csv")
                return
            try:
                predictions = predict(weights, bias, body)
            except BadRecord as e:
                self.reply(400, str(e))
                return
            print(f"invocation bytes={length} records={len(predictions)}", flush=True)
            if "application/json" in (self.headers.get("Accept") or ""):
                self.reply(200, "".join(json.dumps({"prediction": p}) + "\n" for p in predictions), "application/json")
            else:
                self.reply(200, "".join(f"{p:.6f}\n" for p in predictions), "text/csv")

    return Handler


def main():
    # As PID 1, Python would otherwise ignore SIGTERM.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        weights, bias = load_model()
    except (OSError, ValueError, KeyError) as e:
        print(f"error: cannot load the model: {e}", file=sys.stderr, flush=True)
        return 1
    print(f"serving a linear-regression model of {len(weights)} features on port {PORT}", flush=True)
    HTTPServer(("0.0.0.0", PORT), handler(weights, bias)).serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
