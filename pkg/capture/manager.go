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

// ErrUnrecorded says the audit log could not record the capture: one that
// cannot be recorded is not started, and one whose file's SHA-256 cannot
// be recorded is not handed over.
var ErrUnrecorded = errors.New("cannot write the audit log")

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
	// Recorded before the datapath starts copying an organisation's
	// packets: a capture the log cannot record is not taken.
	rec := audit.Record{User: requester, Action: "capture-start", Subject: req.Org, Result: "ok",
		Detail: audit.Detail(map[string]any{"id": id, "filter": req.Filter, "full": req.Full, "format": req.Format,
			"duration": req.Duration.String(), "packets": req.Packets, "bytes": req.Bytes})}
	if err := m.record(rec); err != nil {
		return Info{}, fmt.Errorf("capture not started: %w", err)
	}
	r, err := m.begin(info, slot)
	if err != nil {
		rec.Result, rec.Detail = "error", audit.Detail(map[string]string{"id": id, "error": err.Error()})
		m.record(rec)
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
// A file whose SHA-256 the audit log cannot record is not handed over: it
// is removed and the capture fails, saying why.
func (m *Manager) finish(r *run) {
	if err := m.dp.StopCapture(); err != nil {
		m.log.Error("switch capture off", "err", err)
	}
	info := r.snapshot()
	result := "ok"
	if info.State == "failed" {
		result = "error"
	}
	err := m.record(audit.Record{User: info.Requester, Action: "capture", Subject: info.Request.Org,
		Result: result, Detail: custody(info)})
	if err != nil {
		os.Remove(info.File)
		r.fail(fmt.Errorf("capture not handed over, its file removed: %w", err))
	}
	m.log.Info("capture finished", "id", info.ID, "org", info.Request.Org, "packets", info.Packets,
		"bytes", info.Bytes, "sha256", info.SHA256, "stopped_by", info.Stopped, "recorded", err == nil)
}

// record appends r to the audit log; an error wraps ErrUnrecorded.
func (m *Manager) record(r audit.Record) error {
	if m.audit == nil {
		return nil
	}
	if _, err := m.audit.Append(r); err != nil {
		m.log.Error("AUDIT LOG NOT WRITTEN", "action", r.Action, "subject", r.Subject, "err", err)
		return fmt.Errorf("%w: %v", ErrUnrecorded, err)
	}
	return nil
}

func newID() string {
	b := make([]byte, 6)
	rand.Read(b)
	return time.Now().UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b)
}
