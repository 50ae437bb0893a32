package model

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bridgedpos/bridged/proof/harness"
)

// world is the daemon of one history across its lives: it is restarted at
// once whenever it ends (kill -9 by the model, a failpoint's kill), on the
// same configuration and journal, and the ECR's calls go to whichever life
// is current.
type world struct {
	t       *testing.T
	bin     string
	config  string
	env     []string
	capture *harness.Capture

	mu       sync.Mutex
	d        *harness.Daemon
	life     int
	stopping bool
	failed   error // a restart that did not come up
	changed  chan struct{}
	done     chan struct{}
	wg       sync.WaitGroup
}

func startWorld(t *testing.T, bin, config string, env []string, capture *harness.Capture) (*world, error) {
	w := &world{t: t, bin: bin, config: config, env: env, capture: capture, changed: make(chan struct{}), done: make(chan struct{})}
	d, err := harness.Start(t, bin, config, env, capture, "daemon-1.log")
	if err != nil {
		return nil, err
	}
	w.d, w.life = d, 1
	w.wg.Add(1)
	go w.supervise()
	return w, nil
}

func (w *world) supervise() {
	defer w.wg.Done()
	for {
		w.mu.Lock()
		d, life := w.d, w.life
		w.mu.Unlock()
		select {
		case <-d.Exited():
		case <-w.done:
			return
		}
		w.mu.Lock()
		if w.stopping {
			w.mu.Unlock()
			return
		}
		w.mu.Unlock()
		nd, err := harness.Start(w.t, w.bin, w.config, w.env, w.capture, fmt.Sprintf("daemon-%d.log", life+1))
		w.mu.Lock()
		if err != nil {
			w.failed = fmt.Errorf("restart %d: %w", life+1, err)
			close(w.changed)
			w.changed = make(chan struct{})
			w.mu.Unlock()
			return
		}
		w.d, w.life = nd, life+1
		close(w.changed)
		w.changed = make(chan struct{})
		w.mu.Unlock()
	}
}

// current returns the running daemon and its life, waiting (up to 20 s)
// while it restarts; nil when it does not come back.
func (w *world) current() (*harness.Daemon, int) {
	deadline := time.After(20 * time.Second)
	for {
		w.mu.Lock()
		d, life, changed, failed := w.d, w.life, w.changed, w.failed
		w.mu.Unlock()
		if failed != nil {
			return nil, life
		}
		select {
		case <-d.Exited():
		default:
			return d, life
		}
		select {
		case <-changed:
		case <-deadline:
			return nil, life
		}
	}
}

// next waits until a life after life runs, or limit passes.
func (w *world) next(life int, limit time.Duration) {
	timer := time.NewTimer(limit)
	defer timer.Stop()
	for {
		w.mu.Lock()
		cur, changed := w.life, w.changed
		w.mu.Unlock()
		if cur > life {
			return
		}
		select {
		case <-changed:
		case <-timer.C:
			return
		}
	}
}

// kill is kill -9 of the current life, if it is still life; the supervisor
// starts the next one.
func (w *world) kill(life int) bool {
	w.mu.Lock()
	d, cur := w.d, w.life
	w.mu.Unlock()
	if cur != life {
		return false
	}
	d.Kill()
	return true
}

// stop ends the last life with kill -9 and stops restarting.
func (w *world) stop() {
	w.mu.Lock()
	w.stopping = true
	d := w.d
	w.mu.Unlock()
	close(w.done)
	w.wg.Wait()
	d.Kill()
	w.mu.Lock()
	d = w.d // a restart that raced the stop
	w.mu.Unlock()
	d.Kill()
}

// control posts to the failpoint control of the current life.
func (w *world) control(method, body string) error {
	d, _ := w.current()
	if d == nil {
		return fmt.Errorf("no daemon")
	}
	req, err := http.NewRequest(method, "http://"+d.Addr+"/_failpoint", bytes.NewReader([]byte(body)))
	if err != nil {
		return err
	}
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s /_failpoint %s: HTTP %d", method, strings.TrimSpace(body), resp.StatusCode)
	}
	return nil
}
