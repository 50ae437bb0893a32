#!/bin/sh
# bridged .deb/.rpm postinstall: the service account, the journal directory,
# the config's group, and the systemd unit.
#   deb: postinst configure [old-version]     rpm: %post 1 (install) | 2 (upgrade)
# Every path is under $DPKG_ROOT, which dpkg sets for `dpkg --root`: CI
# installs the package into a throwaway root that way. It is empty otherwise.
set -e

root="${DPKG_ROOT:-}"
user=bridged

case "$1" in
configure) if [ -n "$2" ]; then action=upgrade; else action=install; fi ;;
1) action=install ;;
2) action=upgrade ;;
*) exit 0 ;; # abort-upgrade, abort-remove, ...: nothing was undone
esac

has_user() {
	if [ -n "$root" ]; then
		grep -q "^$user:" "$root/etc/passwd" 2>/dev/null
	else
		getent passwd "$user" >/dev/null
	fi
}

# id_of passwd|group: the numeric id of the service account inside $root.
id_of() {
	if [ -n "$root" ]; then
		awk -F: -v n="$user" '$1 == n { print $3 }' "$root/etc/$1"
	elif [ "$1" = passwd ]; then
		id -u "$user"
	else
		getent group "$user" | cut -d: -f3
	fi
}

# The service account: a system user and group, no login, no home of its own
# (the same as `bridged install` creates).
if ! has_user; then
	if [ -n "$root" ]; then
		useradd --prefix "$root" --system --user-group --home-dir /var/lib/bridged --no-create-home --shell /usr/sbin/nologin --comment "bridged payment bridge" bridged
	else
		useradd --system --user-group --home-dir /var/lib/bridged --no-create-home --shell /usr/sbin/nologin --comment "bridged payment bridge" bridged
	fi
fi
uid=$(id_of passwd)
gid=$(id_of group)

# The journal directory. systemd (StateDirectory=) creates it too; making it
# here shows where the journal lives from the start. An existing one, with
# its journal, is never touched.
if [ ! -d "$root/var/lib/bridged" ]; then
	mkdir -p "$root/var/lib/bridged"
	chown "$uid:$gid" "$root/var/lib/bridged"
	chmod 0700 "$root/var/lib/bridged"
fi

# The config holds credentials: root may write it, the service may read it.
if [ -f "$root/etc/bridged/bridged.yaml" ]; then
	chown "0:$gid" "$root/etc/bridged/bridged.yaml"
	chmod 0640 "$root/etc/bridged/bridged.yaml"
fi

# systemd: enabled on first install (starts on boot); not started until the
# config is filled in. An upgrade restarts it only if it was running, and
# leaves the enablement as the administrator set it.
# bridged.socket holds the API's port for the service (the service requires
# it, so an upgrade from a version without it brings it up on the restart).
if [ -n "$root" ]; then
	if [ "$action" = install ]; then
		systemctl --root="$root" enable bridged.socket bridged.service
	fi
elif [ -d /run/systemd/system ]; then
	systemctl daemon-reload
	if [ "$action" = install ]; then
		systemctl enable bridged.socket bridged.service
	else
		systemctl try-restart bridged.service
	fi
elif command -v systemctl >/dev/null 2>&1 && [ "$action" = install ]; then
	systemctl enable bridged.socket bridged.service || true # a chroot or container without systemd running
fi

if [ "$action" = install ]; then
	cat <<'MSG'

bridged is installed and enabled (it starts on boot). Before starting it:
  1. Edit /etc/bridged/bridged.yaml: iyzico credentials, terminals, an API key for the ECR.
  2. Check it:  bridged check-config -c /etc/bridged/bridged.yaml
  3. Start it:  systemctl start bridged   (logs: journalctl -u bridged)
The journal lives in /var/lib/bridged. See /usr/share/doc/bridged/install.md.

MSG
fi
exit 0
