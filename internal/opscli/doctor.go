package opscli

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/rs/zerolog"

	"github.com/bridgedpos/bridged/internal/apitype"
	"github.com/bridgedpos/bridged/internal/config"
	"github.com/bridgedpos/bridged/internal/ossvc"
	"github.com/bridgedpos/bridged/internal/store"
	"github.com/bridgedpos/bridged/internal/upstream"
)

// verdict is one doctor check's result.
type verdict struct {
	name   string
	status string // OK, WARN, FAIL, SKIP
	detail string
	fix    string
}

// doctor checks one installation, each part with a verdict and a fix hint.
type doctor struct {
	a       *CLI
	cfg     *config.Config
	path    string
	running bool // a daemon answers on the listen address
	out     []verdict
}

func (d *doctor) add(name, status, detail, fix string) {
	d.out = append(d.out, verdict{name: name, status: status, detail: detail, fix: fix})
}

// Doctor checks config, data dir, journal, network and login, each with a fix hint.
func (a *CLI) Doctor(ctx context.Context, args []string) error {
	var path string
	if _, err := a.Flags("doctor", args, func(fs *flag.FlagSet) { ConfigFlag(&path)(fs) }); err != nil {
		return err
	}
	if path == "" {
		path = defaultConfigPath()
	}
	d := &doctor{a: a, path: path}
	d.checkConfig()
	if d.cfg != nil {
		d.checkDaemon(ctx)
		d.checkAccess()
		d.checkDataDir()
		d.checkStore(ctx)
		host := d.checkNetwork(ctx)
		if host {
			d.checkLogin(ctx)
		}
	}
	return d.report(a.Stdout)
}

func (d *doctor) report(w io.Writer) error {
	fmt.Fprintf(w, "bridged doctor: %s\n", d.path)
	fails, warns := 0, 0
	for _, v := range d.out {
		fmt.Fprintf(w, "  [%-4s] %s: %s\n", v.status, v.name, v.detail)
		if v.fix != "" && (v.status == "FAIL" || v.status == "WARN") {
			fmt.Fprintf(w, "         fix: %s\n", v.fix)
		}
		switch v.status {
		case "FAIL":
			fails++
		case "WARN":
			warns++
		}
	}
	down := d.cfg != nil && !d.running
	switch {
	case down && fails == 1:
		fmt.Fprintf(w, "verdict: bridged is NOT RUNNING: no payment can be taken (otherwise no problem, %d warning(s))\n", warns)
		return errors.New("bridged is not running")
	case down:
		fmt.Fprintf(w, "verdict: bridged is NOT RUNNING, and %d more problem(s), %d warning(s)\n", fails-1, warns)
		return fmt.Errorf("bridged is not running; doctor found %d more problem(s)", fails-1)
	case fails > 0:
		fmt.Fprintf(w, "verdict: %d problem(s), %d warning(s)\n", fails, warns)
		return fmt.Errorf("doctor found %d problem(s)", fails)
	}
	fmt.Fprintf(w, "verdict: healthy, running (%d warning(s))\n", warns)
	return nil
}

// checkAccess: no other user may read or change the config or the data dir
// (`bridged run` refuses to start otherwise).
func (d *doctor) checkAccess() {
	probs := config.CheckAccess(d.path, d.cfg.DataDir)
	if len(probs) == 0 {
		d.add("permissions", "OK", "only bridged's own account (and administrators) can read the config and the data dir", "")
		return
	}
	status := "FAIL"
	if d.cfg.AllowOpenPermissions {
		status = "WARN"
	}
	for _, p := range probs {
		d.add("permissions", status, p.String(), "bridged run refuses to start so unless allow_open_permissions: true")
	}
}

func (d *doctor) checkConfig() {
	cfg, err := config.Load(d.path, d.a.Getenv)
	if err == nil {
		err = cfg.Validate()
	}
	if err != nil {
		d.add("config", "FAIL", err.Error(), "edit "+d.path+" and run: bridged check-config -c "+d.path)
		return
	}
	d.cfg = cfg
	d.add("config", "OK", fmt.Sprintf("valid: mode %s, %d terminal(s), listening on %s", cfg.Mode, len(cfg.Terminals), cfg.Listen), "")
}

func (d *doctor) checkDaemon(ctx context.Context) {
	c := newAPIClient(d.cfg)
	var rd struct {
		Status string `json:"status"`
	}
	_, err := c.do(ctx, http.MethodGet, "/readyz", &rd)
	switch {
	case errors.Is(err, errNotRunning):
		d.add("daemon", "FAIL", "not running: nothing answers on "+d.cfg.Listen, "start it: bridged start (or systemctl start bridged); its log says why it stopped")
	case errors.Is(err, errUntrusted):
		d.add("daemon", "FAIL", "something answers on "+d.cfg.Listen+" but not as bridged (its answer is not signed with the config's key): "+err.Error(),
			"find the program that holds the port (ss -ltnp on Linux, Get-NetTCPConnection -State Listen on Windows) and stop it")
	case err != nil:
		d.add("daemon", "FAIL", "something answers on "+d.cfg.Listen+" but not as bridged: "+err.Error(), "check that no other program uses that port")
	default:
		d.running = true
		status := "OK"
		if rd.Status != "ok" {
			status = "WARN"
		}
		d.add("daemon", status, "running, readiness "+rd.Status, "see: bridged status")
	}
}

func (d *doctor) checkDataDir() {
	dir := d.cfg.DataDir
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		d.add("data dir", "WARN", dir+" does not exist yet; bridged creates it on first start", "")
		return
	case err != nil:
		d.add("data dir", "FAIL", err.Error(), "check the path in data_dir and its parent's permissions")
		return
	case !fi.IsDir():
		d.add("data dir", "FAIL", dir+" is not a directory", "point data_dir at a directory (the journal lives there)")
		return
	}
	if d.running {
		d.add("data dir", "OK", dir+" (in use by the running daemon)", "")
		return
	}
	probe := filepath.Join(dir, ".doctor-probe")
	f, err := os.OpenFile(probe, os.O_CREATE|os.O_WRONLY|os.O_EXCL, 0o600)
	if err != nil {
		d.add("data dir", "FAIL", dir+" is not writable: "+err.Error(), "give the service account ownership: chown -R bridged "+dir)
		return
	}
	_ = f.Close()
	_ = os.Remove(probe)
	d.add("data dir", "OK", dir+" is writable", "")
}

func (d *doctor) checkStore(ctx context.Context) {
	if d.running {
		d.add("journal", "SKIP", "held by the running daemon; its /readyz reports the store", "")
		return
	}
	if _, err := os.Stat(filepath.Join(d.cfg.DataDir, store.FileName)); errors.Is(err, os.ErrNotExist) {
		d.add("journal", "OK", "no journal yet (a fresh installation)", "")
		return
	}
	st, err := store.Open(d.cfg.DataDir, store.Options{Timeout: time.Second, Logger: zerolog.Nop()})
	if err != nil {
		d.add("journal", "FAIL", err.Error(), "if another bridged process holds it, stop that one; otherwise restore the data dir from backup")
		return
	}
	defer st.Close()
	if err := st.Check(ctx); err != nil {
		d.add("journal", "FAIL", "the file is damaged: "+err.Error(), "stop bridged, keep a copy of the data dir, restore the last backup, and call support")
		return
	}
	n, err := st.VerifyChain(ctx)
	if err != nil {
		d.add("journal", "FAIL", "the hash chain is broken: "+err.Error(), "the journal was modified outside bridged: keep a copy and call support")
		return
	}
	d.add("journal", "OK", fmt.Sprintf("consistent, hash chain intact over %d entries", n), "")
}

// checkNetwork resolves iyzico's host, opens TLS, and compares clocks. It
// reports whether login is worth trying.
func (d *doctor) checkNetwork(ctx context.Context) bool {
	u, _ := url.Parse(d.cfg.Upstream.BaseURL)
	host, port := u.Hostname(), u.Port()
	if port == "" {
		port = map[string]string{"https": "443", "http": "80"}[u.Scheme]
	}
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if net.ParseIP(host) == nil {
		addrs, err := net.DefaultResolver.LookupHost(rctx, host)
		if err != nil {
			d.add("upstream DNS", "FAIL", "cannot resolve "+host+": "+err.Error(), "check the PC's DNS settings and internet connection")
			return false
		}
		d.add("upstream DNS", "OK", fmt.Sprintf("%s resolves to %v", host, addrs), "")
	}
	conn, err := (&net.Dialer{}).DialContext(rctx, "tcp", net.JoinHostPort(host, port))
	if err != nil {
		d.add("upstream reachable", "FAIL", "cannot connect to "+net.JoinHostPort(host, port)+": "+err.Error(), "check the firewall and proxy: bridged needs outbound HTTPS to "+host)
		return false
	}
	if u.Scheme == "https" {
		tc := tls.Client(conn, &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12})
		if err := tc.HandshakeContext(rctx); err != nil {
			conn.Close()
			d.add("upstream TLS", "FAIL", "TLS handshake with "+host+" failed: "+err.Error(), "check the PC's date and time and that no proxy intercepts TLS")
			return false
		}
		d.add("upstream TLS", "OK", "handshake with "+host+" succeeded", "")
		conn = tc
	}
	conn.Close()
	d.add("upstream reachable", "OK", "connected to "+net.JoinHostPort(host, port), "")

	// Clock skew, from the Date header of any answer.
	req, _ := http.NewRequestWithContext(rctx, http.MethodHead, d.cfg.Upstream.BaseURL, nil)
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
		if date, err := http.ParseTime(resp.Header.Get("Date")); err == nil {
			skew := time.Since(date).Round(time.Second)
			if skew < 0 {
				skew = -skew
			}
			if skew > 2*time.Minute {
				d.add("clock", "WARN", fmt.Sprintf("this PC's clock is %s off iyzico's", skew), "enable time synchronisation (w32tm /resync on Windows, timedatectl set-ntp true on Linux)")
			} else {
				d.add("clock", "OK", fmt.Sprintf("within %s of iyzico's", skew), "")
			}
		}
	}
	return true
}

// checkLogin logs in once with the configured credentials. While a daemon
// runs it reads the daemon's token state instead, so that doctor never
// opens a second session that could end the daemon's.
func (d *doctor) checkLogin(ctx context.Context) {
	if d.running {
		var rd struct {
			Token struct {
				Status, Detail string
				Valid          bool
			} `json:"token"`
		}
		if _, err := newAPIClient(d.cfg).do(ctx, http.MethodGet, "/readyz", &rd); err == nil {
			if rd.Token.Valid {
				d.add("login", "OK", "the running daemon holds a valid iyzico token", "")
			} else {
				d.add("login", "FAIL", "the running daemon has no valid token: "+rd.Token.Detail, "check upstream.client_id, client_secret, username and password")
			}
		}
		return
	}
	c := d.cfg.Upstream
	client, err := upstream.New(upstream.Config{BaseURL: c.BaseURL, Credentials: upstream.Credentials{
		ClientID: c.ClientID, ClientSecret: c.ClientSecret, Username: c.Username, Password: c.Password},
		Locale: d.cfg.Upstream.Locale, CardTimeout: c.CardTimeout, QueryTimeout: c.QueryTimeout, Logger: zerolog.Nop()}, nil)
	if err != nil {
		d.add("login", "FAIL", err.Error(), "")
		return
	}
	lctx, cancel := context.WithTimeout(ctx, c.QueryTimeout*3)
	defer cancel()
	done := make(chan struct{})
	go func() { _ = client.Run(lctx); close(done) }()
	defer func() { cancel(); <-done }()
	for {
		changed := client.TokenChanged() // before the status: a change between the two still wakes us
		st := client.TokenStatus()
		switch {
		case st.Valid:
			d.add("login", "OK", "logged in to iyzico as "+c.Username, "")
			return
		case st.LastError != "":
			fix := "check upstream.client_id, client_secret, username and password (or the BRIDGED_UPSTREAM_* variables)"
			if st.LastErrorClass != upstream.AuthFailed {
				fix = "iyzico did not answer the login: check the network, then try again"
			}
			d.add("login", "FAIL", st.LastError, fix)
			return
		}
		select {
		case <-lctx.Done():
			d.add("login", "FAIL", "no answer to the login within "+(c.QueryTimeout*3).String(), "check the network and proxy")
			return
		case <-changed:
		}
	}
}

// Status prints the service manager's view and the daemon's readiness.
func (a *CLI) Status(ctx context.Context, args []string) error {
	var path string
	if _, err := a.Flags("status", args, ConfigFlag(&path)); err != nil {
		return err
	}
	if svc, err := a.NewService(ossvc.NewProgram(nil, a.Exit, a.Stderr, a.Version), ossvc.Config("")); err == nil {
		st, serr := svc.Status()
		fmt.Fprintf(a.Stdout, "service: %s\n", ossvc.StatusText(svc.Platform(), st, serr))
	} else {
		fmt.Fprintf(a.Stdout, "service: unknown: no service manager bridged knows runs here (%v); bridged can still run in the foreground\n", err)
	}
	cfg, err := a.opsConfig(path)
	if err != nil {
		return err
	}
	var rd apitype.Readiness
	_, err = newAPIClient(cfg).do(ctx, http.MethodGet, "/readyz", &rd)
	if errors.Is(err, errNotRunning) {
		fmt.Fprintf(a.Stdout, "daemon: not answering on %s\n", cfg.Listen)
		return errors.New("bridged is not running")
	}
	if err != nil {
		return err
	}
	return printReadiness(a.Stdout, rd)
}

func printReadiness(w io.Writer, rd apitype.Readiness) error {
	line := func(name string, part apitype.Part) {
		s := fmt.Sprintf("%-10s %s", name+":", part.Status)
		if part.Detail != "" {
			s += " — " + part.Detail
		}
		fmt.Fprintln(w, s)
	}
	fmt.Fprintf(w, "readiness: %s (checked %s)\n", rd.Status, rd.CheckedAt.Format(time.RFC3339Nano))
	line("store", rd.Store)
	line("token", rd.Token.Part)
	if exp := rd.Token.Expiry; exp != nil {
		fmt.Fprintf(w, "           expires %s (in %ds)\n", exp.Format(time.RFC3339Nano), rd.Token.ExpiresIn)
	}
	line("upstream", rd.Upstream.Part)
	for _, t := range rd.Terminals {
		s := fmt.Sprintf("terminal %s (%s): %s, %s", t.ID, t.DeviceUniqueID, t.State, t.Status)
		if t.Detail != "" {
			s += " — " + t.Detail
		}
		fmt.Fprintln(w, s)
	}
	if rd.Status == "fail" {
		return errors.New("bridged is not ready")
	}
	return nil
}
