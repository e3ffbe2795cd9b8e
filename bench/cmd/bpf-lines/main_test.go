package main

import (
	"strings"
	"testing"
)

func TestReadSamplesAndTally(t *testing.T) {
	in := strings.Join([]string{
		"ffffffffc0037d4d bpf_prog_6979d89885bf1ad5_pal_decide+0xd45",
		"ffffffffc0037d4d bpf_prog_6979d89885bf1ad5_pal_decide+0xd45",
		"ffffffffc0037a9b bpf_prog_6979d89885bf1ad5_pal_decide+0x10",
		"ffffffffc0027600 bpf_prog_aebe8885bc320af7_xdp_boundary+0x5",
		"ffffffff81bb8018 _copy_to_user+0x28",
		"",
	}, "\n")
	got, total, err := readSamples(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if total != 5 || bpfTotal(got) != 4 {
		t.Fatalf("total %d, bpf %d: want 5 and 4", total, bpfTotal(got))
	}
	tab := table{
		"pal_decide":   {{0x0, "a.h:1"}, {0xd40, "a.h:60"}, {0xd46, "a.h:61"}},
		"xdp_boundary": {{0x10, "b.c:9"}},
	}
	rows := tally(got, tab)
	want := []row{
		{"pal_decide+0xd45", "a.h:60", 2},
		{"pal_decide+0x10", "a.h:1", 1},
		{"xdp_boundary+0x5", "(no line info)", 1}, // before the function's first line
	}
	if len(rows) != len(want) {
		t.Fatalf("rows %v, want %v", rows, want)
	}
	for i := range want {
		if rows[i] != want[i] {
			t.Errorf("row %d: %+v, want %+v", i, rows[i], want[i])
		}
	}
}

func TestRepoPath(t *testing.T) {
	for in, want := range map[string]string{
		"./../../bpf/lib/policy.h": "bpf/lib/policy.h",
		"./../../bpf/lib/../abi.h": "bpf/abi.h",
		"bpf/xdp_boundary.c":       "bpf/xdp_boundary.c",
	} {
		if got := repoPath(in); got != want {
			t.Errorf("repoPath(%q) = %q, want %q", in, got, want)
		}
	}
}
