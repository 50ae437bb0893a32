package harness

import (
	"bufio"
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

// DefaultKey is the API key of a Config that names none.
var DefaultKey = strings.Repeat("k", 40)

// WriteConfig writes dir/bridged.yaml (data in dir/data) and returns its path.
func WriteConfig(t testing.TB, dir string, c Config) string {
	t.Helper()
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
%s`, c.Listen, filepath.Join(dir, "data"), c.Mode, c.APIKey, c.UpstreamURL, terms.String(), c.Extra)
	path := filepath.Join(dir, "bridged.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// Daemon is one run of the bridged process.
type Daemon struct {
	Addr   string // host:port of the API
	Config string // the config file's path

	cmd     *exec.Cmd
	exited  chan struct{}
	waitErr error

	mu         sync.Mutex
	failpoints []string // "boundary fault" lines the process printed as they fired
	lines      []string // the last log lines, for failure messages
}

// Start runs bin with the config file and the extra environment, logs into
// the capture as logName, and returns once the daemon is ready (its "ready"
// log line names the bound address). A daemon still running when t ends is killed.
func Start(t testing.TB, bin, config string, env []string, capture *Capture, logName string) (*Daemon, error) {
	t.Helper()
	d := &Daemon{Config: config, exited: make(chan struct{})}
	d.cmd = exec.Command(bin, "run", "-c", config)
	d.cmd.Env = append(os.Environ(), env...)
	stderr, err := d.cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	logf := capture.File(t, logName)
	d.cmd.Stdout = capture.File(t, strings.TrimSuffix(logName, ".log")+".stdout") // scanned too
	if err := d.cmd.Start(); err != nil {
		logf.Close()
		return nil, err
	}
	ready := make(chan string, 1)
	go func() {
		defer logf.Close()
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			_, _ = logf.WriteString(line + "\n")
			d.note(line)
			var ev struct {
				Message string `json:"message"`
				Listen  string `json:"listen"`
			}
			if json.Unmarshal([]byte(line), &ev) == nil && ev.Message == "ready" && ev.Listen != "" {
				select {
				case ready <- ev.Listen:
				default:
				}
			}
		}
		if err := sc.Err(); err != nil {
			// The rest of the log still reaches the capture, unparsed.
			_, _ = fmt.Fprintf(logf, "harness: log line unreadable (%v); the rest follows as it is\n", err)
			_, _ = io.Copy(logf, stderr)
		}
		d.waitErr = d.cmd.Wait()
		if f, ok := d.cmd.Stdout.(*os.File); ok {
			f.Close()
		}
		close(d.exited)
	}()
	t.Cleanup(d.Kill)
	select {
	case d.Addr = <-ready:
		return d, nil
	case <-d.exited:
		return nil, fmt.Errorf("bridged exited before ready (%v):\n%s", d.waitErr, d.Tail())
	case <-time.After(30 * time.Second):
		d.Kill()
		return nil, fmt.Errorf("bridged not ready after 30 s:\n%s", d.Tail())
	}
}

func (d *Daemon) note(line string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if fp, ok := strings.CutPrefix(line, "failpoint: "); ok {
		d.failpoints = append(d.failpoints, fp)
	}
	d.lines = append(d.lines, brief(line))
	if len(d.lines) > 12 {
		d.lines = d.lines[len(d.lines)-12:]
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
	return strings.Join(d.lines, "\n")
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
