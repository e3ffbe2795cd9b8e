package rules

import "strings"

// validID says whether s is an organisation or service id: short, lowercase
// and safe to put in metric labels, file names and flow logs unquoted.
func validID(s string) bool {
	return len(s) >= 1 && len(s) <= 48 && onlyChars(s, "-")
}

// validRuleID is validID plus '_' and '.', so rule ids can carry a team's
// own numbering scheme ("fw.2024_031").
func validRuleID(s string) bool {
	return len(s) >= 1 && len(s) <= 64 && onlyChars(s, "-_.")
}

func onlyChars(s, extra string) bool {
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || strings.ContainsRune(extra, c)) {
			return false
		}
	}
	return true
}

// validIfname follows the kernel's dev_valid_name: under IFNAMSIZ (16)
// bytes, not "." or "..", and no '/', ':' or whitespace.
func validIfname(s string) bool {
	if len(s) < 1 || len(s) > 15 || s == "." || s == ".." {
		return false
	}
	return !strings.ContainsAny(s, "/: \t\n\r\v\f")
}

// validHostPattern says whether s is a lowercase DNS name, optionally with
// a leading "*." wildcard (what it matches is the inspector's business).
// Only lowercase is allowed because names are compared lowercased, so an
// uppercase pattern could never match.
func validHostPattern(s string) bool {
	name := strings.TrimPrefix(s, "*.")
	if name == "" || len(name) > 253 {
		return false
	}
	for label := range strings.SplitSeq(name, ".") {
		if !validLabel(label) {
			return false
		}
	}
	return true
}

func validLabel(l string) bool {
	if len(l) < 1 || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
		return false
	}
	return onlyChars(l, "-")
}
