package main

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/palisade-psn/palisade/pkg/doctor"
)

// fakeDoctor makes `palisade doctor` report r and records the options.
func fakeDoctor(t *testing.T, r *doctor.Report) *doctor.Options {
	t.Helper()
	var got doctor.Options
	old := runDoctor
	runDoctor = func(o doctor.Options) *doctor.Report { got = o; return r }
	t.Cleanup(func() { runDoctor = old })
	return &got
}

var failingReport = &doctor.Report{OK: false, Results: []doctor.Result{
	{Check: "kernel", Status: doctor.OK, Detail: "6.1.0"},
	{Check: "xdp", Subject: "org0", Status: doctor.Fail, Detail: "CONFLICT: program \"xdp_lb\""},
	{Check: "btf", Status: doctor.Warn, Detail: "missing"},
}}

func TestDoctorTableAndExit(t *testing.T) {
	opts := fakeDoctor(t, failingReport)
	out, err := runCLI(t, "doctor", "--config", "/x/p.yaml", "--interface", "a,b", "--no-xdp-probe", "--pin-path", "/sys/fs/bpf/t")
	if !errors.Is(err, errSilent) {
		t.Fatalf("doctor with a FAIL returned %v; want a silent failure (exit 1)", err)
	}
	for _, s := range []string{"STATUS  CHECK", "FAIL    xdp     org0", "1 ok, 1 warn, 1 FAIL: NOT ready"} {
		if !strings.Contains(out, s) {
			t.Errorf("output lacks %q:\n%s", s, out)
		}
	}
	want := doctor.Options{ConfigPath: "/x/p.yaml", ConfigExplicit: true, Interfaces: []string{"a", "b"}, PinPath: "/sys/fs/bpf/t"}
	if opts.ConfigPath != want.ConfigPath || !opts.ConfigExplicit || strings.Join(opts.Interfaces, ",") != "a,b" || opts.ProbeXDP || opts.PinPath != want.PinPath {
		t.Errorf("options = %+v; want %+v", *opts, want)
	}
}

func TestDoctorDefaultsAndJSON(t *testing.T) {
	opts := fakeDoctor(t, &doctor.Report{OK: true, Results: []doctor.Result{{Check: "kernel", Status: doctor.OK, Detail: "6.1"}}})
	out, err := runCLI(t, "doctor", "-o", "json")
	if err != nil {
		t.Fatalf("doctor: %v", err)
	}
	var r doctor.Report
	if err := json.Unmarshal([]byte(out), &r); err != nil || !r.OK || r.Results[0].Status != "ok" {
		t.Fatalf("json = %+v, %v:\n%s", r, err, out)
	}
	if opts.ConfigPath != "/etc/palisade/palisaded.yaml" || opts.ConfigExplicit || !opts.ProbeXDP || opts.PinPath != "" {
		t.Errorf("default options = %+v", *opts)
	}
}
