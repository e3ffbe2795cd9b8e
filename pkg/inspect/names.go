package inspect

import "strings"

// Match reports whether name is allowed by one of the patterns. A pattern
// "*.zone" allows every name under zone, at any depth, but not zone itself
// (list it too if it should be allowed); any other pattern must equal the
// name. Names compare case-insensitively, a trailing root dot ignored.
func Match(patterns []string, name string) bool {
	name = strings.ToLower(strings.TrimSuffix(name, "."))
	if name == "" || !validName(name) {
		return false
	}
	for _, p := range patterns {
		if zone, ok := strings.CutPrefix(p, "*."); ok {
			if strings.HasSuffix(name, "."+zone) {
				return true
			}
		} else if name == p {
			return true
		}
	}
	return false
}

// validName refuses anything a DNS name could not be: a name with odd bytes
// could mean something else to the server than to a suffix comparison.
func validName(s string) bool {
	if len(s) > 253 {
		return false
	}
	for label := range strings.SplitSeq(s, ".") {
		if label == "" || len(label) > 63 {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}
