//go:build !windows

package config

import (
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
)

// serviceGroup is the group of the service account that the packages and
// `bridged install` create; the config is root's, readable by this group.
const serviceGroup = "bridged"

func checkConfigAccess(path string, ps *Problems) {
	fi, err := os.Stat(path)
	if err != nil {
		return // Load reports an unreadable config
	}
	mode := fi.Mode().Perm()
	st, _ := fi.Sys().(*syscall.Stat_t)
	switch {
	case mode&0o022 != 0:
		ps.add("", fmt.Sprintf("config %s is mode %04o: other users can change it, and with it where payments go: "+
			"chmod 600 %s", path, mode, path)+accessFix)
	case mode&0o004 != 0:
		ps.add("", fmt.Sprintf("config %s is mode %04o: every user of this machine can read the credentials and API keys in it: "+
			"chmod 600 %s (or 640 with the service's group)", path, mode, path)+accessFix)
	case mode&0o040 != 0 && st != nil && !trustedGroup(st.Gid):
		ps.add("", fmt.Sprintf("config %s is readable by group %s, which is not the service's: chmod 600 %s, "+
			"or chgrp it to the group bridged runs as", path, groupName(st.Gid), path)+accessFix)
	}
	if st != nil && st.Uid != 0 && int(st.Uid) != os.Geteuid() {
		ps.add("", fmt.Sprintf("config %s belongs to %s, who can change it: chown root (or the service account) %s",
			path, userName(st.Uid), path)+accessFix)
	}
	dir := filepath.Dir(path)
	if di, err := os.Stat(dir); err == nil && di.Mode().Perm()&0o022 != 0 && di.Mode()&os.ModeSticky == 0 {
		ps.add("", fmt.Sprintf("the directory %s of the config is mode %04o: other users can replace the config: chmod go-w %s",
			dir, di.Mode().Perm(), dir)+accessFix)
	}
}

func checkDataDirAccess(dir string, ps *Problems) {
	fi, err := os.Stat(dir)
	if err != nil || !fi.IsDir() {
		return // created owner-only on start, or reported by the store
	}
	if mode := fi.Mode().Perm(); mode&0o077 != 0 {
		ps.add("data_dir", fmt.Sprintf("%s is mode %04o: other users can read or change the journal of every payment: chmod 700 %s",
			dir, mode, dir)+accessFix)
	}
	// A journal copied in (a restore) keeps the mode it was copied with.
	journal := filepath.Join(dir, "bridged.db")
	if ji, err := os.Stat(journal); err == nil && ji.Mode().Perm()&0o077 != 0 {
		ps.add("data_dir", fmt.Sprintf("the journal %s is mode %04o: other users can read it: chmod 600 %s",
			journal, ji.Mode().Perm(), journal)+accessFix)
	}
}

// trustedGroup: root's group, the process's own, or the service account's.
func trustedGroup(gid uint32) bool {
	if gid == 0 || int(gid) == os.Getegid() {
		return true
	}
	g, err := user.LookupGroup(serviceGroup)
	return err == nil && g.Gid == strconv.FormatUint(uint64(gid), 10)
}

func groupName(gid uint32) string {
	id := strconv.FormatUint(uint64(gid), 10)
	if g, err := user.LookupGroupId(id); err == nil {
		return g.Name
	}
	return id
}

func userName(uid uint32) string {
	id := strconv.FormatUint(uint64(uid), 10)
	if u, err := user.LookupId(id); err == nil {
		return u.Username
	}
	return "uid " + id
}
