package agent

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/palisade-psn/palisade/pkg/datapath"
	"github.com/palisade-psn/palisade/pkg/policy"
)

// counting is since when each rule of the running policy has been counted:
// from when it entered the running policy (and stayed), or from when the
// counters were created, if later. It is kept in the state directory, so
// an agent restart keeps it, and started again when the datapath counts in
// other counters than those it describes: new maps after a reboot or
// `palisade clean` start at zero, and so does what a report may claim.
type counting struct {
	Counters datapath.CounterOrigin `json:"counters"`
	Rules    map[string]time.Time   `json:"rules"`
	Reset    *CountersReset         `json:"reset,omitempty"` // the last time counters were found new
}

// CountersReset says the agent found the counters new: what it knew of
// hits before Noticed (counted since Previous) is gone.
type CountersReset struct {
	Noticed  time.Time `json:"noticed"`
	Previous time.Time `json:"previous_counters_created"`
}

func countingPath(dir string) string { return filepath.Join(dir, "counting.json") }

// loadCounting reads the record; a missing one is empty.
func loadCounting(dir string) (*counting, error) {
	c := &counting{Rules: map[string]time.Time{}}
	b, err := os.ReadFile(countingPath(dir))
	if errors.Is(err, os.ErrNotExist) {
		return c, nil
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, c); err != nil {
		return nil, fmt.Errorf("%s: %w", countingPath(dir), err)
	}
	if c.Rules == nil {
		c.Rules = map[string]time.Time{}
	}
	return c, nil
}

// observe brings the record up to date with the counters in use and the
// rules of the policy now running, at now; it says whether it changed.
func (c *counting) observe(origin datapath.CounterOrigin, rules []policy.Rule, now time.Time) bool {
	changed := false
	if !c.Counters.Same(origin) {
		if c.Counters.MapID != 0 {
			c.Reset = &CountersReset{Noticed: now, Previous: c.Counters.Created}
		}
		c.Counters, c.Rules, changed = origin, map[string]time.Time{}, true
	}
	live := make(map[string]bool, len(rules))
	for _, r := range rules {
		live[r.Name] = true
		if _, ok := c.Rules[r.Name]; !ok {
			c.Rules[r.Name] = later(now, c.Counters.Created)
			changed = true
		}
	}
	for name := range c.Rules {
		if !live[name] { // if it comes back, it is counted from then
			delete(c.Rules, name)
			changed = true
		}
	}
	return changed
}

// since is when rule began to be counted; the zero time if it is unknown.
func (c *counting) since(rule string) time.Time { return c.Rules[rule] }

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// save writes the record whole, then renames it into place.
func (c *counting) save(dir string) error {
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	tmp := countingPath(dir) + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return os.Rename(tmp, countingPath(dir))
}

// noteRules records since when the rules of c, just published, are
// counted. Under mu. A failure costs only the report's precision (a rule
// is then counted from when the agent next notes it), so it is logged.
func (a *Agent) noteRules(c *policy.Compiled) {
	origin, err := a.dp.CounterOrigin()
	if err != nil {
		a.log.Error("rule counters: cannot tell since when they count; report unused will say so", "err", err)
		return
	}
	if a.counting == nil {
		if a.counting, err = loadCounting(a.cfg.StateDir); err != nil {
			a.log.Error("read since when rules are counted; counting from now", "err", err)
			a.counting = &counting{Rules: map[string]time.Time{}}
		}
	}
	prev := a.counting.Counters
	if !a.counting.observe(origin, c.Rules, time.Now().UTC()) {
		return
	}
	if prev.MapID != 0 && !prev.Same(origin) {
		a.log.Warn("rule counters are new (a reboot or palisade clean): hits before now are not known",
			"counters_created", origin.Created, "previous_counters_created", prev.Created)
	}
	if err := a.counting.save(a.cfg.StateDir); err != nil {
		a.log.Error("save since when rules are counted", "err", err)
	}
}
