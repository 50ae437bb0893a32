package ossvc

import (
	"fmt"
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
