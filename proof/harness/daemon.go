package harness

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// Terminal is one lane of the daemon's config.
type Terminal struct{ ID, Device string }

// Config is what a suite chooses of the daemon's config file; the rest is
// fixed (loopback :0, JSON logs, the simulator's credentials).
type Config struct {
	Mode        string // vuk509 (default) or vuk507
	UpstreamURL string
	APIKey      string // at least 32 characters; default 40 × "k"
	Terminals   []Terminal
	// Listen overrides the loopback :0 address (the probes try others).
	Listen string
	// Extra is appended to the YAML file as it is (more keys, more sections).
	Extra string
}

// DefaultKey is the API key of a Config that names none: the ECR's, with
// the payments scope.
var DefaultKey = strings.Repeat("k", 40)

// OpsKey is the operator's key of every config (name ops, scopes read and
// operate): for /metrics, the detailed /readyz and the status page.
var OpsKey = strings.Repeat("o", 40)

// WriteConfig writes dir/bridged.yaml (data in dir/data) and returns its path.
func WriteConfig(t testing.TB, dir string, c Config) string {
	t.Helper()
	path, err := WriteConfigFile(dir, c)
	if err != nil {
		t.Fatal(err)
	}
	return path
}

// WriteConfigFile is WriteConfig for a program outside go test (bench/).
func WriteConfigFile(dir string, c Config) (string, error) {
	if c.Mode == "" {
		c.Mode = "vuk509"
	}
	if c.APIKey == "" {
		c.APIKey = DefaultKey
	}
	if c.Listen == "" {
		c.Listen = "127.0.0.1:0"
	}
	var terms strings.Builder
	for _, tm := range c.Terminals {
		fmt.Fprintf(&terms, "  - id: %s\n    device_unique_id: %s\n", tm.ID, tm.Device)
	}
	yaml := fmt.Sprintf(`listen: %q
data_dir: %q
mode: %s
api:
  keys:
    - name: ecr
      key: %q
    - name: ops
      key: %q
      scopes: [read, operate]
  default_wait: 2s
upstream:
  base_url: %q
  client_id: sim-client
  client_secret: sim-secret
  username: sim-user
  password: sim-password
  card_timeout: 10s
  query_timeout: 2s
terminals:
%ssale_app:
  name: proof
  version: "1.0.0"
log:
  level: info
  format: json
%s`, c.Listen, filepath.Join(dir, "data"), c.Mode, c.APIKey, OpsKey, c.UpstreamURL, terms.String(), c.Extra)
	path := filepath.Join(dir, "bridged.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		return "", err
	}
	return path, nil
}

// Daemon is one run of the bridged process.
type Daemon struct {
	Addr   string // host:port of the API
	Config string // the config file's path

	cmd     *exec.Cmd
	exited  chan struct{}
	waitErr error

	mu         sync.Mutex
	failpoints []string      // "boundary fault" lines the process printed as they fired
	fpChanged  chan struct{} // closed and replaced at every failpoint line
	lines      []string      // the last log lines, for failure messages
}

// Start runs bin with the config file and the extra environment, logs into
// the capture as logName (its standard output beside it), and returns once
// the daemon is ready (its "ready" log line names the bound address). A
// daemon still running when t ends is killed.
func Start(t testing.TB, bin, config string, env []string, capture *Capture, logName string) (*Daemon, error) {
	t.Helper()
	logf := capture.File(t, logName)
	outf := capture.File(t, strings.TrimSuffix(logName, ".log")+".stdout") // scanned too
	d, err := launch(bin, config, env, logf, outf, func() { logf.Close(); outf.Close() })
	if d != nil {
		t.Cleanup(d.Kill)
	}
	return d, err
}

// Launch is Start for a program outside go test (bench/): the log lines go
// to logw (nil discards them), standard output is discarded, and the caller
// ends the daemon (Stop or Kill).
func Launch(bin, config string, env []string, logw io.Writer) (*Daemon, error) {
	if logw == nil {
		logw = io.Discard
	}
	return launch(bin, config, env, logw, io.Discard, nil)
}

// launch starts the daemon and reads its log until it ends: every line is
// copied to logw; "failpoint:" lines are noted at once; the ready line gives
// the address; other lines are kept, raw, in a short ring for Tail (a
// benchmark's daemon writes thousands a second). done runs once the process
// has ended and its log is read to the end. On error the daemon is gone.
func launch(bin, config string, env []string, logw, stdout io.Writer, done func()) (*Daemon, error) {
	d := &Daemon{Config: config, exited: make(chan struct{})}
	d.cmd = exec.Command(bin, "run", "-c", config)
	d.cmd.Env = append(os.Environ(), env...)
	d.cmd.Stdout = stdout
	stderr, err := d.cmd.StderrPipe()
	if err == nil {
		err = d.cmd.Start()
	}
	if err != nil {
		if done != nil {
			done()
		}
		return nil, err
	}
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
		isReady := false
		for sc.Scan() {
			line := sc.Bytes()
			_, _ = fmt.Fprintf(logw, "%s\n", line)
			d.keep(line)
			if isReady || !bytes.Contains(line, []byte(`"ready"`)) {
				continue
			}
			var ev struct {
				Message string `json:"message"`
				Listen  string `json:"listen"`
			}
			if json.Unmarshal(line, &ev) == nil && ev.Message == "ready" && ev.Listen != "" {
				isReady = true
				ready <- ev.Listen
			}
		}
		if err := sc.Err(); err != nil {
			// A line too long to scan: the rest still reaches logw, unparsed,
			// and the pipe stays drained (or the daemon would block).
			_, _ = fmt.Fprintf(logw, "harness: log line unreadable (%v); the rest follows as it is\n", err)
			_, _ = io.Copy(logw, stderr)
		}
		d.waitErr = d.cmd.Wait()
		if done != nil {
			done()
		}
		close(d.exited)
	}()
	select {
	case d.Addr = <-ready:
		return d, nil
	case <-d.exited:
		// The daemon is returned too: a test of a stop before ready reads
		// its failpoint lines.
		return d, fmt.Errorf("bridged exited before ready (%v):\n%s", d.waitErr, d.Tail())
	case <-time.After(60 * time.Second):
		d.Kill()
		return nil, fmt.Errorf("bridged not ready after 60 s:\n%s", d.Tail())
	}
}

// Pid is the daemon's process id.
func (d *Daemon) Pid() int { return d.cmd.Process.Pid }

// keep notes a log line: a failpoint line for Failpoints, any line in the
// ring Tail reads.
func (d *Daemon) keep(line []byte) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if fp, ok := bytes.CutPrefix(line, []byte("failpoint: ")); ok {
		d.failpoints = append(d.failpoints, string(fp))
		if d.fpChanged != nil {
			close(d.fpChanged)
		}
		d.fpChanged = make(chan struct{})
	}
	if d.lines = append(d.lines, string(line)); len(d.lines) > 24 {
		d.lines = append(d.lines[:0], d.lines[12:]...)
	}
}

// WaitFailpoint waits until a failpoint line the process printed contains
// want (it is read from the log by another goroutine than the answer that
// follows it), the process exits, or limit passes; it reports whether the
// line came.
func (d *Daemon) WaitFailpoint(want string, limit time.Duration) bool {
	timer := time.NewTimer(limit)
	defer timer.Stop()
	for {
		d.mu.Lock()
		for _, l := range d.failpoints {
			if strings.Contains(l, want) {
				d.mu.Unlock()
				return true
			}
		}
		if d.fpChanged == nil {
			d.fpChanged = make(chan struct{})
		}
		changed := d.fpChanged
		d.mu.Unlock()
		select {
		case <-changed:
		case <-d.exited:
			return false
		case <-timer.C:
			return false
		}
	}
}

// Failpoints returns the failpoint lines the process printed.
func (d *Daemon) Failpoints() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.failpoints...)
}

// brief keeps a log line's level, component and message: a failure message
// in CI's output must not carry what the secret scan is there to catch (the
// whole line is in the capture, which is scanned).
func brief(line string) string {
	var ev struct{ Level, Component, Message, Op, Reason string }
	if json.Unmarshal([]byte(line), &ev) != nil {
		if strings.HasPrefix(line, "failpoint: ") {
			return line
		}
		return "(a line that is not JSON)"
	}
	return strings.TrimSpace(fmt.Sprintf("%s %s %s %s %s", ev.Level, ev.Component, ev.Op, ev.Message, ev.Reason))
}

// Tail returns the last log lines, briefly.
func (d *Daemon) Tail() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []string
	for _, l := range d.lines[max(0, len(d.lines)-12):] {
		out = append(out, brief(l))
	}
	return strings.Join(out, "\n")
}

// Exited is closed once the process has ended and its log is read.
func (d *Daemon) Exited() <-chan struct{} { return d.exited }

// Kill is kill -9: SIGKILL, then wait for the process to be gone.
func (d *Daemon) Kill() {
	select {
	case <-d.exited:
		return
	default:
	}
	if err := d.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		panic(fmt.Sprintf("kill bridged: %v", err))
	}
	<-d.exited
}

// Stop asks the daemon to stop (SIGINT, as Ctrl-C or the service manager
// would) and waits up to limit; it returns the exit error, or an error when
// the daemon did not stop in time (it is then killed).
func (d *Daemon) Stop(limit time.Duration) error {
	if err := d.cmd.Process.Signal(os.Interrupt); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	select {
	case <-d.exited:
		return d.waitErr
	case <-time.After(limit):
		d.Kill()
		return fmt.Errorf("bridged did not stop within %v", limit)
	}
}

// Export runs `bridged export` (jsonl) on the daemon's config into the
// capture as name; the daemon must not be running (the journal is locked).
func Export(t testing.TB, bin, config string, capture *Capture, name string) {
	t.Helper()
	out := filepath.Join(capture.Dir, name)
	cmd := exec.Command(bin, "export", "-c", config, "--format", "jsonl", "--from", "2000-01-01", "-o", out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("bridged export: %v\n%s", err, b)
	}
}
