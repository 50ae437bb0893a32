package opscli

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/bridgedpos/bridged/internal/config"
	"github.com/bridgedpos/bridged/internal/ossvc"
	"github.com/kardianos/service"
)

// Service runs install, uninstall, start, stop and restart (the service's
// state is part of Status).
func (a *CLI) Service(verb string, args []string) error {
	var path string
	var opts ossvc.InstallOptions
	define := ConfigFlag(&path)
	if verb == "install" {
		define = func(fs *flag.FlagSet) { ConfigFlag(&path)(fs); opts.Define(fs) }
	}
	if _, err := a.Flags(verb, args, define); err != nil {
		return err
	}
	var cfg *config.Config
	var pending config.Problems
	if verb == "install" {
		var err error
		if cfg, pending, path, err = a.prepareInstall(path, opts); err != nil {
			return err
		}
	}
	svc, err := a.NewService(ossvc.NewProgram(nil, a.Exit, a.Stderr, a.Version), ossvc.Config(path))
	if err != nil {
		return fmt.Errorf("service: %w", err)
	}
	switch verb {
	case "install":
		if opts.Registered() {
			svc = ossvc.ExistingService(svc, ossvc.Config(path))
		}
		err = ossvc.OSHost(a.Stdout, a.Stderr).Install(svc, cfg, path)
	case "uninstall":
		// The data directory (the journal) and the config stay: an
		// uninstall or an upgrade must never lose a payment record.
		err = ossvc.OSHost(a.Stdout, a.Stderr).Uninstall(svc)
	case "start", "restart":
		// A config that cannot run is said here, not in a service log.
		if path != "" {
			if _, err := a.LoadConfig(path); err != nil {
				return err
			}
		}
		if verb == "start" {
			err = svc.Start()
		} else {
			err = svc.Restart()
		}
	case "stop":
		err = svc.Stop()
	}
	if err != nil {
		return fmt.Errorf("service %s: %w", verb, err)
	}
	fmt.Fprintf(a.Stdout, "bridged service: %s done\n", verb)
	if verb != "install" {
		return nil
	}
	return a.startInstalled(svc, path, pending, opts.Registered())
}

// prepareInstall creates the config from --config-from or the example when
// it does not exist, loads it, and returns it with its absolute path.
func (a *CLI) prepareInstall(path string, opts ossvc.InstallOptions) (*config.Config, config.Problems, string, error) {
	opts.Trim()
	src, err := opts.CreateConfig(path, os.Executable)
	if err != nil {
		return nil, nil, "", fmt.Errorf("config %s: %w", path, err)
	}
	if src != "" {
		fmt.Fprintf(a.Stdout, "bridged service: created %s from %s\n", path, src)
	}
	// Never install a service that would fail at its first start, save
	// for one thing: the example's placeholders (iyzico's credentials),
	// which only the store can fill in. Then the service is installed
	// and not started, and the output says what is left to do.
	cfg, pending, err := a.loadInstallConfig(path)
	if err != nil {
		return nil, nil, "", err
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, nil, "", fmt.Errorf("config path: %w", err)
	}
	return cfg, pending, abs, nil
}

// startInstalled says what is left to do after an install whose config
// still holds placeholders; after the MSI's install (registered) it starts
// the service and waits for it to run.
func (a *CLI) startInstalled(svc service.Service, path string, pending config.Problems, registered bool) error {
	if len(pending) > 0 {
		fmt.Fprintf(a.Stdout, "bridged service: not started: %s still holds the example's placeholders:\n", path)
		for _, p := range pending {
			fmt.Fprintf(a.Stdout, "  %s\n", p)
		}
		fmt.Fprintf(a.Stdout, "Fill them in, check with: bridged check-config -c \"%s\"\nthen start the service: bridged start -c \"%s\"\n", path, path)
		return nil
	}
	if registered {
		// The package's install starts the service once it is configured
		// (packaging/windows/bridged.wxs), and fails if it does not run.
		if err := ossvc.StartAndWait(svc, ossvc.StartTimeout); err != nil {
			return fmt.Errorf("service start: %w", err)
		}
		fmt.Fprintln(a.Stdout, "bridged service: running")
	}
	return nil
}

// loadInstallConfig is ossvc.LoadInstallConfig with -c FILE required.
func (a *CLI) loadInstallConfig(path string) (*config.Config, config.Problems, error) {
	if path == "" {
		return nil, nil, UsageError{"-c FILE is required"}
	}
	return ossvc.LoadInstallConfig(path, a.Getenv)
}
