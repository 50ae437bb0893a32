#!/bin/sh
# bridged .deb/.rpm preremove: stop and disable the service when the package
# goes away for good; an upgrade keeps it running until postinstall restarts
# it with the new binary.
#   deb: prerm remove | upgrade | ...     rpm: %preun 0 (erase) | 1 (upgrade)
set -e

root="${DPKG_ROOT:-}"

case "$1" in
remove | 0) ;;
*) exit 0 ;;
esac

if [ -n "$root" ]; then
	systemctl --root="$root" disable bridged.service bridged.socket
elif [ -d /run/systemd/system ]; then
	# bridged drains before it exits: whatever is in flight is journaled.
	systemctl disable --now bridged.service bridged.socket
elif command -v systemctl >/dev/null 2>&1; then
	systemctl disable bridged.service bridged.socket || true
fi
exit 0
