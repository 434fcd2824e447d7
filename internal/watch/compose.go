package watch

import (
	"fmt"
	"sort"

	"github.com/compose-spec/compose-go/v2/types"
)

// FromProject reads the develop.watch rules of the named services (every
// service when names is empty) from a loaded project, whose loader already
// made the rules' paths absolute. Services without rules are left out.
func FromProject(p *types.Project, names []string) ([]Service, error) {
	if len(names) == 0 {
		names = p.ServiceNames()
	}
	var out []Service
	for _, name := range names {
		s, ok := p.Services[name]
		if !ok {
			return nil, fmt.Errorf("no such service: %s", name)
		}
		if s.Develop == nil || len(s.Develop.Watch) == 0 {
			continue
		}
		out = append(out, fromService(s))
	}
	return out, nil
}

func fromService(s types.ServiceConfig) Service {
	svc := Service{Name: s.Name}
	if s.Build != nil {
		svc.Build = &Build{Context: s.Build.Context, Dockerfile: s.Build.Dockerfile}
	}
	for _, v := range s.Volumes {
		if v.Type == types.VolumeTypeBind {
			svc.BindMounts = append(svc.BindMounts, v.Source)
		}
	}
	for _, t := range s.Develop.Watch {
		svc.Rules = append(svc.Rules, Rule{
			Path:        t.Path,
			Action:      Action(t.Action),
			Target:      t.Target,
			Ignore:      t.Ignore,
			Include:     t.Include,
			InitialSync: t.InitialSync,
			Exec: Exec{
				Command:    t.Exec.Command,
				User:       t.Exec.User,
				WorkingDir: t.Exec.WorkingDir,
				Privileged: t.Exec.Privileged,
				Env:        envList(t.Exec.Environment),
			},
		})
	}
	return svc
}

// envList turns an environment mapping into sorted KEY=VALUE entries; a key
// without a value (left unresolved by the loader) is left out.
func envList(m types.MappingWithEquals) []string {
	var out []string
	for k, v := range m {
		if v != nil {
			out = append(out, k+"="+*v)
		}
	}
	sort.Strings(out)
	return out
}
