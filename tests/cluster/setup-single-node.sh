#!/usr/bin/env bash
# Bring up a single-node SLURM cluster on loopback (Debian 12, as root): the project's copy of
# ../shared/slurm/setup-single-node.sh, used by tests/test_slurm.py and by hand:
#   bash tests/cluster/setup-single-node.sh               # slurmctld + slurmd, no accounting (squeue)
#   ACCOUNTING=1 bash tests/cluster/setup-single-node.sh  # also mariadb + slurmdbd, so sacct works
#   bash tests/cluster/teardown.sh                        # stop what this script started
# Env: BASE (state/log/pid dir, default /tmp/slurm-ci), PARTITION (default debug), OVERSUBSCRIBE
# (default NO; FORCE:N lets N jobs share each CPU, as tests/test_slurm.py does on a 2-core machine).
# Pitfalls it handles (measured, see docs/cluster.md):
#  - slurm.conf MUST be /etc/slurm/slurm.conf: snakemake-executor-plugin-slurm-jobstep strips SLURM_*
#    (SLURM_CONF too) from the env of its nested srun, which then finds no configuration.
#  - without slurmdbd, sacct fails: profiles must use `slurm-status-command: squeue`, and finished jobs
#    must stay visible to squeue long enough: MinJobAge >= 3x the plugin's initial status interval
#    (300 s suffices); 3600 here, so tests can still read every finished job's state after a run.
set -euo pipefail
BASE=${BASE:-/tmp/slurm-ci}
PARTITION=${PARTITION:-debug}
ACCOUNTING=${ACCOUNTING:-0}
export DEBIAN_FRONTEND=noninteractive

log() { echo "[$(date +%T)] $*"; }
wait_for() { # wait_for SECONDS CMD...
  local n=$(( $1 * 2 )); shift
  for _ in $(seq "$n"); do "$@" >/dev/null 2>&1 && return 0; sleep 0.5; done
  echo "timeout waiting for: $*" >&2; return 1
}
alive() { [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

[ "$(id -u)" = 0 ] || { echo "setup-single-node.sh must run as root" >&2; exit 2; }
mkdir -p "$BASE"/{state/ctld,state/d,run,log}

# Daemons left by an earlier run of this script (same BASE) are stopped; anyone else's are refused,
# since they hold the ports.
for d in slurmd slurmctld slurmdbd; do
  if alive "$BASE/run/$d.pid"; then kill "$(cat "$BASE/run/$d.pid")"; sleep 1; fi
done
if pgrep -x slurmctld >/dev/null || pgrep -x slurmd >/dev/null; then
  echo "a SLURM daemon not started from BASE=$BASE is running (ports 6817/6818 taken)" >&2; exit 3
fi

log "apt-get install"
pkgs="slurm-wlm munge"
[ "$ACCOUNTING" = 1 ] && pkgs="$pkgs slurmdbd mariadb-server"
if ! { command -v slurmctld && command -v munged && { [ "$ACCOUNTING" != 1 ] || command -v slurmdbd; }; } >/dev/null; then
  apt-get update -qq
  apt-get install -y -qq $pkgs >/dev/null
fi

log "munge"
if [ ! -s /etc/munge/munge.key ]; then mungekey --create --keyfile=/etc/munge/munge.key; fi
chown munge:munge /etc/munge /etc/munge/munge.key
chmod 0700 /etc/munge; chmod 0400 /etc/munge/munge.key
mkdir -p /run/munge /var/lib/munge /var/log/munge
chown munge:munge /run/munge /var/lib/munge /var/log/munge
chmod 0755 /run/munge
rm -f "$BASE/run/munged.ours"
if ! munge -n >/dev/null 2>&1; then
  runuser -u munge -- /usr/sbin/munged   # daemonizes; pid in /run/munge/munged.pid
  touch "$BASE/run/munged.ours"          # teardown.sh stops munged only if we started it
fi
wait_for 10 bash -c 'munge -n | unmunge'

rm -rf "$BASE"/state/ctld/* "$BASE"/state/d/*
MEM=$(( $(free -m | awk '/^Mem:/{print $2}') - 1024 ))
CPUS=$(nproc)
if [ "$ACCOUNTING" = 1 ]; then
  ACCT="AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
AccountingStoragePort=6819
JobAcctGatherType=jobacct_gather/linux"
else
  ACCT="AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none"
fi
mkdir -p /etc/slurm
# Never overwrite a real cluster's configuration: only ours or another loopback test cluster's.
if [ -e /etc/slurm/slurm.conf ] && ! grep -q "NodeAddr=127.0.0.1" /etc/slurm/slurm.conf; then
  echo "/etc/slurm/slurm.conf exists and is not a loopback test cluster's: not touching it" >&2; exit 3
fi
cat > /etc/slurm/slurm.conf <<EOC
# written by sysvi-bench tests/cluster/setup-single-node.sh
ClusterName=ci
SlurmctldHost=localhost
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
MpiDefault=none
MailProg=/bin/true
SlurmctldPort=6817
SlurmdPort=6818
StateSaveLocation=$BASE/state/ctld
SlurmdSpoolDir=$BASE/state/d
SlurmctldPidFile=$BASE/run/slurmctld.pid
SlurmdPidFile=$BASE/run/slurmd.pid
SlurmctldLogFile=$BASE/log/slurmctld.log
SlurmdLogFile=$BASE/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=256
ReturnToService=2
MinJobAge=3600
$ACCT
JobCompType=jobcomp/none
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$CPUS RealMemory=$MEM State=UNKNOWN
PartitionName=$PARTITION Nodes=ALL Default=YES MaxTime=INFINITE State=UP OverSubscribe=${OVERSUBSCRIBE:-NO}
EOC

if [ "$ACCOUNTING" = 1 ]; then
  log "mariadb + slurmdbd"
  rm -f "$BASE/run/mariadb.ours"
  if ! mysqladmin ping >/dev/null 2>&1; then
    /etc/init.d/mariadb start
    touch "$BASE/run/mariadb.ours"
  fi
  wait_for 30 mysqladmin ping
  mysql -u root <<'EOSQL'
CREATE DATABASE IF NOT EXISTS slurm_acct_db;
CREATE USER IF NOT EXISTS 'slurm'@'localhost' IDENTIFIED BY 'slurmpw';
GRANT ALL ON slurm_acct_db.* TO 'slurm'@'localhost';
FLUSH PRIVILEGES;
EOSQL
  cat > /etc/slurm/slurmdbd.conf <<EOC
AuthType=auth/munge
DbdHost=localhost
DbdPort=6819
SlurmUser=root
LogFile=$BASE/log/slurmdbd.log
PidFile=$BASE/run/slurmdbd.pid
StorageType=accounting_storage/mysql
StorageHost=localhost
StorageLoc=slurm_acct_db
StorageUser=slurm
StoragePass=slurmpw
EOC
  chmod 600 /etc/slurm/slurmdbd.conf   # slurmdbd refuses a world-readable file
  /usr/sbin/slurmdbd
  wait_for 30 sacctmgr -n show cluster
fi

log "slurmctld + slurmd"
/usr/sbin/slurmctld          # daemonizes
wait_for 30 scontrol ping
/usr/sbin/slurmd -N localhost
wait_for 60 bash -c "sinfo -h -o %T | grep -qx idle"

if [ "$ACCOUNTING" = 1 ]; then
  wait_for 30 bash -c "sacctmgr -n show cluster format=cluster | grep -qw ci"
  sacctmgr -i add account ci Cluster=ci Description=ci Organization=ci >/dev/null || true
  sacctmgr -i add user root Account=ci >/dev/null || true
fi

log "smoke test"
out=$(mktemp -d)
jid=$(sbatch --parsable -o "$out/%j.out" --wrap 'hostname; echo smoke-ok')
wait_for 60 bash -c "squeue -h -j $jid -t all -o %T | grep -qx COMPLETED"
grep -q smoke-ok "$out/$jid.out"
rm -rf "$out"
sinfo
log "SLURM up (pids: slurmctld $(cat "$BASE/run/slurmctld.pid"), slurmd $(cat "$BASE/run/slurmd.pid"), munged $(cat /run/munge/munged.pid))"
