package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"
)

// rssSample is a process's resident set now and at its peak, in bytes, from
// /proc/<pid>/status (VmRSS, VmHWM), and the two parts of VmRSS that matter
// here: RssAnon (heap, stacks) and RssFile (mapped files: the binary, and the
// pages of the journal that bbolt's mmap has touched, which the kernel can
// drop). Elsewhere than on Linux there is none.
type rssSample struct {
	RSS  int64 `json:"rss_bytes"`
	HWM  int64 `json:"hwm_bytes"`
	Anon int64 `json:"rss_anon_bytes"`
	File int64 `json:"rss_file_bytes"`
}

func readRSS(pid int) (rssSample, bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return rssSample{}, false
	}
	var s rssSample
	var found int
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := sc.Bytes()
		var dst *int64
		switch {
		case bytes.HasPrefix(line, []byte("VmRSS:")):
			dst = &s.RSS
		case bytes.HasPrefix(line, []byte("VmHWM:")):
			dst = &s.HWM
		case bytes.HasPrefix(line, []byte("RssAnon:")):
			dst = &s.Anon
		case bytes.HasPrefix(line, []byte("RssFile:")):
			dst = &s.File
		default:
			continue
		}
		f := bytes.Fields(line)
		if len(f) < 3 || string(f[2]) != "kB" {
			continue
		}
		kb, err := strconv.ParseInt(string(f[1]), 10, 64)
		if err != nil {
			continue
		}
		*dst = kb << 10
		found++
	}
	return s, found >= 2
}

// rssSampler reads a process's RSS at an interval and keeps the largest.
type rssSampler struct {
	read  func() (rssSample, bool)
	stopc chan struct{}
	done  chan struct{}

	mu       sync.Mutex
	peak     rssSample // the sample with the largest RSS
	anonPeak int64     // the largest RssAnon sampled
	seen     bool
}

func startSampler(read func() (rssSample, bool), every time.Duration) *rssSampler {
	s := &rssSampler{read: read, stopc: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			s.take()
			select {
			case <-s.stopc:
				return
			case <-t.C:
			}
		}
	}()
	return s
}

func (s *rssSampler) take() {
	r, ok := s.read()
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seen = true
	if r.RSS > s.peak.RSS {
		s.peak = r
	}
	s.anonPeak = max(s.anonPeak, r.Anon)
}

// stop ends the sampling and returns the largest RSS sampled, the
// process's own high-water mark (VmHWM: the peak since it started, which no
// sampling interval can miss) and the largest anonymous part sampled.
func (s *rssSampler) stop() (peak rssSample, hwm, anon int64, ok bool) {
	close(s.stopc)
	<-s.done
	s.take()
	last, lok := s.read()
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.peak, last.HWM, s.anonPeak, s.seen && lok
}
