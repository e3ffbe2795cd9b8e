// Package results holds every figure the benchmark produces, writes them as
// JSON, Markdown and an SVG plot, and checks that a set of results is
// complete and self-consistent (what `go test ./bench/...` asserts: never
// a timing).
package results

// Results is one run of the suite.
type Results struct {
	Generated  string       `json:"generated"` // RFC 3339, UTC
	Quick      bool         `json:"quick"`     // a short run: figures only prove the harness
	Machine    Machine      `json:"machine"`
	Method     Method       `json:"method"`
	Cost       []Cost       `json:"program_cost"`
	Budgets    *Budgets     `json:"budget_cost,omitempty"` // part 1: quota and rate-limit costs (issue 17)
	Throughput []Throughput `json:"throughput"`
	Ratios     []Ratio      `json:"throughput_ratios"`
	Apply      *Apply       `json:"apply"`
	Inspection *Inspection  `json:"nfqueue_inspection,omitempty"` // part 5
	Capture    *Capture     `json:"capture,omitempty"`            // part 6
	Contention *Contention  `json:"contention,omitempty"`         // part 2: a quiet organisation beside a flood (issue 17)
	Targets    []Target     `json:"targets"`
	NotYet     []string     `json:"not_yet"`
}

// Machine is what the figures were measured on.
type Machine struct {
	CPU         string            `json:"cpu"`
	Cores       int               `json:"cores"`
	Kernel      string            `json:"kernel"`
	Virtualised bool              `json:"virtualised"`
	Go          string            `json:"go"`
	Commit      string            `json:"commit"`
	Backends    map[string]string `json:"backends"`     // tool -> version, or "absent"
	Load        string            `json:"load_average"` // 1-minute load at start and end: others' work

}

// Method records the parameters a run used.
type Method struct {
	Orgs         int     `json:"organisations"`
	RuleCounts   []int   `json:"rule_counts"`
	CostRepeat   int     `json:"cost_repeat"`  // frames per BPF_PROG_RUN, repeat method
	CostRuns     int     `json:"cost_runs"`    // runs per figure; figures are medians
	Burst8Calls  int     `json:"burst8_calls"` // calls per run, burst8 method
	SingleCalls  int     `json:"single_calls"` // calls per run, single method
	Rounds       int     `json:"rounds"`
	BurstSeconds float64 `json:"burst_seconds"`
	FrameBytes   int     `json:"frame_bytes"` // without FCS
	Frames       int     `json:"distinct_frames"`
	GenCPU       int     `json:"generator_cpu"`
	RecvCPU      int     `json:"receiver_cpu"`
}

// Cost is the per-packet cost of one kind of packet through the boundary
// program, beside the empty program measured the same way in the same run.
type Cost struct {
	Case      string    `json:"case"`
	Family    int       `json:"family"`
	Rules     int       `json:"rules"`
	Method    string    `json:"method"`
	Verdict   string    `json:"verdict"` // XDP action of the last run
	Ns        float64   `json:"ns_per_packet"`
	EmptyNs   float64   `json:"empty_ns_per_packet"`
	Ratio     float64   `json:"ratio"` // Ns / EmptyNs
	Runs      []float64 `json:"runs_ns"`
	EmptyRuns []float64 `json:"empty_runs_ns"`
	KernelNs  float64   `json:"kernel_ns_per_packet,omitempty"` // the kernel's whole-ns figure (repeat and spread methods)
	// CallOverheadNs is the CPU time of a call's fixed work (repeat method),
	// taken off every run before dividing by the repeats.
	CallOverheadNs float64 `json:"call_overhead_ns,omitempty"`
}

// Throughput is one engine at one rule count over veth.
type Throughput struct {
	Engine      string    `json:"engine"`
	Backend     string    `json:"backend"`
	Rules       int       `json:"rules"`
	Entries     int       `json:"entries,omitempty"` // what the engine holds: rules, set elements
	LoadSeconds float64   `json:"load_seconds"`
	Pps         float64   `json:"pps"` // median of the rounds: packets per second of burst
	Rounds      []float64 `json:"rounds_pps"`
	CPUPps      float64   `json:"cpu_pps"` // median: packets per second of receiver CPU
	CPURounds   []float64 `json:"rounds_cpu_pps"`
	Busy        float64   `json:"receiver_busy"`     // median share of a burst the receiver ran
	Waiting     float64   `json:"receiver_waiting"`  // median share it waited for a CPU
	Offered     float64   `json:"offered_pps"`       // median rate the generator sent at
	Absent      string    `json:"absent,omitempty"`  // why there is no figure
	Accounting  string    `json:"accounting"`        // "ok", or what did not add up
	Checked     uint64    `json:"accounted_packets"` // packets the accounting added up
}

// Key names one engine at one rule count.
type Key struct {
	Engine string `json:"engine"`
	Rules  int    `json:"rules"`
}

// Ratio is Num's packets per second of receiver CPU over Den's, paired
// round by round; Wall* pairs packets per second of burst the same way.
type Ratio struct {
	Num        Key       `json:"num"`
	Den        Key       `json:"den"`
	Median     float64   `json:"median"`
	Min        float64   `json:"min"`
	Max        float64   `json:"max"`
	Rounds     []float64 `json:"rounds"`
	WallMedian float64   `json:"wall_median"`
	WallRounds []float64 `json:"wall_rounds"`
}

// Apply is the cost of compiling and publishing the largest policy.
type Apply struct {
	Orgs        int         `json:"organisations"`
	Rules       int         `json:"rules"`
	CompileMs   float64     `json:"compile_ms"`
	PublishMs   float64     `json:"first_publish_ms"`
	RepublishMs float64     `json:"republish_ms"` // into the other generation, old one cleared
	CountersMs  float64     `json:"counters_ms"`  // reading every rule's and organisation's counters
	Entries     int         `json:"map_entries"`
	MapBytes    uint64      `json:"map_bytes"` // sum of memlock over every map
	Maps        []MapMemory `json:"maps"`
}

// MapMemory is one map's memory as the kernel accounts it.
type MapMemory struct {
	Name       string `json:"name"`
	Type       string `json:"type"`
	MaxEntries uint32 `json:"max_entries"`
	Bytes      uint64 `json:"memlock_bytes"`
}

// Target is one of issue 6's targets, measured.
type Target struct {
	Name   string  `json:"name"`
	Want   string  `json:"want"` // "<= 2" or ">= 3"
	Limit  float64 `json:"limit"`
	AtMost bool    `json:"at_most"`
	Value  float64 `json:"value"`
	Status string  `json:"status"` // PASS, MISS or "not measured"
	Source string  `json:"source"` // which figure(s) the value is
}
