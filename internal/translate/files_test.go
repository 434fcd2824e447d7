package translate

import (
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/types"
)

func TestFileRefs(t *testing.T) {
	p := &types.Project{
		Name: "proj",
		Secrets: types.Secrets{
			"token": {Name: "proj_token", File: "/srv/token.txt"},
			"env":   {Name: "proj_env", Environment: "API_KEY", Content: "s3cret"},
			"vault": {Name: "vault", External: true},
		},
		Configs: types.Configs{
			"nginx":  {Name: "proj_nginx", File: "/srv/nginx.conf"},
			"inline": {Name: "proj_inline", Content: "hello"},
			"remote": {Name: "remote", External: true},
		},
	}
	mode := types.FileMode(0o400)
	secret := func(refs ...types.ServiceSecretConfig) types.ServiceConfig {
		return types.ServiceConfig{Name: "web", ContainerSpec: types.ContainerSpec{Secrets: refs}}
	}
	config := func(refs ...types.ServiceConfigObjConfig) types.ServiceConfig {
		return types.ServiceConfig{Name: "web", ContainerSpec: types.ContainerSpec{Configs: refs}}
	}
	tests := []struct {
		name string
		svc  types.ServiceConfig
		want []FileRef
		err  string
	}{
		{name: "none", svc: types.ServiceConfig{Name: "web"}},
		{
			name: "secret default target and mode",
			svc:  secret(types.ServiceSecretConfig{Source: "token"}),
			want: []FileRef{{Kind: "secret", Name: "token", Target: "/run/secrets/token", Mode: 0o444, File: "/srv/token.txt", Content: []byte{}}},
		},
		{
			name: "secret relative target, uid, gid, mode",
			svc:  secret(types.ServiceSecretConfig{Source: "token", Target: "db/pass", UID: "999", GID: "998", Mode: &mode}),
			want: []FileRef{{Kind: "secret", Name: "token", Target: "/run/secrets/db/pass", UID: "999", GID: "998", Mode: 0o400, File: "/srv/token.txt", Content: []byte{}}},
		},
		{
			name: "secret absolute target",
			svc:  secret(types.ServiceSecretConfig{Source: "token", Target: "/etc/token"}),
			want: []FileRef{{Kind: "secret", Name: "token", Target: "/etc/token", Mode: 0o444, File: "/srv/token.txt", Content: []byte{}}},
		},
		{
			name: "secret from the environment",
			svc:  secret(types.ServiceSecretConfig{Source: "env"}),
			want: []FileRef{{Kind: "secret", Name: "env", Target: "/run/secrets/env", Mode: 0o444, Content: []byte("s3cret"), Env: "API_KEY"}},
		},
		{
			name: "config default target",
			svc:  config(types.ServiceConfigObjConfig{Source: "nginx"}),
			want: []FileRef{{Kind: "config", Name: "nginx", Target: "/nginx", Mode: 0o444, File: "/srv/nginx.conf", Content: []byte{}}},
		},
		{
			name: "config relative target",
			svc:  config(types.ServiceConfigObjConfig{Source: "nginx", Target: "etc/nginx.conf", Mode: &mode}),
			want: []FileRef{{Kind: "config", Name: "nginx", Target: "/etc/nginx.conf", Mode: 0o400, File: "/srv/nginx.conf", Content: []byte{}}},
		},
		{
			name: "inline config",
			svc:  config(types.ServiceConfigObjConfig{Source: "inline", Target: "/hello.txt"}),
			want: []FileRef{{Kind: "config", Name: "inline", Target: "/hello.txt", Mode: 0o444, Content: []byte("hello")}},
		},
		{
			name: "secrets before configs",
			svc: types.ServiceConfig{Name: "web", ContainerSpec: types.ContainerSpec{
				Configs: []types.ServiceConfigObjConfig{{Source: "inline"}},
				Secrets: []types.ServiceSecretConfig{{Source: "token"}},
			}},
			want: []FileRef{
				{Kind: "secret", Name: "token", Target: "/run/secrets/token", Mode: 0o444, File: "/srv/token.txt", Content: []byte{}},
				{Kind: "config", Name: "inline", Target: "/inline", Mode: 0o444, Content: []byte("hello")},
			},
		},
		{name: "undefined secret", svc: secret(types.ServiceSecretConfig{Source: "nope"}), err: `service "web": undefined secret "nope"`},
		{name: "external secret", svc: secret(types.ServiceSecretConfig{Source: "vault"}), err: `service "web": external secret "vault" is not supported`},
		{name: "undefined config", svc: config(types.ServiceConfigObjConfig{Source: "nope"}), err: `service "web": undefined config "nope"`},
		{name: "external config", svc: config(types.ServiceConfigObjConfig{Source: "remote"}), err: `service "web": external config "remote" is not supported`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := FileRefs(p, tt.svc)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("FileRefs\n%+v\nwant\n%+v", got, tt.want)
			}
			for _, r := range got {
				if r.Mode&^os.ModePerm != 0 {
					t.Errorf("mode %v has more than permission bits", r.Mode)
				}
			}
		})
	}
}
