package kube

import (
	"strings"
	"testing"
)

func TestDuplicateNamesRefused(t *testing.T) {
	p := loadFiles(t, map[string]string{"compose.yaml": `
name: app
services:
  web:
    image: nginx
    env_file: [web.env]
    configs: [clash]
configs:
  clash: {name: web-env, content: "x"}
`, "web.env": "A=1\n"})
	_, err := Convert(p, Options{})
	if err == nil || !strings.Contains(err.Error(), `two ConfigMap objects would be named "web-env"`) {
		t.Errorf("err %v", err)
	}
}

func TestOptionsValidated(t *testing.T) {
	for _, tc := range []struct {
		opts Options
		want string
	}{
		{Options{ServiceType: "nodeport"}, "--service-type"},
		{Options{BindMounts: "copy"}, "--bind-mounts"},
		{Options{VolumeSize: "lots"}, "--volume-size"},
		{Options{Namespace: "My_NS"}, "--namespace"},
		{Options{Registry: "https://reg/x"}, "--registry"},
		{Options{JobWait: JobWaitRBAC}, "needs --namespace"},
	} {
		if err := tc.opts.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want %q", tc.opts, err, tc.want)
		}
	}
	if err := (Options{}).Validate(); err != nil {
		t.Errorf("the defaults: %v", err)
	}
}
