#!/usr/bin/env bash
# A partition of one VM, measured: three VMs by hand on three network
# namespaces joined by a bridge, VM 3 cut off (its veth end on the bridge set
# down) from 20 s to 25 s after the VMs' start, healed, 60 s in all; then
# `lamport-sim verify` on the logs. NOTEBOOK.md ("A partition of one VM")
# has the prediction and what these runs measured.
#
#   sudo bench/partition.sh [RUNS]      # from the repository's root; RUNS defaults to 3
#
# Writes logs/partition/run_K/ (machine_*.log, faults.txt with the times of
# the cut and the heal, vmI.err with each VM's stderr, verify.txt) and
# logs/partition/command.txt. Run K uses seed 1000 + K - 1. NICE=N sets the
# CPU priority of the whole experiment (default -15; 0 for none).
# PARTITION_OUT=DIR writes into DIR instead of logs/partition; PROBE=1 also
# records the kernels' view of VM 3 around the cut (run_K/probe.txt). Needs
# Linux, root and iproute2 (`ip`); says so and exits 1 without them. Every
# namespace it makes is deleted on any exit. All traffic stays inside them.
set -euo pipefail

RUNS=${1:-3}
RATES=(6 6 3)        # VM 1, 2, 3: VM 3 the slowest, so its clock falls behind while cut off
RUNTIME=60
CUT_AT=20            # seconds after the start
HEAL_AT=25
SEED0=1000
PORT=7000
NET=10.232.77        # the hosts' subnet, inside the namespaces made here only
NICE=${NICE:--15}    # CPU priority of the whole experiment (nice adjustment)

die() { echo "error: $*" >&2; exit 1; }

[[ $RUNS =~ ^[1-9][0-9]*$ ]] || { echo "error: RUNS must be a positive integer, got '$RUNS'" >&2; exit 2; }
[[ $(uname -s) == Linux ]] || die "needs Linux network namespaces (this is $(uname -s))"
[[ $(id -u) == 0 ]] || die "needs root (it makes network namespaces with ip netns); try sudo $0"
command -v ip >/dev/null || die "needs iproute2 (\`ip\`): apt-get install iproute2"
command -v cargo >/dev/null || die "needs cargo to build target/release/lamport-sim"

# The machine may be shared: run everything (the VMs, ip, the timers) at a
# higher CPU priority, so that a busy machine delays the cut, the heal and
# the VMs' ticks less. Three VMs at a few ticks a second take little CPU.
if [[ -z ${PARTITION_NICED:-} ]]; then
    export PARTITION_NICED=$NICE
    exec nice -n "$NICE" bash "$0" "$@"
fi

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
cargo build --release --quiet
BIN=$ROOT/target/release/lamport-sim
OUT=${PARTITION_OUT:-logs/partition}
[[ $OUT == /* ]] || OUT=$ROOT/$OUT

TAG=p$$
HUB=lsim${TAG}hub
NAMESPACES=()
PIDS=()
PROBE_PID=
SLEEP_PID=

# On any exit: stop the VMs still running (SIGTERM: each stops cleanly),
# then delete every namespace made (with the veths in them) and any veth
# left in this namespace by a set-up cut short between `add` and `netns`.
cleanup() {
    local pid ns i
    [[ -z $PROBE_PID ]] || kill "$PROBE_PID" 2>/dev/null || true
    [[ -z $SLEEP_PID ]] || kill "$SLEEP_PID" 2>/dev/null || true
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    for ns in "${NAMESPACES[@]}"; do ip netns del "$ns" 2>/dev/null || true; done
    for i in 1 2 3; do ip link del "lsv$TAG$i" 2>/dev/null || true; done
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The hub holds the bridge; host i is namespace lsim<TAG>h<i> at NET.i, its
# veth end on the bridge is lse<TAG><i> (the one set down to cut host i off).
make_hosts() {
    ip netns add "$HUB"; NAMESPACES+=("$HUB")
    ip -n "$HUB" link add br0 type bridge
    ip -n "$HUB" link set br0 up
    local i
    for i in 1 2 3; do
        local ns=lsim${TAG}h$i inner=lsv$TAG$i outer=lse$TAG$i
        ip netns add "$ns"; NAMESPACES+=("$ns")
        ip link add "$inner" type veth peer name "$outer"
        ip link set "$inner" netns "$ns"
        ip link set "$outer" netns "$HUB"
        ip -n "$HUB" link set "$outer" master br0 up
        ip -n "$ns" addr add "$NET.$i/24" dev "$inner"
        ip -n "$ns" link set "$inner" up
        ip -n "$ns" link set lo up
    done
}

now() { date -u +%s.%N; }
stamp() { date -u +%Y-%m-%dT%H:%M:%S.%6NZ; }
sleep_until() { # EPOCH_SECONDS
    local left
    # (In awk, `printf ..., a > b` redirects to a file named b: compare in parentheses.)
    left=$(awk -v t="$1" -v n="$(now)" 'BEGIN { d = t - n; printf "%.6f", (d > 0) ? d : 0 }')
    # In the background and waited for: a trapped signal interrupts `wait`
    # at once, where a foreground sleep would first run to its end.
    sleep "$left" &
    SLEEP_PID=$!
    wait "$SLEEP_PID" || true
    SLEEP_PID=
}

# The latest start_at of the three logs, in epoch seconds (VMs started by
# hand each start once connected to all peers: within milliseconds here).
shared_start() { # DIR
    local dir=$1 i line at latest=0 deadline
    deadline=$(awk -v n="$(now)" 'BEGIN { printf "%.0f", n + 60 }')
    for i in 1 2 3; do
        until line=$(grep -m1 -o 'start_at=[^ ]*' "$dir/machine_$i.log" 2>/dev/null); do
            (( $(date +%s) < deadline )) || die "VM $i did not start within 60 s (see $dir/vm$i.err)"
            sleep 0.05
        done
        at=$(date -u -d "${line#start_at=}" +%s.%N)
        latest=$(awk -v a="$at" -v b="$latest" 'BEGIN { printf "%.6f", (a > b) ? a : b }')
    done
    echo "$latest"
}

# PROBE=1: from 1 s before the cut to 4 s after the heal, every 100 ms, what
# VMs 1 and 2's kernels know of VM 3: their neighbour (ARP) entries and their
# TCP sockets (state, retransmission timer), into run_K/probe.txt.
probe() {
    local i
    while true; do
        echo "t=$(stamp)"
        for i in 1 2; do
            ip -n "lsim${TAG}h$i" neigh show to "$NET.3" | sed "s/^/h$i neigh /"
            ip netns exec "lsim${TAG}h$i" ss -tnoH dst "$NET.3" | sed "s/^/h$i tcp /"
        done
        sleep 0.1
    done
}

one_run() { # K
    local k=$1 dir=$OUT/run_$1 seed=$((SEED0 + $1 - 1)) i j
    # (Called as `one_run K || status=1`, so set -e does not apply in here:
    # every step that matters checks for itself.)
    rm -rf "$dir"; mkdir -p "$dir" || die "cannot make $dir"
    PIDS=()
    LAMPORT_SECRET=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
    export LAMPORT_SECRET
    for i in 1 2 3; do
        local args=(vm --id "$i" --listen "$NET.$i:$PORT" --rate "${RATES[i-1]}"
            --runtime "$RUNTIME" --seed "$seed" --run "partition-$k" --logs "$dir")
        for j in 1 2 3; do
            (( j == i )) || args+=(--peer "$j=$NET.$j:$PORT")
        done
        ip netns exec "lsim${TAG}h$i" "$BIN" "${args[@]}" </dev/null >/dev/null 2>"$dir/vm$i.err" &
        PIDS+=($!)
    done
    local t0
    t0=$(shared_start "$dir") || exit 1
    [[ $t0 =~ ^[0-9]+\.[0-9]+$ ]] || die "no start instant in $dir (got '$t0')"
    {
        echo "start $(date -u -d "@$t0" +%Y-%m-%dT%H:%M:%S.%6NZ) (latest start_at of the three) load $(cut -d' ' -f1-3 /proc/loadavg)"
        # Each fault line: the instant the ip command began, the instant it
        # returned (on a loaded machine the two can be seconds apart).
        local before
        if [[ -n ${PROBE:-} ]]; then
            sleep_until "$(awk -v t="$t0" -v d="$CUT_AT" 'BEGIN { printf "%.6f", t + d - 1 }')"
            probe >"$dir/probe.txt" 2>&1 &
            PROBE_PID=$!
        fi
        sleep_until "$(awk -v t="$t0" -v d="$CUT_AT" 'BEGIN { printf "%.6f", t + d }')"
        before=$(stamp)
        ip -n "$HUB" link set "lse${TAG}3" down || die "cannot cut VM 3 off"
        echo "cut $before $(stamp) ip -n HUB link set VM3-bridge-veth down"
        sleep_until "$(awk -v t="$t0" -v d="$HEAL_AT" 'BEGIN { printf "%.6f", t + d }')"
        before=$(stamp)
        ip -n "$HUB" link set "lse${TAG}3" up || die "cannot heal VM 3's link"
        echo "heal $before $(stamp) ip -n HUB link set VM3-bridge-veth up"
        if [[ -n $PROBE_PID ]]; then
            sleep_until "$(awk -v t="$t0" -v d="$HEAL_AT" 'BEGIN { printf "%.6f", t + d + 4 }')"
            kill "$PROBE_PID" 2>/dev/null || true
            wait "$PROBE_PID" 2>/dev/null || true
            PROBE_PID=
SLEEP_PID=
        fi
    } >"$dir/faults.txt" || exit 1
    local failed=0 code
    for i in 1 2 3; do
        code=0; wait "${PIDS[i-1]}" || code=$?
        echo "run $k: vm $i exit $code"
        (( code == 0 )) || failed=1
    done
    PIDS=()
    echo "end $(stamp) load $(cut -d' ' -f1-3 /proc/loadavg)" >>"$dir/faults.txt"
    "$BIN" verify "$dir" >"$dir/verify.txt" 2>&1 || failed=1
    cat "$dir/verify.txt"
    return $failed
}

make_hosts
mkdir -p "$OUT"
echo "${PROBE:+PROBE=$PROBE }${PARTITION_OUT:+PARTITION_OUT=$PARTITION_OUT }sudo -E bench/partition.sh $RUNS   # rates ${RATES[*]}, runtime $RUNTIME s, VM 3 cut off from $CUT_AT s to $HEAL_AT s, seeds $SEED0.., nice $NICE; $(date -u +%FT%TZ), load $(cut -d' ' -f1-3 /proc/loadavg)" >"$OUT/command.txt"
status=0
for ((k = 1; k <= RUNS; k++)); do
    one_run "$k" || status=1
done
exit $status
