package agenttest

import (
	"bufio"
	"strconv"
	"strings"
)

// SumMetric adds up the samples of metric name in a Prometheus text
// exposition (what an agent's /metrics returns) whose label text contains
// every filter (for example `rule="surrey-cc/cloud-storage"`).
func SumMetric(body, name string, filters ...string) float64 {
	var sum float64
	sc := bufio.NewScanner(strings.NewReader(body))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
next:
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, name+"{") && !strings.HasPrefix(line, name+" ") {
			continue
		}
		for _, f := range filters {
			if !strings.Contains(line, f) {
				continue next
			}
		}
		if v, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64); err == nil {
			sum += v
		}
	}
	return sum
}
