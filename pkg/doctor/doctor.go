// Package doctor is the preflight behind `palisade doctor`: it tells a
// boundary operator what a host lacks before palisaded runs there (kernel
// and BPF features, bpffs, BTF, memlock, the configuration and its rules,
// and for each interface its driver, native XDP support, programs of others
// already attached and receive VLAN offload), and that every organisation's
// prefixes are routed back through its ingress. Every check reads the host
// through the Host interface, so tests feed it any machine they like.
package doctor

import (
	"fmt"
	"strings"
)

// Status is the outcome of one check.
type Status string

const (
	OK   Status = "ok"
	Warn Status = "warn" // works, but worse than it should, or not checked
	Fail Status = "FAIL" // palisaded would not run, or not as configured
)

// Result is one line of the report.
type Result struct {
	Check   string `json:"check"`
	Subject string `json:"subject,omitempty"` // the interface, for per-interface checks
	Status  Status `json:"status"`
	Detail  string `json:"detail"`
}

// Report is what Run found.
type Report struct {
	OK      bool     `json:"ok"` // no check failed
	Results []Result `json:"results"`
}

// Counts gives the number of results with each status.
func (r *Report) Counts() map[Status]int {
	n := map[Status]int{}
	for _, res := range r.Results {
		n[res.Status]++
	}
	return n
}

// Options say what to check.
type Options struct {
	ConfigPath     string   // palisaded's config
	ConfigExplicit bool     // the operator named it: a missing file is a failure
	Interfaces     []string // checked besides the config's
	PinPath        string   // overrides the config's pin_path when set
	ProbeXDP       bool     // attach a pass-all program to learn native XDP support
}

// Run runs every check and reports them in a fixed order: the host, then
// the configuration, then each interface, then the routes back to the
// organisations.
func Run(h Host, o Options) *Report {
	r := &Report{}
	add := func(rs ...Result) { r.Results = append(r.Results, rs...) }
	add(checkPrivileges(h))
	k := checkKernel(h)
	add(k.result)
	add(checkBPFFeatures(h), checkJIT(h), checkBTF(h), checkMemlock(h, k), checkIptables(h))
	t := loadTarget(h, o)
	add(checkBPFFS(h, t.pinPath))
	add(t.results...)
	for _, ifname := range t.interfaces {
		add(checkInterface(h, t, ifname)...)
	}
	add(checkRoutesBack(h, t)...)
	add(checkTableSizes(h, t)...)
	add(checkPinned(h, t))
	add(checkQueuePath(h, t))
	r.OK = r.Counts()[Fail] == 0
	return r
}

// kernelVersion is a parsed uname release.
type kernelVersion struct{ major, minor int }

func (v kernelVersion) atLeast(major, minor int) bool {
	return v.major > major || (v.major == major && v.minor >= minor)
}

func (v kernelVersion) String() string { return fmt.Sprintf("%d.%d", v.major, v.minor) }

func ok(check, detail string, args ...any) Result {
	return Result{Check: check, Status: OK, Detail: fmt.Sprintf(detail, args...)}
}

func warn(check, detail string, args ...any) Result {
	return Result{Check: check, Status: Warn, Detail: fmt.Sprintf(detail, args...)}
}

func fail(check, detail string, args ...any) Result {
	return Result{Check: check, Status: Fail, Detail: fmt.Sprintf(detail, args...)}
}

// on sets the subject of a per-interface result.
func (r Result) on(subject string) Result { r.Subject = subject; return r }

// firstLines keeps a long error readable in one table cell.
func firstLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = append(lines[:n], fmt.Sprintf("(and %d more)", len(lines)-n))
	}
	return strings.Join(lines, "; ")
}
