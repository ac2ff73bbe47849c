#!/usr/bin/env bash
# Bring up a single-node Slurm cluster on this machine, for the Slurm integration test
# (tests/workflow/test_slurm.py) and for trying profiles/slurm without a real cluster.
#
#   sudo bash scripts/slurm-local.sh      # idempotent: does nothing when the cluster is up
#
# Needs root and a Debian/Ubuntu machine (apt). It installs munge, slurmctld, slurmd and
# slurm-client if missing, then starts munged, slurmctld and slurmd directly (no systemd):
# containers and CI machines often run without an init system.
#
# The configuration is the smallest one that runs batch jobs without extra services:
#   - proctrack/linuxproc, task/none, jobacct_gather/none: no cgroups needed;
#   - accounting_storage/none: no slurmdbd, so `sacct` does not work and job states come
#     from `squeue`; MinJobAge=3600 keeps finished jobs visible to `squeue` for an hour,
#     long enough for Snakemake's executor to see them complete (it needs at least 3x its
#     first status-check delay) and for the test to list every job of its run;
#   - no GPU gres: the node has no GPUs, so a test maps the workflow's GPU requests to 0.
# The node line (CPUs, sockets, memory) comes from `slurmd -C`, i.e. this machine.
#
# Environment: SLURM_LOCAL_PARTITION (default: debug), SLURM_LOCAL_TIMEOUT (seconds to wait
# for the node to become idle, default: 60).
set -euo pipefail

PARTITION=${SLURM_LOCAL_PARTITION:-debug}
TIMEOUT=${SLURM_LOCAL_TIMEOUT:-60}
CONF_DIR=/etc/slurm
CONF=$CONF_DIR/slurm.conf
MARKER="# Written by scripts/slurm-local.sh (mvprepro single-node test cluster)"

log() { echo "slurm-local: $*" >&2; }
die() {
  log "error: $*"
  exit 1
}

node_state() { sinfo --noheader --Node --format=%t 2>/dev/null | head -n1 | tr -d '*~#!%$@^-' || true; }

cluster_up() {
  command -v sinfo >/dev/null 2>&1 || return 1
  scontrol ping 2>/dev/null | grep -q "is UP" || return 1
  case "$(node_state)" in
    idle | mix | alloc | comp) return 0 ;;
    *) return 1 ;;
  esac
}

if [ "$(id -u)" -ne 0 ]; then
  # Without root nothing can be installed or (re)started, but a running cluster will do.
  if cluster_up; then
    log "cluster already up ($(sinfo --noheader --format='%P %D %t' | head -n1))"
    exit 0
  fi
  die "must run as root (it installs packages and starts system daemons)"
fi

# ---------------------------------------------------------------- packages
missing=()
for cmd in munged slurmctld slurmd sbatch; do
  command -v "$cmd" >/dev/null 2>&1 || missing+=("$cmd")
done
if [ ${#missing[@]} -gt 0 ]; then
  command -v apt-get >/dev/null 2>&1 || die "missing ${missing[*]} and no apt-get to install them"
  log "installing munge slurmctld slurmd slurm-client (missing: ${missing[*]})"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # Package scripts may try to start the services; without an init system that fails
  # harmlessly (we start the daemons ourselves below).
  apt-get install -y -qq --no-install-recommends munge slurmctld slurmd slurm-client >/dev/null
fi

# ---------------------------------------------------------------- munge
id munge >/dev/null 2>&1 || die "the munge package did not create the munge user"
install -d -o munge -g munge -m 0700 /etc/munge /var/lib/munge /var/log/munge
install -d -o munge -g munge -m 0755 /run/munge
if [ ! -s /etc/munge/munge.key ]; then
  log "creating /etc/munge/munge.key"
  if command -v mungekey >/dev/null 2>&1; then
    mungekey --create --keyfile=/etc/munge/munge.key
  else
    dd if=/dev/urandom of=/etc/munge/munge.key bs=1 count=1024 status=none
  fi
fi
chown munge:munge /etc/munge/munge.key
chmod 0400 /etc/munge/munge.key
if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
  log "starting munged"
  rm -f /run/munge/munged.pid
  # munged refuses to run as root; it daemonizes itself.
  runuser -u munge -- /usr/sbin/munged
  for _ in $(seq 1 20); do
    munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && break
    sleep 0.5
  done
  munge -n | unmunge >/dev/null || die "munged does not answer"
fi

# ---------------------------------------------------------------- slurm.conf
HOST=$(hostname -s)
# First line of `slurmd -C`: NodeName=<host> CPUs=.. Boards=.. ... RealMemory=..
NODE_LINE=$(slurmd -C | head -n1)
case "$NODE_LINE" in
  NodeName=*) ;;
  *) die "unexpected output of slurmd -C: $NODE_LINE" ;;
esac

if [ -e "$CONF" ] && ! grep -qF "$MARKER" "$CONF"; then
  die "$CONF exists and was not written by this script; refusing to overwrite it"
fi

NEW_CONF=$(
  cat <<EOF
$MARKER
ClusterName=mvprepro
SlurmctldHost=$HOST
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CryptoType=crypto/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
ReturnToService=2
MinJobAge=3600
StateSaveLocation=/var/lib/slurm/slurmctld
SlurmdSpoolDir=/var/lib/slurm/slurmd
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
$NODE_LINE State=UNKNOWN
PartitionName=$PARTITION Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
)

if cluster_up && [ "$(cat "$CONF" 2>/dev/null)" = "$NEW_CONF" ]; then
  log "cluster already up ($(sinfo --noheader --format='%P %D %t' | head -n1))"
  exit 0
fi

install -d -m 0755 "$CONF_DIR" /var/lib/slurm /var/log/slurm
install -d -m 0700 /var/lib/slurm/slurmctld /var/lib/slurm/slurmd
printf '%s\n' "$NEW_CONF" >"$CONF"

# ---------------------------------------------------------------- daemons
# Restart from a clean slate: a running slurmctld holds an older configuration.
for daemon in slurmctld slurmd; do
  pid=$(cat "/run/$daemon.pid" 2>/dev/null || true)
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    log "stopping $daemon (pid $pid)"
    kill "$pid"
    for _ in $(seq 1 20); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.5
    done
  fi
done

log "starting slurmctld and slurmd on $HOST"
# -c: start without saved state (jobs of an earlier cluster); both daemonize themselves.
slurmctld -c
for _ in $(seq 1 20); do
  scontrol ping 2>/dev/null | grep -q "is UP" && break
  sleep 0.5
done
slurmd

deadline=$((SECONDS + TIMEOUT))
while [ $SECONDS -lt $deadline ]; do
  state=$(node_state)
  case "$state" in
    idle | mix | alloc) break ;;
    down | drain | drng | fail) scontrol update NodeName="$HOST" State=RESUME 2>/dev/null || true ;;
  esac
  sleep 1
done
if ! cluster_up; then
  tail -n 20 /var/log/slurm/slurmctld.log /var/log/slurm/slurmd.log >&2 || true
  die "node $HOST did not become idle within ${TIMEOUT}s (state: $(node_state))"
fi
log "cluster up: $(sinfo --noheader --format='partition %P, %D node(s), %c CPUs, %m MB, %t' | head -n1)"
