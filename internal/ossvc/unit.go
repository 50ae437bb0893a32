package ossvc

import "fmt"

// The systemd service account and the directories the hardened unit lets it
// write. The .deb/.rpm and `bridged install` create the same account.
const (
	serviceUser      = "bridged"
	systemdStateDir  = "/var/lib/bridged"
	systemdLogsDir   = "/var/log/bridged"
	systemdPlatform  = "linux-systemd"   // kardianos/service's name for systemd
	windowsPlatform  = "windows-service" // and for the Windows SCM
	unitExecTemplate = `ExecStart={{Path | cmdEscape}}{{range Arguments}} {{. | cmd}}{{end}}`
)

// systemdUnit is the unit `bridged install` writes on systemd. It is
// packaging/systemd/bridged.service (what the .deb and .rpm install) with
// kardianos/service's ExecStart line, so both install paths give the same
// service; TestSystemdUnitMatchesPackagedUnit keeps the two in sync.
const systemdUnit = `# bridged as a systemd service: the same unit comes with the .deb/.rpm
# (/usr/lib/systemd/system/bridged.service) and from ` + "`bridged install`" + `
# (/etc/systemd/system/bridged.service). Change settings with
# ` + "`systemctl edit bridged`" + ` (a drop-in), not in this file.
[Unit]
Description=bridged payment bridge (cash register to iyzico card terminals)
Documentation=file:/usr/share/doc/bridged/install.md
After=network-online.target bridged.socket
Wants=network-online.target
# The API's sockets (127.0.0.1 and ::1 on its port) come from bridged.socket,
# which holds them while bridged restarts or is upgraded: no other program
# can take the port the ECR calls.
Requires=bridged.socket
# Restart forever: RestartSec keeps the rate far below any start limit.
StartLimitIntervalSec=0

[Service]
Type=notify
User=bridged
Group=bridged
` + unitExecTemplate + `
# Secrets may live here instead of the YAML (BRIDGED_UPSTREAM_CLIENT_SECRET=...).
EnvironmentFile=-/etc/bridged/bridged.env
# A crash or a failed start is retried every 5 s. Whatever was in flight is
# in the journal and is resolved by a status query on the next start.
Restart=on-failure
RestartSec=5s
# bridged drains within 15 s of SIGTERM; after that systemd kills it.
TimeoutStopSec=30s

# The journal: /var/lib/bridged, owned by bridged, mode 0700. Log files (only
# when log.file is set): /var/log/bridged. Nothing else is writable.
StateDirectory=bridged
StateDirectoryMode=0700
LogsDirectory=bridged
LogsDirectoryMode=0750
UMask=0077

# Hardening: an unprivileged network daemon that writes only its own
# directories. Check with: systemd-analyze security bridged
NoNewPrivileges=yes
CapabilityBoundingSet=
AmbientCapabilities=
ProtectSystem=strict
ProtectHome=yes
PrivateTmp=yes
PrivateDevices=yes
DevicePolicy=closed
PrivateIPC=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectClock=yes
ProtectHostname=yes
ProtectProc=invisible
ProcSubset=pid
RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6
RestrictNamespaces=yes
RestrictRealtime=yes
RestrictSUIDSGID=yes
RemoveIPC=yes
LockPersonality=yes
MemoryDenyWriteExecute=yes
KeyringMode=private
SystemCallArchitectures=native
SystemCallFilter=@system-service
SystemCallFilter=~@privileged @resources
SystemCallErrorNumber=EPERM

[Install]
WantedBy=multi-user.target
`

// systemdSocketTemplate is bridged.socket, with %[1]s the port: the same
// unit comes with the .deb/.rpm (packaging/systemd/bridged.socket, port 8470)
// and from `bridged install` (the port of the config's listen).
// TestSystemdSocketMatchesPackagedSocket keeps the two in sync.
const systemdSocketTemplate = `# bridged's API sockets: systemd holds 127.0.0.1:%[1]s and [::1]:%[1]s for bridged.service
# (socket activation), also while bridged restarts or is upgraded, so that no
# other program can take the port the ECR calls. The same unit comes with the
# .deb/.rpm (/usr/lib/systemd/system/bridged.socket) and from ` + "`bridged install`" + `
# (/etc/systemd/system/bridged.socket). Another port: ` + "`systemctl edit bridged.socket`" + `
# with ListenStream= (empty, to drop these) and the new addresses, and the
# same port in listen of /etc/bridged/bridged.yaml. Without IPv6 on the host,
# list only the 127.0.0.1 address.
[Unit]
Description=bridged API sockets (127.0.0.1:%[1]s and [::1]:%[1]s)
Documentation=file:/usr/share/doc/bridged/install.md

[Socket]
ListenStream=127.0.0.1:%[1]s
ListenStream=[::1]:%[1]s
BindIPv6Only=ipv6-only
NoDelay=true
Service=bridged.service

[Install]
WantedBy=sockets.target
`

// systemdSocket is bridged.socket for port.
func systemdSocket(port string) string { return fmt.Sprintf(systemdSocketTemplate, port) }
