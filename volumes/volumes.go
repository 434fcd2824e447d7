// Package volumes owns berth's named volumes: directories under the data
// root with a small metadata file beside them, and the copy that seeds a
// new volume with an image's content. It knows nothing of compose types.
package volumes

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"time"

	"github.com/berth-dev/berth/internal/atomicfile"
)

// ErrNotFound is returned for a volume that does not exist.
var ErrNotFound = errors.New("volume not found")

// validName is Docker's rule for volume names; it also keeps every volume
// path inside the data root.
var validName = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]*$`)

const maxNameLen = 255

// Spec is a volume as the project wants it.
type Spec struct {
	Name   string
	Labels map[string]string
	// Device, when set, is a host directory the volume binds instead of its
	// own directory (the local driver's type=none, o=bind, device=PATH).
	Device string
}

// Volume is a volume that exists.
type Volume struct {
	Name       string            `json:"name"`
	Labels     map[string]string `json:"labels,omitempty"`
	Device     string            `json:"device,omitempty"`
	Created    time.Time         `json:"created"`
	Mountpoint string            `json:"-"`
}

// Manager keeps volumes under root/volumes.
type Manager struct {
	root string
}

// NewManager returns a Manager for the data root; it creates nothing yet.
func NewManager(dataRoot string) *Manager {
	return &Manager{root: filepath.Join(dataRoot, "volumes")}
}

// ValidateName refuses names that Docker refuses, and with them anything
// that could escape the data root.
func ValidateName(name string) error {
	if len(name) > maxNameLen || !validName.MatchString(name) {
		return fmt.Errorf("invalid volume name %q: only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed, at most %d characters", name, maxNameLen)
	}
	return nil
}

// Create makes the volume if it is missing and says whether it did; an
// existing volume is returned as it is.
func (m *Manager) Create(spec Spec) (Volume, bool, error) {
	if err := ValidateName(spec.Name); err != nil {
		return Volume{}, false, err
	}
	if v, err := m.Get(spec.Name); err == nil {
		return v, false, nil
	} else if !errors.Is(err, ErrNotFound) {
		return Volume{}, false, err
	}
	v := Volume{Name: spec.Name, Labels: spec.Labels, Device: spec.Device, Created: time.Now().UTC()}
	if err := m.write(v); err != nil {
		return Volume{}, false, fmt.Errorf("create volume %q: %w", spec.Name, err)
	}
	v.Mountpoint = m.mountpoint(v)
	return v, true, nil
}

// write creates the volume's directories and then its metadata, atomically:
// a volume without metadata does not exist, so a crash leaves nothing that
// counts as created.
func (m *Manager) write(v Volume) error {
	dir := filepath.Join(m.root, v.Name)
	if err := os.MkdirAll(filepath.Join(dir, "_data"), 0o755); err != nil {
		return err
	}
	if err := os.Chmod(m.root, 0o700); err != nil {
		return err
	}
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(filepath.Join(dir, "volume.json"), b, 0o600)
}

// Get returns the volume called name.
func (m *Manager) Get(name string) (Volume, error) {
	if err := ValidateName(name); err != nil {
		return Volume{}, err
	}
	b, err := os.ReadFile(filepath.Join(m.root, name, "volume.json"))
	if errors.Is(err, os.ErrNotExist) {
		return Volume{}, fmt.Errorf("volume %q: %w", name, ErrNotFound)
	}
	if err != nil {
		return Volume{}, fmt.Errorf("read volume %q: %w", name, err)
	}
	var v Volume
	if err := json.Unmarshal(b, &v); err != nil {
		return Volume{}, fmt.Errorf("read volume %q: %w", name, err)
	}
	v.Mountpoint = m.mountpoint(v)
	return v, nil
}

func (m *Manager) mountpoint(v Volume) string {
	if v.Device != "" {
		return v.Device
	}
	return filepath.Join(m.root, v.Name, "_data")
}

// List returns every volume, sorted by name.
func (m *Manager) List() ([]Volume, error) {
	entries, err := os.ReadDir(m.root)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list volumes: %w", err)
	}
	var out []Volume
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		v, err := m.Get(e.Name())
		if errors.Is(err, ErrNotFound) {
			continue // half-created by a crash: not a volume
		}
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Remove deletes the volume and its data; a missing volume is no error.
// The metadata goes first, so a crash half-way leaves a directory List
// ignores and the next Remove finishes.
func (m *Manager) Remove(name string) error {
	if err := ValidateName(name); err != nil {
		return err
	}
	dir := filepath.Join(m.root, name)
	if err := os.Remove(filepath.Join(dir, "volume.json")); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove volume %q: %w", name, err)
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("remove volume %q: %w", name, err)
	}
	return nil
}

// IsEmpty says whether the volume's data directory holds nothing, which is
// when Docker seeds it from the image.
func (m *Manager) IsEmpty(v Volume) (bool, error) {
	f, err := os.Open(v.Mountpoint)
	if err != nil {
		return false, err
	}
	defer f.Close()
	names, err := f.Readdirnames(1)
	if err != nil && !errors.Is(err, io.EOF) {
		return false, err
	}
	return len(names) == 0, nil
}
