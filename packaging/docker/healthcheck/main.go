// Command healthcheck is the HEALTHCHECK of the bridged container image: it
// asks bridged's /healthz and exits 0 on 200, 1 otherwise. The image has no
// shell and no curl, so this small static program does it.
//
// The URL is -url, else $BRIDGED_HEALTH_URL, else http://127.0.0.1:8470/healthz
// (bridged's default listen address; /healthz needs no API key).
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"
)

const defaultURL = "http://127.0.0.1:8470/healthz"

func main() {
	os.Exit(run(os.Args[1:], os.Getenv, os.Stderr))
}

func run(args []string, getenv func(string) string, stderr io.Writer) int {
	fs := flag.NewFlagSet("healthcheck", flag.ContinueOnError)
	fs.SetOutput(stderr)
	url := fs.String("url", "", "health URL (default $BRIDGED_HEALTH_URL or "+defaultURL+")")
	timeout := fs.Duration("timeout", 3*time.Second, "give up after this long")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	target := *url
	if target == "" {
		target = getenv("BRIDGED_HEALTH_URL")
	}
	if target == "" {
		target = defaultURL
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		fmt.Fprintln(stderr, "healthcheck:", err)
		return 2
	}
	// Never through a proxy: bridged is in this container.
	client := &http.Client{Transport: &http.Transport{Proxy: nil}}
	resp, err := client.Do(req)
	if err != nil {
		fmt.Fprintln(stderr, "healthcheck:", err)
		return 1
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintf(stderr, "healthcheck: %s answered %s\n", target, resp.Status)
		return 1
	}
	return 0
}
