// Package runspec holds the runtime specs berth hands to containerd: what a container is
// made of, and the parts of an image's config the translation reads. Pure types: the
// translation of a Compose service produces them without importing the containerd client.
package runspec

import (
	"strings"
	"time"

	"github.com/opencontainers/runtime-spec/specs-go"
)

// Container is everything berth decides about a container; the caller
// has already merged the image's config with the service (argv, env, cwd).
type Container struct {
	ID     string
	Image  string // normalised reference of an image present in the namespace
	Labels map[string]string

	Args []string
	Env  []string
	Cwd  string
	// User is user[:group], names or numbers, resolved in the image's
	// /etc/passwd and /etc/group.
	User       string
	GroupAdd   []string
	Tty        bool
	Stdin      bool
	Hostname   string
	Domainname string
	Mounts     []specs.Mount
	// NetNSPath joins an existing network namespace; "host" shares the
	// host's; empty gives the container a new, unconnected one.
	NetNSPath string
	// IPC and PID join another container's namespaces by path, or "host".
	IPCPath, PIDPath string

	Privileged bool
	ReadOnly   bool
	CapAdd     []string
	CapDrop    []string
	// Seccomp is "" (the default profile) or "unconfined".
	Seccomp         string
	NoNewPrivileges bool
	Sysctls         map[string]string
	Rlimits         []specs.POSIXRlimit
	ShmSize         int64 // bytes; 0 = 64 MiB as Docker
	PidsLimit       int64
	MemoryLimit     int64
	MemorySwap      int64
	MemoryReserve   int64
	CPUQuota        int64 // microseconds per CPUPeriod
	CPUPeriod       uint64
	CPUShares       uint64
	CPUSet          string
	OOMScoreAdj     int
	Annotations     map[string]string
}

// ImageHealth is a Docker image's HEALTHCHECK.
type ImageHealth struct {
	Test          []string      `json:"Test"`
	Interval      time.Duration `json:"Interval"`
	Timeout       time.Duration `json:"Timeout"`
	StartPeriod   time.Duration `json:"StartPeriod"`
	StartInterval time.Duration `json:"StartInterval"`
	Retries       int           `json:"Retries"`
}

// HealthCheck is a container's effective health check, with Docker's defaults filled in.
// berth records it with the container so that whoever watches the container later (the
// helper, up --wait) needs no Compose file.
type HealthCheck struct {
	Test          []string      `json:"test"`
	Interval      time.Duration `json:"interval"`
	Timeout       time.Duration `json:"timeout"`
	StartPeriod   time.Duration `json:"start_period"`
	StartInterval time.Duration `json:"start_interval"`
	Retries       int           `json:"retries"`
}

// Argv is the probe's command line: CMD runs as is, CMD-SHELL through /bin/sh -c, a bare
// string (image configs) too.
func (hc HealthCheck) Argv() []string {
	switch hc.Test[0] {
	case "CMD":
		return hc.Test[1:]
	case "CMD-SHELL":
		return []string{"/bin/sh", "-c", strings.Join(hc.Test[1:], " ")}
	}
	return []string{"/bin/sh", "-c", strings.Join(hc.Test, " ")}
}
