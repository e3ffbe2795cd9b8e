package agent

import (
	"encoding/json"
	"net/http"
	"path/filepath"

	"github.com/palisade-psn/palisade/pkg/control"
)

// DirRequest names a rules directory on the agent's host.
type DirRequest struct {
	Dir string `json:"dir"`
}

func (a *Agent) applyAPI(srv *control.Server) {
	srv.Handle("POST /v1/apply", func(r *http.Request) (any, error) {
		dir, err := requestDir(r)
		if err != nil {
			return nil, err
		}
		return a.Apply(dir, control.PeerUser(r))
	})
	srv.Handle("POST /v1/plan", func(r *http.Request) (any, error) {
		dir, err := requestDir(r)
		if err != nil {
			return nil, err
		}
		return a.Plan(dir)
	})
}

func requestDir(r *http.Request) (string, error) {
	var in DirRequest
	if err := decodeBody(r, &in); err != nil {
		return "", err
	}
	if !filepath.IsAbs(in.Dir) {
		return "", control.Errorf(http.StatusBadRequest, "rules directory %q must be an absolute path", in.Dir)
	}
	return in.Dir, nil
}

func decodeBody(r *http.Request, v any) error {
	if err := json.NewDecoder(http.MaxBytesReader(nil, r.Body, 1<<20)).Decode(v); err != nil {
		return control.Errorf(http.StatusBadRequest, "bad request body: %v", err)
	}
	return nil
}
