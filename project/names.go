package project

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/compose-spec/compose-go/v2/format"
	"github.com/compose-spec/compose-go/v2/types"
)

// Separator joins project, service and number in container names, and
// project and service in the names of built images. --compatibility makes
// it "_", Docker Compose v1's, as Docker Compose does.
var Separator = "-"

// ImageName is the image a service runs: its image:, or the name Docker
// Compose gives a built image, <project>-<service>.
func ImageName(projectName string, s types.ServiceConfig) string {
	if s.Image != "" {
		return s.Image
	}
	return projectName + Separator + s.Name
}

// ContainerName is <project>-<service>-<n>, or the service's container_name.
func ContainerName(projectName string, s types.ServiceConfig, number int) string {
	if s.ContainerName != "" {
		return s.ContainerName
	}
	return strings.Join([]string{projectName, s.Name, strconv.Itoa(number)}, Separator)
}

// OneoffName is the name of a `run` container: <project>-<service>-run-<id>.
func OneoffName(projectName, service, id string) string {
	return strings.Join([]string{projectName, service, "run", id}, Separator)
}

// ResourceName is the name of a project network or volume: its name:, or
// <project>_<key>; compose-go has already applied name: when it is set.
func ResourceName(projectName, key, explicit string) string {
	if explicit != "" {
		return explicit
	}
	return projectName + "_" + key
}

// ServiceHash is the config hash Docker Compose stores in the config-hash
// label: sha256 over the service's JSON without the fields that do not
// change the container (build, pull policy, scale, replicas, depends_on,
// profiles), so editing those never recreates anything.
func ServiceHash(s types.ServiceConfig) (string, error) {
	s.Build = nil
	s.PullPolicy = ""
	s.Scale = nil
	if s.Deploy != nil {
		deploy := *s.Deploy
		deploy.Replicas = nil
		s.Deploy = &deploy
	}
	s.DependsOn = nil
	s.Profiles = nil
	b, err := json.Marshal(s)
	if err != nil {
		return "", fmt.Errorf("hash service %q: %w", s.Name, err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}

// NetworkHash is the hash of a network's Compose definition: up recreates a network
// whose recorded hash differs, as Docker Compose does since v2.31.
func NetworkHash(n types.NetworkConfig) string { return definitionHash(n) }

// VolumeHash is the hash of a volume's Compose definition.
func VolumeHash(v types.VolumeConfig) string { return definitionHash(v) }

func definitionHash(v any) string {
	b, _ := json.Marshal(v) // compose-go's config types always marshal
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// Replicas is how many containers a service wants: scale, deploy.replicas
// or 1.
func Replicas(s types.ServiceConfig) int {
	if s.Scale != nil {
		return *s.Scale
	}
	if s.Deploy != nil && s.Deploy.Replicas != nil {
		return *s.Deploy.Replicas
	}
	return 1
}

// ParseVolume parses a volume in the short syntax (`-v` of run), with a
// relative host path resolved against the project directory.
func ParseVolume(workingDir, spec string) (types.ServiceVolumeConfig, error) {
	v, err := format.ParseVolume(spec)
	if err != nil {
		return v, err
	}
	if v.Type == types.VolumeTypeBind && !filepath.IsAbs(v.Source) {
		v.Source = filepath.Join(workingDir, v.Source)
	}
	if v.Type == types.VolumeTypeBind {
		v.Bind = &types.ServiceVolumeBind{CreateHostPath: true}
	}
	return v, nil
}

// maxContainerName is containerd's limit on identifiers.
const maxContainerName = 76

var validContainerName = regexp.MustCompile(`^[A-Za-z0-9]+(?:[._-][A-Za-z0-9]+)*$`)

// ValidateContainerName refuses names containerd would refuse, or that
// would escape berth's directories, before anything is created.
func ValidateContainerName(name string) error {
	if len(name) > maxContainerName {
		return fmt.Errorf("container name %q is too long: at most %d characters (shorten the project or service name, or set container_name)", name, maxContainerName)
	}
	if !validContainerName.MatchString(name) {
		return fmt.Errorf("container name %q is not valid: letters, digits and single '.', '_' or '-' between them", name)
	}
	return nil
}

// CheckContainerNames refuses two services with the same container_name
// before anything is created, with Docker Compose's words (`container name
// "X" is already in use`), the file, the line and both services.
func CheckContainerNames(p *types.Project) error {
	owner := map[string]string{}
	for _, name := range p.ServiceNames() {
		s := p.Services[name]
		if s.ContainerName == "" {
			continue
		}
		if other, ok := owner[s.ContainerName]; ok {
			return locate(p.ComposeFiles, &Error{Path: "services." + name + ".container_name",
				Msg: fmt.Sprintf("container name %q is already in use by service %q: container_name must be unique", s.ContainerName, other)})
		}
		owner[s.ContainerName] = name
	}
	return nil
}
