#!/usr/bin/env bash
# Make sure a Docker engine answers. A working engine is never touched; when none answers on Debian/Ubuntu as root,
# install docker.io if needed and start dockerd in the background. Prints one line saying what it did.
#
#   bash scripts/ensure-engine.sh              # the real thing
#   bash scripts/ensure-engine.sh --dry-run    # print the commands it would run instead of running them
#   bash scripts/ensure-engine.sh --dry-run --assume-down   # walk the start path even though an engine answers
set -euo pipefail

DRY_RUN=0
ASSUME_DOWN=0
for arg in "$@"; do
  case "$arg" in
    --dry-run) DRY_RUN=1 ;;
    --assume-down) ASSUME_DOWN=1 ;;
    -h | --help) sed -n '2,8p' "$0"; exit 0 ;;
    *) echo "ensure-engine: unknown argument '$arg' (use --dry-run, --assume-down)" >&2; exit 2 ;;
  esac
done
if [ "$ASSUME_DOWN" = 1 ] && [ "$DRY_RUN" = 0 ]; then
  echo "ensure-engine: --assume-down only goes with --dry-run (a working engine is never touched)" >&2
  exit 2
fi

DEFAULT_SOCKET=/var/run/docker.sock
PID_FILE=/var/run/docker.pid
LOG_FILE="${TMPDIR:-/tmp}/dockerd.log"
WAIT_SECONDS=60

run() {
  if [ "$DRY_RUN" = 1 ]; then echo "[dry-run] $*"; else "$@"; fi
}

# A DOCKER_HOST that is the default socket is the default engine; any other value is an engine we cannot start.
case "${DOCKER_HOST:-}" in
  "" | "unix://$DEFAULT_SOCKET" | "unix:///run/docker.sock") ENGINE="unix://$DEFAULT_SOCKET"; LOCAL=1 ;;
  *) ENGINE="$DOCKER_HOST"; LOCAL=0 ;;
esac

engine_answers() {
  [ "$ASSUME_DOWN" = 1 ] && return 1
  case "$ENGINE" in
    unix://*)
      if command -v curl >/dev/null 2>&1; then
        curl -sf --max-time 5 --unix-socket "${ENGINE#unix://}" http://d/_ping >/dev/null 2>&1 && return 0
        return 1
      fi
      ;;
  esac
  command -v docker >/dev/null 2>&1 && DOCKER_HOST="$ENGINE" timeout 10 docker version >/dev/null 2>&1
}

if engine_answers; then
  echo "engine: answering at $ENGINE (left as it is)"
  exit 0
fi

if [ "$LOCAL" = 0 ]; then
  echo "engine: DOCKER_HOST=$DOCKER_HOST does not answer; start that engine, or unset DOCKER_HOST to use a local one" >&2
  exit 1
fi

if [ -S "$DEFAULT_SOCKET" ] && [ ! -w "$DEFAULT_SOCKET" ]; then
  echo "engine: $DEFAULT_SOCKET exists but $(id -un) may not use it; add the user to the docker group or run as root" >&2
  exit 1
fi

if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  cat >&2 <<EOF
engine: no Docker engine answers at $DEFAULT_SOCKET, and this script can only start one on Debian/Ubuntu as root.
  Install Docker Engine (Debian/Ubuntu: apt-get install docker.io; elsewhere https://docs.docker.com/engine/install/),
  start it (systemctl start docker, or run dockerd as root), make sure your user may use the socket
  (docker group), or point DOCKER_HOST at a running engine (e.g. Podman: unix://\$XDG_RUNTIME_DIR/podman/podman.sock).
EOF
  exit 1
fi

did=""
if ! command -v dockerd >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  APT_LOG="${TMPDIR:-/tmp}/crml-apt.log"
  apt_quiet() {
    if [ "$DRY_RUN" = 1 ]; then echo "[dry-run] apt-get -y -q -o DPkg::Lock::Timeout=300 $*"; return 0; fi
    apt-get -y -q -o DPkg::Lock::Timeout=300 "$@" >>"$APT_LOG" 2>&1
  }
  # Refresh the package lists only when apt does not know docker.io yet (a fresh image has no lists).
  if ! apt-cache show docker.io >/dev/null 2>&1; then
    apt_quiet update || true
  fi
  if ! apt_quiet install docker.io; then
    # Stale lists point at files the mirror no longer has: refresh once and retry.
    apt_quiet update || true
    if ! apt_quiet install docker.io; then
      echo "engine: apt-get install docker.io failed; last lines of $APT_LOG:" >&2
      tail -n 20 "$APT_LOG" >&2
      exit 1
    fi
  fi
  did="installed docker.io, "
fi

# A dockerd still alive (starting, or wedged) is left alone: we only wait for it. A pid file whose process is gone
# makes a new dockerd refuse to start, so it goes.
alive=0
if [ -f "$PID_FILE" ]; then
  pid=$(cat "$PID_FILE" 2>/dev/null || true)
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    alive=1
  else
    run rm -f "$PID_FILE"
    did="${did}removed stale $PID_FILE, "
  fi
fi

if [ "$alive" = 0 ]; then
  # setsid + nohup: the engine outlives this script, its terminal and its process group.
  if [ "$DRY_RUN" = 1 ]; then
    echo "[dry-run] setsid nohup dockerd >$LOG_FILE 2>&1 </dev/null &"
  else
    setsid nohup dockerd >"$LOG_FILE" 2>&1 </dev/null &
  fi
  did="${did}started dockerd (log: $LOG_FILE)"
else
  did="${did}waited for the dockerd already running (pid $pid)"
fi

if [ "$DRY_RUN" = 1 ]; then
  echo "[dry-run] wait up to ${WAIT_SECONDS}s for $ENGINE/_ping"
  echo "engine: would have ${did}"
  exit 0
fi

deadline=$((SECONDS + WAIT_SECONDS))
until engine_answers; do
  if [ "$SECONDS" -ge "$deadline" ]; then
    echo "engine: dockerd did not answer within ${WAIT_SECONDS}s; last lines of $LOG_FILE:" >&2
    tail -n 20 "$LOG_FILE" >&2 2>/dev/null || true
    exit 1
  fi
  sleep 0.2
done
echo "engine: ${did}; answering at $ENGINE"
