package ctrd

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// dockerHubAuthKey is the key `docker login` writes for Docker Hub.
const dockerHubAuthKey = "https://index.docker.io/v1/"

// authConfig is one entry of the "auths" map in docker's config.json.
type authConfig struct {
	Auth          string `json:"auth"`
	Username      string `json:"username"`
	Password      string `json:"password"`
	IdentityToken string `json:"identitytoken"`
}

// dockerCredentials holds the inline credentials of a docker config.json.
// Credential helpers (credsStore, credHelpers) are not read: they would mean
// running docker's helper binaries.
type dockerCredentials map[string]authConfig

// dockerConfigPath returns config.json in dir, or in $DOCKER_CONFIG, or in
// ~/.docker, the order docker itself uses.
func dockerConfigPath(dir string) string {
	if dir == "" {
		dir = os.Getenv("DOCKER_CONFIG")
	}
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return ""
		}
		dir = filepath.Join(home, ".docker")
	}
	return filepath.Join(dir, "config.json")
}

// readDockerCredentials reads the auths of a docker config file; a missing
// file means anonymous access.
func readDockerCredentials(path string) (dockerCredentials, error) {
	if path == "" {
		return dockerCredentials{}, nil
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return dockerCredentials{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read docker config %s: %w", path, err)
	}
	creds, err := parseDockerCredentials(data)
	if err != nil {
		return nil, fmt.Errorf("read docker config %s: %w", path, err)
	}
	return creds, nil
}

func parseDockerCredentials(data []byte) (dockerCredentials, error) {
	var file struct {
		Auths map[string]authConfig `json:"auths"`
	}
	if err := json.Unmarshal(data, &file); err != nil {
		return nil, fmt.Errorf("parse json: %w", err)
	}
	creds := dockerCredentials{}
	for key, auth := range file.Auths {
		if auth.Auth != "" {
			user, pass, err := decodeAuth(auth.Auth)
			if err != nil {
				return nil, fmt.Errorf("decode auth for %q: %w", key, err)
			}
			auth.Username, auth.Password = user, pass
		}
		creds[authHost(key)] = auth
	}
	return creds, nil
}

func decodeAuth(s string) (user, pass string, err error) {
	raw, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return "", "", err
	}
	user, pass, ok := strings.Cut(string(raw), ":")
	if !ok {
		return "", "", errors.New("want base64 of user:password")
	}
	return user, pass, nil
}

// authHost reduces a config key ("https://host:5000/v1/", "host:5000") to
// the host[:port] containerd asks about. Docker Hub's keys all become
// "docker.io".
func authHost(key string) string {
	if key == dockerHubAuthKey {
		return "docker.io"
	}
	host := key
	if _, rest, ok := strings.Cut(host, "://"); ok {
		host = rest
	}
	host, _, _ = strings.Cut(host, "/")
	switch host {
	case "index.docker.io", "registry-1.docker.io":
		return "docker.io"
	}
	return host
}

// lookup returns the username and secret for a registry host in the form
// containerd's authorizer wants: an identity token goes in the secret with an
// empty username, which makes containerd use it as an OAuth refresh token.
func (d dockerCredentials) lookup(host string) (username, secret string, err error) {
	auth, ok := d[authHost(host)]
	if !ok {
		return "", "", nil
	}
	if auth.IdentityToken != "" {
		return "", auth.IdentityToken, nil
	}
	return auth.Username, auth.Password, nil
}
