package rules

import (
	"gopkg.in/yaml.v3"
)

// TestCase is one expectation written beside the rules: this flow gets
// this verdict. `palisade test` runs every case through the compiled
// policy, so a change that breaks an agreed flow fails in review.
type TestCase struct {
	Flow   Flow
	Expect string // allow, deny or inspect
	Org    string // optional: the organisation the flow must be attributed to
	Rule   string // optional: the rule (org/id) that must decide it
	Why    string // optional note printed with a failure
	Pos    Pos    // the case's first key
}

var testCaseFields = []string{"from", "to", "expect", "org", "rule", "why"}

// testsFile decodes a file whose top-level key is tests: a list of cases.
func (d *decoder) testsFile(top *yaml.Node) []TestCase {
	f, ok := d.fields(top, "tests file", "tests")
	if !ok {
		return nil
	}
	items, ok := d.list(f["tests"].val, "tests")
	if !ok {
		return nil
	}
	var out []TestCase
	for _, it := range items {
		if tc, ok := d.testCase(it); ok {
			out = append(out, tc)
		}
	}
	return out
}

func (d *decoder) testCase(n *yaml.Node) (TestCase, bool) {
	f, ok := d.fields(n, "test case", testCaseFields...)
	if !ok {
		return TestCase{}, false
	}
	tc, mark := TestCase{Pos: d.pos(n)}, d.mark()
	if len(n.Content) > 0 {
		tc.Pos = d.pos(n.Content[0])
	}
	from, okF := d.requiredStr(f, "from", n)
	to, okT := d.requiredStr(f, "to", n)
	if okF {
		if err := tc.Flow.parseFrom(from); err != nil {
			d.errorf(resolve(f["from"].val), "%v", err)
		}
	}
	if okT {
		if err := tc.Flow.parseTo(to); err != nil {
			d.errorf(resolve(f["to"].val), "%v", err)
		}
	}
	if d.clean(mark) && tc.Flow.Src.Is4() != tc.Flow.Dst.Is4() {
		d.errorf(n, "from %s and to %s are of different IP families", tc.Flow.Src, tc.Flow.Dst)
	}
	if s, ok := d.requiredStr(f, "expect", n); ok {
		switch s {
		case "allow", "deny", "inspect":
			tc.Expect = s
		default:
			d.errorf(resolve(f["expect"].val), "expect %q: want allow, deny or inspect", s)
		}
	}
	for key, dst := range map[string]*string{"org": &tc.Org, "rule": &tc.Rule, "why": &tc.Why} {
		if e, ok := f[key]; ok {
			*dst, _ = d.str(e.val, key)
		}
	}
	return tc, d.clean(mark)
}

func (d *decoder) requiredStr(f map[string]entry, key string, at *yaml.Node) (string, bool) {
	e, ok := d.required(f, key, at)
	if !ok {
		return "", false
	}
	return d.str(e.val, key)
}
