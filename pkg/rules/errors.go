package rules

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Error is one problem in the policy, at the place it was written.
type Error struct {
	Pos Pos
	Msg string
}

func (e *Error) Error() string { return e.Pos.String() + ": " + e.Msg }

// ErrorList is every problem one Load found, in file and line order.
// Load returns it as its error so that callers can show them all.
type ErrorList []*Error

func (l ErrorList) Error() string {
	lines := make([]string, len(l))
	for i, e := range l {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// findings collects errors and warnings as decoding goes on, so that one
// run reports everything instead of stopping at the first problem.
type findings struct {
	errs, warns []*Error
}

func (f *findings) errorf(pos Pos, format string, args ...any) {
	f.errs = append(f.errs, &Error{Pos: pos, Msg: fmt.Sprintf(format, args...)})
}

func (f *findings) warnf(pos Pos, format string, args ...any) {
	f.warns = append(f.warns, &Error{Pos: pos, Msg: fmt.Sprintf(format, args...)})
}

// sorted orders errors by position and drops exact repeats, which happen
// when two checks reach the same fact by different routes.
func sorted(errs []*Error) []*Error {
	out := slices.Clone(errs)
	slices.SortStableFunc(out, func(a, b *Error) int {
		return cmp.Or(
			cmp.Compare(a.Pos.File, b.Pos.File),
			cmp.Compare(a.Pos.Line, b.Pos.Line),
			cmp.Compare(a.Pos.Col, b.Pos.Col))
	})
	seen := make(map[string]bool, len(out))
	return slices.DeleteFunc(out, func(e *Error) bool {
		s := e.Error()
		dup := seen[s]
		seen[s] = true
		return dup
	})
}
