package capture

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/palisade-psn/palisade/pkg/audit"
	"github.com/palisade-psn/palisade/pkg/datapath"
)

// ErrBusy says a capture already runs: the datapath selects one
// organisation at a time.
var ErrBusy = errors.New("a capture is already running")

// ErrUnknown says there is no such capture, or no such organisation.
var ErrUnknown = errors.New("unknown")

// Manager runs captures one at a time and remembers finished ones.
type Manager struct {
	dp    *datapath.Datapath
	audit *audit.Log
	dir   string
	log   *slog.Logger

	mu   sync.Mutex
	runs map[string]*run
}

// NewManager keeps capture files in dir. A capture a crashed agent left
// switched on in the pinned config is switched off here.
func NewManager(dp *datapath.Datapath, al *audit.Log, dir string, log *slog.Logger) (*Manager, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("capture directory: %w", err)
	}
	if err := dp.StopCapture(); err != nil {
		return nil, err
	}
	return &Manager{dp: dp, audit: al, dir: dir, log: log, runs: map[string]*run{}}, nil
}

// Start begins a capture for requester and returns at once.
func (m *Manager) Start(req Request, requester string) (Info, error) {
	if err := req.Normalise(); err != nil {
		return Info{}, err
	}
	slot, ok := m.dp.OrgSlot(req.Org)
	if !ok {
		return Info{}, fmt.Errorf("organisation %q: %w", req.Org, ErrUnknown)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, r := range m.runs {
		if r.running() {
			return Info{}, fmt.Errorf("%w (%s)", ErrBusy, r.snapshot().ID)
		}
	}
	id := newID()
	info := Info{ID: id, Request: req, Requester: requester, State: "running", Started: time.Now().UTC(),
		File: filepath.Join(m.dir, id+"."+req.Format)}
	r, err := m.begin(info, slot)
	if err != nil {
		return Info{}, err
	}
	m.runs[id] = r
	go r.loop(m)
	return r.snapshot(), nil
}

// Stop ends a running capture early and waits for it to be written.
func (m *Manager) Stop(id string) (Info, error) {
	r, err := m.get(id)
	if err != nil {
		return Info{}, err
	}
	r.requestStop()
	<-r.done
	return r.snapshot(), nil
}

// Get describes one capture.
func (m *Manager) Get(id string) (Info, error) {
	r, err := m.get(id)
	if err != nil {
		return Info{}, err
	}
	return r.snapshot(), nil
}

// List describes every capture this agent ran, oldest first.
func (m *Manager) List() []Info {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]Info, 0, len(m.runs))
	for _, r := range m.runs {
		out = append(out, r.snapshot())
	}
	slices.SortFunc(out, func(a, b Info) int { return a.Started.Compare(b.Started) })
	return out
}

// Running says whether a capture runs (for metrics).
func (m *Manager) Running() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, r := range m.runs {
		if r.running() {
			return true
		}
	}
	return false
}

// Close stops a running capture.
func (m *Manager) Close() {
	for _, i := range m.List() {
		if i.State == "running" {
			m.Stop(i.ID)
		}
	}
}

func (m *Manager) get(id string) (*run, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.runs[id]
	if !ok {
		return nil, fmt.Errorf("capture %q: %w", id, ErrUnknown)
	}
	return r, nil
}

// finish switches the datapath back off and records the chain of custody.
func (m *Manager) finish(info Info) {
	if err := m.dp.StopCapture(); err != nil {
		m.log.Error("switch capture off", "err", err)
	}
	result := "ok"
	if info.State == "failed" {
		result = "error"
	}
	if m.audit != nil {
		if _, err := m.audit.Append(audit.Record{User: info.Requester, Action: "capture", Subject: info.Request.Org,
			Result: result, Detail: custody(info)}); err != nil {
			m.log.Error("audit capture", "err", err, "id", info.ID)
		}
	}
	m.log.Info("capture finished", "id", info.ID, "org", info.Request.Org, "packets", info.Packets,
		"bytes", info.Bytes, "sha256", info.SHA256, "stopped_by", info.Stopped)
}

func newID() string {
	b := make([]byte, 6)
	rand.Read(b)
	return time.Now().UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b)
}
