#!/usr/bin/env bash
# Debian packages V-Kube's development and tests use. Installs only what is missing,
# so it is quick when everything is there. Needs root (or sudo) for apt-get.
set -euo pipefail

need=()
command -v openssl >/dev/null || need+=(openssl)
command -v docker-registry >/dev/null || need+=(docker-registry)
command -v htpasswd >/dev/null || need+=(apache2-utils)
# The server binaries (initdb, pg_ctl) live under /usr/lib/postgresql/<version>/bin,
# off PATH; psql alone (postgresql-client) is not enough.
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || need+=(postgresql)
# PyNaCl (Debian's, on the system Python): the reference libsodium that the tests use
# to open the sealed box of GET /userService/{id}.
/usr/bin/python3 -c 'import nacl' 2>/dev/null || need+=(python3-nacl)
# The console's end-to-end tests drive Debian's Chromium (never a downloaded browser).
[ -x /usr/bin/chromium ] || need+=(chromium)
# The real node (region laima): iptables for CNI's host ports, iproute2 for its bridge,
# Debian's static busybox for its images, and libseccomp + pkg-config + gcc to build
# runc (with the seccomp support every V-Kube pod's RuntimeDefault profile needs) and
# the pause program.
PATH="$PATH:/usr/sbin:/sbin"
command -v iptables >/dev/null || need+=(iptables)
# ipset: kube-router's network-policy controller keeps each policy's peers in ipsets.
command -v ipset >/dev/null || need+=(ipset)
command -v ip >/dev/null || need+=(iproute2)
command -v mount >/dev/null || need+=(mount)
# (Debian's plain busybox is dynamic and would not run in an empty image.)
[ -x /bin/busybox ] && ! LC_ALL=C readelf -l /bin/busybox 2>/dev/null | grep -q 'program interpreter' || need+=(busybox-static)
[ -e /usr/include/seccomp.h ] || need+=(libseccomp-dev)
command -v pkg-config >/dev/null || need+=(pkg-config)
command -v gcc >/dev/null || need+=(gcc)
[ -e /usr/lib/x86_64-linux-gnu/libc.a ] || compgen -G '/usr/lib/*/libc.a' >/dev/null || need+=(libc6-dev)

if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
echo "installing Debian packages: ${need[*]}"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}"
