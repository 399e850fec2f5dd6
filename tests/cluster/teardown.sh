#!/usr/bin/env bash
# Stop the daemons started by setup-single-node.sh (same BASE), by their pid files; waits until gone.
BASE=${BASE:-/tmp/slurm-ci}
stop() { # stop NAME PIDFILE
  [ -s "$2" ] || return 0
  local pid; pid=$(cat "$2")
  if kill "$pid" 2>/dev/null; then
    for _ in $(seq 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    echo "stopped $1 ($pid)"
  fi
  rm -f "$2"
}
stop slurmd "$BASE/run/slurmd.pid"
stop slurmctld "$BASE/run/slurmctld.pid"
stop slurmdbd "$BASE/run/slurmdbd.pid"
if [ -e "$BASE/run/mariadb.ours" ]; then /etc/init.d/mariadb stop; rm -f "$BASE/run/mariadb.ours"; fi
if [ -e "$BASE/run/munged.ours" ]; then
  stop munged /run/munge/munged.pid
  rm -f "$BASE/run/munged.ours"
fi
true
