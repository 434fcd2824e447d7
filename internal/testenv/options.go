package testenv

import (
	"errors"
	"fmt"
	"maps"
	"path"
	"strconv"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// ImageSpec is what the image options change before BusyboxImage or GoProgramImage turn
// it into an image.
type ImageSpec struct {
	// Config is the image's runtime config (the "config" object of the image config).
	Config v1.Config
	// Layers are the extra layers above the base, lowest first.
	Layers []map[string]File
}

// ImageOption changes an ImageSpec; it fails on input no image could carry.
type ImageOption func(*ImageSpec) error

// WithCmd sets the image's Cmd (the arguments to the entrypoint, if one is set).
func WithCmd(args ...string) ImageOption {
	return func(s *ImageSpec) error {
		s.Config.Cmd = append([]string(nil), args...)
		return nil
	}
}

// WithEntrypoint sets the image's Entrypoint; no arguments clears it.
func WithEntrypoint(args ...string) ImageOption {
	return func(s *ImageSpec) error {
		s.Config.Entrypoint = append([]string(nil), args...)
		return nil
	}
}

// WithEnv sets variables given as KEY=value; a key already set (PATH, say) is replaced
// rather than repeated, so the image holds one value per key as a Dockerfile's ENV would.
func WithEnv(vars ...string) ImageOption {
	return func(s *ImageSpec) error {
		for _, kv := range vars {
			key, _, ok := strings.Cut(kv, "=")
			if !ok || key == "" {
				return fmt.Errorf("env %q: want KEY=value", kv)
			}
			s.Config.Env = setEnv(s.Config.Env, key, kv)
		}
		return nil
	}
}

func setEnv(env []string, key, kv string) []string {
	for i, old := range env {
		if oldKey, _, _ := strings.Cut(old, "="); oldKey == key {
			env[i] = kv
			return env
		}
	}
	return append(env, kv)
}

// WithWorkingDir sets the image's WorkingDir.
func WithWorkingDir(dir string) ImageOption {
	return func(s *ImageSpec) error {
		if !path.IsAbs(dir) {
			return fmt.Errorf("working dir %q: must be absolute", dir)
		}
		s.Config.WorkingDir = dir
		return nil
	}
}

// WithExposedPorts adds ports as "8080", "8080/tcp" or "53/udp"; a bare port means tcp,
// as in a Dockerfile's EXPOSE.
func WithExposedPorts(ports ...string) ImageOption {
	return func(s *ImageSpec) error {
		for _, p := range ports {
			key, err := exposedPort(p)
			if err != nil {
				return err
			}
			if s.Config.ExposedPorts == nil {
				s.Config.ExposedPorts = map[string]struct{}{}
			}
			s.Config.ExposedPorts[key] = struct{}{}
		}
		return nil
	}
}

func exposedPort(p string) (string, error) {
	port, proto, found := strings.Cut(p, "/")
	if !found {
		proto = "tcp"
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 {
		return "", fmt.Errorf("exposed port %q: port must be 1-65535", p)
	}
	switch proto {
	case "tcp", "udp", "sctp":
		return fmt.Sprintf("%d/%s", n, proto), nil
	default:
		return "", fmt.Errorf("exposed port %q: protocol must be tcp, udp or sctp", p)
	}
}

// WithLabels adds labels, replacing those with the same key.
func WithLabels(labels map[string]string) ImageOption {
	return func(s *ImageSpec) error {
		if s.Config.Labels == nil {
			s.Config.Labels = map[string]string{}
		}
		maps.Copy(s.Config.Labels, labels)
		return nil
	}
}

// WithUser sets the image's User ("name", "uid" or "uid:gid").
func WithUser(user string) ImageOption {
	return func(s *ImageSpec) error {
		s.Config.User = user
		return nil
	}
}

// WithHealthcheck sets the docker image config's Healthcheck. Test is {"NONE"},
// {"CMD", args...} or {"CMD-SHELL", command}. Remember that busybox's `wget -T` crashes:
// use `timeout N wget ...`.
func WithHealthcheck(hc v1.HealthConfig) ImageOption {
	return func(s *ImageSpec) error {
		if len(hc.Test) == 0 {
			return errors.New("healthcheck: empty test")
		}
		switch hc.Test[0] {
		case "NONE", "CMD", "CMD-SHELL":
		default:
			return fmt.Errorf("healthcheck test %q: must start with NONE, CMD or CMD-SHELL", hc.Test)
		}
		hc.Test = append([]string(nil), hc.Test...)
		s.Config.Healthcheck = &hc
		return nil
	}
}

// WithStopSignal sets the image's StopSignal ("SIGINT", "SIGUSR1", "15" …).
func WithStopSignal(signal string) ImageOption {
	return func(s *ImageSpec) error {
		if signal == "" {
			return errors.New("stop signal: empty")
		}
		s.Config.StopSignal = signal
		return nil
	}
}

// WithFiles adds files (image path → File) as one more layer above the earlier ones; call
// it several times for a multi-layer image. Missing parent directories are created 0755.
func WithFiles(files map[string]File) ImageOption {
	return func(s *ImageSpec) error {
		if len(files) == 0 {
			return errors.New("files: no files for the layer")
		}
		for p := range files {
			if _, err := cleanImagePath(p); err != nil {
				return err
			}
		}
		s.Layers = append(s.Layers, maps.Clone(files))
		return nil
	}
}
