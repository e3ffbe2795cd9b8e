package control

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"syscall"
	"time"
)

// Client talks to a running agent.
type Client struct {
	http *http.Client
	path string
}

// ErrNoAgent says nothing listens on the socket.
var ErrNoAgent = errors.New("palisaded is not running (no control socket)")

// NewClient returns a client for the socket at path.
func NewClient(path string) *Client {
	return &Client{path: path, http: &http.Client{
		Timeout: 60 * time.Second,
		Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", path)
		}},
	}}
}

// Get fetches path into out.
func (c *Client) Get(path string, out any) error { return c.do(http.MethodGet, path, nil, out) }

// Post sends in as JSON and decodes the answer into out.
func (c *Client) Post(path string, in, out any) error { return c.do(http.MethodPost, path, in, out) }

// Stream opens path and returns the body for the caller to read.
func (c *Client) Stream(ctx context.Context, path string) (io.ReadCloser, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://palisaded"+path, nil)
	if err != nil {
		return nil, err
	}
	hc := *c.http
	hc.Timeout = 0
	resp, err := hc.Do(req)
	if err != nil {
		return nil, c.wrap(err)
	}
	if resp.StatusCode != http.StatusOK {
		defer resp.Body.Close()
		return nil, decodeError(resp)
	}
	return resp.Body, nil
}

func (c *Client) do(method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, "http://palisaded"+path, body)
	if err != nil {
		return err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return c.wrap(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return decodeError(resp)
	}
	if out == nil {
		return nil
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

func (c *Client) wrap(err error) error {
	if errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.ECONNREFUSED) {
		return fmt.Errorf("%w at %s", ErrNoAgent, c.path)
	}
	return err
}

func decodeError(resp *http.Response) error {
	var e struct{ Error string }
	if json.NewDecoder(resp.Body).Decode(&e) == nil && e.Error != "" {
		return &StatusError{Code: resp.StatusCode, Msg: e.Error}
	}
	return &StatusError{Code: resp.StatusCode, Msg: resp.Status}
}
