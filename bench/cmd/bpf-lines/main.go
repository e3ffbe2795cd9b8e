// Command bpf-lines says which source lines of the boundary program a perf
// profile's samples fell on. This host's perf and bpftool cannot
// disassemble BPF, but the kernel keeps, for every line-info record of a
// loaded program, the address of its JIT code: bpf-lines loads the
// program into a private pin directory (the JIT lays a program out the
// same way at every load), maps each sample's function and offset to the
// last line starting at or before it, and prints the lines by samples.
//
//	perf record -e cpu-clock -C 1 -o /tmp/perf.data -- <the run to profile>
//	perf script -i /tmp/perf.data -F ip,sym,symoff -G | go run ./bench/cmd/bpf-lines
//
// Root (CAP_SYS_ADMIN reads line info); run it on the machine and kernel
// that made the profile.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/palisade-psn/palisade/bench/internal/progcost"
	"github.com/palisade-psn/palisade/pkg/datapath"
)

func main() {
	top := flag.Int("top", 25, "how many lines to print")
	flag.Parse()
	if err := run(os.Stdin, os.Stdout, *top); err != nil {
		fmt.Fprintln(os.Stderr, "bpf-lines:", err)
		os.Exit(1)
	}
}

func run(in io.Reader, out io.Writer, top int) error {
	samples, total, err := readSamples(in)
	if err != nil {
		return err
	}
	if total == 0 {
		return fmt.Errorf("no samples on stdin (perf script -F ip,sym,symoff -G)")
	}
	t, err := loadTable()
	if err != nil {
		return err
	}
	rows := tally(samples, t)
	fmt.Fprintf(out, "%d samples, %d in BPF programs\n", total, bpfTotal(samples))
	fmt.Fprintf(out, "%7s %8s  %-28s %s\n", "share", "samples", "function+offset", "source")
	for i, r := range rows {
		if i == top {
			break
		}
		fmt.Fprintf(out, "%6.1f%% %8d  %-28s %s\n", 100*float64(r.n)/float64(total), r.n, r.at, r.src)
	}
	return nil
}

// sample is where one perf sample fell inside a BPF function.
type sample struct {
	fn  string
	off uint64
}

// bpfSym matches perf's name for a JITed BPF function plus an offset:
// bpf_prog_<tag>_<function>+0x<offset>.
var bpfSym = regexp.MustCompile(`bpf_prog_[0-9a-f]{16}_(\w+)\+0x([0-9a-f]+)`)

// readSamples counts perf script lines (one per sample with -G) and the
// BPF functions and offsets among them.
func readSamples(in io.Reader) (map[sample]int, int, error) {
	got := map[sample]int{}
	total := 0
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		if len(sc.Bytes()) == 0 {
			continue
		}
		total++
		m := bpfSym.FindSubmatch(sc.Bytes())
		if m == nil {
			continue
		}
		off, err := strconv.ParseUint(string(m[2]), 16, 64)
		if err != nil {
			return nil, 0, fmt.Errorf("offset in %q: %w", sc.Text(), err)
		}
		got[sample{string(m[1]), off}]++
	}
	return got, total, sc.Err()
}

func bpfTotal(s map[sample]int) int {
	n := 0
	for _, c := range s {
		n += c
	}
	return n
}

// line is a line-info record: where its code starts in its function.
type line struct {
	off uint64
	src string
}

// table is, per function name, its lines by offset.
type table map[string][]line

// loadTable loads the boundary program privately and reads its JITed line
// table, then removes it again.
func loadTable() (table, error) {
	pin := progcost.PinDir()
	dp, err := datapath.Open(datapath.Options{PinPath: pin})
	if err != nil {
		os.RemoveAll(pin)
		return nil, fmt.Errorf("load the boundary program: %w", err)
	}
	defer func() {
		dp.Close()
		_ = datapath.Clean(pin)
	}()
	info, err := dp.Program().Info()
	if err != nil {
		return nil, err
	}
	funcs, err := info.FuncInfos()
	if err != nil {
		return nil, fmt.Errorf("function info: %w", err)
	}
	lines, err := info.LineInfos()
	if err != nil {
		return nil, fmt.Errorf("line info: %w", err)
	}
	ksyms, ok1 := info.JitedKsymAddrs()
	lens, ok2 := info.JitedFuncLens()
	addrs, ok3 := info.JitedLineInfos()
	if !ok1 || !ok2 || !ok3 || len(ksyms) != len(funcs) || len(lens) != len(funcs) || len(addrs) != len(lines) {
		return nil, fmt.Errorf("the kernel gave no complete JIT line table (is the JIT on?)")
	}
	t := table{}
	for i, a := range addrs {
		for f := range funcs {
			start := uint64(ksyms[f])
			if a >= start && a < start+uint64(lens[f]) {
				l := lines[i].Line
				src := fmt.Sprintf("%s:%d  %s", repoPath(l.FileName()), l.LineNumber(), strings.TrimSpace(l.Line()))
				t[funcs[f].Func.Name] = append(t[funcs[f].Func.Name], line{a - start, src})
				break
			}
		}
	}
	for _, ls := range t {
		sort.SliceStable(ls, func(i, j int) bool { return ls[i].off < ls[j].off })
	}
	return t, nil
}

// repoPath drops the ./ and ../ that clang records from bpf2go's
// directory, leaving the path from the repository's root (bpf/lib/...).
func repoPath(name string) string {
	for {
		switch {
		case strings.HasPrefix(name, "./"):
			name = name[2:]
		case strings.HasPrefix(name, "../"):
			name = name[3:]
		default:
			return path.Clean(name)
		}
	}
}

type row struct {
	at, src string
	n       int
}

// tally gives each sample the line whose code it fell in, most samples
// first. perf names a program's main function after the program, and
// BTF does too, so both kinds of function match by name.
func tally(samples map[sample]int, t table) []row {
	var rows []row
	for s, n := range samples {
		src := "(no line info)"
		if ls := t[s.fn]; len(ls) > 0 {
			i := sort.Search(len(ls), func(i int) bool { return ls[i].off > s.off }) - 1
			if i >= 0 {
				src = ls[i].src
			}
		}
		rows = append(rows, row{fmt.Sprintf("%s+%#x", s.fn, s.off), src, n})
	}
	sort.Slice(rows, func(i, j int) bool {
		if rows[i].n != rows[j].n {
			return rows[i].n > rows[j].n
		}
		return rows[i].at < rows[j].at
	})
	return rows
}
