#!/usr/bin/env bash
# The real metadata stores the gateway tests run: Debian's etcd-server and
# PostgreSQL. Installed once (as root, or with sudo) and reused; the tests
# start their own instances on 127.0.0.1 with random ports and temporary
# data directories (PostgreSQL as its own user, never as root).
set -euo pipefail
need=()
[ -x /usr/bin/etcd ] || need+=(etcd-server)
ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || need+=(postgresql)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -eq 0 ]; then sudo=(); elif command -v sudo >/dev/null 2>&1; then sudo=(sudo); else
  echo "[stores setup] cannot install ${need[*]}: not root and no sudo; the gateway tests will say what is missing" >&2
  exit 0
fi
echo "[stores setup] installing Debian packages: ${need[*]} (apt-get update first)"
# Several test runs may start at once: one apt at a time.
exec 9>/tmp/cluster-debugger-apt.lock
flock 9
"${sudo[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
# Debian starts a cluster-wide PostgreSQL on install; the tests run their own.
if command -v pg_ctlcluster >/dev/null 2>&1; then "${sudo[@]}" pg_ctlcluster --force 15 main stop 2>/dev/null || true; fi
echo "[stores setup] done"
