package main

import (
	"bufio"
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/bridgedpos/bridged/proof/harness"
)

// commitStats is bridged's own count of its durable commits and their time
// (bridged_store_commit_duration_seconds on /metrics).
type commitStats struct {
	Count int64
	Sum   float64 // seconds
}

// scrapeCommits reads bridged's commit histogram.
func scrapeCommits(ctx context.Context, addr string) (commitStats, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/metrics", nil)
	if err != nil {
		return commitStats{}, err
	}
	req.Header.Set("Authorization", "Bearer "+harness.OpsKey) // /metrics needs the read scope
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return commitStats{}, err
	}
	defer resp.Body.Close()
	var s commitStats
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		name, val, ok := strings.Cut(sc.Text(), " ")
		if !ok {
			continue
		}
		switch name {
		case "bridged_store_commit_duration_seconds_sum":
			s.Sum, _ = strconv.ParseFloat(val, 64)
		case "bridged_store_commit_duration_seconds_count":
			s.Count, _ = strconv.ParseInt(val, 10, 64)
		}
	}
	return s, sc.Err()
}
