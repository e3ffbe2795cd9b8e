package datapath

import (
	"strings"
	"testing"
)

// TestEveryDropReasonIsNamed: a reason added in bpf/abi.h without a name
// would reach metrics and flow logs as "reason_N".
func TestEveryDropReasonIsNamed(t *testing.T) {
	for _, n := range DropReasons() {
		if strings.HasPrefix(n, "reason_") {
			t.Errorf("drop reason %s has no name in names.go", n)
		}
	}
}
