package kube

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
)

// TestHeldOutStack checks testdata/heldout field by field against
// docs/kubernetes.md: a health-gated dependency, an internal network, a
// one-shot migration, a named volume, a published port, a secret and an
// inline config.
func TestHeldOutStack(t *testing.T) {
	dir, _ := filepath.Abs("testdata/heldout")
	res := mustConvert(t, loadDir(t, dir), Options{})

	var names []string
	for _, o := range res.Objects {
		names = append(names, kindOf(o)+"/"+o.GetName())
	}
	want := []string{"ConfigMap/shop-web-conf", "PersistentVolumeClaim/shop-db-data",
		"Service/api", "Service/db", "Service/migrate", "Service/web", "Service/web-published",
		"NetworkPolicy/shop-back", "NetworkPolicy/shop-front", "NetworkPolicy/web-published",
		"Deployment/api", "Deployment/db", "Deployment/web", "Job/migrate"}
	if !reflect.DeepEqual(names, want) {
		t.Fatalf("objects in order:\n%v\nwant\n%v", names, want)
	}
	front, back := networkLabel("shop_front"), networkLabel("shop_back")

	t.Run("the secret is a generator, never an object", func(t *testing.T) {
		if len(res.Generators) != 1 || res.Generators[0].Name != "shop-db-password" ||
			res.Generators[0].Files[0] != (SecretFile{Key: "db_password", Path: filepath.Join(dir, "db_password.txt")}) {
			t.Errorf("generators %+v", res.Generators)
		}
	})
	t.Run("web: waits for a healthy api, gets the inline config, is published", func(t *testing.T) {
		pod := podOf(t, res, "web")
		if ic := pod.Spec.InitContainers; len(ic) != 1 || ic[0].Name != "wait-api" {
			t.Errorf("init containers %+v", ic)
		}
		m := pod.Spec.Containers[0].VolumeMounts
		if len(m) != 1 || m[0].MountPath != "/etc/nginx/conf.d/default.conf" || m[0].SubPath != "default.conf" || !m[0].ReadOnly {
			t.Errorf("mounts %+v", m)
		}
		src := pod.Spec.Volumes[0].Projected.Sources[0].ConfigMap
		if src.Name != "shop-web-conf" || src.Items[0].Key != "web_conf" || src.Items[0].Path != "default.conf" {
			t.Errorf("config source %+v", src)
		}
		if cm := object[*corev1.ConfigMap](t, res, "ConfigMap", "shop-web-conf"); !strings.Contains(cm.Data["web_conf"], "proxy_pass http://api:8000") {
			t.Errorf("config %v", cm.Data)
		}
		if pod.Labels[front] != "true" || pod.Labels[back] != "" {
			t.Errorf("labels %v", pod.Labels)
		}
		pub := object[*corev1.Service](t, res, "Service", "web-published")
		if pub.Spec.Type != corev1.ServiceTypeLoadBalancer || pub.Spec.Ports[0].Port != 8080 || pub.Spec.Ports[0].TargetPort.IntVal != 80 {
			t.Errorf("published %+v", pub.Spec)
		}
	})
	t.Run("api: probes through sh -c, waits for db, annotated after the migration", func(t *testing.T) {
		d := object[*appsv1.Deployment](t, res, "Deployment", "api")
		c := d.Spec.Template.Spec.Containers[0]
		shell := []string{"/bin/sh", "-c", "wget -qO- http://127.0.0.1:8000/healthz || exit 1"}
		r, l, s := c.ReadinessProbe, c.LivenessProbe, c.StartupProbe
		if !reflect.DeepEqual(r.Exec.Command, shell) || r.PeriodSeconds != 5 || r.TimeoutSeconds != 2 || r.FailureThreshold != 3 ||
			!reflect.DeepEqual(l.Exec.Command, shell) || s.PeriodSeconds != 5 || s.FailureThreshold != 6 {
			t.Errorf("probes %+v %+v %+v", r, l, s)
		}
		if ic := d.Spec.Template.Spec.InitContainers; len(ic) != 1 || ic[0].Name != "wait-db" {
			t.Errorf("init containers %+v", ic)
		}
		if d.Annotations[AnnotationAfterJobs] != "migrate" {
			t.Errorf("annotations %v", d.Annotations)
		}
		if !reflect.DeepEqual(c.Env, []corev1.EnvVar{{Name: "DATABASE_HOST", Value: "db"}, {Name: "DATABASE_PASSWORD_FILE", Value: "/run/secrets/db_password"}}) {
			t.Errorf("env %v", c.Env)
		}
		if l := d.Spec.Template.Labels; l[front] != "true" || l[back] != "true" {
			t.Errorf("labels %v", l)
		}
	})
	t.Run("migrate: a Job that runs once after db is healthy", func(t *testing.T) {
		j := object[*batchv1.Job](t, res, "Job", "migrate")
		spec := j.Spec.Template.Spec
		if *j.Spec.BackoffLimit != 0 || spec.RestartPolicy != corev1.RestartPolicyNever || *j.Spec.Completions != 1 ||
			!reflect.DeepEqual(spec.Containers[0].Args, []string{"shop", "migrate", "--wait"}) || spec.InitContainers[0].Name != "wait-db" {
			t.Errorf("job %+v", j.Spec)
		}
	})
	t.Run("db: a claim, replaced not rolled, ready when pg_isready says so", func(t *testing.T) {
		d := object[*appsv1.Deployment](t, res, "Deployment", "db")
		c := d.Spec.Template.Spec.Containers[0]
		if d.Spec.Strategy.Type != appsv1.RecreateDeploymentStrategyType || c.VolumeMounts[0].Name != "shop-db-data" ||
			c.VolumeMounts[0].MountPath != "/var/lib/postgresql/data" || c.VolumeMounts[1].MountPath != "/run/secrets" {
			t.Errorf("db %+v %+v", d.Spec.Strategy, c.VolumeMounts)
		}
		if r := c.ReadinessProbe; r.Exec.Command[2] != "pg_isready -U postgres" || r.FailureThreshold != 10 || r.TimeoutSeconds != 30 || c.StartupProbe != nil {
			t.Errorf("probes %+v %+v", r, c.StartupProbe)
		}
		pvc := object[*corev1.PersistentVolumeClaim](t, res, "PersistentVolumeClaim", "shop-db-data")
		if q := pvc.Spec.Resources.Requests[corev1.ResourceStorage]; q.String() != "1Gi" {
			t.Errorf("claim %s", q.String())
		}
	})
	t.Run("the internal network lets its pods reach each other and DNS only", func(t *testing.T) {
		np := object[*networkingv1.NetworkPolicy](t, res, "NetworkPolicy", "shop-back")
		if len(np.Spec.Egress) != 2 || np.Spec.Egress[0].To[0].PodSelector.MatchLabels[back] != "true" || !isDNSRule(np.Spec.Egress[1]) {
			t.Errorf("back egress %+v", np.Spec.Egress)
		}
		if fp := object[*networkingv1.NetworkPolicy](t, res, "NetworkPolicy", "shop-front"); len(fp.Spec.Egress) != 3 {
			t.Errorf("front egress %+v", fp.Spec.Egress)
		}
	})
	t.Run("one warning: nothing in the cluster waits for the migration", func(t *testing.T) {
		if len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0].String(), `service "api": depends_on: the Job migrate must complete`) {
			t.Errorf("warnings %v", res.Warnings)
		}
	})
}

func TestHeldOutStackWithRBACJobWait(t *testing.T) {
	dir, _ := filepath.Abs("testdata/heldout")
	res := mustConvert(t, loadDir(t, dir), Options{JobWait: JobWaitRBAC, Namespace: "shop"})
	spec := podOf(t, res, "api").Spec
	if names := []string{spec.InitContainers[0].Name, spec.InitContainers[1].Name}; !reflect.DeepEqual(names, []string{"wait-db", "wait-jobs"}) {
		t.Errorf("init containers %v", names)
	}
	if spec.ServiceAccountName != "api-job-wait" || len(res.Warnings) != 0 {
		t.Errorf("account %q, warnings %v", spec.ServiceAccountName, res.Warnings)
	}
	for _, o := range res.Objects {
		if o.GetNamespace() != "shop" {
			t.Errorf("%s %s in namespace %q", kindOf(o), o.GetName(), o.GetNamespace())
		}
	}
}
