package main

import (
	"os/exec"
	"testing"
)

func TestDebVersion(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"v1.2.0", "1.2.0"},
		{"1.2", "1.2"},
		{"v1.2.0-rc1", "1.2.0~rc1"},
		{"v1.2.0-rc1-3-gabc1234", "1.2.0~rc1.3.gabc1234"},
		{"v1.2.0-3-gabc1234-dirty", "1.2.0+3.gabc1234.dirty"},
		{"c32ce70-dirty", "0.0.0~git.c32ce70.dirty"},
		{"5fd1e2a", "0.0.0~git.5fd1e2a"}, // a hash starting with a digit is no release
		{"dev", "0.0.0~git.dev"},
		{"", "0.0.0~git.unknown"},
		{"v2.0.0_x/y", "2.0.0~x.y"},
	} {
		if got := debVersion(tc.in); got != tc.want {
			t.Errorf("debVersion(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestDebVersionOrder asks dpkg itself that the mapping sorts as releases do.
func TestDebVersionOrder(t *testing.T) {
	if _, err := exec.LookPath("dpkg"); err != nil {
		t.Skip("dpkg not installed")
	}
	order := []string{"dev", "v1.2.0-rc1", "v1.2.0-rc1-3-gabc", "v1.2.0", "v1.2.0-3-gabc1234", "v1.2.0-3-gabc1234-dirty", "v1.10.0"}
	for i := 1; i < len(order); i++ {
		a, b := debVersion(order[i-1]), debVersion(order[i])
		if err := exec.Command("dpkg", "--compare-versions", a, "lt", b).Run(); err != nil {
			t.Errorf("dpkg: %s (from %s) is not before %s (from %s)", a, order[i-1], b, order[i])
		}
	}
}
