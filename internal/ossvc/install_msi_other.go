//go:build !windows

package ossvc

import (
	"errors"

	"github.com/kardianos/service"
)

func configureRegistered(*service.Config) error {
	return errors.New("--registered is for the Windows MSI only")
}
