#!/bin/sh
# The image's entrypoint: `serve` (what an inference job starts) runs the inference server; anything else
# (`train`, the training runner's argument) trains, as before.
if [ "${1:-}" = serve ]; then
  exec python3 /opt/program/serve.py
fi
exec python3 /opt/program/train.py "$@"
