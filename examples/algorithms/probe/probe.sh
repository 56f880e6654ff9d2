#!/bin/sh
# probe: a SageMaker-style training container that writes down what it sees and behaves as its hyperparameters say.
# POSIX sh for busybox ash. See README.md for the hyperparameters and the files it writes.
set -u

ML=/opt/ml
CONFIG_DIR=$ML/input/config
DATA_DIR=$ML/input/data
MODEL_DIR=$ML/model
OUTPUT_DIR=$ML/output
REPORT_DIR=$OUTPUT_DIR/data
HP_FILE=$CONFIG_DIR/hyperparameters.json

say() { printf 'probe: %s\n' "$*" >&2; }

# fail REASON [CODE]: the reason goes to /opt/ml/output/failure (what the service reports) and stderr.
fail() {
  printf '%s\n' "$1" > "$OUTPUT_DIR/failure" 2>/dev/null || say "could not write $OUTPUT_DIR/failure"
  say "$1"
  exit "${2:-2}"
}

# PID 1 gets no default SIGTERM handling, so the probe stops (or pointedly does not) by itself.
IGNORE_SIGTERM=false
SLEEP_PID=
on_signal() {
  if [ "$1" = TERM ] && [ "$IGNORE_SIGTERM" = true ]; then
    say "SIGTERM received and ignored"
    return
  fi
  say "SIG$1 received, stopping"
  [ -n "$SLEEP_PID" ] && kill "$SLEEP_PID" 2>/dev/null
  exit "$2"
}
trap 'on_signal TERM 143' TERM
trap 'on_signal INT 130' INT

mkdir -p "$MODEL_DIR" "$REPORT_DIR" 2>/dev/null
# Written first, so a run stopped early still leaves a model behind.
echo "probe partial model" > "$MODEL_DIR/partial.txt" 2>/dev/null || say "could not write $MODEL_DIR/partial.txt"

# hp NAME: the hyperparameter's value, JSON-decoded, or nothing when absent. Exit 3 when the file is not a flat
# JSON object. Values are strings by contract; bare numbers and booleans are taken as written.
hp() {
  [ -r "$HP_FILE" ] || return 0
  awk -v want="$1" '
    function hexval(h,   i, d, v) {
      v = 0; h = tolower(h)
      for (i = 1; i <= length(h); i++) {
        d = index("0123456789abcdef", substr(h, i, 1)); if (d == 0) return -1; v = v * 16 + d - 1
      }
      return v
    }
    function utf8(cp) {
      if (cp < 128) return sprintf("%c", cp)
      if (cp < 2048) return sprintf("%c%c", 192 + int(cp / 64), 128 + cp % 64)
      return sprintf("%c%c%c", 224 + int(cp / 4096), 128 + int(cp / 64) % 64, 128 + cp % 64)
    }
    function skipws() { while (pos <= n && index(" \t\r\n", substr(s, pos, 1)) > 0) pos++ }
    function jstring(   out, c, e, cp) {
      pos++; out = ""
      while (pos <= n) {
        c = substr(s, pos, 1)
        if (c == "\"") { pos++; return out }
        if (c == "\\") {
          e = substr(s, pos + 1, 1); pos += 2
          if (e == "n") out = out "\n"
          else if (e == "t") out = out "\t"
          else if (e == "r") out = out "\r"
          else if (e == "u") { cp = hexval(substr(s, pos, 4)); pos += 4; if (cp > 0) out = out utf8(cp) }
          else if (e == "b" || e == "f") out = out ""
          else out = out e
          continue
        }
        out = out c; pos++
      }
      bad = 1; return out
    }
    function jscalar(   start) {
      start = pos
      while (pos <= n && index(",} \t\r\n", substr(s, pos, 1)) == 0) pos++
      return substr(s, start, pos - start)
    }
    { s = s $0 "\n" }
    END {
      n = length(s); pos = 1; skipws()
      if (substr(s, pos, 1) != "{") exit 3
      pos++
      while (!bad) {
        skipws(); if (pos > n) exit 3
        c = substr(s, pos, 1)
        if (c == "}") break
        if (c == ",") { pos++; continue }
        if (c != "\"") exit 3
        key = jstring(); skipws()
        if (substr(s, pos, 1) != ":") exit 3
        pos++; skipws()
        c = substr(s, pos, 1)
        if (c == "{" || c == "[") exit 3
        if (c == "\"") val = jstring(); else val = jscalar()
        if (val == "null") continue
        if (key == want) { found = 1; value = val }
      }
      if (bad) exit 3
      if (found) printf "%s", value
    }
  ' "$HP_FILE"
}

# whole_hp NAME DEFAULT: a whole-number hyperparameter, or the run fails naming it.
whole_hp() {
  v=$(hp "$1"); [ -n "$v" ] || v=$2
  case "$v" in '' | *[!0-9]*) fail "hyperparameter '$1' must be a whole number, got '$v'" ;; esac
  echo "$v"
}

if [ -e "$HP_FILE" ]; then
  hp probe-check >/dev/null || fail "$HP_FILE is not a JSON object of string values"
fi

EXIT_CODE=$(whole_hp exit_code 0) || exit $?
[ "$EXIT_CODE" -le 255 ] || fail "hyperparameter 'exit_code' must be 0-255, got '$EXIT_CODE'"
SLEEP_SECONDS=$(hp sleep_seconds); [ -n "$SLEEP_SECONDS" ] || SLEEP_SECONDS=0
case "$SLEEP_SECONDS" in
  '' | *[!0-9.]* | *.*.* | .) fail "hyperparameter 'sleep_seconds' must be a number of seconds, got '$SLEEP_SECONDS'" ;;
esac
PRINT_LINES=$(whole_hp print_lines 0) || exit $?
PRINT_STDERR_LINES=$(whole_hp print_stderr_lines 0) || exit $?
ALLOCATE_MB=$(whole_hp allocate_mb 0) || exit $?
WRITE_MB=$(whole_hp write_mb 0) || exit $?
FILL_MB=$(whole_hp fill_mb 0) || exit $?
PRINT_TEXT=$(hp print_text)
FAILURE_TEXT=$(hp failure_text)
MODEL_TEXT=$(hp model_text); [ -n "$MODEL_TEXT" ] || MODEL_TEXT="probe model"
case "$(hp ignore_sigterm)" in true | True | TRUE | 1 | yes) IGNORE_SIGTERM=true ;; esac
is_true() { case "$1" in true | True | TRUE | 1 | yes) return 0 ;; esac; return 1; }
FAIL_ON_HOST=$(hp fail_on_host)
LIST_CHANNELS_TO_STDOUT=$(hp list_channels_to_stdout)
LIST_HOSTS_TO_STDOUT=$(hp list_hosts_to_stdout)
READ_PIPE=$(hp read_pipe)
READ_PIPE_EPOCHS=$(whole_hp read_pipe_epochs 1) || exit $?

# current_host and hosts from resourceconfig.json (a flat enough JSON for sed).
RESOURCE_CONFIG=$CONFIG_DIR/resourceconfig.json
CURRENT_HOST=$(sed -n 's/.*"current_host" *: *"\([^"]*\)".*/\1/p' "$RESOURCE_CONFIG" 2>/dev/null)
HOSTS=$(sed -n 's/.*"hosts" *: *\[\([^]]*\)\].*/\1/p' "$RESOURCE_CONFIG" 2>/dev/null | tr ',' '\n' | tr -d '" ')

# fail_on_host: exit_code and failure_text apply on that host only, at once (no sleep); other hosts exit 0.
if [ -n "$FAIL_ON_HOST" ]; then
  if [ "$FAIL_ON_HOST" = "$CURRENT_HOST" ]; then SLEEP_SECONDS=0; else EXIT_CODE=0; FAILURE_TEXT=; fi
fi

# unescape: the two characters \n become a newline (handy where a real newline is hard to pass).
unescape() { printf '%s\n' "$1" | awk '{ gsub(/\\n/, "\n"); print }'; }

# ---- what the container sees, one file each under /opt/ml/output/data
report() { # NAME COMMAND...: the command's output into the report file
  name=$1; shift
  "$@" > "$REPORT_DIR/$name" 2>&1 || true
}

list_env() { env | sort; }

list_args() { for a in "$@"; do printf '%s\n' "$a"; done; }

list_channels() {
  [ -d "$DATA_DIR" ] || { echo "no $DATA_DIR"; return; }
  (cd "$DATA_DIR" && find . -mindepth 1 | sort | while IFS= read -r p; do
    p=${p#./}
    if [ -d "$p" ]; then printf 'dir %s/\n' "$p"; else printf '%s %s\n' "$(stat -L -c %s "$p")" "$p"; fi
  done)
}

# One line per file under /opt/ml/input/data: its path relative to that folder.
list_channel_files() {
  [ -d "$DATA_DIR" ] || return 0
  (cd "$DATA_DIR" && find . -mindepth 1 ! -type d | sed 's|^\./||' | sort)
}

# <host>=resolves or <host>=unresolved for every host in resourceconfig.json (the cluster's own DNS), one try of
# at most 2 s each. With list_hosts_to_stdout the probe waits up to 10 s for each name, as the hosts of a cluster
# start a moment apart (a distributed job waits for its peers the same way).
list_hosts() {
  tries=1; is_true "$LIST_HOSTS_TO_STDOUT" && tries=20
  for h in $HOSTS; do
    n=0; result=unresolved
    while [ "$n" -lt "$tries" ]; do
      if timeout 2 nslookup "$h" >/dev/null 2>&1; then result=resolves; break; fi
      n=$((n + 1)); [ "$n" -lt "$tries" ] && sleep 0.5
    done
    echo "$h=$result"
  done
}

# read_pipe CHANNEL EPOCHS: Pipe mode as an algorithm reads it: each epoch's FIFO <channel>_<epoch> to its end,
# waiting up to 20 s for it to appear; one line per epoch with what came through.
read_pipe() {
  e=0
  while [ "$e" -lt "$2" ]; do
    f="$DATA_DIR/$1_$e"; n=0
    while [ ! -p "$f" ]; do
      n=$((n + 1)); [ "$n" -le 400 ] || fail "$f did not appear within 20 s"
      sleep 0.05
    done
    cat "$f" > /tmp/pipe-epoch || fail "reading $f failed"
    echo "pipe $CURRENT_HOST $1_$e bytes=$(wc -c < /tmp/pipe-epoch) md5=$(md5sum < /tmp/pipe-epoch | cut -c1-32) lines=$(wc -l < /tmp/pipe-epoch)"
    rm -f /tmp/pipe-epoch
    e=$((e + 1))
  done
}

read_first() { # FILE...: the first readable file's content, or "unavailable"
  for f in "$@"; do [ -r "$f" ] && { cat "$f"; return; }; done
  echo unavailable
}

# Normalised values first (cpus, memory_limit_bytes, swap_limit_bytes, pids_max, shm_size_bytes, nproc), then the
# raw cgroup files they came from. "unlimited" where no limit is set.
list_limits() {
  if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
    version=2
    cpu_max=$(read_first /sys/fs/cgroup/cpu.max)
    quota=${cpu_max% *}; period=${cpu_max#* }
    mem=$(read_first /sys/fs/cgroup/memory.max)
    swap=$(read_first /sys/fs/cgroup/memory.swap.max)
    pids=$(read_first /sys/fs/cgroup/pids.max)
    raw="cpu.max=$cpu_max
memory.max=$mem
memory.swap.max=$swap
pids.max=$pids"
  else
    version=1
    cpu=/sys/fs/cgroup/cpu; [ -d "$cpu" ] || cpu=/sys/fs/cgroup/cpu,cpuacct
    quota=$(read_first "$cpu/cpu.cfs_quota_us")
    period=$(read_first "$cpu/cpu.cfs_period_us")
    mem=$(read_first /sys/fs/cgroup/memory/memory.limit_in_bytes)
    memsw=$(read_first /sys/fs/cgroup/memory/memory.memsw.limit_in_bytes)
    pids=$(read_first /sys/fs/cgroup/pids/pids.max)
    raw="cpu.cfs_quota_us=$quota
cpu.cfs_period_us=$period
memory.limit_in_bytes=$mem
memory.memsw.limit_in_bytes=$memsw
pids.max=$pids"
    # v1 limits memory+swap together; swap alone is the difference.
    swap=$(awk -v m="$mem" -v ms="$memsw" 'BEGIN {
      if (ms == "unavailable") print "unavailable"; else if (ms + 0 >= 4e18) print "unlimited"; else print ms - m }')
  fi
  awk -v v="$version" -v q="$quota" -v p="$period" -v m="$mem" -v s="$swap" -v pids="$pids" 'BEGIN {
    print "cgroup_version=" v
    if (q == "max" || q + 0 < 0 || p + 0 <= 0) print "cpus=unlimited"; else printf "cpus=%.2f\n", q / p
    if (m == "max" || m + 0 >= 4e18) print "memory_limit_bytes=unlimited"; else print "memory_limit_bytes=" m
    if (s == "max" || (s ~ /^[0-9]+$/ && s + 0 >= 4e18)) print "swap_limit_bytes=unlimited"; else print "swap_limit_bytes=" s
    if (pids == "max") print "pids_max=unlimited"; else print "pids_max=" pids
  }'
  shm=$(df -k /dev/shm 2>/dev/null | awk 'NR == 2 { print $2 * 1024 }')
  echo "shm_size_bytes=${shm:-unavailable}"
  echo "nproc=$(nproc 2>/dev/null || echo unavailable)"
  echo "$raw"
}

list_network() {
  printf 'interfaces='
  awk -F: 'NR > 2 { gsub(/ /, "", $1); printf "%s%s", sep, $1; sep = " " }' /proc/net/dev; echo
  echo "--- /proc/net/dev"; cat /proc/net/dev
  echo "--- ip addr"; ip addr 2>&1 || echo "ip addr unavailable"
}

list_writable() {
  for d in "$DATA_DIR"/*/ "$CONFIG_DIR" "$MODEL_DIR" "$OUTPUT_DIR" "$REPORT_DIR"; do
    [ -d "$d" ] || continue
    d=${d%/}; t="$d/.probe-write-test.$$"
    if (: > "$t") 2>/dev/null; then rm -f "$t"; echo "$d=yes"; else echo "$d=no"; fi
  done
}

report argv.txt list_args "$@"
report env.txt list_env
mkdir -p "$REPORT_DIR/config" 2>/dev/null && cp "$CONFIG_DIR"/* "$REPORT_DIR/config/" 2>/dev/null
report channels.txt list_channels
report limits.txt list_limits
report network.txt list_network
report capabilities.txt grep -E '^(CapEff|CapPrm|CapBnd|NoNewPrivs|Seccomp):' /proc/self/status
report mounts.txt awk '$2 ~ /^\/opt\/ml(\/|$)/' /proc/mounts
report id.txt id
report writable.txt list_writable
report hosts.txt list_hosts

# ---- behaviour
if is_true "$LIST_CHANNELS_TO_STDOUT"; then list_channel_files | sed "s|^|channel-file $CURRENT_HOST |"; fi
if is_true "$LIST_HOSTS_TO_STDOUT"; then sed "s|^|host-check $CURRENT_HOST |" "$REPORT_DIR/hosts.txt"; fi
if [ -n "$READ_PIPE" ]; then read_pipe "$READ_PIPE" "$READ_PIPE_EPOCHS"; fi
[ -n "$PRINT_TEXT" ] && unescape "$PRINT_TEXT"
[ "$PRINT_LINES" -gt 0 ] && awk -v n="$PRINT_LINES" 'BEGIN { for (i = 1; i <= n; i++) print "line " i }'
[ "$PRINT_STDERR_LINES" -gt 0 ] && awk -v n="$PRINT_STDERR_LINES" 'BEGIN { for (i = 1; i <= n; i++) print "stderr line " i }' >&2

if [ "$ALLOCATE_MB" -gt 0 ]; then
  # Each array entry is a fresh 1 MiB string, so the memory is really touched; over the cgroup limit the kernel
  # kills awk with SIGKILL, and the probe exits 137 the same way.
  awk -v mb="$ALLOCATE_MB" 'BEGIN { s = "x"; while (length(s) < 1048576) s = s s; for (i = 0; i < mb; i++) a[i] = s i }'
  rc=$?
  [ "$rc" -eq 0 ] || { say "allocating $ALLOCATE_MB MB failed (exit $rc)"; exit "$rc"; }
fi

# fill_mb: zeros, fast to write (disk-cap tests); write_mb: random bytes that do not compress (artifact sizes).
if [ "$FILL_MB" -gt 0 ]; then
  dd if=/dev/zero of="$MODEL_DIR/fill.bin" bs=1048576 count="$FILL_MB" 2>/dev/null \
    || fail "writing $FILL_MB MB to $MODEL_DIR/fill.bin failed"
fi
if [ "$WRITE_MB" -gt 0 ]; then
  dd if=/dev/urandom of="$MODEL_DIR/filler.bin" bs=1048576 count="$WRITE_MB" 2>/dev/null \
    || fail "writing $WRITE_MB MB to $MODEL_DIR/filler.bin failed"
fi

if [ "$SLEEP_SECONDS" != 0 ]; then
  # In the background, so a trapped SIGTERM interrupts `wait` instead of waiting for sleep to end.
  sleep "$SLEEP_SECONDS" &
  SLEEP_PID=$!
  while kill -0 "$SLEEP_PID" 2>/dev/null; do wait "$SLEEP_PID"; done
  SLEEP_PID=
fi

unescape "$MODEL_TEXT" > "$MODEL_DIR/model.txt" 2>/dev/null || say "could not write $MODEL_DIR/model.txt"
[ -n "$FAILURE_TEXT" ] && unescape "$FAILURE_TEXT" > "$OUTPUT_DIR/failure"
echo "exit_code=$EXIT_CODE" > "$REPORT_DIR/probe.done" 2>/dev/null
exit "$EXIT_CODE"
