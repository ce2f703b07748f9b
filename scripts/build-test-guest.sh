#!/usr/bin/env bash
# Builds the tiny bootable guest the libvirt tests and bench/libvirt boot: Debian's cloud
# kernel and a busybox initramfs on a FAT disk made bootable by syslinux (no loop device,
# no root mount: mtools writes the files). Its init prints a marker line on the serial
# console, and the same on the VGA console (tty0: the kernel writes to both, the serial one
# last so it stays /dev/console), and powers off when the ACPI power button is pressed (so
# graceful shutdown and soft reboot can be tested).
# Usage: scripts/build-test-guest.sh <output.raw>   (rebuilt only when missing)
set -euo pipefail
out="${1:?usage: build-test-guest.sh <output.raw>}"
[ -s "$out" ] && exit 0
kernel="$(ls /boot/vmlinuz-*-cloud-amd64 2>/dev/null | sort -V | tail -1)"
[ -n "$kernel" ] || { echo "build-test-guest: no /boot/vmlinuz-*-cloud-amd64 (install linux-image-cloud-amd64)" >&2; exit 1; }
kver="${kernel#/boot/vmlinuz-}"
work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
root="$work/root"
mkdir -p "$root"/{bin,sbin,dev,proc,sys,lib/modules,etc}
cp /bin/busybox "$root/bin/busybox"
for m in kernel/drivers/acpi/button.ko kernel/drivers/input/evdev.ko; do
  src="/lib/modules/$kver/$m"
  if [ -f "$src" ]; then cp "$src" "$root/lib/modules/"; elif [ -f "$src.xz" ]; then xz -dc "$src.xz" > "$root/lib/modules/$(basename "$m")"; fi
done
cat > "$root/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev 2>/dev/null
for m in /lib/modules/*.ko; do insmod "$m" 2>/dev/null; done
# The ACPI power button (libvirt's shutdown): any event from it powers the guest off. The
# device is opened before the marker is printed, so a shutdown asked right after boot is seen.
for d in /sys/class/input/event*; do
  if [ "$(cat "$d/device/name" 2>/dev/null)" = "Power Button" ]; then
    ev="/dev/input/$(basename "$d")"
    while [ ! -c "$ev" ]; do sleep 0.1; done
    exec 3<"$ev"
    # Power off only once an event was really read (never on a read error).
    ( [ "$(dd bs=24 count=1 <&3 2>/dev/null | wc -c)" -ge 24 ] || exit 0
      echo "POLYVISOR-GUEST-POWEROFF" > /dev/ttyS0; poweroff -f ) &
    break
  fi
done
boot_id="$(cat /proc/sys/kernel/random/boot_id)"
echo "POLYVISOR-GUEST-BOOTED $boot_id" > /dev/ttyS0
# The same on the VGA console (tty0), for VNC consoles and their screenshots.
{ printf '\n  Polyvisor test guest\n  POLYVISOR-GUEST-BOOTED %s\n  kernel %s, busybox init\n  consoles: tty0 (VGA, VNC) and ttyS0 (serial)\n' "$boot_id" "$(uname -r)"; } > /dev/tty0 2>/dev/null
while true; do sleep 3600; done
INIT
chmod +x "$root/init"
(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) > "$work/initrd.gz"
cat > "$work/syslinux.cfg" <<'CFG'
DEFAULT guest
TIMEOUT 0
PROMPT 0
LABEL guest
  KERNEL vmlinuz
  APPEND initrd=initrd.gz console=tty0 console=ttyS0 quiet panic=-1
CFG
size_kb=$(( ( $(stat -c %s "$kernel") + $(stat -c %s "$work/initrd.gz") ) / 1024 + 4096 ))
mkfs.vfat -C "$work/disk.raw" "$size_kb" >/dev/null
mcopy -i "$work/disk.raw" "$kernel" ::vmlinuz
mcopy -i "$work/disk.raw" "$work/initrd.gz" ::initrd.gz
mcopy -i "$work/disk.raw" "$work/syslinux.cfg" ::syslinux.cfg
syslinux --install "$work/disk.raw"
mkdir -p "$(dirname "$out")"
mv "$work/disk.raw" "$out"
