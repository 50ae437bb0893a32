package ossvc

import (
	"errors"
	"fmt"

	"github.com/kardianos/service"
)

// The helpers below are cmd/bridged's test helpers of the same names, for
// the tests of the service code that moved here with it.

const (
	testClientSecret = "client-secret-VALUE-never-printed"
	testPassword     = "password-VALUE-never-printed"
	testAPIKey       = "apikey-VALUE-never-printed-0123456789"
)

func validConfig(dataDir string) string {
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
`, dataDir, testAPIKey, testClientSecret, testPassword)
}

func noEnv(string) string { return "" }

type fakeService struct {
	calls     []string
	status    service.Status
	statusErr error
	onRun     func() error
}

func (f *fakeService) Run() error {
	f.calls = append(f.calls, "Run")
	if f.onRun != nil {
		return f.onRun()
	}
	return nil
}
func (f *fakeService) Start() error     { f.calls = append(f.calls, "Start"); return nil }
func (f *fakeService) Stop() error      { f.calls = append(f.calls, "Stop"); return nil }
func (f *fakeService) Restart() error   { f.calls = append(f.calls, "Restart"); return nil }
func (f *fakeService) Install() error   { f.calls = append(f.calls, "Install"); return nil }
func (f *fakeService) Uninstall() error { f.calls = append(f.calls, "Uninstall"); return nil }
func (f *fakeService) Logger(chan<- error) (service.Logger, error) {
	return nil, errors.New("not in tests")
}
func (f *fakeService) SystemLogger(chan<- error) (service.Logger, error) {
	return nil, errors.New("not in tests")
}
func (f *fakeService) String() string   { return "fake" }
func (f *fakeService) Platform() string { return "fake" }
func (f *fakeService) Status() (service.Status, error) {
	f.calls = append(f.calls, "Status")
	return f.status, f.statusErr
}
