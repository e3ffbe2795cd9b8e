package control

import (
	"net/http"
	"path/filepath"
	"testing"
)

func TestRoundTripAndPeer(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "api.sock")
	srv, err := Listen(sock)
	if err != nil {
		t.Fatal(err)
	}
	srv.Handle("GET /v1/who", func(r *http.Request) (any, error) { return map[string]string{"user": PeerUser(r)}, nil })
	srv.Handle("POST /v1/fail", func(r *http.Request) (any, error) { return nil, Errorf(http.StatusConflict, "no: %d", 7) })
	go srv.Serve()
	defer srv.Close()
	c := NewClient(sock)
	var who map[string]string
	if err := c.Get("/v1/who", &who); err != nil {
		t.Fatal(err)
	}
	if who["user"] == "" || who["user"] == "unknown" {
		t.Errorf("peer user = %q, want the test's own user", who["user"])
	}
	err = c.Post("/v1/fail", map[string]int{"a": 1}, nil)
	if se, ok := err.(*StatusError); !ok || se.Code != http.StatusConflict || se.Msg != "no: 7" {
		t.Errorf("error = %#v, want 409 no: 7", err)
	}
	if err := NewClient(filepath.Join(t.TempDir(), "none.sock")).Get("/v1/who", nil); err == nil {
		t.Error("a missing socket gave no error")
	}
}
