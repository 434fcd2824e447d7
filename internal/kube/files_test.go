package kube

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
)

var filesProject = map[string]string{
	"compose.yaml": `
name: app
services:
  api:
    image: api
    env_file: [api.env]
    environment:
      LEVEL: debug
      PORT: "9090"
    secrets:
      - db_password
      - source: api_key
        target: keys/api
        mode: 0o400
        uid: "1000"
    configs:
      - source: api_conf
        target: /etc/api/api.conf
      - inline
secrets:
  db_password: {file: ./db/password.txt}
  api_key: {environment: API_KEY}
  vault: {external: true}
configs:
  api_conf: {file: ./api.conf}
  inline: {content: "a=1\n"}
`,
	"db/password.txt": "s3cret-db-pw\n",
	"api.conf":        "listen 9090\n",
	"api.env":         "PORT=8080\nREGION=eu\n",
}

func TestConfigsSecretsAndEnvironment(t *testing.T) {
	p := loadFiles(t, filesProject, "API_KEY=k3y-from-env")
	res := mustConvert(t, p, Options{})

	if cm := object[*corev1.ConfigMap](t, res, "ConfigMap", "app-api-conf"); cm.Data["api_conf"] != "listen 9090\n" {
		t.Errorf("api_conf %v", cm.Data)
	}
	if cm := object[*corev1.ConfigMap](t, res, "ConfigMap", "app-inline"); cm.Data["inline"] != "a=1\n" {
		t.Errorf("inline %v", cm.Data)
	}
	// env_file's values go to a ConfigMap, environment's inline (it wins)
	env := object[*corev1.ConfigMap](t, res, "ConfigMap", "api-env")
	if !reflect.DeepEqual(env.Data, map[string]string{"REGION": "eu"}) {
		t.Errorf("api-env %v", env.Data)
	}
	ctr := object[*appsv1.Deployment](t, res, "Deployment", "api").Spec.Template.Spec.Containers[0]
	if !reflect.DeepEqual(ctr.Env, []corev1.EnvVar{{Name: "LEVEL", Value: "debug"}, {Name: "PORT", Value: "9090"}}) ||
		ctr.EnvFrom[0].ConfigMapRef.Name != "api-env" {
		t.Errorf("env %v from %v", ctr.Env, ctr.EnvFrom)
	}

	// secrets: never in an object by default
	if len(res.Generators) != 1 || res.Generators[0].Name != "app-db-password" ||
		res.Generators[0].Files[0].Key != "db_password" || !strings.HasSuffix(res.Generators[0].Files[0].Path, "/db/password.txt") {
		t.Errorf("generators %+v", res.Generators)
	}
	if hasObject(res, "Secret", "app-db-password") || hasObject(res, "Secret", "app-api-key") {
		t.Error("a Secret object by default")
	}
	requireWarning(t, res, "", "secrets.api_key", "environment variable API_KEY", "--include-secrets")
	requireWarning(t, res, "api", "secrets", "api_key: uid and gid")

	mounts := map[string]corev1.VolumeMount{}
	for _, m := range ctr.VolumeMounts {
		mounts[m.MountPath] = m
	}
	if m := mounts["/run/secrets"]; m.Name != "run-secrets" || !m.ReadOnly {
		t.Errorf("/run/secrets %+v", m)
	}
	if m := mounts["/etc/api/api.conf"]; m.SubPath != "api.conf" || !m.ReadOnly {
		t.Errorf("config mount %+v", m)
	}
	if _, ok := mounts["/inline"]; !ok {
		t.Errorf("inline config at its default target: %v", mounts)
	}
	pod := object[*appsv1.Deployment](t, res, "Deployment", "api").Spec.Template.Spec
	for _, v := range pod.Volumes {
		if v.Name != "run-secrets" {
			continue
		}
		var got []string
		for _, src := range v.Projected.Sources {
			it := src.Secret.Items[0]
			got = append(got, fmt.Sprintf("%s:%s→%s %#o", src.Secret.Name, it.Key, it.Path, *it.Mode))
		}
		want := []string{"app-db-password:db_password→db_password 0444", "app-api-key:api_key→keys/api 0400"}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("projected %v, want %v", got, want)
		}
	}
}

func TestIncludeSecrets(t *testing.T) {
	res := mustConvert(t, loadFiles(t, filesProject, "API_KEY=k3y-from-env"), Options{IncludeSecrets: true})
	if s := object[*corev1.Secret](t, res, "Secret", "app-db-password"); string(s.Data["db_password"]) != "s3cret-db-pw\n" {
		t.Error("db_password not embedded")
	}
	if s := object[*corev1.Secret](t, res, "Secret", "app-api-key"); string(s.Data["api_key"]) != "k3y-from-env" {
		t.Error("api_key not embedded")
	}
	if len(res.Generators) != 0 {
		t.Errorf("generators with --include-secrets: %v", res.Generators)
	}
}
