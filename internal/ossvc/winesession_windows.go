//go:build windows && winesession

// A test build for Wine CI only (.ci/windows.sh builds it with -tags
// winesession; the release never does, and CI checks that its exe lacks this
// file). Wine runs services.exe in session 1, not 0, so x/sys's
// svc.IsWindowsService, which kardianos/service asks once at start-up, says
// "not a service", bridged takes the console path, and the SCM times out.
// Under Wine only, when the parent is services.exe, this tells
// kardianos/service it runs as a service, so everything after (svc.Run, the
// SCM protocol, Start and Stop) is the release code.

package ossvc

import (
	"strings"
	"unsafe"

	_ "github.com/kardianos/service" // its init sets interactive before ours runs
	"golang.org/x/sys/windows"
)

// kardianosInteractive is kardianos/service's own flag (service_windows.go).
//
//go:linkname kardianosInteractive github.com/kardianos/service.interactive
var kardianosInteractive bool

// WineSessionBuild is printed by `bridged version` so that a test build is
// never mistaken for a release.
const WineSessionBuild = true

func init() {
	if kardianosInteractive && underWine() && parentIsServicesExe() {
		kardianosInteractive = false
	}
}

// underWine reports whether ntdll is Wine's (it exports wine_get_version).
func underWine() bool {
	h, err := windows.LoadLibrary("ntdll.dll")
	if err != nil {
		return false
	}
	_, err = windows.GetProcAddress(h, "wine_get_version")
	return err == nil
}

// parentIsServicesExe is svc.IsWindowsService without the session test.
func parentIsServicesExe() bool {
	var self windows.PROCESS_BASIC_INFORMATION
	size := uint32(unsafe.Sizeof(self))
	if windows.NtQueryInformationProcess(windows.CurrentProcess(), windows.ProcessBasicInformation, unsafe.Pointer(&self), size, &size) != nil {
		return false
	}
	buf := make([]byte, 1<<20)
	for {
		size = uint32(len(buf))
		err := windows.NtQuerySystemInformation(windows.SystemProcessInformation, unsafe.Pointer(&buf[0]), size, &size)
		if err == nil {
			break
		}
		if err != windows.STATUS_INFO_LENGTH_MISMATCH || len(buf) >= 64<<20 {
			return false
		}
		buf = make([]byte, 2*len(buf))
	}
	for off := uintptr(0); ; {
		p := (*windows.SYSTEM_PROCESS_INFORMATION)(unsafe.Pointer(&buf[off]))
		if p.UniqueProcessID == self.InheritedFromUniqueProcessId {
			return strings.EqualFold(p.ImageName.String(), "services.exe")
		}
		if p.NextEntryOffset == 0 {
			return false
		}
		off += uintptr(p.NextEntryOffset)
	}
}
