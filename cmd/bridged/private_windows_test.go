//go:build windows

package main

import (
	"strings"
	"sync"
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

// wineKeepsNoACL reports whether the tests run under Wine, whose 8.0 keeps
// no file ACL: SetNamedSecurityInfo succeeds, and the DACL read back is made
// from the Unix mode, always with Everyone: read. bridged's access check
// then refuses every config and data dir, so under Wine (only) the tests'
// configs opt out of it (allow_open_permissions) and the tests of the check
// itself are skipped: they are unrun until a real Windows runs them
// (docs/windows.md). A copy of cmd/bridged's underWine, which only the
// winesession build carries.
var wineKeepsNoACL = sync.OnceValue(func() bool {
	h, err := windows.LoadLibrary("ntdll.dll")
	if err != nil {
		return false
	}
	defer windows.FreeLibrary(h)
	_, err = windows.GetProcAddress(h, "wine_get_version")
	return err == nil
})

// forThisPlatform adapts a test config to where the tests run: under Wine,
// the access check's opt-out (see wineKeepsNoACL).
func forThisPlatform(body string) string {
	if !wineKeepsNoACL() || strings.Contains(body, "allow_open_permissions:") {
		return body
	}
	return strings.TrimRight(body, "\n") + "\nallow_open_permissions: true # Wine 8 keeps no file ACL (private_windows_test.go)\n"
}

// skipWhereACLsAreNotKept skips a test of the access check under Wine.
func skipWhereACLsAreNotKept(t *testing.T) {
	t.Helper()
	if wineKeepsNoACL() {
		t.Skip("Wine 8 keeps no file ACL (every DACL read back lets Everyone read): the access check is unrun under Wine")
	}
}
