package config

// CheckAccess reports what other users of this machine may do with the
// config file (it holds every credential) and the data dir (the journal):
// read or change either. `bridged run` refuses to start on any problem unless
// allow_open_permissions is set; doctor reports them; check-config warns. On
// Linux and other Unix systems it reads file modes and owners, on Windows the
// DACL (access_windows.go). A path that does not exist yet is no problem: the
// daemon creates the data dir owner-only.
func CheckAccess(configPath, dataDir string) Problems {
	var ps Problems
	if configPath != "" {
		checkConfigAccess(configPath, &ps)
	}
	if dataDir != "" {
		checkDataDirAccess(dataDir, &ps)
	}
	return ps
}

// accessFix is the sentence every access problem ends with.
const accessFix = " (or set allow_open_permissions: true, for a lab machine only)"
