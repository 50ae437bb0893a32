//go:build windows

package ossvc

import (
	"fmt"
	"os"

	"golang.org/x/sys/windows"
)

// protectDataDir creates dir and sets its protected DACL (dataDirSDDL): full
// control for SYSTEM (the service runs as LocalSystem) and Administrators,
// nothing inherited and nobody else. SetNamedSecurityInfo also propagates the
// inheritable entries to what dir already holds, so a reinstall over an
// existing journal tightens it too.
func protectDataDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	sd, err := windows.SecurityDescriptorFromString(dataDirSDDL(""))
	if err != nil {
		return fmt.Errorf("security descriptor: %w", err)
	}
	dacl, _, err := sd.DACL()
	if err != nil {
		return fmt.Errorf("security descriptor: %w", err)
	}
	err = windows.SetNamedSecurityInfo(dir, windows.SE_FILE_OBJECT,
		windows.DACL_SECURITY_INFORMATION|windows.PROTECTED_DACL_SECURITY_INFORMATION, nil, nil, dacl, nil)
	if err != nil {
		return fmt.Errorf("set ACL: %w", err)
	}
	return nil
}

// protectConfigFile sets the config's protected DACL: SYSTEM and
// Administrators only, nothing inherited (the config holds every credential).
func protectConfigFile(path string) error {
	sd, err := windows.SecurityDescriptorFromString("D:P(A;;FA;;;" + sidLocalSystem + ")(A;;FA;;;" + sidAdministrators + ")")
	if err != nil {
		return fmt.Errorf("security descriptor: %w", err)
	}
	dacl, _, err := sd.DACL()
	if err != nil {
		return fmt.Errorf("security descriptor: %w", err)
	}
	if err := windows.SetNamedSecurityInfo(path, windows.SE_FILE_OBJECT,
		windows.DACL_SECURITY_INFORMATION|windows.PROTECTED_DACL_SECURITY_INFORMATION, nil, nil, dacl, nil); err != nil {
		return fmt.Errorf("set ACL: %w", err)
	}
	return nil
}
