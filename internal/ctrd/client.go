// Package ctrd owns berth's connection to containerd: it is the only package
// that imports the containerd client. It pulls, loads, lists and removes
// images; every call runs in the namespace chosen at Connect.
package ctrd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/namespaces"
	"github.com/containerd/errdefs"
	"github.com/containerd/log"
	"github.com/containerd/platforms"
	"github.com/sirupsen/logrus"
)

// Defaults for Options fields left empty.
const (
	DefaultAddress     = "/run/containerd/containerd.sock"
	DefaultNamespace   = "berth"
	DefaultSnapshotter = "overlayfs"
	DefaultHostsDir    = "/etc/containerd/certs.d"
)

// connectTimeout bounds Connect's first call: a hung daemon must be reported
// quickly instead of after the client's own dial back-off (10 s by default),
// which stays in force for later calls so a restarting daemon is waited for.
const connectTimeout = 2 * time.Second

// ErrUnavailable marks errors where containerd cannot be reached at all, so
// that cmd can tell the user how to start it.
var ErrUnavailable = fmt.Errorf("containerd %w", errdefs.ErrUnavailable)

// Options configure a Client. Empty fields take the defaults above.
type Options struct {
	Address     string // containerd's socket
	Namespace   string // containerd namespace for every call
	Snapshotter string // snapshotter images are unpacked into
	HostsDir    string // registry hosts directory (hosts.toml, certificates)
	Platform    string // e.g. "linux/arm64"; empty means the host's platform
	// DockerConfig is the directory holding config.json with registry
	// credentials; empty means $DOCKER_CONFIG, then ~/.docker.
	DockerConfig string
}

// Client is a connection to containerd bound to one namespace.
type Client struct {
	client       *containerd.Client
	namespace    string
	snapshotter  string
	hostsDir     string
	dockerConfig string
	platform     platforms.MatchComparer
	platformName string
	blobs        *blobCache // image indexes, manifests and configs read so far
	created      sync.Map   // container ID -> createdTask, from CreateTask to StartTask
	containers   sync.Map   // container ID -> containerd.Container this client created
}

// ConnectError reports that containerd could not be reached.
type ConnectError struct {
	Address string
	Reason  string
}

func (e *ConnectError) Error() string {
	return fmt.Sprintf("cannot connect to containerd at %s: %s (is containerd running? start it with %q or %q)",
		e.Address, e.Reason, "sudo scripts/install-runtime.sh", "sudo containerd &")
}

// Unwrap lets callers test errors.Is(err, ErrUnavailable).
func (e *ConnectError) Unwrap() error { return ErrUnavailable }

// Connect dials containerd and checks that it answers, failing within about
// two seconds when it does not.
func Connect(ctx context.Context, opts Options) (*Client, error) {
	opts = withDefaults(opts)
	platform, platformName, err := parsePlatform(opts.Platform)
	if err != nil {
		return nil, err
	}
	socket := strings.TrimPrefix(opts.Address, "unix://")
	if err := probeSocket(socket); err != nil {
		return nil, &ConnectError{Address: opts.Address, Reason: err.Error()}
	}
	cc, err := containerd.New(opts.Address,
		containerd.WithDefaultNamespace(opts.Namespace),
		containerd.WithDefaultPlatform(platform))
	if err != nil {
		return nil, &ConnectError{Address: opts.Address, Reason: err.Error()}
	}
	vctx, cancel := context.WithTimeout(ctx, connectTimeout)
	defer cancel()
	if _, err := cc.Version(vctx); err != nil {
		_ = cc.Close()
		if ctx.Err() != nil {
			return nil, fmt.Errorf("connect to containerd at %s: %w", opts.Address, ctx.Err())
		}
		reason := "no answer: " + err.Error()
		if errors.Is(vctx.Err(), context.DeadlineExceeded) {
			reason = "no answer within " + connectTimeout.String()
		}
		return nil, &ConnectError{Address: opts.Address, Reason: reason}
	}
	return &Client{
		client:       cc,
		namespace:    opts.Namespace,
		snapshotter:  opts.Snapshotter,
		hostsDir:     opts.HostsDir,
		dockerConfig: opts.DockerConfig,
		platform:     platform,
		platformName: platformName,
		blobs:        newBlobCache(cc.ContentStore()),
	}, nil
}

func withDefaults(opts Options) Options {
	if opts.Address == "" {
		opts.Address = DefaultAddress
	}
	if opts.Namespace == "" {
		opts.Namespace = DefaultNamespace
	}
	if opts.Snapshotter == "" {
		opts.Snapshotter = DefaultSnapshotter
	}
	if opts.HostsDir == "" {
		opts.HostsDir = DefaultHostsDir
	}
	return opts
}

// parsePlatform returns a strict matcher: berth runs images on this host only,
// so a pull must pick exactly one manifest.
func parsePlatform(s string) (platforms.MatchComparer, string, error) {
	if s == "" {
		p := platforms.DefaultSpec()
		return platforms.Only(p), platforms.Format(p), nil
	}
	p, err := platforms.Parse(s)
	if err != nil {
		return nil, "", fmt.Errorf("parse platform %q: %w", s, err)
	}
	p = platforms.Normalize(p)
	return platforms.Only(p), platforms.Format(p), nil
}

// probeSocket gives the common failures (no daemon, stale socket, not root)
// a short reason before the gRPC client hides them behind its back-off.
func probeSocket(path string) error {
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return errors.New("no such socket")
	case errors.Is(err, os.ErrPermission):
		return errors.New("permission denied (berth needs root)")
	case err != nil:
		return err
	case fi.Mode()&os.ModeSocket == 0:
		return errors.New("not a socket")
	}
	conn, err := net.DialTimeout("unix", path, connectTimeout)
	switch {
	case errors.Is(err, os.ErrPermission):
		return errors.New("permission denied (berth needs root)")
	case err != nil:
		var opErr *net.OpError
		if errors.As(err, &opErr) {
			return opErr.Err
		}
		return err
	}
	return conn.Close()
}

// Context returns ctx bound to the client's namespace. Every exported method
// calls it, so callers never handle namespaces themselves.
//
// It also keeps containerd's client from printing: it logs at info level to
// logrus' standard logger (a 404 on every missing image, for one). Unless the
// caller put a logger in ctx or turned on debug logging, those logs are dropped.
func (c *Client) Context(ctx context.Context) context.Context {
	ctx = namespaces.WithNamespace(ctx, c.namespace)
	std := logrus.StandardLogger()
	if log.G(ctx).Logger == std && !std.IsLevelEnabled(logrus.DebugLevel) {
		ctx = log.WithLogger(ctx, quietLogger)
	}
	return ctx
}

var quietLogger = logrus.NewEntry(&logrus.Logger{
	Out:       io.Discard,
	Formatter: new(logrus.TextFormatter),
	Hooks:     make(logrus.LevelHooks),
	Level:     logrus.PanicLevel,
})

// Namespace returns the containerd namespace the client works in.
func (c *Client) Namespace() string { return c.namespace }

// Platform returns the platform images are pulled and unpacked for, e.g. "linux/amd64".
func (c *Client) Platform() string { return c.platformName }

// Close closes the connection to containerd.
func (c *Client) Close() error {
	if err := c.client.Close(); err != nil {
		return fmt.Errorf("close containerd client: %w", err)
	}
	return nil
}
