#!/usr/bin/env bash
# Runs a private libvirtd (as root) whose whole state lives in <dir>, leaving the system's
# libvirt untouched: in a new mount namespace, <dir>/{etc,run,lib,log,cache} are bound over
# /etc/libvirt, /run/libvirt, /var/lib/libvirt, /var/log/libvirt and /var/cache/libvirt, and
# a copy of /etc/passwd and /etc/group gains the libvirt-qemu user libvirt 9 resolves at
# start (QEMU itself runs as root: user = "root" in qemu.conf). Clients reach it at
#   qemu:///system?socket=<dir>/run/libvirt-sock
# The script execs libvirtd, so its pid is libvirtd's (kill -9 it to simulate a crash; run
# the script again on the same <dir> to restart: running guests are picked up again).
# Usage: scripts/private-libvirtd.sh <dir>
set -euo pipefail
dir="$(realpath "${1:?usage: private-libvirtd.sh <dir>}")"
mkdir -p "$dir"/{etc,run,lib,log,cache}
[ -f "$dir/etc/libvirtd.conf" ] || cat > "$dir/etc/libvirtd.conf" <<'CONF'
listen_tls = 0
listen_tcp = 0
unix_sock_rw_perms = "0700"
auth_unix_ro = "none"
auth_unix_rw = "none"
log_outputs = "3:stderr"
CONF
# No security driver, cgroups or private namespaces: this runs inside containers too.
# stdio_handler = "file": QEMU writes serial logs itself (no virtlogd to start).
[ -f "$dir/etc/qemu.conf" ] || cat > "$dir/etc/qemu.conf" <<CONF
# VNC ports from \$VNC_PORT_MIN: two private daemons on one machine would otherwise race for 5900.
remote_display_port_min = ${VNC_PORT_MIN:-5900}
remote_display_port_max = $(( ${VNC_PORT_MIN:-5900} + 999 ))
user = "root"
group = "root"
dynamic_ownership = 0
remember_owner = 0
security_driver = "none"
namespaces = []
cgroup_controllers = []
stdio_handler = "file"
CONF
if [ -z "${POLYVISOR_LIBVIRTD_IN_NS:-}" ]; then
  export POLYVISOR_LIBVIRTD_IN_NS=1
  exec unshare -m --propagation private "$0" "$dir"
fi
cp /etc/passwd "$dir/passwd"; cp /etc/group "$dir/group"
grep -q '^libvirt-qemu:' "$dir/passwd" || echo 'libvirt-qemu:x:64055:64055:Libvirt Qemu:/var/lib/libvirt:/usr/sbin/nologin' >> "$dir/passwd"
grep -q '^libvirt-qemu:' "$dir/group" || echo 'libvirt-qemu:x:64055:' >> "$dir/group"
grep -q '^kvm:' "$dir/group" || echo 'kvm:x:64056:' >> "$dir/group"
mount --bind "$dir/passwd" /etc/passwd
mount --bind "$dir/group" /etc/group
for p in etc:/etc/libvirt run:/run/libvirt lib:/var/lib/libvirt log:/var/log/libvirt cache:/var/cache/libvirt; do
  mkdir -p "${p#*:}"
  mount --bind "$dir/${p%%:*}" "${p#*:}"
done
# Its own pid file too: the default /run/libvirtd.pid is shared, so two private daemons would clash.
exec libvirtd -f /etc/libvirt/libvirtd.conf -p /run/libvirt/libvirtd.pid
