package agent

import (
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/palisade-psn/palisade/pkg/capture"
	"github.com/palisade-psn/palisade/pkg/control"
	"github.com/palisade-psn/palisade/pkg/flows"
)

// flowsAPI serves the flow log: recent records, and a stream of new ones.
func (a *Agent) flowsAPI(srv *control.Server) {
	srv.Handle("GET /v1/flows", func(r *http.Request) (any, error) {
		fl := a.cfg.flowLog()
		if a.obs.flows == nil {
			return nil, control.Errorf(http.StatusServiceUnavailable, "the flow log is off")
		}
		limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
		if limit <= 0 {
			limit = 1000
		}
		recs, err := flows.Read(fl.Path, fl.Files, flowFilter(r), limit)
		if recs == nil {
			recs = []flows.Record{}
		}
		return recs, err
	})
	srv.HandleRaw("GET /v1/flows/follow", http.HandlerFunc(a.followFlows))
}

func flowFilter(r *http.Request) flows.Filter {
	q := r.URL.Query()
	return flows.Filter{Org: q.Get("org"), Verdict: q.Get("verdict")}
}

// followFlows streams matching records as JSON lines until the client goes.
func (a *Agent) followFlows(w http.ResponseWriter, r *http.Request) {
	if a.obs.flows == nil {
		http.Error(w, `{"error":"the flow log is off"}`, http.StatusServiceUnavailable)
		return
	}
	recs, cancel := a.obs.flows.Follow(flowFilter(r))
	defer cancel()
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.WriteHeader(http.StatusOK)
	fl, _ := w.(http.Flusher)
	if fl != nil {
		fl.Flush()
	}
	enc := json.NewEncoder(w)
	for {
		select {
		case <-r.Context().Done():
			return
		case rec := <-recs:
			if enc.Encode(rec) != nil {
				return
			}
			if fl != nil {
				fl.Flush()
			}
		}
	}
}

// capturesAPI lets a responder start, list, stop and fetch captures while
// the boundary keeps enforcing.
func (a *Agent) capturesAPI(srv *control.Server) {
	m := func() *capture.Manager { return a.obs.captures }
	srv.Handle("POST /v1/captures", func(r *http.Request) (any, error) {
		var req capture.Request
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			return nil, control.Errorf(http.StatusBadRequest, "capture request: %v", err)
		}
		info, err := m().Start(req, control.PeerUser(r))
		return info, captureErr(err)
	})
	srv.Handle("GET /v1/captures", func(*http.Request) (any, error) { return m().List(), nil })
	srv.Handle("GET /v1/captures/{id}", func(r *http.Request) (any, error) {
		info, err := m().Get(r.PathValue("id"))
		return info, captureErr(err)
	})
	srv.Handle("POST /v1/captures/{id}/stop", func(r *http.Request) (any, error) {
		info, err := m().Stop(r.PathValue("id"))
		return info, captureErr(err)
	})
	srv.HandleRaw("GET /v1/captures/{id}/file", http.HandlerFunc(a.captureFile))
}

// captureFile sends a finished capture, its SHA-256 in a header so the
// CLI can check what it wrote is what the audit log recorded.
func (a *Agent) captureFile(w http.ResponseWriter, r *http.Request) {
	info, err := a.obs.captures.Get(r.PathValue("id"))
	if err != nil || info.State == "running" {
		http.Error(w, `{"error":"no finished capture with that id"}`, http.StatusNotFound)
		return
	}
	f, err := os.Open(info.File)
	if err != nil {
		http.Error(w, `{"error":"capture file is gone"}`, http.StatusGone)
		return
	}
	defer f.Close()
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("X-Palisade-Sha256", info.SHA256)
	http.ServeContent(w, r, "", info.Ended, f)
}

func captureErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, capture.ErrBusy):
		return control.Errorf(http.StatusConflict, "%v", err)
	case errors.Is(err, capture.ErrUnknown):
		return control.Errorf(http.StatusNotFound, "%v", err)
	case errors.Is(err, capture.ErrUnrecorded):
		return control.Errorf(http.StatusServiceUnavailable, "%v", err)
	}
	return control.Errorf(http.StatusBadRequest, "%v", err)
}

// Organisations, LastApply, FlowLogStats and CaptureRunning make the agent a
// metrics.AgentInfo.
func (a *Agent) Organisations() (active, suspended []string) {
	p := a.Policy()
	if p == nil {
		return nil, nil
	}
	for _, o := range p.Orgs {
		if o.Suspended {
			suspended = append(suspended, o.ID)
		} else {
			active = append(active, o.ID)
		}
	}
	return active, suspended
}

// LastApply is the outcome of the last Reload.
func (a *Agent) LastApply() (bool, time.Time) {
	a.lastApply.mu.Lock()
	defer a.lastApply.mu.Unlock()
	return a.lastApply.ok, a.lastApply.at
}

// FlowLogStats are the flow log's lines, rotations and lines followers missed.
func (a *Agent) FlowLogStats() (written, rotated, missed uint64) {
	if a.obs.flows == nil {
		return 0, 0, 0
	}
	return a.obs.flows.Stats()
}

// CaptureRunning says whether a capture runs.
func (a *Agent) CaptureRunning() bool {
	return a.obs.captures != nil && a.obs.captures.Running()
}
