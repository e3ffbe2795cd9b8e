package rules

import (
	"time"
)

// Load reads every *.yaml and *.yml file under dir, in sorted order, and
// returns the policy they make up.
//
// If the policy has problems, Load returns a nil Policy and an ErrorList
// holding every one it found, each as file:line:col: message. Files that
// are not policy files Load may read (links, FIFOs, devices, directories
// named *.yaml, files over 4 MiB or over 64 MiB together) are such
// problems too, at file:1:1. If the files cannot be read at all, the error
// is an ordinary wrapped one. Findings that do not make the policy wrong
// are in Policy.Warnings.
func Load(dir string) (*Policy, error) { return LoadAt(dir, time.Now()) }

// LoadAt is Load with the data-sharing agreements in force at now.
func LoadAt(dir string, now time.Time) (*Policy, error) {
	return loadBounded(dir, now, readBounds{file: maxFileBytes, total: maxPolicyBytes})
}

func loadBounded(dir string, now time.Time, b readBounds) (*Policy, error) {
	files, err := readPolicyFiles(dir, b)
	if err != nil {
		return nil, err
	}
	l := newLoader(dir)
	l.now = now
	for _, f := range files {
		l.addFile(f.path, f.data)
	}
	return l.finish()
}
