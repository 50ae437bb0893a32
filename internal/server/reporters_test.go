package server

import "github.com/bridgedpos/bridged/internal/health"

// tokenFunc and upstreamFunc are a test's reports of the iyzico side.
type tokenFunc func() health.Token

func (f tokenFunc) TokenHealth() health.Token { return f() }

type upstreamFunc func() health.Upstream

func (f upstreamFunc) UpstreamHealth() health.Upstream { return f() }
