package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/palisade-psn/palisade/pkg/flows"
)

// flowsFromFile reads the flow log directly, for when no agent runs (the
// boundary keeps enforcing without it) or the log was copied elsewhere.
func flowsFromFile(g *globals, path string, f flows.Filter, limit int) error {
	recs, err := flows.Read(path, 9, f, limit)
	if err != nil {
		return err
	}
	return printFlows(g, recs)
}

// tailFile follows the flow log file until ctx ends, reopening it when it
// is rotated (it shrinks or is replaced).
func tailFile(ctx context.Context, g *globals, path string, f flows.Filter) error {
	fh, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("open flow log: %w", err)
	}
	defer func() { fh.Close() }()
	pos, _ := fh.Seek(0, io.SeekEnd)
	rd := bufio.NewReader(fh)
	w := flowTable(g.out)
	for {
		line, err := rd.ReadBytes('\n')
		if err == nil {
			pos += int64(len(line))
			var r flows.Record
			if json.Unmarshal(line, &r) == nil && f.Match(&r) {
				if g.output == "json" {
					g.out.Write(line)
				} else {
					printFlow(w, &r)
					w.Flush()
				}
			}
			continue
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(250 * time.Millisecond):
		}
		if st, err := os.Stat(path); err == nil && st.Size() < pos {
			fh.Close()
			if fh, err = os.Open(path); err != nil {
				return fmt.Errorf("reopen rotated flow log: %w", err)
			}
			pos, rd = 0, bufio.NewReader(fh)
		} else {
			fh.Seek(pos, io.SeekStart) // drop a partial line; read it whole next time
			rd.Reset(fh)
		}
	}
}
