//go:build windows

package ossvc

import (
	"reflect"
	"testing"
	"time"

	"golang.org/x/sys/windows/svc/mgr"
)

// TestRegisteredServiceGetsTheRecoveryOfInstall: the MSI's service gets the
// recovery actions `bridged install` gives its own (restart 5 s after every
// failure, count reset after a day).
func TestRegisteredServiceGetsTheRecoveryOfInstall(t *testing.T) {
	actions, reset, err := recoveryActions(Config(`C:\ProgramData\bridged\bridged.yaml`).Option)
	if err != nil {
		t.Fatal(err)
	}
	if want := []mgr.RecoveryAction{{Type: mgr.ServiceRestart, Delay: 5 * time.Second}}; !reflect.DeepEqual(actions, want) {
		t.Errorf("actions %+v, want %+v", actions, want)
	}
	if reset != 86400 {
		t.Errorf("reset period %d s, want a day", reset)
	}
	for _, bad := range []map[string]any{
		{"OnFailure": "explode", "OnFailureDelayDuration": "5s", "OnFailureResetPeriod": 1},
		{"OnFailure": "restart", "OnFailureDelayDuration": "soon", "OnFailureResetPeriod": 1},
		{"OnFailure": "restart", "OnFailureDelayDuration": "5s"},
	} {
		if _, _, err := recoveryActions(bad); err == nil {
			t.Errorf("no error for %v", bad)
		}
	}
}
