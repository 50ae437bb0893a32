// Package ossvctest holds the stand-ins that the tests of the OS-service code
// (internal/ossvc) and of the command that drives it (cmd/bridged) share: a
// service manager that records its calls, systemd's notify socket, and the
// loopback probe. Only tests import it.
package ossvctest

import (
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/kardianos/service"
)

// Service is a service manager that records the calls it gets. Status
// answers State and StateErr; Run calls OnRun when set.
type Service struct {
	Calls    []string
	State    service.Status
	StateErr error
	OnRun    func() error
}

var _ service.Service = (*Service)(nil)

func (f *Service) Run() error {
	f.Calls = append(f.Calls, "Run")
	if f.OnRun != nil {
		return f.OnRun()
	}
	return nil
}
func (f *Service) Start() error     { f.Calls = append(f.Calls, "Start"); return nil }
func (f *Service) Stop() error      { f.Calls = append(f.Calls, "Stop"); return nil }
func (f *Service) Restart() error   { f.Calls = append(f.Calls, "Restart"); return nil }
func (f *Service) Install() error   { f.Calls = append(f.Calls, "Install"); return nil }
func (f *Service) Uninstall() error { f.Calls = append(f.Calls, "Uninstall"); return nil }
func (f *Service) Logger(chan<- error) (service.Logger, error) {
	return nil, errors.New("not in tests")
}
func (f *Service) SystemLogger(chan<- error) (service.Logger, error) {
	return nil, errors.New("not in tests")
}
func (f *Service) String() string   { return "fake" }
func (f *Service) Platform() string { return "fake" }
func (f *Service) Status() (service.Status, error) {
	f.Calls = append(f.Calls, "Status")
	return f.State, f.StateErr
}

// ListenNotify is a stand-in for systemd's notify socket: its path, and the
// first datagram sent to it.
func ListenNotify(t *testing.T) (string, <-chan string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "notify.sock")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	got := make(chan string, 1)
	go func() {
		buf := make([]byte, 4096)
		n, err := conn.Read(buf)
		if err == nil {
			got <- string(buf[:n])
		}
	}()
	return path, got
}

// WaitDatagram is the datagram ListenNotify received; the test fails with
// failure when none comes.
func WaitDatagram(t *testing.T, ch <-chan string, failure string) string {
	t.Helper()
	select {
	case s := <-ch:
		return s
	case <-time.After(30 * time.Second): // a hang guard, not a timing assertion
		t.Fatal(failure)
		return ""
	}
}

// HasIPv6Loopback: some CI containers have no ::1.
func HasIPv6Loopback(t *testing.T) bool {
	t.Helper()
	ln, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		return false
	}
	ln.Close()
	return true
}

// OnPlatform is Service under a platform name as kardianos/service reports it
// ("windows-service", "linux-systemd"); its Install also goes into Log.
type OnPlatform struct {
	*Service
	Name string
	Log  *[]string
}

func (p OnPlatform) Platform() string { return p.Name }

func (p OnPlatform) Install() error {
	*p.Log = append(*p.Log, "Install")
	return p.Service.Install()
}

// On is a new Service under the platform name, its installs logged into log.
func On(name string, log *[]string) OnPlatform {
	return OnPlatform{Service: &Service{}, Name: name, Log: log}
}

// The credentials of ValidConfig: a test that scans output for them proves
// that no secret is ever printed.
const (
	ClientSecret = "client-secret-VALUE-never-printed"
	Password     = "password-VALUE-never-printed"
	APIKey       = "apikey-VALUE-never-printed-0123456789"
)

// ValidConfig is a complete VUK 509 config with one terminal and the data
// dir given, for the tests of the service verbs.
func ValidConfig(dataDir string) string {
	return fmt.Sprintf(`
listen: 127.0.0.1:0
data_dir: %q
mode: vuk509
api:
  keys: [{name: ecr, key: %q}]
upstream:
  base_url: https://sandbox-api.iyzipay.com
  client_id: cid
  client_secret: %q
  username: user
  password: %q
terminals: [{id: lane-1, device_unique_id: PAV860047264}]
log: {format: json}
`, dataDir, APIKey, ClientSecret, Password)
}

// NoEnv is an environment without a variable.
func NoEnv(string) string { return "" }
