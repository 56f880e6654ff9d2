#!/usr/bin/env bash
# A Podman engine of our own, for tests against Podman's Docker-compatible API (infra.md, "Podman as the engine").
#   bash scripts/podman-engine.sh up [image …]   # prints DOCKER_HOST=unix://…; loads the images from the Docker engine
#   bash scripts/podman-engine.sh down           # removes everything `up` made, and nothing else
# Everything lives in $CRML_PODMAN_DIR (default ${TMPDIR:-/tmp}/crml-podman). The service runs in a network and mount
# namespace of its own (unshare): podman's bridges and iptables rules, its netns files, /run/containers, /run/runc,
# /dev/shm/libpod_lock and /var/lib/containers/cache stay in there and vanish with its last process, so neither the
# host nor its Docker engine (shared by others) sees any of it. Needs root (Debian: installs `podman` if missing).
set -euo pipefail
cd "$(dirname "$0")/.."

P=${CRML_PODMAN_DIR:-${TMPDIR:-/tmp}/crml-podman}
SOCK=$P/podman.sock
PIDFILE=$P/service.pid
API=http://d/v1.41

answers() { curl -sf --max-time 5 --unix-socket "$SOCK" http://d/_ping >/dev/null 2>&1; }
alive() { [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; }

# The processes in our network namespace: the service, conmon, runc, the containers (found by the namespace's inode,
# which only processes we started can be in).
ours() {
  local ns
  ns=$(cat "$P/netns" 2>/dev/null) || return 0
  [ -n "$ns" ] || return 0
  # One `ls` for all of them (a readlink per process takes seconds on a busy machine).
  ls -l /proc/[0-9]*/ns/net 2>/dev/null | awk -v ns="$ns" '$NF == ns { split($(NF-2), a, "/"); print a[3] }' || true
}

up() {
  if [ "$(id -u)" != 0 ]; then echo "podman-engine: needs root (network and mount namespaces, rootful podman)" >&2; exit 1; fi
  command -v podman >/dev/null 2>&1 && command -v ip >/dev/null 2>&1 && command -v curl >/dev/null 2>&1 ||
    bash scripts/apt-install.sh podman iproute2 curl
  if alive && answers; then
    echo "podman-engine: already up ($SOCK)" >&2
  else
    [ ! -e "$P" ] || down >/dev/null
    mkdir -p "$P"/{root,run,tmp,net,cache}
    # Without default_ulimits every start fails here (nofile above the hard limit; no CAP_SYS_RESOURCE to raise it).
    printf '[containers]\ndefault_ulimits = ["nofile=%s:%s", "nproc=32768:32768"]\n' "$(ulimit -Hn)" "$(ulimit -Hn)" >"$P/containers.conf"
    # The libpod_parent cgroups podman makes on the host: removed by `down` only if they were not there before.
    find /sys/fs/cgroup -maxdepth 3 -type d -name libpod_parent >"$P/cgroups-before" 2>/dev/null || true
    # Mount points for the namespace's own /var/lib/containers (blob-info cache); made here only if absent.
    if [ ! -d /var/lib/containers ]; then mkdir -p /var/lib/containers && touch "$P/made-var-lib-containers"; fi

    # The shell runs inside the new namespaces, mounts its private tmpfs, then becomes the service (same pid).
    CONTAINERS_CONF="$P/containers.conf" P="$P" SOCK="$SOCK" setsid unshare --net --mount --propagation private -- sh -c '
      set -e
      ip link set lo up
      mount -t tmpfs -o mode=755 crml-podman-run /run
      mount -t tmpfs -o mode=1777 crml-podman-shm /dev/shm
      mount --bind "$P/cache" /var/lib/containers
      # conmon writes an empty `oom` file into its working folder on an OOM kill (podman 4 gives it no --persist-dir).
      cd "$P"
      exec podman --root "$P/root" --runroot "$P/run" --tmpdir "$P/tmp" --network-config-dir "$P/net" \
        --events-backend file --cgroup-manager cgroupfs system service --time=0 "unix://$SOCK"
    ' >"$P/service.log" 2>&1 </dev/null &
    echo $! >"$PIDFILE"
    readlink "/proc/$!/ns/net" >"$P/netns" 2>/dev/null || true
    if ! timeout 30 sh -c "until curl -sf --unix-socket '$SOCK' http://d/_ping >/dev/null 2>&1; do sleep 0.05; done"; then
      echo "podman-engine: the service did not answer on $SOCK within 30 s; $P/service.log:" >&2
      tail -n 20 "$P/service.log" >&2
      down >/dev/null
      exit 1
    fi
    # The namespace inode once the shell is in it (read again: the first read may have seen the host's).
    readlink "/proc/$(cat "$PIDFILE")/ns/net" >"$P/netns"
  fi
  if [ "$#" -gt 0 ]; then
    # One `docker save` of all of them: layers they share are sent once. Streamed (-T -), never held in memory.
    docker save "$@" | curl -sfS --unix-socket "$SOCK" -X POST -H 'Content-Type: application/x-tar' -T - "$API/images/load" >"$P/load.log"
  fi
  echo "DOCKER_HOST=unix://$SOCK"
}

down() {
  [ -e "$P" ] || return 0
  if answers; then
    local ids
    ids=$(curl -sf --unix-socket "$SOCK" "$API/containers/json?all=1" | python3 -c 'import json,sys; print(" ".join(c["Id"] for c in json.load(sys.stdin)))' || true)
    for id in $ids; do curl -s -o /dev/null --max-time 30 --unix-socket "$SOCK" -X DELETE "$API/containers/$id?force=1&v=1" || true; done
  fi
  if alive; then
    local p
    p=$(cat "$PIDFILE")
    kill -TERM "$p" 2>/dev/null || true
    timeout 20 sh -c "while kill -0 $p 2>/dev/null; do sleep 0.1; done" || kill -KILL "$p" 2>/dev/null || true
  fi
  # Whatever is left in our namespace (a conmon, a container): only processes we started can be in it.
  local left
  left=$(ours)
  if [ -n "$left" ]; then
    # shellcheck disable=SC2086 # one pid per word
    kill -KILL $left 2>/dev/null || true
    timeout 10 sh -c "while [ -n \"\$(for q in $left; do [ -e /proc/\$q ] && echo \$q; done)\" ]; do sleep 0.1; done" || true
  fi
  # The namespaces died with their last process, and their mounts with them.
  local d
  for d in $(find /sys/fs/cgroup -maxdepth 3 -type d -name libpod_parent 2>/dev/null); do
    grep -qxF "$d" "$P/cgroups-before" 2>/dev/null && continue
    find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null || true
  done
  [ ! -f "$P/made-var-lib-containers" ] || rmdir /var/lib/containers 2>/dev/null || true
  rm -rf "$P"
  echo "podman-engine: down"
}

case "${1:-}" in
  up) shift; up "$@" ;;
  down) down ;;
  *) echo "usage: $0 up [image …] | down" >&2; exit 2 ;;
esac
