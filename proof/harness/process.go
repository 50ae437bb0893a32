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
	"testing"
	"time"
)

// This file serves programs outside go test (the benchmark harness, bench/):
// the same config file and the same daemon as the proof suites, without a
// testing.TB, a capture or a secret scan.

// WriteConfigFile is WriteConfig for a program: it writes dir/bridged.yaml
// (data in dir/data) from the same template and returns its path, or the
// error WriteConfig would have failed the test with.
func WriteConfigFile(dir string, c Config) (path string, err error) {
	err = catch(func(tb testing.TB) { path = WriteConfig(tb, dir, c) })
	return path, err
}

// Launch runs bin with the config file and the extra environment, copies its
// log lines to logw (nil discards them), and returns once the daemon is ready
// (its "ready" log line names the bound address), as Start does. The caller
// ends the daemon (Stop or Kill); nothing does it for it.
func Launch(bin, config string, env []string, logw io.Writer) (*Daemon, error) {
	d := &Daemon{Config: config, exited: make(chan struct{})}
	d.cmd = exec.Command(bin, "run", "-c", config)
	d.cmd.Env = append(os.Environ(), env...)
	stderr, err := d.cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	d.cmd.Stdout = io.Discard
	if err := d.cmd.Start(); err != nil {
		return nil, err
	}
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
		readyTag := []byte(`"ready"`)
		// A benchmark reads thousands of lines a second through here, so
		// after ready the lines are only kept raw, and handed to note
		// (which decodes each) when the process ends, for Tail.
		var last []string
		isReady := false
		for sc.Scan() {
			line := sc.Bytes()
			if logw != nil {
				_, _ = fmt.Fprintf(logw, "%s\n", line)
			}
			if isReady {
				if last = append(last, string(line)); len(last) > 24 {
					last = append(last[:0], last[12:]...)
				}
				continue
			}
			d.note(string(line))
			if !bytes.Contains(line, readyTag) {
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
		if sc.Err() != nil {
			// A line too long to scan: keep the pipe drained, or the
			// daemon would block on its next log write.
			w := logw
			if w == nil {
				w = io.Discard
			}
			_, _ = io.Copy(w, stderr)
		}
		for _, l := range last[max(0, len(last)-12):] {
			d.note(l)
		}
		d.waitErr = d.cmd.Wait()
		close(d.exited)
	}()
	select {
	case d.Addr = <-ready:
		return d, nil
	case <-d.exited:
		return nil, fmt.Errorf("bridged exited before ready (%v):\n%s", d.waitErr, d.Tail())
	case <-time.After(60 * time.Second):
		d.Kill()
		return nil, fmt.Errorf("bridged not ready after 60 s:\n%s", d.Tail())
	}
}

// Pid is the daemon's process id.
func (d *Daemon) Pid() int { return d.cmd.Process.Pid }

// catch runs f with a testing.TB whose Fatal and Fatalf end f and become
// catch's error. Only Helper, Fatal and Fatalf are implemented (what
// WriteConfig uses); any other method panics on the nil TB inside, and that
// panic is returned as an error too, so a helper that starts to need more
// fails loudly rather than half-working.
func catch(f func(tb testing.TB)) (err error) {
	defer func() {
		switch p := recover().(type) {
		case nil:
		case tbFatal:
			err = p.err
		default:
			err = fmt.Errorf("harness helper outside go test: %v", p)
		}
	}()
	f(programTB{})
	return nil
}

type tbFatal struct{ err error }

// programTB is the testing.TB of catch. The embedded interface is nil: it is
// only there to carry testing.TB's unexported method.
type programTB struct{ testing.TB }

func (programTB) Helper() {}

func (programTB) Fatal(args ...any) { panic(tbFatal{errors.New(fmt.Sprint(args...))}) }

func (programTB) Fatalf(format string, args ...any) {
	panic(tbFatal{fmt.Errorf(format, args...)})
}
