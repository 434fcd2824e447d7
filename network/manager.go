package network

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"sync"

	"github.com/gofrs/flock"

	"github.com/berth-dev/berth/internal/atomicfile"
)

// Errors callers classify with errors.Is.
var (
	// ErrNotFound: no network (or attachment) of that name in this data root.
	ErrNotFound = errors.New("not found")
	// ErrInUse: Remove of a network that containers are still attached to.
	ErrInUse = errors.New("in use")
	// ErrConflict: Ensure of an existing network with a different spec.
	ErrConflict = errors.New("conflicts with the existing network")
)

// runDir holds what must be shared by every berth process on the host, whatever its data
// root: the host-wide locks and the named network namespaces. It is a tmpfs, like the
// bridges and netns it coordinates, so nothing in it outlives a reboot.
const runDir = "/run/berth"

// cniDirs are searched in order when Config.CNIPath is empty: the upstream default, then
// Debian's and Fedora's package locations.
var cniDirs = []string{"/opt/cni/bin", "/usr/lib/cni", "/usr/libexec/cni"}

// Config sets up a Manager.
type Config struct {
	// DataRoot is berth's data root; network state lives under DataRoot/networks.
	DataRoot string
	// CNIPath is the CNI plugin directory; "" means the first of /opt/cni/bin,
	// /usr/lib/cni and /usr/libexec/cni that holds the bridge plugin.
	CNIPath string
	// Pool is where subnets are allocated from when a Spec names none: IPv4 prefixes are
	// carved into /PoolSize subnets, IPv6 ones into /64. Default 10.89.0.0/16 and
	// fd42:b3e7:89::/48.
	Pool []netip.Prefix
	// PoolSize is the prefix length of allocated IPv4 subnets; default 24.
	PoolSize int
	// Backend sets up new networks; "" is BackendNative. Existing networks and
	// attachments keep the backend that made them.
	Backend Backend
}

// Manager creates, attaches and removes the networks of one data root. It is safe for
// concurrent use, also by several processes: state changes happen under file locks.
type Manager struct {
	dataRoot string // absolute, cleaned: it is hashed into host-wide names
	dir      string // dataRoot/networks
	cniPath  string
	cniErr   error // why no plugin directory was found; reported by Attach and Detach
	pool     []netip.Prefix
	poolSize int
	netnsDir string
	backend  Backend

	rulesMu sync.Mutex
	// rules holds, by bridge, the writes of native networks' rules this Manager
	// began: ended ones have written the rules or found them complete, so later
	// attaches need not read the tables again.
	rules map[string]*rulesWrite
}

// FindCNIPath returns explicit if it holds the bridge plugin, or with explicit empty the
// first default plugin directory that does.
func FindCNIPath(explicit string) (string, error) {
	dirs := cniDirs
	if explicit != "" {
		dirs = []string{explicit}
	}
	for _, dir := range dirs {
		if fi, err := os.Stat(filepath.Join(dir, "bridge")); err == nil && !fi.IsDir() {
			return dir, nil
		}
	}
	if explicit != "" {
		return "", fmt.Errorf("find CNI plugins: no bridge plugin in %s", explicit)
	}
	return "", fmt.Errorf("find CNI plugins: no bridge plugin in any of %v (install containernetworking-plugins)", cniDirs)
}

// NewManager validates cfg and prepares DataRoot/networks. A missing plugin directory is
// reported only when a network of the CNI backend is attached or detached, and only
// when CNIPath is empty: the native backend, listing and removing networks need no
// plugins.
func NewManager(cfg Config) (*Manager, error) {
	if cfg.DataRoot == "" {
		return nil, errors.New("create network manager: empty data root")
	}
	root, err := filepath.Abs(cfg.DataRoot)
	if err != nil {
		return nil, fmt.Errorf("create network manager: data root %q: %w", cfg.DataRoot, err)
	}
	pool, size, err := poolConfig(cfg.Pool, cfg.PoolSize)
	if err != nil {
		return nil, fmt.Errorf("create network manager: %w", err)
	}
	backend, err := ParseBackend(string(cfg.Backend))
	if err != nil {
		return nil, fmt.Errorf("create network manager: %w", err)
	}
	m := &Manager{
		dataRoot: root,
		dir:      filepath.Join(root, "networks"),
		pool:     pool,
		poolSize: size,
		netnsDir: filepath.Join(runDir, "netns", hashID(root)),
		backend:  backend,
		rules:    map[string]*rulesWrite{},
	}
	m.cniPath, m.cniErr = FindCNIPath(cfg.CNIPath)
	if m.cniErr != nil && cfg.CNIPath != "" {
		return nil, fmt.Errorf("create network manager: %w", m.cniErr)
	}
	for _, d := range []string{m.dir, m.attachmentsDir(), m.ipamDir()} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("create network manager: %w", err)
		}
	}
	return m, nil
}

func poolConfig(pool []netip.Prefix, size int) ([]netip.Prefix, int, error) {
	if len(pool) == 0 {
		pool = []netip.Prefix{netip.MustParsePrefix("10.89.0.0/16"), netip.MustParsePrefix("fd42:b3e7:89::/48")}
	}
	if size == 0 {
		size = 24
	}
	for _, p := range pool {
		if !p.IsValid() || p != p.Masked() {
			return nil, 0, fmt.Errorf("address pool %s: not a network prefix", p)
		}
		if p.Addr().Is4() && p.Bits() > size {
			return nil, 0, fmt.Errorf("address pool %s: smaller than the subnet size /%d", p, size)
		}
		if p.Addr().Is6() && p.Bits() > 64 {
			return nil, 0, fmt.Errorf("address pool %s: smaller than a /64", p)
		}
	}
	if size < 8 || size > 30 {
		return nil, 0, fmt.Errorf("pool size /%d: must be between /8 and /30", size)
	}
	return pool, size, nil
}

// hashID is the 12 hex digits that make host-wide names unique per data root (and per
// network when parts include its name).
func hashID(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))[:12]
}

func (m *Manager) networkFile(name string) string { return filepath.Join(m.dir, name+".json") }
func (m *Manager) attachmentsDir() string         { return filepath.Join(m.dir, "attachments") }
func (m *Manager) ipamDir() string                { return filepath.Join(m.dir, "ipam") }
func (m *Manager) attachmentFile(containerID string) string {
	return filepath.Join(m.attachmentsDir(), containerID+".json")
}

// lock takes the data root's lock; the returned function releases it.
func (m *Manager) lock() (func(), error) {
	return lockPath(filepath.Join(m.dir, "lock"))
}

// lockHost takes one of the host-wide locks under runDir.
func lockHost(name string) (func(), error) {
	if err := os.MkdirAll(runDir, 0o755); err != nil {
		return nil, fmt.Errorf("lock %s: %w", name, err)
	}
	return lockPath(filepath.Join(runDir, name))
}

func lockPath(path string) (func(), error) {
	// A new Flock per call: flock(2) locks belong to the open file, so goroutines of one
	// process exclude each other just as processes do.
	fl := flock.New(path)
	if err := fl.Lock(); err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return func() { _ = fl.Unlock() }, nil
}

// writeJSON replaces path atomically, so a reader or a crash never sees half a file.
func writeJSON(path string, v any) error { return saveJSON(atomicfile.WriteFile, path, v) }

// replaceJSON is writeJSON without waiting for the disk (atomicfile.Replace).
func replaceJSON(path string, v any) error { return saveJSON(atomicfile.Replace, path, v) }

func saveJSON(write func(string, []byte, os.FileMode) error, path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return write(path, append(data, '\n'), 0o600)
}

// readJSON reads path into v; a missing file is ErrNotFound.
func readJSON(path string, v any) error {
	data, err := os.ReadFile(path)
	// an empty file is what a crash of the machine can leave of a record written
	// without waiting for the disk (replaceJSON): as good as none
	if errors.Is(err, os.ErrNotExist) || (err == nil && len(data) == 0) {
		return ErrNotFound
	}
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("parse %s: %w", path, err)
	}
	return nil
}
