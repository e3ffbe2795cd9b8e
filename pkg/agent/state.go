package agent

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// DefaultStateDir is where palisaded keeps what must outlive it.
const DefaultStateDir = "/var/lib/palisade"

// Suspension is why and by whom an organisation was red-flagged from the
// CLI, as opposed to in its rule file.
type Suspension struct {
	Reason string    `json:"reason"`
	By     string    `json:"by"`
	Since  time.Time `json:"since"`
}

// AuditHead is the last audit record the agent wrote. The chain alone
// cannot show that its last records were cut off; comparing with this can.
type AuditHead struct {
	Seq  uint64 `json:"seq"`
	Hash string `json:"hash"`
}

// state is the agent's persistent state: folded into every compile, so a
// suspension survives restarts and later applies.
type state struct {
	Suspended map[string]Suspension `json:"suspended"`
	AuditHead AuditHead             `json:"audit_head"`
}

func statePath(dir string) string { return filepath.Join(dir, "state.json") }

// loadState reads the state file; a missing one is an empty state.
func loadState(dir string) (*state, error) {
	st := &state{Suspended: map[string]Suspension{}}
	b, err := os.ReadFile(statePath(dir))
	if errors.Is(err, os.ErrNotExist) {
		return st, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read state: %w", err)
	}
	if err := json.Unmarshal(b, st); err != nil {
		return nil, fmt.Errorf("%s: %w", statePath(dir), err)
	}
	if st.Suspended == nil {
		st.Suspended = map[string]Suspension{}
	}
	return st, nil
}

// save writes the state whole, then renames it into place: a crash leaves
// the old file or the new one, never half of one.
func (st *state) save(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("state directory: %w", err)
	}
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	tmp := statePath(dir) + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("write state: %w", err)
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write state: %w", err)
	}
	if err := os.Rename(tmp, statePath(dir)); err != nil {
		return fmt.Errorf("write state: %w", err)
	}
	return nil
}
