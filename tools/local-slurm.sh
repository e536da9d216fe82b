#!/usr/bin/env bash
# A real single-node SLURM cluster on this machine, for the cluster test and for trying the
# slurm profile before using a real site.
#
#   tools/local-slurm.sh start DIR   install slurm-wlm + munge if missing, write DIR/slurm.conf,
#                                    start munged, slurmctld, slurmd; wait until the node is idle
#   tools/local-slurm.sh stop DIR    stop the daemons started from DIR
#   tools/local-slurm.sh env DIR     print the export line clients (sbatch, squeue) need
#
# Needs root (apt-get, daemons). No accounting database: use `--slurm-no-account` and
# `--slurm-status-command squeue` with the Snakemake executor (sacct cannot answer here).
# The node advertises one GPU as a generic resource (gres) so that jobs asking for a GPU are
# scheduled exactly as on a real GPU node (gres.conf needs a File; /dev/null stands in for the
# device); on a machine without a GPU the job then runs on the CPU.
set -euo pipefail

command=${1:-}
dir=${2:-}
if [[ -z "$command" || -z "$dir" ]]; then
    sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
fi

install_if_missing() {
    if command -v slurmctld >/dev/null && command -v slurmd >/dev/null && command -v sbatch >/dev/null \
        && command -v munged >/dev/null; then
        return
    fi
    echo "local-slurm: installing slurm-wlm and munge from Debian" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends slurmctld slurmd slurm-client munge >/dev/null
}

start_munge() {
    if pgrep -x munged >/dev/null; then
        return
    fi
    if [[ ! -s /etc/munge/munge.key ]]; then
        dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key status=none
    fi
    chown munge:munge /etc/munge/munge.key
    chmod 400 /etc/munge/munge.key
    mkdir -p /run/munge /var/lib/munge /var/log/munge
    chown munge:munge /run/munge /var/lib/munge /var/log/munge
    runuser -u munge -- /usr/sbin/munged
}

write_config() {
    local host cpus memory_mb
    host=$(hostname -s)
    cpus=$(nproc)
    # leave 10 % of memory to the controller, the daemons and the submitting process
    memory_mb=$(awk '/MemTotal/ {printf "%d", $2 / 1024 * 0.9}' /proc/meminfo)
    mkdir -p "$dir/state" "$dir/spool" "$dir/log"
    cat >"$dir/gres.conf" <<GRES
NodeName=$host Name=gpu File=/dev/null
GRES
    cat >"$dir/slurm.conf" <<CONF
ClusterName=videoxai-local
SlurmctldHost=$host
SlurmUser=root
AuthType=auth/munge
CredType=cred/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
GresTypes=gpu
ReturnToService=2
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
SlurmctldTimeout=30
SlurmdTimeout=30
InactiveLimit=0
MinJobAge=600
KillWait=5
NodeName=$host CPUs=$cpus RealMemory=$memory_mb Gres=gpu:1 State=UNKNOWN
PartitionName=local Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
}

# Another cluster's daemons would hold the ports, and clients would silently talk to them.
refuse_foreign_daemons() {
    local daemon pid
    for daemon in slurmctld slurmd; do
        for pid in $(pgrep -x "$daemon" || true); do
            if [[ "$(cat "$dir/$daemon.pid" 2>/dev/null)" != "$pid" ]]; then
                echo "local-slurm: $daemon (pid $pid) from another configuration is running: $(tr '\0' ' ' </proc/"$pid"/cmdline)" >&2
                echo "local-slurm: stop it first (tools/local-slurm.sh stop <its folder>, or kill $pid)" >&2
                exit 1
            fi
        done
    done
}

wait_idle() {
    local deadline=$((SECONDS + 60)) state
    while ((SECONDS < deadline)); do
        state=$(SLURM_CONF="$dir/slurm.conf" sinfo -h -o '%T' 2>/dev/null | head -n1 || true)
        if [[ "$state" == "idle" || "$state" == "mixed" ]]; then
            echo "local-slurm: node $(hostname -s) is $state" >&2
            return 0
        fi
        sleep 1
    done
    echo "local-slurm: node did not become idle within 60 s (state: ${state:-none}); logs in $dir/log" >&2
    tail -n 20 "$dir/log/slurmctld.log" "$dir/log/slurmd.log" >&2 || true
    return 1
}

# The Snakemake SLURM jobstep plugin drops every SLURM_* variable, SLURM_CONF included, before
# its nested srun, so srun inside a job only finds the config at the default path. Link ours
# there while the cluster runs, unless the machine has a configuration of its own.
link_default_config() {
    local name
    mkdir -p /etc/slurm
    for name in slurm.conf gres.conf; do
        if [[ -e /etc/slurm/$name && ! -L /etc/slurm/$name ]]; then
            echo "local-slurm: /etc/slurm/$name exists and is not ours; leaving it (srun inside jobs will use it)" >&2
            continue
        fi
        ln -sfn "$dir/$name" "/etc/slurm/$name"
    done
}

unlink_default_config() {
    local name
    for name in slurm.conf gres.conf; do
        if [[ -L /etc/slurm/$name && "$(readlink "/etc/slurm/$name")" == "$dir/$name" ]]; then
            rm -f "/etc/slurm/$name"
        fi
    done
}

stop_daemons() {
    local pidfile pid
    for pidfile in "$dir/slurmd.pid" "$dir/slurmctld.pid"; do
        if [[ -s "$pidfile" ]]; then
            pid=$(cat "$pidfile")
            kill "$pid" 2>/dev/null || true
            for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
            kill -9 "$pid" 2>/dev/null || true
            rm -f "$pidfile"
        fi
    done
}

case "$command" in
start)
    dir=$(mkdir -p "$dir" && cd "$dir" && pwd)
    install_if_missing
    start_munge
    stop_daemons
    refuse_foreign_daemons
    write_config
    link_default_config
    # SLURM_CONF also tells the daemons where gres.conf is (next to slurm.conf)
    export SLURM_CONF="$dir/slurm.conf"
    # -i: ignore saved state so a restarted test cluster starts from an empty queue
    slurmctld -f "$dir/slurm.conf" -i
    slurmd -f "$dir/slurm.conf"
    wait_idle
    echo "export SLURM_CONF=$dir/slurm.conf"
    ;;
stop)
    dir=$(cd "$dir" && pwd)
    stop_daemons
    unlink_default_config
    ;;
env)
    dir=$(cd "$dir" && pwd)
    echo "export SLURM_CONF=$dir/slurm.conf"
    ;;
*)
    echo "local-slurm: unknown command '$command' (start, stop, env)" >&2
    exit 2
    ;;
esac
