package main

import (
	"regexp"
	"strings"
)

var (
	// At least major.minor, so a bare commit hash that starts with a digit
	// is not taken for a release.
	releaseVersion = regexp.MustCompile(`^v?([0-9]+\.[0-9]+(\.[0-9]+)*)(.*)$`)
	notDebian      = regexp.MustCompile(`[^A-Za-z0-9.+~]+`)
)

// debVersion turns what the binaries report (a tag such as v1.2.0, a git
// describe such as v1.2.0-3-gabc1234-dirty, or a bare commit) into a
// Debian version that sorts the same way:
//
//	v1.2.0                   -> 1.2.0
//	v1.2.0-rc1               -> 1.2.0~rc1       (before 1.2.0)
//	v1.2.0-3-gabc1234-dirty  -> 1.2.0+3.gabc1234.dirty (after 1.2.0)
//	c32ce70-dirty, dev       -> 0.0.0~git.c32ce70.dirty (before any release)
//
// Hyphens are replaced because a hyphen would start a Debian revision.
func debVersion(v string) string {
	m := releaseVersion.FindStringSubmatch(v)
	if m == nil {
		return "0.0.0~git." + clean(v)
	}
	rest := strings.TrimPrefix(m[3], "-")
	switch {
	case rest == "":
		return m[1]
	case isPrerelease(rest):
		return m[1] + "~" + clean(rest)
	}
	return m[1] + "+" + clean(rest)
}

// isPrerelease is true for rc1, beta.2 and the like, but not for the
// commit count a git describe adds after a tag.
func isPrerelease(s string) bool {
	return s[0] < '0' || s[0] > '9'
}

func clean(s string) string {
	s = strings.Trim(notDebian.ReplaceAllString(s, "."), ".")
	if s == "" {
		return "unknown"
	}
	return s
}
