package ossvc

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/kardianos/service"
)

// exampleAPIKey is the placeholder API key of configs/bridged.example.yaml.
const exampleAPIKey = "change-me-to-a-random-key-of-32-chars-or-more"

// exampleConfigName is the example config the MSI puts beside bridged.exe.
const exampleConfigName = "bridged.example.yaml"

// InstallOptions are install's flags for the Windows MSI, whose custom
// action runs `bridged.exe install --registered -c CONFIG --config-from SRC
// --listen ADDR` after Windows Installer has registered the service
// (packaging/windows/bridged.wxs). wixl cannot express recovery actions, an
// ACL, or a config file the package does not own, so bridged's own install
// code does them.
type InstallOptions struct {
	// registered: the service exists already (the MSI made it); install sets
	// what the MSI cannot (data-dir ACL, recovery actions) instead of
	// registering it again.
	registered bool
	// configFrom is copied to -c FILE when FILE does not exist yet: a
	// prepared config, or by default the example beside the program. An
	// existing config is never touched, so an edit survives every upgrade.
	configFrom string
	// listen replaces the listen address in a config created from configFrom.
	listen string
}

func (o *InstallOptions) Define(fs *flag.FlagSet) {
	fs.BoolVar(&o.registered, "registered", false, "the service is registered already (by the MSI): set its recovery actions and the data-dir ACL only")
	fs.StringVar(&o.configFrom, "config-from", "", "create -c FILE from this config when FILE does not exist (default with --registered: "+exampleConfigName+" beside bridged)")
	fs.StringVar(&o.listen, "listen", "", "the listen address of a config created by --config-from")
}

// Registered reports --registered: the MSI registered the service already.
func (o InstallOptions) Registered() bool { return o.registered }

// Trim drops the blanks an msiexec property line may leave around a value.
func (o *InstallOptions) Trim() {
	o.configFrom, o.listen = strings.TrimSpace(o.configFrom), strings.TrimSpace(o.listen)
}

// CreateConfig writes path from the options' source when path does not
// exist, and returns that source ("" when it wrote nothing). The example's placeholder API key is
// replaced by a random one, so that no installed bridged accepts a key
// printed in its documentation.
func (o InstallOptions) CreateConfig(path string, executable func() (string, error)) (string, error) {
	if path == "" {
		return "", nil
	}
	if _, err := os.Stat(path); err == nil || !errors.Is(err, fs.ErrNotExist) {
		return "", err // exists (or cannot be checked): never overwritten
	}
	src := o.configFrom
	if src == "" {
		if !o.registered {
			return "", nil // plain install: the config must exist
		}
		exe, err := executable()
		if err != nil {
			return "", fmt.Errorf("executable: %w", err)
		}
		src = filepath.Join(filepath.Dir(exe), exampleConfigName)
	}
	data, err := os.ReadFile(src)
	if err != nil {
		return "", fmt.Errorf("config source: %w", err)
	}
	text := string(data)
	if strings.Contains(text, exampleAPIKey) {
		key := make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return "", err
		}
		text = strings.ReplaceAll(text, exampleAPIKey, hex.EncodeToString(key))
	}
	if o.listen != "" {
		text = setListen(text, o.listen)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", err
	}
	// O_EXCL: two installers at once never overwrite each other's config.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", err
	}
	if _, err := f.WriteString(text); err != nil {
		f.Close()
		os.Remove(path)
		return "", err
	}
	if err := f.Close(); err != nil {
		os.Remove(path)
		return "", err
	}
	return src, nil
}

var listenLine = regexp.MustCompile(`(?m)^listen:.*$`)

// setListen sets the top-level listen key of a YAML config, keeping every
// other line (and comment) as it is.
func setListen(yaml, addr string) string {
	line := fmt.Sprintf("listen: %q", addr)
	if listenLine.MatchString(yaml) {
		return listenLine.ReplaceAllLiteralString(yaml, line)
	}
	if yaml != "" && !strings.HasSuffix(yaml, "\n") {
		yaml += "\n"
	}
	return yaml + line + "\n"
}

// registeredService is the service Windows Installer registered: its
// Install sets, on the existing service, the recovery actions
// kardianos/service's Install sets after creating one.
type registeredService struct {
	service.Service
	cfg *service.Config
}

func (r registeredService) Install() error { return configureRegistered(r.cfg) }

// ExistingService is svc as Windows Installer registered it (--registered):
// its Install configures the existing service instead of creating one.
func ExistingService(svc service.Service, cfg *service.Config) service.Service {
	return registeredService{svc, cfg}
}
