package kube

import (
	"reflect"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
)

func TestWorkloadKinds(t *testing.T) {
	res := convertYAML(t, `
name: app
services:
  web:
    image: nginx
    scale: 3
    restart: "no"
  api:
    image: api
    deploy: {replicas: 2}
    depends_on:
      migrate: {condition: service_completed_successfully}
  migrate:
    image: api
    command: ["migrate", "up"]
    restart: on-failure:4
  seed:
    image: api
    x-kubernetes: {kind: Job}
  db:
    image: postgres
    x-kubernetes: {kind: StatefulSet}
    volumes: [data:/var/lib/postgresql/data]
volumes:
  data:
`, Options{})
	web := object[*appsv1.Deployment](t, res, "Deployment", "web")
	if *web.Spec.Replicas != 3 || web.Spec.Template.Spec.RestartPolicy != corev1.RestartPolicyAlways {
		t.Errorf("web: replicas %d, restart %s", *web.Spec.Replicas, web.Spec.Template.Spec.RestartPolicy)
	}
	if len(warningsWith(res, "web", "restart")) != 0 {
		t.Errorf(`restart: "no" is Compose's default, not a reason to warn: %v`, res.Warnings)
	}
	if api := object[*appsv1.Deployment](t, res, "Deployment", "api"); *api.Spec.Replicas != 2 || api.Annotations[AnnotationAfterJobs] != "migrate" {
		t.Errorf("api: replicas %d, annotations %v", *api.Spec.Replicas, api.Annotations)
	}
	migrate := object[*batchv1.Job](t, res, "Job", "migrate")
	if *migrate.Spec.BackoffLimit != 4 || migrate.Spec.Template.Spec.RestartPolicy != corev1.RestartPolicyOnFailure {
		t.Errorf("migrate: backoffLimit %d, restart %s", *migrate.Spec.BackoffLimit, migrate.Spec.Template.Spec.RestartPolicy)
	}
	if got := migrate.Spec.Template.Spec.Containers[0].Args; !reflect.DeepEqual(got, []string{"migrate", "up"}) {
		t.Errorf("migrate args %v", got)
	}
	seed := object[*batchv1.Job](t, res, "Job", "seed")
	if *seed.Spec.BackoffLimit != 0 || seed.Spec.Template.Spec.RestartPolicy != corev1.RestartPolicyNever {
		t.Errorf("seed runs once: backoffLimit %d, restart %s", *seed.Spec.BackoffLimit, seed.Spec.Template.Spec.RestartPolicy)
	}
	db := object[*appsv1.StatefulSet](t, res, "StatefulSet", "db")
	if db.Spec.ServiceName != "db" || len(db.Spec.VolumeClaimTemplates) != 1 || db.Spec.VolumeClaimTemplates[0].Name != "app-data" {
		t.Errorf("db: serviceName %q, claim templates %v", db.Spec.ServiceName, db.Spec.VolumeClaimTemplates)
	}
	if hasObject(res, "PersistentVolumeClaim", "app-data") {
		t.Error("a StatefulSet's own volume also got a shared claim")
	}
}

func TestRestartPoliciesWarned(t *testing.T) {
	res := convertYAML(t, `
name: app
services:
  web: {image: nginx, restart: on-failure}
  job: {image: x, restart: always, x-kubernetes: {kind: Job}}
  retry: {image: x, restart: on-failure, x-kubernetes: {kind: Job}}
`, Options{})
	requireWarning(t, res, "web", "restart", "whatever their exit code")
	requireWarning(t, res, "job", "restart", "not restarted")
	requireWarning(t, res, "retry", "restart", "retries 6 times")
}

func TestExtensionErrors(t *testing.T) {
	for _, tc := range []struct{ yaml, want string }{
		{"services: {web: {image: x, x-kubernetes: {kind: DaemonSet}}}", `service "web": x-kubernetes.kind "DaemonSet"`},
		{"services: {web: {image: x, x-kubernetes: {knd: Job}}}", `service "web": x-kubernetes: unknown field "knd"`},
		{"services: {web: {image: x, volumes: [\"vol:/data\"]}}\nvolumes: {vol: {x-kubernetes: {size: big}}}", `volume "vol": x-kubernetes.size "big"`},
	} {
		_, err := Convert(loadFiles(t, map[string]string{"compose.yaml": "name: app\n" + tc.yaml}), Options{})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("error %v, want %q", err, tc.want)
		}
	}
}

func TestProbes(t *testing.T) {
	res := convertYAML(t, `
name: app
services:
  db:
    image: postgres
    healthcheck:
      test: ["CMD-SHELL", "pg_isready -U postgres"]
      interval: 5s
      timeout: 1500ms
      retries: 4
      start_period: 20s
      start_interval: 2s
  web:
    image: nginx
    healthcheck:
      test: ["CMD", "wget", "-qO-", "http://127.0.0.1/"]
  off:
    image: nginx
    healthcheck: {disable: true}
`, Options{})
	db := object[*appsv1.Deployment](t, res, "Deployment", "db").Spec.Template.Spec.Containers[0]
	want := []string{"/bin/sh", "-c", "pg_isready -U postgres"}
	for name, p := range map[string]*corev1.Probe{"readiness": db.ReadinessProbe, "liveness": db.LivenessProbe} {
		if p == nil || !reflect.DeepEqual(p.Exec.Command, want) || p.PeriodSeconds != 5 || p.TimeoutSeconds != 2 || p.FailureThreshold != 4 {
			t.Errorf("db %s probe %+v", name, p)
		}
	}
	// 20s start period then 4 retries every 5s, probed every 2s
	if s := db.StartupProbe; s == nil || s.PeriodSeconds != 2 || s.FailureThreshold != 20 {
		t.Errorf("db startup probe %+v", s)
	}
	web := object[*appsv1.Deployment](t, res, "Deployment", "web").Spec.Template.Spec.Containers[0]
	if !reflect.DeepEqual(web.ReadinessProbe.Exec.Command, []string{"wget", "-qO-", "http://127.0.0.1/"}) ||
		web.ReadinessProbe.PeriodSeconds != 30 || web.StartupProbe != nil {
		t.Errorf("web probes %+v %+v", web.ReadinessProbe, web.StartupProbe)
	}
	off := object[*appsv1.Deployment](t, res, "Deployment", "off").Spec.Template.Spec.Containers[0]
	if off.ReadinessProbe != nil || off.LivenessProbe != nil {
		t.Error("disable: true still has probes")
	}
}

// TestDollarStaysLiteral: Kubernetes expands $(VAR) in commands, probes and
// variables, Docker does not.
func TestDollarStaysLiteral(t *testing.T) {
	res := convertYAML(t, `
name: app
services:
  db:
    image: mariadb
    command: ["sh", "-c", "echo $$(hostname) $$HOME"]
    environment: {A: "$$(x)", B: "plain $$HOME"}
    healthcheck:
      test: ["CMD-SHELL", "mysqladmin ping --password=\"$$(cat /run/secrets/pw)\""]
`, Options{})
	c := object[*appsv1.Deployment](t, res, "Deployment", "db").Spec.Template.Spec.Containers[0]
	if got := c.Args[2]; got != "echo $$(hostname) $$HOME" {
		t.Errorf("args %q", got)
	}
	if got := c.ReadinessProbe.Exec.Command[2]; got != `mysqladmin ping --password="$$(cat /run/secrets/pw)"` {
		t.Errorf("probe %q", got)
	}
	if c.Env[0].Value != "$$(x)" || c.Env[1].Value != "plain $HOME" {
		t.Errorf("env %+v", c.Env)
	}
}

func TestDependencyWaits(t *testing.T) {
	compose := `
name: app
services:
  web:
    image: nginx
    depends_on:
      api: {condition: service_healthy}
      cache: {condition: service_started, restart: true}
      migrate: {condition: service_completed_successfully}
  api: {image: api}
  cache: {image: redis}
  migrate: {image: api}
`
	res := convertYAML(t, compose, Options{})
	web := object[*appsv1.Deployment](t, res, "Deployment", "web").Spec.Template.Spec
	var names []string
	for _, c := range web.InitContainers {
		names = append(names, c.Name)
	}
	if !reflect.DeepEqual(names, []string{"wait-api", "wait-cache"}) {
		t.Fatalf("init containers %v", names)
	}
	wait := web.InitContainers[0]
	if wait.Image != DefaultWaitImage || !strings.Contains(wait.Command[2], "nslookup api.$(POD_NAMESPACE).svc.cluster.local") {
		t.Errorf("wait-api %s %v", wait.Image, wait.Command)
	}
	requireWarning(t, res, "web", "migrate must complete", AnnotationAfterJobs)
	requireWarning(t, res, "web", "depends_on.cache.restart")
	if web.ServiceAccountName != "" || hasObject(res, "Role", "web-job-wait") {
		t.Error("the default job wait made RBAC objects")
	}

	res = mustConvert(t, loadFiles(t, map[string]string{"compose.yaml": compose}),
		Options{JobWait: JobWaitRBAC, Namespace: "prod", WaitImage: "registry.local/busybox:1", ClusterDomain: "k.local"})
	web = object[*appsv1.Deployment](t, res, "Deployment", "web").Spec.Template.Spec
	last := web.InitContainers[len(web.InitContainers)-1]
	if last.Name != "wait-jobs" || !reflect.DeepEqual(last.Command[len(last.Command)-1], "job/migrate") ||
		len(last.VolumeMounts) != 1 || last.VolumeMounts[0].MountPath != serviceAccountDir {
		t.Errorf("wait-jobs %+v", last)
	}
	if web.InitContainers[0].Image != "registry.local/busybox:1" || !strings.Contains(web.InitContainers[0].Command[2], ".svc.k.local") {
		t.Errorf("wait image/domain: %+v", web.InitContainers[0])
	}
	if main := web.Containers[0]; len(main.VolumeMounts) != 0 || *web.AutomountServiceAccountToken {
		t.Error("the token reaches the service's own container")
	}
	role := object[*rbacv1.Role](t, res, "Role", "web-job-wait")
	if r := role.Rules[0]; !reflect.DeepEqual(r.ResourceNames, []string{"migrate"}) || !reflect.DeepEqual(r.Verbs, []string{"get", "list", "watch"}) {
		t.Errorf("role rules %+v", role.Rules)
	}
	binding := object[*rbacv1.RoleBinding](t, res, "RoleBinding", "web-job-wait")
	if binding.Subjects[0].Name != "web-job-wait" || binding.Subjects[0].Namespace != "prod" || binding.Namespace != "prod" {
		t.Errorf("binding %+v", binding)
	}
	if !hasObject(res, "NetworkPolicy", "web-job-wait") {
		t.Error("no egress to the API server for the wait")
	}
}
