package main

import (
	"compress/gzip"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/goreleaser/nfpm/v2"
	"github.com/goreleaser/nfpm/v2/files"
)

const description = `XDP/eBPF boundary firewall for gateways between organisations
Palisade enforces per-organisation allowlists on the gateways of a network
of networks (the UK Public Services Network is the model): default deny,
stateful, with suspension of red-flagged organisations and atomic policy
updates. palisaded attaches the XDP program and publishes the rules; the
palisade command validates rules, reports status and runs a preflight
(palisade doctor).
.
The boundary is pinned in bpffs: restarting or upgrading the agent never
opens it. Installing the package attaches nothing: set the interfaces in
/etc/palisade/palisaded.yaml, then enable palisaded.service.`

// packageInfo describes the package around its contents.
func packageInfo(o options, c files.Contents) *nfpm.Info {
	scripts := filepath.Join(o.root, "deploy", "debian")
	return nfpm.WithDefaults(&nfpm.Info{
		Name:          "palisade",
		Arch:          o.arch,
		Platform:      "linux",
		Version:       debVersion(o.version),
		VersionSchema: "none", // debVersion already made it Debian-shaped
		Section:       "net",
		Priority:      "optional",
		Maintainer:    o.maintainer,
		Description:   description,
		Homepage:      "https://github.com/palisade-psn/palisade",
		Overridables: nfpm.Overridables{
			// ip(8) tells the agent how XDP is attached; iptables installs the
			// NFQUEUE chain of the inspector (and its fail-closed guard).
			Depends:    []string{"iproute2", "iptables"},
			Recommends: []string{"ethtool"}, // doctor's driver and offload checks
			Suggests:   []string{"git", "bpftool"},
			Contents:   c,
			Scripts: nfpm.Scripts{
				PostInstall: filepath.Join(scripts, "postinst"),
				PreRemove:   filepath.Join(scripts, "prerm"),
				PostRemove:  filepath.Join(scripts, "postrm"),
			},
		},
	})
}

// contents lists every file the package installs, with its mode. The
// config and the example rules are conffiles: an operator's changes
// survive upgrades. /etc/palisade is not world-readable: the policy
// describes the network's inside.
func contents(root, bin, stage string) (files.Contents, error) {
	deploy := func(p string) string { return filepath.Join(root, "deploy", p) }
	c := files.Contents{
		file(filepath.Join(bin, "palisaded"), "/usr/sbin/palisaded", 0o755),
		file(filepath.Join(bin, "palisade"), "/usr/bin/palisade", 0o755),
		dir("/etc/palisade", 0o750),
		conf(deploy("palisaded.yaml"), "/etc/palisade/palisaded.yaml"),
		file(deploy("palisaded.service"), "/lib/systemd/system/palisaded.service", 0o644),
		file(deploy("README.md"), "/usr/share/doc/palisade/README.md", 0o644),
	}
	for _, ex := range []struct {
		name string
		mode fs.FileMode
	}{{"palisade-policy-pull", 0o755}, {"palisade-policy-pull.service", 0o644}, {"palisade-policy-pull.timer", 0o644}} {
		c = append(c, file(deploy("examples/"+ex.name), "/usr/share/doc/palisade/examples/"+ex.name, ex.mode))
	}
	// The dashboard and alert rules are data for the operators' Grafana and
	// Prometheus, not configuration of this host.
	c = append(c,
		file(deploy("grafana/palisade.json"), "/usr/share/palisade/grafana/palisade.json", 0o644),
		file(deploy("prometheus/alerts.yml"), "/usr/share/palisade/prometheus/alerts.yml", 0o644))
	for _, page := range []string{"palisaded.8", "palisade.8"} {
		gz := filepath.Join(stage, page+".gz")
		if err := gzipFile(deploy("man/"+page), gz); err != nil {
			return nil, err
		}
		c = append(c, file(gz, "/usr/share/man/man8/"+page+".gz", 0o644))
	}
	rules, err := ruleFiles(filepath.Join(root, "rules"), "/etc/palisade/rules")
	return append(c, rules...), err
}

// ruleFiles installs the example policy as conffiles, keeping its layout.
func ruleFiles(src, dst string) (files.Contents, error) {
	var c files.Contents
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.ToSlash(filepath.Join(dst, rel))
		switch {
		case d.IsDir():
			c = append(c, dir(target, 0o750))
		case filepath.Ext(p) == ".yaml" || filepath.Ext(p) == ".yml":
			c = append(c, conf(p, target))
		}
		return nil
	})
	return c, err
}

func file(src, dst string, mode fs.FileMode) *files.Content {
	return &files.Content{Source: src, Destination: dst, FileInfo: &files.ContentFileInfo{Mode: mode}}
}

func conf(src, dst string) *files.Content {
	return &files.Content{Source: src, Destination: dst, Type: files.TypeConfigNoReplace,
		FileInfo: &files.ContentFileInfo{Mode: 0o640}}
}

func dir(dst string, mode fs.FileMode) *files.Content {
	return &files.Content{Destination: dst, Type: files.TypeDir, FileInfo: &files.ContentFileInfo{Mode: mode}}
}

// gzipFile compresses a man page the way Debian ships them: best
// compression, and no name or time in the header, so builds repeat.
func gzipFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	zw, _ := gzip.NewWriterLevel(out, gzip.BestCompression)
	if _, err := io.Copy(zw, in); err != nil {
		out.Close()
		return err
	}
	if err := zw.Close(); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
