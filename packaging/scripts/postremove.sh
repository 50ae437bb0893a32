#!/bin/sh
# bridged .deb/.rpm postremove. The journal in /var/lib/bridged is kept on
# remove AND on purge: it is the record of every payment, and nothing about
# uninstalling software should destroy it. The service account stays too, as
# it owns those files.
#   deb: postrm remove | purge | upgrade | ...     rpm: %postun 0 (erase) | 1 (upgrade)
set -e

root="${DPKG_ROOT:-}"

case "$1" in
remove | 0) ;;
purge)
	# dpkg has removed the config file it owns; remove what the
	# administrator added beside it (secrets in bridged.env, dpkg leftovers).
	rm -f "$root/etc/bridged/bridged.env" "$root"/etc/bridged/bridged.yaml.dpkg-*
	rmdir "$root/etc/bridged" 2>/dev/null || true
	if [ -d "$root/var/lib/bridged" ]; then
		echo "bridged: the journal in /var/lib/bridged was kept. Back it up; delete it only if you are sure: rm -r /var/lib/bridged"
	fi
	;;
*) exit 0 ;;
esac

if [ -z "$root" ] && [ -d /run/systemd/system ]; then
	systemctl daemon-reload || true
fi
exit 0
