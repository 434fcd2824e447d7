package ctrd

import (
	"context"

	"github.com/containerd/containerd/v2/core/remotes"
	"github.com/containerd/containerd/v2/core/remotes/docker"
	"github.com/containerd/containerd/v2/core/remotes/docker/config"
)

// resolver builds a registry resolver with the hosts-directory convention
// (hosts.toml and certificates under HostsDir/<host>/) and the credentials
// of docker's config.json, read afresh so that a `docker login` between two
// commands takes effect.
func (c *Client) resolver(ctx context.Context) (remotes.Resolver, error) {
	return c.resolverWithTracker(ctx, nil)
}

// resolverWithTracker is resolver with the upload tracker a push reads its progress
// from (nil: the resolver's own).
func (c *Client) resolverWithTracker(ctx context.Context, tracker docker.StatusTracker) (remotes.Resolver, error) {
	creds, err := readDockerCredentials(dockerConfigPath(c.dockerConfig))
	if err != nil {
		return nil, err
	}
	hostDir := config.HostDirFromRoot(c.hostsDir)
	public := config.ConfigureHosts(ctx, config.HostOptions{
		HostDir:     hostDir,
		Credentials: creds.lookup,
	})
	// Registries on loopback speak plain HTTP, as docker allows them to.
	// containerd's default would try HTTPS first and log the fallback on
	// every pull; a loopback registry that wants TLS says so in hosts.toml.
	loopback := config.ConfigureHosts(ctx, config.HostOptions{
		HostDir:       hostDir,
		Credentials:   creds.lookup,
		DefaultScheme: "http",
	})
	hosts := func(host string) ([]docker.RegistryHost, error) {
		if docker.IsLocalhost(host) {
			return loopback(host)
		}
		return public(host)
	}
	return docker.NewResolver(docker.ResolverOptions{Hosts: hosts, Tracker: tracker}), nil
}
