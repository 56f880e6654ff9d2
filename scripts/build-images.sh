#!/usr/bin/env bash
# Build the example training images without Docker Hub; fast when they are cached.
#   bash scripts/build-images.sh [probe|linear-regression|data-parallel|streaming-sgd|all]     (default: all)
# Images:
#   crml-local/python-numpy:bookworm         Debian bookworm + python3 + numpy, from mmdebstrap (built once, kept)
#   crml-examples/probe:latest               examples/algorithms/probe on busybox (FROM scratch)
#   crml-examples/linear-regression:latest   examples/algorithms/linear-regression on the base above (trains; `serve` answers inference)
#   crml-examples/data-parallel:latest       examples/algorithms/data-parallel (trains across instances over TCP)
#   crml-examples/streaming-sgd:latest       examples/algorithms/streaming-sgd (reads Pipe mode's FIFOs)
set -euo pipefail
cd "$(dirname "$0")/.."

BASE_IMAGE=crml-local/python-numpy:bookworm
PROBE_IMAGE=crml-examples/probe:latest
PYTHON_EXAMPLES=(linear-regression data-parallel streaming-sgd)
EXAMPLES=examples/algorithms

# The 28.x client fails with BuildKit on this engine (no buildx); the classic builder caches every step.
export DOCKER_BUILDKIT=0

target=${1:-all}
case "$target" in
  probe | linear-regression | data-parallel | streaming-sgd | all) ;;
  *) echo "usage: $0 [probe|linear-regression|data-parallel|streaming-sgd|all]" >&2; exit 2 ;;
esac

SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/crml-build.XXXXXX")
trap 'rm -rf "$SCRATCH"' EXIT

# build IMAGE CONTEXT [docker build args...]: quiet on success, the builder's output on failure.
build() {
  local image=$1 context=$2 started=$SECONDS before
  shift 2
  before=$(docker image inspect -f '{{.Id}}' "$image" 2>/dev/null || true)
  if ! docker build -t "$image" "$@" "$context" >"$SCRATCH/build.log" 2>&1; then
    cat "$SCRATCH/build.log" >&2
    echo "images: building $image failed" >&2
    exit 1
  fi
  local verb=built
  if [ "$(docker image inspect -f '{{.Id}}' "$image")" = "$before" ]; then
    verb="up to date"
  elif [ -n "$before" ]; then
    # The previous build of ours, now untagged; kept only if a container still uses it.
    docker image rm "$before" >/dev/null 2>&1 || true
  fi
  echo "images: $image $verb ($((SECONDS - started))s)"
}

# The Debian mirror this host already uses (never written into the project); DEB_MIRROR overrides it.
debian_mirror() {
  local m
  m=$(grep -hsE '^[[:space:]]*deb[[:space:]]' /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
      | sed -E 's/\[[^]]*\]//' | awk '{print $2}' | grep -E '/debian/?$' | head -n1 || true)
  [ -n "$m" ] || m=$(grep -hsiE '^[[:space:]]*URIs:' /etc/apt/sources.list.d/*.sources \
      | cut -d: -f2- | tr ' \t' '\n\n' | grep -E '/debian/?$' | head -n1 || true)
  echo "$m"
}

build_base() {
  if docker image inspect "$BASE_IMAGE" >/dev/null 2>&1; then
    return 0
  fi
  command -v mmdebstrap >/dev/null 2>&1 || bash scripts/apt-install.sh mmdebstrap
  local mirror=${DEB_MIRROR:-$(debian_mirror)}
  if [ -z "$mirror" ]; then
    echo "images: no Debian mirror found in /etc/apt/sources*; set DEB_MIRROR (e.g. http://deb.debian.org/debian)" >&2
    exit 1
  fi
  echo "images: $BASE_IMAGE missing, building it from $mirror (about a minute)"
  local started=$SECONDS partial="$BASE_IMAGE-partial"
  # Imported under a scratch tag first, so a failed or cut-off debootstrap never leaves a usable-looking base.
  if ! mmdebstrap --quiet --variant=minbase --include=python3,python3-numpy \
      --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*' \
      --dpkgopt='path-exclude=/usr/share/locale/*' \
      --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*' \
      bookworm - "deb $mirror bookworm main" 2>"$SCRATCH/mmdebstrap.log" \
    | docker import -c 'CMD ["/usr/bin/python3"]' -c 'ENV LANG=C.UTF-8' - "$partial" >/dev/null; then
    tail -n 30 "$SCRATCH/mmdebstrap.log" >&2
    docker image rm "$partial" >/dev/null 2>&1 || true
    echo "images: building $BASE_IMAGE failed" >&2
    exit 1
  fi
  docker tag "$partial" "$BASE_IMAGE"
  docker image rm "$partial" >/dev/null
  echo "images: $BASE_IMAGE built ($((SECONDS - started))s)"
}

build_probe() {
  # The image is busybox only: Debian's static build, copied into a throwaway context (never committed).
  if ! { [ -x /bin/busybox ] && ! ldd /bin/busybox >/dev/null 2>&1; }; then
    bash scripts/apt-install.sh busybox-static
  fi
  local context="$SCRATCH/probe"
  mkdir -p "$context"
  cp "$EXAMPLES/probe/Dockerfile" "$EXAMPLES/probe/probe.sh" "$context/"
  cp /bin/busybox "$context/busybox"
  build "$PROBE_IMAGE" "$context"
}

# build_python NAME: examples/algorithms/NAME on the Python + numpy base, as crml-examples/NAME:latest.
build_python() {
  build_base
  build "crml-examples/$1:latest" "$EXAMPLES/$1" --build-arg "BASE_IMAGE=$BASE_IMAGE"
}

case "$target" in
  probe) build_probe ;;
  all) build_probe; for name in "${PYTHON_EXAMPLES[@]}"; do build_python "$name"; done ;;
  *) build_python "$target" ;;
esac
