package service

import (
	"bufio"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/opencontainers/runtime-spec/specs-go"

	"github.com/berth-dev/berth/internal/atomicfile"
	"github.com/berth-dev/berth/internal/translate"
	"github.com/berth-dev/berth/network"
)

// writeEtcFiles writes the container's /etc/hosts, /etc/resolv.conf and
// /etc/hostname and returns their bind mounts.
func (e *Engine) writeEtcFiles(s types.ServiceConfig, name string, ifaces []network.Interface) ([]specs.Mount, error) {
	dir := e.containerDir(name)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	hostname := translate.Hostname(s, name)
	files := map[string][]byte{
		"hosts":       translate.HostsFile(s, hostname, ifaces),
		"resolv.conf": translate.ResolvConf(s, ifaces, hostResolvers()),
		"hostname":    []byte(hostname + "\n"),
	}
	var mounts []specs.Mount
	for _, f := range []string{"hosts", "resolv.conf", "hostname"} {
		path := filepath.Join(dir, f)
		// in place: the file is bind-mounted on its own (atomicfile's doc)
		if err := atomicfile.WriteInPlace(path, files[f], 0o644); err != nil {
			return nil, fmt.Errorf("write %s of %s: %w", f, name, err)
		}
		mounts = append(mounts, specs.Mount{Type: "bind", Source: path, Destination: "/etc/" + f, Options: []string{"rbind", "rw"}})
	}
	return mounts, nil
}

// hostResolvers reads the host's resolver configuration, loopback servers left out
// (they do not exist in a container).
func hostResolvers() (host translate.HostResolv) {
	f, err := os.Open("/etc/resolv.conf")
	if err != nil {
		return host
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 2 {
			continue
		}
		switch fields[0] {
		case "nameserver":
			if a, err := netip.ParseAddr(fields[1]); err == nil && !a.IsLoopback() {
				host.Servers = append(host.Servers, fields[1])
			}
		case "search":
			host.Search = fields[1:]
		case "options":
			host.Options = fields[1:]
		}
	}
	return host
}
