package results

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// Files a run leaves in its output directory.
const (
	JSONFile     = "results.json"
	MarkdownFile = "results.md"
	PlotFile     = "throughput.svg"
)

// Write puts r in dir as JSON, Markdown and the plot. The Markdown and the
// plot are rendered from the JSON as read back, so all three agree.
func Write(dir string, r *Results) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	js, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("encode results: %w", err)
	}
	back, err := decode(js)
	if err != nil {
		return err
	}
	files := map[string]string{
		JSONFile:     string(js) + "\n",
		MarkdownFile: Markdown(back),
		PlotFile:     SVG(back),
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			return fmt.Errorf("write %s: %w", name, err)
		}
	}
	return nil
}

// Read loads the results a run left in dir.
func Read(dir string) (*Results, error) {
	js, err := os.ReadFile(filepath.Join(dir, JSONFile))
	if err != nil {
		return nil, fmt.Errorf("read results: %w", err)
	}
	return decode(js)
}

func decode(js []byte) (*Results, error) {
	var r Results
	if err := json.Unmarshal(js, &r); err != nil {
		return nil, fmt.Errorf("decode results: %w", err)
	}
	return &r, nil
}
