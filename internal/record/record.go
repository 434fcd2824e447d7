// Package record owns what berth writes on the objects it creates: every
// com.docker.compose.* label and berth's own, encoded and decoded in one place.
// Labels are written once, at creation, and never patched: what changes while a
// container runs (started, being stopped, restarts, health) lives in the container's
// state directory instead. ps, port, ls and down read containers through Decode, so
// they need no Compose file.
package record

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/berth-dev/berth/internal/runspec"
	"github.com/berth-dev/berth/network/netspec"
)

// Docker Compose's label keys, as it writes them (COMPAT.md).
const (
	Prefix         = "com.docker.compose."
	LabelProject   = Prefix + "project"
	LabelService   = Prefix + "service"
	LabelNumber    = Prefix + "container-number"
	LabelOneoff    = Prefix + "oneoff"
	LabelHash      = Prefix + "config-hash"
	LabelWorkDir   = Prefix + "project.working_dir"
	LabelFiles     = Prefix + "project.config_files"
	LabelEnvFile   = Prefix + "project.environment_file"
	LabelImage     = Prefix + "image"
	LabelDependsOn = Prefix + "depends_on"
	LabelVersion   = Prefix + "version"
	LabelNetwork   = Prefix + "network"
	LabelVolume    = Prefix + "volume"
	LabelReplace   = Prefix + "replace"
)

// berth's own keys: what down and the helper need to stop, restart, probe and detach a
// container without the Compose file.
const (
	LabelName        = "berth.container-name"
	LabelStopSignal  = "berth.stop-signal"
	LabelStopGrace   = "berth.stop-grace-period"
	LabelRestart     = "berth.restart"
	LabelHealthcheck = "berth.healthcheck"
	LabelNetworks    = "berth.networks"
	LabelCommand     = "berth.command"
	LabelNetNS       = "berth.netns"
	LabelPorts       = "berth.ports"
	// LabelAnonymous marks an anonymous volume with the container it belongs to.
	LabelAnonymous = "berth.anonymous-volume"

	// Runtime state that berth up to 97bb2ad wrote as labels; read for containers
	// made then, never written.
	legacyStartedAt = "berth.started-at"
	legacyStopping  = "berth.stopping"
)

// Version is the value of com.docker.compose.version on what berth creates.
const Version = "berth"

// Condition values of depends_on.
const (
	ConditionStarted   = "service_started"
	ConditionHealthy   = "service_healthy"
	ConditionCompleted = "service_completed_successfully"
)

// Dep is a service's dependency as the reconciler needs it.
type Dep struct {
	Service   string
	Condition string // service_started, service_healthy, service_completed_successfully
	Restart   bool
	Required  bool
	// Namespace is set for network_mode/ipc/pid service:X and volumes_from: the
	// dependent needs the dependency's container to exist.
	Namespace bool
}

// Container is what berth records on a container it creates.
type Container struct {
	Project     string
	Service     string
	Name        string
	Number      int
	Oneoff      bool
	ConfigHash  string
	WorkingDir  string
	ConfigFiles []string
	ImageID     string
	DependsOn   []Dep
	StopSignal  string
	// StopGrace is stop_grace_period; 0 stops at once, and a negative value (a
	// container without the label) leaves Docker's default.
	StopGrace time.Duration
	Restart   string // no, always, unless-stopped, on-failure[:N]
	Health    *runspec.HealthCheck
	Networks  []string
	Command   string
	NetNS     string // a path, or "host"
	Ports     []netspec.PortMapping
	// User holds the service's own labels.
	User map[string]string

	// Legacy runtime state found on containers made by berth up to 97bb2ad.
	LegacyStartedAt time.Time
	LegacyStopping  bool
}

// Labels encodes the record: the service's labels first, berth's over them.
func (c Container) Labels() map[string]string {
	l := make(map[string]string, len(c.User)+20)
	for k, v := range c.User {
		l[k] = v
	}
	set := func(k, v string) {
		if v != "" {
			l[k] = v
		}
	}
	set(LabelProject, c.Project)
	set(LabelService, c.Service)
	set(LabelName, c.Name)
	l[LabelNumber] = strconv.Itoa(c.Number)
	l[LabelOneoff] = oneoff(c.Oneoff)
	set(LabelHash, c.ConfigHash)
	set(LabelWorkDir, c.WorkingDir)
	set(LabelFiles, strings.Join(c.ConfigFiles, ","))
	set(LabelImage, c.ImageID)
	l[LabelDependsOn] = encodeDeps(c.DependsOn)
	l[LabelVersion] = Version
	set(LabelStopSignal, c.StopSignal)
	if c.StopGrace >= 0 {
		l[LabelStopGrace] = c.StopGrace.String()
	}
	set(LabelRestart, c.Restart)
	if c.Health != nil {
		b, _ := json.Marshal(c.Health)
		l[LabelHealthcheck] = string(b)
	}
	set(LabelNetworks, strings.Join(c.Networks, ","))
	set(LabelCommand, c.Command)
	set(LabelNetNS, c.NetNS)
	if len(c.Ports) > 0 {
		b, _ := json.Marshal(c.Ports)
		l[LabelPorts] = string(b)
	}
	return l
}

// Decode reads a record back from a container's labels; what is missing or malformed
// is left zero (a container made by another tool, or by an older berth).
func Decode(labels map[string]string) Container {
	c := Container{
		Project:    labels[LabelProject],
		Service:    labels[LabelService],
		Name:       labels[LabelName],
		Oneoff:     strings.EqualFold(labels[LabelOneoff], "true"),
		ConfigHash: labels[LabelHash],
		WorkingDir: labels[LabelWorkDir],
		ImageID:    labels[LabelImage],
		DependsOn:  decodeDeps(labels[LabelDependsOn]),
		StopSignal: labels[LabelStopSignal],
		Restart:    labels[LabelRestart],
		Command:    labels[LabelCommand],
		NetNS:      labels[LabelNetNS],
		User:       userLabels(labels),
	}
	c.Number, _ = strconv.Atoi(labels[LabelNumber])
	if f := labels[LabelFiles]; f != "" {
		c.ConfigFiles = strings.Split(f, ",")
	}
	c.StopGrace = -1
	if d, err := time.ParseDuration(labels[LabelStopGrace]); err == nil && d >= 0 {
		c.StopGrace = d
	}
	if v := labels[LabelHealthcheck]; v != "" {
		var hc runspec.HealthCheck
		if json.Unmarshal([]byte(v), &hc) == nil && len(hc.Test) > 0 {
			c.Health = &hc
		}
	}
	if n := labels[LabelNetworks]; n != "" {
		c.Networks = strings.Split(n, ",")
	}
	if p := labels[LabelPorts]; p != "" {
		_ = json.Unmarshal([]byte(p), &c.Ports)
	}
	c.LegacyStartedAt, _ = time.Parse(time.RFC3339Nano, labels[legacyStartedAt])
	c.LegacyStopping = labels[legacyStopping] == "true"
	return c
}

// userLabels are the labels that are not berth's or Docker Compose's.
func userLabels(labels map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range labels {
		if !Owned(k) {
			out[k] = v
		}
	}
	return out
}

// Owned says whether a label key is one berth writes itself.
func Owned(key string) bool {
	return strings.HasPrefix(key, Prefix) || strings.HasPrefix(key, "berth.")
}

func oneoff(b bool) string {
	if b {
		return "True"
	}
	return "False"
}

// encodeDeps writes depends_on as Docker Compose does: "svc:condition:restart,...".
func encodeDeps(deps []Dep) string {
	items := make([]string, 0, len(deps))
	for _, d := range deps {
		items = append(items, d.Service+":"+d.Condition+":"+strconv.FormatBool(d.Restart))
	}
	return strings.Join(items, ",")
}

func decodeDeps(v string) []Dep {
	var deps []Dep
	for _, item := range strings.Split(v, ",") {
		parts := strings.Split(item, ":")
		if parts[0] == "" {
			continue
		}
		d := Dep{Service: parts[0], Condition: ConditionStarted, Required: true}
		if len(parts) > 1 && parts[1] != "" {
			d.Condition = parts[1]
		}
		if len(parts) > 2 {
			d.Restart = parts[2] == "true"
		}
		deps = append(deps, d)
	}
	return deps
}

// Resource is what berth records on a network or a volume it creates. Its config hash
// is under the same key as a container's, as Docker Compose writes it since v2.31.
type Resource struct {
	Project string
	// Key is the network's or volume's key in the Compose file.
	Key  string
	Hash string
	User map[string]string
}

// NetworkLabels encodes a network's record.
func (r Resource) NetworkLabels() map[string]string { return r.labels(LabelNetwork) }

// VolumeLabels encodes a volume's record.
func (r Resource) VolumeLabels() map[string]string { return r.labels(LabelVolume) }

func (r Resource) labels(keyLabel string) map[string]string {
	l := map[string]string{}
	for k, v := range r.User {
		l[k] = v
	}
	l[LabelProject] = r.Project
	l[keyLabel] = r.Key
	l[LabelVersion] = Version
	if r.Hash != "" {
		l[LabelHash] = r.Hash
	}
	return l
}

// DecodeResource reads a network's or volume's record; Hash is empty on what berth
// made before it recorded hashes.
func DecodeResource(labels map[string]string) Resource {
	key := labels[LabelNetwork]
	if key == "" {
		key = labels[LabelVolume]
	}
	return Resource{Project: labels[LabelProject], Key: key, Hash: labels[LabelHash], User: userLabels(labels)}
}
