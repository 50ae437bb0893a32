package main

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"

	"github.com/bridgedpos/bridged/internal/ossvc"
)

// Set by the release build: -ldflags "-X main.version=v1.2.3 -X main.commit=abc123".
// signed is "yes" only in a Windows build that `make release SIGN_PKCS12=...`
// Authenticode-signs (the Makefile stamps it and signs in the same recipe).
// They are the only package-level variables, and only the linker writes them.
var (
	version = "dev"
	commit  = ""
	signed  = "no"
)

type buildInfo struct {
	Version, Commit, GoVersion, Platform, Signed string
}

func currentBuild() buildInfo {
	b := buildInfo{Version: version, Commit: commit, GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH, Signed: signed}
	if info, ok := debug.ReadBuildInfo(); ok {
		if b.Version == "dev" && info.Main.Version != "" && info.Main.Version != "(devel)" {
			b.Version = info.Main.Version
		}
		for _, s := range info.Settings {
			if s.Key == "vcs.revision" && b.Commit == "" {
				b.Commit = s.Value
			}
		}
	}
	if b.Commit == "" {
		b.Commit = "unknown"
	}
	return b
}

func printVersion(w io.Writer) error {
	b := currentBuild()
	_, err := fmt.Fprintf(w, "bridged %s\ncommit: %s\ngo: %s\nplatform: %s\nsigned: %s\n", b.Version, b.Commit, b.GoVersion, b.Platform, b.Signed)
	if err == nil && ossvc.WineSessionBuild {
		_, err = fmt.Fprintln(w, "build: winesession (a Wine CI test build, never a release)")
	}
	return err
}
