package agent

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/palisade-psn/palisade/pkg/datapath"
	"github.com/palisade-psn/palisade/pkg/metrics"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

type metricsServer struct{ srv *http.Server }

func (m *metricsServer) close() {
	if m.srv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		m.srv.Shutdown(ctx)
	}
}

// Counters, PolicyInfo and FlowUse make the agent a metrics.Source.
func (a *Agent) Counters() *datapath.Counters { return a.dp.Counters() }

// PolicyInfo is the generation, policy digest and state digest of the
// policy in force.
func (a *Agent) PolicyInfo() (uint32, string, string) {
	p := a.Policy()
	if p == nil {
		return 0, "", ""
	}
	st, _ := a.dp.PolicyState()
	return st.Generation, p.PolicyDigest, p.Digest
}

// FlowUse is each organisation's flows in use against its quota.
func (a *Agent) FlowUse() (map[string]datapath.FlowUse, error) { return a.dp.FlowUse() }

func (a *Agent) serveMetrics() (*metricsServer, error) {
	if a.cfg.Metrics == "" {
		return &metricsServer{}, nil
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(metrics.New(a, a.log), a.changes, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	reg.MustRegister(a.inspectCollectors()...)
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	ln, err := net.Listen("tcp", a.cfg.Metrics)
	if err != nil {
		return nil, fmt.Errorf("metrics listen on %s: %w", a.cfg.Metrics, err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.log.Error("metrics server", "err", err)
		}
	}()
	a.log.Info("metrics served", "addr", ln.Addr().String(), "path", "/metrics")
	return &metricsServer{srv: srv}, nil
}
