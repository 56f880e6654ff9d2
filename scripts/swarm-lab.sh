#!/usr/bin/env bash
# A real 3-node Docker Swarm on this machine, for the Swarm placement's tests (infra.md, "A 3-node Swarm on one
# machine"; distributed.md §4 option A):
#   bash scripts/swarm-lab.sh up [image …]   # prints DOCKER_HOST=unix://… (the manager); loads the images into every node
#   bash scripts/swarm-lab.sh down           # removes everything `up` made, and nothing else
#   bash scripts/swarm-lab.sh status         # exit 0 when the lab answers, and prints the manager's DOCKER_HOST
# Three dockerd, each in a network namespace of its own (crml-lab-n1..3, linked by veths to a bridge inside a fourth
# namespace, crml-lab-br, with no route out), each with its own socket, data-root, exec-root, pidfile, containerd,
# bridge addresses and address pools, joined into one swarm (n1 the manager). Each node carries the label
# crml.engine=<its own socket>, which is how the runner reaches a node's engine for data in and out.
# Nothing of the host's engine or network is touched: `down` ends only the processes whose pids `up` recorded.
# Everything lives in $CRML_SWARM_LAB_DIR (default ${TMPDIR:-/tmp}/crml-swarm-lab). Needs root, iproute2, nsenter.
set -euo pipefail
cd "$(dirname "$0")/.."

LAB=${CRML_SWARM_LAB_DIR:-${TMPDIR:-/tmp}/crml-swarm-lab}
NODES=(1 2 3)
NS_BR=crml-lab-br
DEFAULT_IMAGES=(crml-examples/data-parallel:latest crml-examples/probe:latest)
# The host's docker0 is 172.17.0.0/16 and Docker's default pools are 172.16.0.0/12 and 192.168.0.0/16: the lab's
# own addresses stay in 10.77–10.80 (lab links, overlay pool, each node's docker0, each node's local pools).
LAB_NET=10.77.0
OVERLAY_POOL=10.78.0.0/16

node_ns() { echo "crml-lab-n$1"; }
sock() { echo "$LAB/n$1/docker.sock"; }
exec_root() { echo "/run/crml-lab-n$1"; }
dk() { local i=$1; shift; docker -H "unix://$(sock "$i")" "$@"; }
answers() { curl -sf --max-time 5 --unix-socket "$(sock "$1")" http://d/_ping >/dev/null 2>&1; }
log() { echo "swarm-lab: $*" >&2; }

lab_up() {
  for i in "${NODES[@]}"; do answers "$i" || return 1; done
  [ "$(dk 1 info --format '{{.Swarm.LocalNodeState}} {{.Swarm.ControlAvailable}}' 2>/dev/null)" = "active true" ] || return 1
  [ "$(dk 1 node ls -q 2>/dev/null | wc -l)" -eq "${#NODES[@]}" ]
}

up() {
  if [ "$(id -u)" != 0 ]; then log "needs root (network namespaces, dockerd)"; exit 1; fi
  for tool in ip nsenter unshare dockerd curl docker; do
    command -v "$tool" >/dev/null 2>&1 || { log "needs $tool (Debian: iproute2, util-linux, docker.io, curl)"; exit 1; }
  done
  local images=("$@")
  [ ${#images[@]} -gt 0 ] || images=("${DEFAULT_IMAGES[@]}")
  for img in "${images[@]}"; do
    docker image inspect "$img" >/dev/null 2>&1 || { log "image $img is not in the host's engine (bash scripts/build-images.sh)"; exit 1; }
  done
  if lab_up; then
    log "already up"
  else
    [ ! -e "$LAB" ] || down >/dev/null
    make_lab
  fi
  load_images "${images[@]}"
  echo "DOCKER_HOST=unix://$(sock 1)"
}

make_lab() {
  mkdir -p "$LAB"
  : >"$LAB/pids"
  # `ip netns add` makes /run/netns a mount when it is not one: `down` unmounts it only if we made it.
  if ! mountpoint -q /run/netns 2>/dev/null; then touch "$LAB/made-run-netns"; fi
  # Never the host's /etc/docker/daemon.json: each node gets a config file of its own.
  ip netns add "$NS_BR"
  echo "$NS_BR" >>"$LAB/namespaces"
  ip -n "$NS_BR" link set lo up
  ip -n "$NS_BR" link add br0 type bridge
  ip -n "$NS_BR" addr add "$LAB_NET.1/24" dev br0
  ip -n "$NS_BR" link set br0 up
  for i in "${NODES[@]}"; do
    local n; n=$(node_ns "$i")
    ip netns add "$n"
    echo "$n" >>"$LAB/namespaces"
    ip -n "$n" link set lo up
    # Both ends born inside namespaces: the host's own link list never changes.
    ip -n "$NS_BR" link add "$n" type veth peer name eth0 netns "$n"
    ip -n "$NS_BR" link set "$n" master br0 up
    ip -n "$n" addr add "$LAB_NET.1$i/24" dev eth0
    ip -n "$n" link set eth0 up   # no default route: nothing leaves the lab
    mkdir -p "$LAB/n$i/data"
    printf '{"bip": "10.79.%s.1/24", "default-address-pools": [{"base": "10.80.%s0.0/20", "size": 24}]}\n' "$i" "$i" >"$LAB/n$i/daemon.json"
    # nsenter --net keeps the host's /sys/fs/cgroup (ip netns exec remounts /sys and dockerd then finds no cgroups);
    # a mount namespace of its own keeps the daemon's mounts out of the host; --uts gives each node its hostname.
    setsid nsenter --net="/run/netns/$n" -- unshare --mount --uts --propagation slave -- sh -c "hostname $n && exec dockerd \
      --data-root '$LAB/n$i/data' --exec-root '$(exec_root "$i")' --pidfile '$LAB/n$i/dockerd.pid' \
      -H 'unix://$(sock "$i")' --config-file '$LAB/n$i/daemon.json' --cgroup-parent '$n' --dns $LAB_NET.1 \
      --containerd-namespace '$n' --containerd-plugins-namespace '$n-plugins'" \
      >"$LAB/n$i/dockerd.log" 2>&1 </dev/null &
    echo $! >>"$LAB/pids"
  done
  for i in "${NODES[@]}"; do
    if ! timeout 60 sh -c "until curl -sf --unix-socket '$(sock "$i")' http://d/_ping >/dev/null 2>&1; do sleep 0.05; done"; then
      log "node $i did not answer within 60 s; its log:"; tail -n 20 "$LAB/n$i/dockerd.log" >&2; down >/dev/null; exit 1
    fi
    # The managed containerd, to end it by pid if dockerd leaves it behind.
    cat "$(exec_root "$i")/containerd/containerd.pid" >>"$LAB/pids" 2>/dev/null || true
  done
  dk 1 swarm init --advertise-addr "$LAB_NET.11" --default-addr-pool "$OVERLAY_POOL" >/dev/null
  local token; token=$(dk 1 swarm join-token -q worker)
  for i in "${NODES[@]:1}"; do dk "$i" swarm join --advertise-addr "$LAB_NET.1$i" --token "$token" "$LAB_NET.11:2377" >/dev/null; done
  # How the runner reaches each node's engine (for its volumes and the archive API): a label on the node.
  for i in "${NODES[@]}"; do
    local id; id=$(dk "$i" info --format '{{.Swarm.NodeID}}')
    dk 1 node update --label-add "crml.engine=unix://$(sock "$i")" "$id" >/dev/null
  done
  timeout 30 sh -c "until [ \$(docker -H unix://$(sock 1) node ls --filter role=worker --format '{{.Status}}' | grep -c Ready) -eq $((${#NODES[@]} - 1)) ]; do sleep 0.2; done" ||
    { log "the workers did not become Ready"; down >/dev/null; exit 1; }
  log "up: ${#NODES[@]} nodes, manager $(sock 1)"
}

# The same image ID on every node (services are given the ID, so no node asks a registry).
load_images() {
  for img in "$@"; do
    local id; id=$(docker image inspect "$img" --format '{{.Id}}')
    local pids=()
    for i in "${NODES[@]}"; do
      [ "$(dk "$i" image inspect "$img" --format '{{.Id}}' 2>/dev/null || true)" = "$id" ] && continue
      (docker save "$img" | dk "$i" load -q >/dev/null) &
      pids+=($!)
    done
    for p in "${pids[@]}"; do wait "$p" || { log "loading $img failed"; exit 1; }; done
  done
}

down() {
  [ -d "$LAB" ] || { log "not up"; return 0; }
  local pids; pids=$(cat "$LAB/pids" 2>/dev/null || true)
  for i in "${NODES[@]}"; do
    local p; p=$(cat "$LAB/n$i/dockerd.pid" 2>/dev/null || true)
    [ -n "$p" ] && pids="$pids $p"
  done
  for i in "${NODES[@]}"; do
    local c; c=$(cat "$(exec_root "$i")/containerd/containerd.pid" 2>/dev/null || true)
    [ -n "$c" ] && pids="$pids $c"
  done
  # Only processes we started: each recorded pid is checked to be a dockerd/containerd/nsenter of this lab.
  local ours=()
  for p in $pids; do
    [ -r "/proc/$p/cmdline" ] || continue
    if tr '\0' ' ' <"/proc/$p/cmdline" | grep -qE "crml-lab-n[0-9]|$LAB"; then ours+=("$p"); fi
  done
  for p in "${ours[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${ours[@]}"; do timeout 30 sh -c "while kill -0 $p 2>/dev/null; do sleep 0.1; done" || kill -KILL "$p" 2>/dev/null || true; done
  # The tasks' processes end with their containerd-shim when the daemon stops them; any shim left is this lab's.
  for i in "${NODES[@]}"; do
    for p in $(pgrep -f "containerd-shim.*-namespace crml-lab-n$i " 2>/dev/null || true); do kill -KILL "$p" 2>/dev/null || true; done
  done
  # The veths and br0 go with their namespaces.
  local n
  for n in $(cat "$LAB/namespaces" 2>/dev/null || true); do ip netns del "$n" 2>/dev/null || true; done
  for i in "${NODES[@]}"; do
    local root; root=$(exec_root "$i")
    # A mount the daemon left in its (ended) mount namespace is gone with it; anything under the host's view is not ours.
    rm -rf "$root"
  done
  find /sys/fs/cgroup -maxdepth 6 -depth -type d -name 'crml-lab-n[0-9]*' -exec rmdir {} + 2>/dev/null || true
  if [ -e "$LAB/made-run-netns" ] && [ -z "$(ip netns list)" ]; then umount /run/netns 2>/dev/null || true; rmdir /run/netns 2>/dev/null || true; fi
  rm -rf "$LAB"
  log "down"
}

status() {
  if lab_up; then echo "DOCKER_HOST=unix://$(sock 1)"; else log "not up"; exit 1; fi
}

case "${1:-}" in
  up) shift; up "$@" ;;
  down) down ;;
  status) status ;;
  *) echo "usage: bash scripts/swarm-lab.sh up [image …] | down | status" >&2; exit 2 ;;
esac
