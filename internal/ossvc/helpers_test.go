package ossvc

import "github.com/bridgedpos/bridged/internal/ossvc/ossvctest"

// The service tests share cmd/bridged's config fixture (ossvctest).
var (
	validConfig = ossvctest.ValidConfig
	noEnv       = ossvctest.NoEnv
)

const (
	testClientSecret = ossvctest.ClientSecret
	testPassword     = ossvctest.Password
	testAPIKey       = ossvctest.APIKey
)
