package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// heldoutSecret is the value of the held-out stack's secret.
const heldoutSecret = "hunter2-heldout-Zq9"

// kubeProject copies the held-out stack into a temporary directory and
// runs there.
func kubeProject(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "shop")
	if err := os.CopyFS(dir, os.DirFS("../../internal/kube/testdata/heldout")); err != nil {
		t.Fatal(err)
	}
	isolateEnv(t)
	t.Chdir(dir)
	return dir
}

func runBerth(args ...string) (int, string, string) {
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), append([]string{"berth"}, args...), &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func requireNoSecret(t *testing.T, where, text string) {
	t.Helper()
	for _, v := range []string{heldoutSecret, base64.StdEncoding.EncodeToString([]byte(heldoutSecret + "\n"))} {
		if strings.Contains(text, v) {
			t.Errorf("%s shows the secret's value", where)
		}
	}
}

func TestKubeConvertWritesAKustomizeBase(t *testing.T) {
	dir := kubeProject(t)
	for _, cmd := range [][]string{{"kube", "convert"}, {"bridge", "convert", "-o", "bridged"}} {
		code, stdout, stderr := runBerth(cmd...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", cmd, code, stderr)
		}
		out := "out"
		if len(cmd) > 2 {
			out = cmd[3]
		}
		for _, f := range []string{"kustomization.yaml", "deployment-api.yaml", "job-migrate.yaml", "networkpolicy-shop-back.yaml"} {
			if _, err := os.Stat(filepath.Join(dir, out, "base", f)); err != nil {
				t.Errorf("%v: %v", cmd, err)
			}
		}
		for _, want := range []string{`warning: service "api": depends_on: the Job migrate must complete`,
			"Pod Security levels the services need: baseline: api, db, migrate, web",
			"Wrote 14 objects to out/base", "--load-restrictor LoadRestrictionsNone"} {
			if out == "out" && !strings.Contains(stderr, want) {
				t.Errorf("stderr lacks %q:\n%s", want, stderr)
			}
		}
		requireNoSecret(t, "stdout", stdout)
		requireNoSecret(t, "stderr", stderr)
	}
}

func TestKubeConvertStream(t *testing.T) {
	kubeProject(t)
	code, stdout, stderr := runBerth("kube", "convert", "-o", "-", "--namespace", "shop", "--job-wait", "rbac")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if n := strings.Count(stdout, "\n---\n"); n != 17 {
		t.Errorf("%d separators, want 17 (18 objects)", n)
	}
	if !strings.Contains(stdout, "namespace: shop") || !strings.Contains(stdout, "kind: RoleBinding") {
		t.Error("no namespace or no RBAC objects in the stream")
	}
	if !strings.Contains(stderr, `the Secret "shop-db-password" is not in the stream: create it with kubectl create secret generic shop-db-password --from-file=db_password=`) {
		t.Errorf("stderr:\n%s", stderr)
	}
	requireNoSecret(t, "stdout", stdout)
	requireNoSecret(t, "stderr", stderr)
}

func TestKubeConvertRefusals(t *testing.T) {
	kubeProject(t)
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"kube", "convert", "-t", "custom"}, 2, "berth has one built-in transformation"},
		{[]string{"bridge", "convert", "--templates", "dir"}, 2, "berth has one built-in transformation"},
		{[]string{"kube", "convert", "-o", "-", "--include-secrets"}, 2, "would print secret values"},
		{[]string{"kube", "convert", "--job-wait", "rbac"}, 2, "--job-wait=rbac needs --namespace"},
		{[]string{"kube", "convert", "--publish-as", "ingress"}, 2, `--publish-as "ingress"`},
	} {
		code, stdout, stderr := runBerth(tc.args...)
		if code != tc.code || !strings.Contains(stderr, tc.want) || stdout != "" {
			t.Errorf("%v: exit %d, stderr %q, stdout %q", tc.args, code, stderr, stdout)
		}
		if _, err := os.Stat("out"); err == nil {
			t.Errorf("%v wrote out/", tc.args)
		}
	}
}

func TestKubeConvertRefusesBindMounts(t *testing.T) {
	dir := kubeProject(t)
	compose := "name: app\nservices:\n  web:\n    image: nginx\n    volumes: [./site:/usr/share/nginx/html]\n"
	if err := os.WriteFile(filepath.Join(dir, "compose.yaml"), []byte(compose), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := runBerth("kube", "convert")
	if code != 1 || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, `service "web": volumes: `+filepath.Join(dir, "site")+" is a bind mount") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
	if _, err := os.Stat("out"); err == nil {
		t.Error("a refused conversion wrote out/")
	}
}
