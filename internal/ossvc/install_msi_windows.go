//go:build windows

package ossvc

import (
	"fmt"
	"strconv"
	"time"

	"github.com/kardianos/service"
	"golang.org/x/sys/windows/svc/mgr"
)

// configureRegistered sets on the registered service the recovery actions of
// Config, which kardianos/service's Install sets on a service it
// creates. (The MSI registers the Event Log source itself, as registry values
// it removes again at uninstall.)
func configureRegistered(cfg *service.Config) error {
	actions, reset, err := recoveryActions(cfg.Option)
	if err != nil {
		return err
	}
	m, err := mgr.Connect()
	if err != nil {
		return err
	}
	defer m.Disconnect()
	s, err := m.OpenService(cfg.Name)
	if err != nil {
		return fmt.Errorf("service %s is not registered (--registered is for the MSI, which registers it first): %w", cfg.Name, err)
	}
	defer s.Close()
	if err := s.SetRecoveryActions(actions, reset); err != nil {
		return fmt.Errorf("recovery actions: %w", err)
	}
	return nil
}

// recoveryActions reads serviceConfig's Windows recovery options as
// kardianos/service does: one action, repeated by the SCM for every later
// failure, and the period without failure after which the count resets.
func recoveryActions(opt service.KeyValue) ([]mgr.RecoveryAction, uint32, error) {
	str := func(k string) string { s, _ := opt[k].(string); return s }
	var typ int
	switch str("OnFailure") {
	case "restart":
		typ = mgr.ServiceRestart
	case "reboot":
		typ = mgr.ComputerReboot
	case "noaction":
		typ = mgr.NoAction
	default:
		return nil, 0, fmt.Errorf("OnFailure %q", str("OnFailure"))
	}
	delay, err := time.ParseDuration(str("OnFailureDelayDuration"))
	if err != nil {
		return nil, 0, fmt.Errorf("OnFailureDelayDuration: %w", err)
	}
	var reset uint32
	switch v := opt["OnFailureResetPeriod"].(type) {
	case int:
		reset = uint32(v)
	case string:
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return nil, 0, fmt.Errorf("OnFailureResetPeriod: %w", err)
		}
		reset = uint32(n)
	default:
		return nil, 0, fmt.Errorf("OnFailureResetPeriod %v", v)
	}
	return []mgr.RecoveryAction{{Type: typ, Delay: delay}}, reset, nil
}
