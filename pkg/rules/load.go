package rules

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Load reads every *.yaml and *.yml file under dir, in sorted order, and
// returns the policy they make up.
//
// If the policy has problems, Load returns a nil Policy and an ErrorList
// holding every one it found, each as file:line:col: message. If the files
// cannot be read at all, the error is an ordinary wrapped one. Findings
// that do not make the policy wrong are in Policy.Warnings.
func Load(dir string) (*Policy, error) { return LoadAt(dir, time.Now()) }

// LoadAt is Load with the data-sharing agreements in force at now.
func LoadAt(dir string, now time.Time) (*Policy, error) {
	files, err := policyFiles(dir)
	if err != nil {
		return nil, err
	}
	l := newLoader(dir)
	l.now = now
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("read policy file: %w", err)
		}
		l.addFile(file, data)
	}
	return l.finish()
}

// policyFiles lists the YAML files under dir, skipping hidden files and
// directories: a policy directory is usually a git checkout.
func policyFiles(dir string) ([]string, error) {
	var files []string
	err := filepath.WalkDir(dir, func(path string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		hidden := path != dir && strings.HasPrefix(e.Name(), ".")
		switch {
		case e.IsDir() && hidden:
			return filepath.SkipDir
		case e.IsDir() || hidden:
			return nil
		case strings.HasSuffix(path, ".yaml") || strings.HasSuffix(path, ".yml"):
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list policy files in %s: %w", dir, err)
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no policy files (*.yaml, *.yml) in %s", dir)
	}
	slices.Sort(files)
	return files, nil
}
