package rules

import (
	"bytes"
	"errors"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// loader gathers the files of one policy; finish checks them as a whole.
type loader struct {
	dir      string
	f        findings
	services *servicesFile // nil until the services file is read
	orgs     []*orgSource  // in file order, which decides "the later one"
	orgByID  map[string]*orgSource
	tests    []TestCase // expectation cases, from files with a top-level tests key
	now      time.Time  // agreements in force at this time are granted
}

func newLoader(dir string) *loader {
	return &loader{dir: dir, orgByID: map[string]*orgSource{}, now: time.Now()}
}

// addFile decodes one file by its kind, known from its top-level keys.
func (l *loader) addFile(file string, data []byte) {
	d := &decoder{file: file, f: &l.f}
	top := d.parse(data)
	switch {
	case top == nil:
	case hasKey(top, "organisation"):
		l.addOrg(d.organisation(top))
	case hasKey(top, "services") || hasKey(top, "remediation"):
		l.addServices(d.servicesFile(top))
	case hasKey(top, "tests"):
		l.tests = append(l.tests, d.testsFile(top)...)
	default:
		l.f.errorf(Pos{File: file, Line: 1, Col: 1}, "not an organisation or services file")
	}
}

func (l *loader) addOrg(src *orgSource) {
	if src == nil {
		return
	}
	id := src.org.ID
	if first, dup := l.orgByID[id]; dup && id != "" {
		l.f.errorf(src.idPos, "duplicate organisation %q; first defined at %s", id, first.org.Pos)
		return
	}
	l.orgByID[id] = src
	l.orgs = append(l.orgs, src)
}

// addServices keeps the first services file only: services in one place
// are what makes "which services exist" a question with one answer.
func (l *loader) addServices(sf *servicesFile) {
	switch {
	case sf == nil:
	case l.services != nil:
		l.f.errorf(sf.at, "services already defined in %s; keep every service in one file", l.services.at)
	default:
		l.services = sf
	}
}

// parse returns the top node of a file's one YAML document, or nil if
// there is none or it does not parse.
func (d *decoder) parse(data []byte) *yaml.Node {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			d.f.errorf(Pos{File: d.file, Line: 1, Col: 1}, "not an organisation or services file")
		} else {
			d.syntaxError(err)
		}
		return nil
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case err == nil:
		at := &next
		if len(next.Content) > 0 {
			at = next.Content[0]
		}
		d.errorf(at, "a policy file holds one YAML document; split this one into files")
	case !errors.Is(err, io.EOF):
		d.syntaxError(err)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return nil
	}
	return resolve(doc.Content[0])
}

// yamlLine picks the line out of yaml.v3's syntax errors, which carry no
// column; those errors are then reported at column 1.
var yamlLine = regexp.MustCompile(`^yaml: line (\d+): `)

func (d *decoder) syntaxError(err error) {
	msg, line := err.Error(), 1
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = msg[len(m[0]):]
	}
	msg = strings.TrimPrefix(msg, "yaml: ")
	d.f.errorf(Pos{File: d.file, Line: line, Col: 1}, "invalid YAML: %s", msg)
}

// hasKey reports whether mapping n has the key.
func hasKey(n *yaml.Node, key string) bool {
	if n.Kind != yaml.MappingNode {
		return false
	}
	for i := 0; i < len(n.Content); i += 2 {
		if k := resolve(n.Content[i]); k.Kind == yaml.ScalarNode && k.Value == key {
			return true
		}
	}
	return false
}

// orgsByID returns the organisations sorted by id, for a stable Policy.
func (l *loader) orgsByID() []*Organisation {
	out := make([]*Organisation, len(l.orgs))
	for i, src := range l.orgs {
		out[i] = src.org
	}
	slices.SortFunc(out, func(a, b *Organisation) int { return strings.Compare(a.ID, b.ID) })
	return out
}
