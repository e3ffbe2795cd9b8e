// Package control is the agent's local API: JSON over HTTP on a Unix socket
// that only root can open, and the client the CLI uses. Endpoints are
// registered by the agent's features, one file each.
package control

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"
)

// DefaultSocket is where palisaded listens.
const DefaultSocket = "/run/palisade/palisaded.sock"

// Server serves the local API.
type Server struct {
	mux  *http.ServeMux
	ln   net.Listener
	srv  *http.Server
	path string
}

// Listen opens the socket, replacing a stale one a crashed agent left.
func Listen(path string) (*Server, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("control socket directory: %w", err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("remove stale control socket: %w", err)
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("control socket: %w", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("control socket permissions: %w", err)
	}
	s := &Server{mux: http.NewServeMux(), ln: ln, path: path}
	s.srv = &http.Server{Handler: s.mux, ReadHeaderTimeout: 5 * time.Second, ConnContext: withPeer}
	return s, nil
}

// HandlerFunc answers a request with a value to send as JSON, or an error.
type HandlerFunc func(r *http.Request) (any, error)

// StatusError carries an HTTP status with its message.
type StatusError struct {
	Code int
	Msg  string
}

func (e *StatusError) Error() string { return e.Msg }

// Errorf makes a StatusError.
func Errorf(code int, format string, args ...any) error {
	return &StatusError{Code: code, Msg: fmt.Sprintf(format, args...)}
}

// Handle registers fn for a method and path pattern ("GET /v1/status").
func (s *Server) Handle(pattern string, fn HandlerFunc) {
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		v, err := fn(r)
		w.Header().Set("Content-Type", "application/json")
		if err != nil {
			code := http.StatusInternalServerError
			var se *StatusError
			if errors.As(err, &se) {
				code = se.Code
			}
			w.WriteHeader(code)
			json.NewEncoder(w).Encode(map[string]string{"error": err.Error()})
			return
		}
		json.NewEncoder(w).Encode(v)
	})
}

// HandleRaw registers a plain handler (streams, files).
func (s *Server) HandleRaw(pattern string, h http.Handler) { s.mux.Handle(pattern, h) }

// Serve serves until Close.
func (s *Server) Serve() error {
	if err := s.srv.Serve(s.ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// Close stops serving and removes the socket.
func (s *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	err := s.srv.Shutdown(ctx)
	os.Remove(s.path)
	return err
}
