package config

import "fmt"

// Journal configures the journal's upkeep.
type Journal struct {
	// RetainDays is how many business days the journal keeps. Older days,
	// once closed (every operation final, nothing waiting for an operator),
	// are written to <data_dir>/archive/YYYY/MM/DD.jsonl.gz and removed from
	// the journal, so that it stops growing. 0 keeps everything.
	RetainDays int `yaml:"retain_days"`
}

// DefaultRetainDays is journal.retain_days by default: a bit more than a
// year, so that a refund of any sale of the last year finds it.
const DefaultRetainDays = 400

// MinRetainDays is the least journal.retain_days accepted (but 0): a
// refund or void must find its sale, and the idempotency keys of the last
// ends of day must stay.
const MinRetainDays = 7

func (j Journal) validate() Problems {
	var ps Problems
	if d := j.RetainDays; d != 0 && (d < MinRetainDays || d > 36500) {
		ps.add("retain_days", fmt.Sprintf("%d is out of range: keep from %d to 36500 business days, or 0 to keep everything", d, MinRetainDays))
	}
	return ps
}
