//go:build !windows

package ossvc

import "os"

// protectDataDir creates dir readable by its owner only. It is called for the
// Windows service manager alone (see host.install), so on other systems it
// serves the tests of that path; systemd creates the data directory itself
// (StateDirectory=, owned by the service account, mode 0700).
func protectDataDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	return os.Chmod(dir, 0o700)
}

// protectConfigFile makes the config readable by its owner only. It is
// called for the Windows service manager alone (see host.install); on
// systemd the config is root's with the service's group (shareConfig).
func protectConfigFile(path string) error { return os.Chmod(path, 0o600) }
