//go:build windows

package config

import (
	"fmt"
	"unsafe"

	"golang.org/x/sys/windows"
)

// broadSIDs are the well-known groups that stand for "other users of this
// PC": an allow entry for one of them that reads or writes is a problem.
var broadSIDs = map[string]string{
	"S-1-1-0":      "Everyone",
	"S-1-5-11":     "Authenticated Users",
	"S-1-5-32-545": "Users",
	"S-1-5-4":      "INTERACTIVE",
	"S-1-5-32-546": "Guests",
	"S-1-5-7":      "ANONYMOUS LOGON",
}

// The access rights that read or change a file's content, or its ACL.
const (
	readMask  = windows.FILE_READ_DATA | windows.GENERIC_READ | windows.GENERIC_ALL
	writeMask = windows.FILE_WRITE_DATA | windows.FILE_APPEND_DATA | windows.GENERIC_WRITE | windows.GENERIC_ALL |
		windows.WRITE_DAC | windows.WRITE_OWNER | windows.DELETE
)

func checkConfigAccess(path string, ps *Problems) {
	if who := broadAccess(path, false); who != "" {
		ps.add("", fmt.Sprintf("config %s: %s: limit it to SYSTEM and Administrators "+
			`(icacls "%s" /inheritance:r /grant:r *S-1-5-18:F *S-1-5-32-544:F)`, path, who, path)+accessFix)
	}
}

func checkDataDirAccess(dir string, ps *Problems) {
	if who := broadAccess(dir, true); who != "" {
		ps.add("data_dir", fmt.Sprintf("%s: %s: limit it to SYSTEM and Administrators "+
			`(icacls "%s" /inheritance:r /grant:r "*S-1-5-18:(OI)(CI)F" "*S-1-5-32-544:(OI)(CI)F")`, dir, who, dir)+accessFix)
	}
}

// broadAccess names the broad group that may read or write path, or "". For
// a directory, entries that only its files inherit count too.
func broadAccess(path string, dir bool) string {
	sd, err := windows.GetNamedSecurityInfo(path, windows.SE_FILE_OBJECT, windows.DACL_SECURITY_INFORMATION)
	if err != nil {
		return "" // a missing path: created protected; unreadable: the open fails later
	}
	dacl, _, err := sd.DACL()
	if err != nil {
		return ""
	}
	if dacl == nil {
		return "it has no access list, so everyone may read and change it"
	}
	for i := uint32(0); i < uint32(dacl.AceCount); i++ {
		var ace *windows.ACCESS_ALLOWED_ACE
		if err := windows.GetAce(dacl, i, &ace); err != nil {
			continue
		}
		if ace.Header.AceType != windows.ACCESS_ALLOWED_ACE_TYPE {
			continue
		}
		if !dir && ace.Header.AceFlags&windows.INHERIT_ONLY_ACE != 0 {
			continue
		}
		sid := (*windows.SID)(unsafe.Pointer(&ace.SidStart))
		name, broad := broadSIDs[sid.String()]
		if !broad {
			continue
		}
		switch {
		case uint32(ace.Mask)&writeMask != 0:
			return name + " may change it"
		case uint32(ace.Mask)&readMask != 0:
			return name + " may read it"
		}
	}
	return ""
}
