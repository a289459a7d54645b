#!/usr/bin/env bash
# A real single-node Slurm for the tests: munge, MariaDB + slurmdbd (so `sacct` works, as on real
# clusters, and the Snakemake slurm plugin's status polling does not hang), slurmctld, slurmd,
# and two fake GPUs through GRES. Debian packages; root; no systemd needed.
#
#   .ci/slurm.sh start    install if needed, start everything, wait until the node is idle
#   .ci/slurm.sh stop     stop every daemon this script started
#   .ci/slurm.sh status   sinfo + sacct, exit 1 if Slurm is not answering
#
# State, spool and logs live under $SLURM_CI_DIR (default /tmp/mathforge-slurm).
set -euo pipefail

DIR=${SLURM_CI_DIR:-/tmp/mathforge-slurm}
HOST=$(hostname -s)
CPUS=$(nproc)
MEM_MB=$(($(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 - 1024))
PACKAGES=(slurmctld slurmd slurm-client munge slurmdbd mariadb-server)

log() { echo "[slurm.sh] $*" >&2; }

wait_for() { # wait_for <seconds> <what> <command...>
    local deadline=$((SECONDS + $1)) what=$2
    shift 2
    until "$@" >/dev/null 2>&1; do
        if ((SECONDS > deadline)); then
            log "timed out waiting for $what"
            return 1
        fi
        sleep 0.5
    done
}

install() {
    local missing=()
    for p in "${PACKAGES[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
    if ((${#missing[@]})); then
        log "installing ${missing[*]}"
        export DEBIAN_FRONTEND=noninteractive
        apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null 2>&1 ||
            { apt-get update -qq && apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null; }
    fi
}

start_munge() {
    pgrep -x munged >/dev/null && return
    [ -s /etc/munge/munge.key ] || { mungekey --create --force 2>/dev/null || dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 2>/dev/null; }
    chown munge:munge /etc/munge/munge.key && chmod 400 /etc/munge/munge.key
    mkdir -p /run/munge /var/log/munge /var/lib/munge
    chown munge:munge /run/munge /var/log/munge /var/lib/munge
    runuser -u munge -- /usr/sbin/munged
    wait_for 10 munged munge -n
}

start_accounting() {
    if ! pgrep -x mariadbd >/dev/null; then
        mkdir -p /run/mysqld && chown mysql:mysql /run/mysqld
        [ -d /var/lib/mysql/mysql ] || mariadb-install-db --user=mysql >/dev/null 2>&1
        (/usr/sbin/mariadbd --user=mysql >"$DIR/log/mariadb.log" 2>&1 &)
        wait_for 30 MariaDB mariadb -e "SELECT 1"
    fi
    mariadb -e "CREATE USER IF NOT EXISTS 'slurm'@'localhost' IDENTIFIED BY 'slurm';
                GRANT ALL ON slurm_acct_db.* TO 'slurm'@'localhost'; FLUSH PRIVILEGES;"
    cat >/etc/slurm/slurmdbd.conf <<EOF
AuthType=auth/munge
DbdHost=localhost
SlurmUser=root
StorageType=accounting_storage/mysql
StorageHost=localhost
StorageUser=slurm
StoragePass=slurm
StorageLoc=slurm_acct_db
LogFile=$DIR/log/slurmdbd.log
PidFile=$DIR/slurmdbd.pid
EOF
    chmod 600 /etc/slurm/slurmdbd.conf
    pgrep -x slurmdbd >/dev/null || /usr/sbin/slurmdbd
    wait_for 30 "slurmdbd on port 6819" bash -c "exec 3<>/dev/tcp/127.0.0.1/6819"
}

write_slurm_conf() {
    mkdir -p "$DIR/gres"
    for i in 0 1; do [ -e "$DIR/gres/nvidia$i" ] || mknod "$DIR/gres/nvidia$i" c 1 3; done
    echo "Name=gpu File=$DIR/gres/nvidia[0-1]" >/etc/slurm/gres.conf
    cat >/etc/slurm/slurm.conf <<EOF
ClusterName=mathforge
SlurmctldHost=$HOST(127.0.0.1)
SlurmUser=root
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
ReturnToService=2
DefMemPerCPU=1000
MinJobAge=300
SchedulerType=sched/backfill
GresTypes=gpu
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
JobAcctGatherType=jobacct_gather/none
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
SlurmctldPidFile=$DIR/slurmctld.pid
SlurmdPidFile=$DIR/slurmd.pid
NodeName=$HOST NodeAddr=127.0.0.1 CPUs=$CPUS RealMemory=$MEM_MB Gres=gpu:2 State=UNKNOWN
PartitionName=cpu Nodes=$HOST Default=YES MaxTime=INFINITE State=UP
PartitionName=gpu Nodes=$HOST MaxTime=INFINITE State=UP
EOF
}

start() {
    install
    mkdir -p "$DIR"/{state,spool,log}
    start_munge
    start_accounting
    write_slurm_conf
    pgrep -x slurmctld >/dev/null || /usr/sbin/slurmctld
    wait_for 30 slurmctld scontrol ping
    pgrep -x slurmd >/dev/null || /usr/sbin/slurmd
    wait_for 60 "an idle node" bash -c "sinfo -h -o %t | grep -qx idle"
    sacctmgr -i add account root >/dev/null 2>&1 || true
    sacctmgr -i add user root account=root >/dev/null 2>&1 || true
    wait_for 30 sacct sacct -n -X
    log "Slurm is up: $(sinfo -h -o '%P %t %c cpus %m MB %G' | tr '\n' ';')"
}

stop() {
    scontrol shutdown >/dev/null 2>&1 || true
    for daemon in slurmd slurmctld slurmdbd; do pkill -x "$daemon" 2>/dev/null || true; done
    mariadb-admin shutdown >/dev/null 2>&1 || pkill -x mariadbd 2>/dev/null || true
    pkill -x munged 2>/dev/null || true
    log "stopped"
}

status() {
    sinfo && sacct -n -X --starttime=now-1hour | tail -5
}

case "${1:-}" in
start) start ;;
stop) stop ;;
status) status ;;
*)
    echo "usage: $0 start|stop|status" >&2
    exit 2
    ;;
esac
