//go:build windows

package main

import (
	"testing"

	"golang.org/x/sys/windows"
)

// makePrivate gives path a protected ACL for the user running the tests and
// SYSTEM alone, as an install gives the config and the data dir: a
// temporary folder's inherited ACL lets Everyone read, which bridged's
// access check refuses. The user's own SID, not Administrators, so that
// the tests also run unelevated.
func makePrivate(t *testing.T, path string, dir bool) {
	t.Helper()
	tu, err := windows.GetCurrentProcessToken().GetTokenUser()
	if err != nil {
		t.Fatal(err)
	}
	inherit := ""
	if dir {
		inherit = "OICI"
	}
	sd, err := windows.SecurityDescriptorFromString("D:P(A;" + inherit + ";FA;;;" + tu.User.Sid.String() + ")(A;" + inherit + ";FA;;;SY)")
	if err != nil {
		t.Fatal(err)
	}
	dacl, _, err := sd.DACL()
	if err != nil {
		t.Fatal(err)
	}
	if err := windows.SetNamedSecurityInfo(path, windows.SE_FILE_OBJECT,
		windows.DACL_SECURITY_INFORMATION|windows.PROTECTED_DACL_SECURITY_INFORMATION, nil, nil, dacl, nil); err != nil {
		t.Fatal(err)
	}
}
