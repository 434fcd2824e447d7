package kube

import (
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

func TestVolumesBecomeClaims(t *testing.T) {
	res := convertYAML(t, `
name: app
services:
  db:
    image: postgres
    volumes:
      - data:/var/lib/postgresql/data
      - type: volume
        source: data
        target: /backup
        read_only: true
        volume: {subpath: dumps}
      - /scratch
      - type: tmpfs
        target: /tmp
        tmpfs: {size: 64m, mode: 0o1777}
    tmpfs: ["/run:size=1m"]
    shm_size: 256m
  web:
    image: nginx
    scale: 2
    volumes: [shared:/srv]
  web2:
    image: nginx
    volumes: [shared:/srv]
volumes:
  data:
    labels: {backup: daily}
    x-kubernetes: {size: 10Gi, storageClass: ssd}
  shared:
    driver: nfs
`, Options{VolumeSize: "2Gi"})
	pvc := object[*corev1.PersistentVolumeClaim](t, res, "PersistentVolumeClaim", "app-data")
	if q := pvc.Spec.Resources.Requests[corev1.ResourceStorage]; q.Cmp(resource.MustParse("10Gi")) != 0 ||
		*pvc.Spec.StorageClassName != "ssd" || pvc.Spec.AccessModes[0] != corev1.ReadWriteOnce || pvc.Annotations["backup"] != "daily" {
		t.Errorf("data claim %+v %v", pvc.Spec, pvc.Annotations)
	}
	shared := object[*corev1.PersistentVolumeClaim](t, res, "PersistentVolumeClaim", "app-shared")
	if q := shared.Spec.Resources.Requests[corev1.ResourceStorage]; q.Cmp(resource.MustParse("2Gi")) != 0 || shared.Spec.StorageClassName != nil {
		t.Errorf("shared claim %+v", shared.Spec)
	}
	requireWarning(t, res, "", "volumes.shared", "3 pods (web, web2)", "ReadWriteOnce")
	requireWarning(t, res, "", "volumes.shared.driver", "nfs")

	db := object[*appsv1.Deployment](t, res, "Deployment", "db")
	if db.Spec.Strategy.Type != appsv1.RecreateDeploymentStrategyType {
		t.Errorf("db strategy %q, want Recreate", db.Spec.Strategy.Type)
	}
	pod := db.Spec.Template.Spec
	mounts := map[string]corev1.VolumeMount{}
	for _, m := range pod.Containers[0].VolumeMounts {
		mounts[m.MountPath] = m
	}
	volumes := map[string]corev1.VolumeSource{}
	for _, v := range pod.Volumes {
		volumes[v.Name] = v.VolumeSource
	}
	if m := mounts["/backup"]; m.Name != "app-data" || !m.ReadOnly || m.SubPath != "dumps" || volumes["app-data"].PersistentVolumeClaim.ClaimName != "app-data" {
		t.Errorf("/backup %+v", m)
	}
	if m := mounts["/scratch"]; volumes[m.Name].EmptyDir == nil || volumes[m.Name].EmptyDir.Medium != "" {
		t.Errorf("anonymous volume %+v", volumes[m.Name])
	}
	for target, size := range map[string]string{"/tmp": "64Mi", "/run": "1Mi", "/dev/shm": "256Mi"} {
		ed := volumes[mounts[target].Name].EmptyDir
		if ed == nil || ed.Medium != corev1.StorageMediumMemory || ed.SizeLimit.Cmp(resource.MustParse(size)) != 0 {
			t.Errorf("%s: %+v, want memory of %s", target, ed, size)
		}
	}
	requireWarning(t, res, "db", "tmpfs /tmp: mode 1777")
	if len(pod.Volumes) != 5 {
		t.Errorf("%d pod volumes, want one per source: %v", len(pod.Volumes), pod.Volumes)
	}
}

func TestBindMounts(t *testing.T) {
	files := map[string]string{
		"compose.yaml": `
name: app
services:
  proxy:
    image: nginx
    volumes:
      - ./nginx.conf:/etc/nginx/nginx.conf:ro
      - ./site:/usr/share/nginx/html
      - ./events:/run/events
`,
		"nginx.conf":           "events {}\n",
		"site/index.html":      "<p>hi</p>\n",
		"site/assets/logo.svg": "<svg/>\n",
	}
	p := loadFiles(t, files)
	// a named pipe: neither a file nor a directory (docker.sock would be a socket)
	if err := syscall.Mkfifo(filepath.Join(p.WorkingDir, "events"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Convert(p, Options{})
	if err == nil || !strings.Contains(err.Error(), `service "proxy": volumes: `) || !strings.Contains(err.Error(), "nginx.conf is a bind mount") {
		t.Fatalf("default: %v, want a refusal naming the service and the path", err)
	}

	res := mustConvert(t, p, Options{BindMounts: BindSkip})
	if n := len(warningsWith(res, "proxy", "left out (--bind-mounts=skip)")); n != 3 {
		t.Errorf("skip: %d warnings, want 3: %v", n, res.Warnings)
	}
	if m := object[*appsv1.Deployment](t, res, "Deployment", "proxy").Spec.Template.Spec.Containers[0].VolumeMounts; len(m) != 0 {
		t.Errorf("skip left mounts %v", m)
	}

	res = mustConvert(t, p, Options{BindMounts: BindConfigMap})
	conf := object[*corev1.ConfigMap](t, res, "ConfigMap", "proxy-bind-0")
	if conf.Data["nginx.conf"] != "events {}\n" {
		t.Errorf("nginx.conf copy %v", conf.Data)
	}
	site := object[*corev1.ConfigMap](t, res, "ConfigMap", "proxy-bind-1")
	if len(site.Data) != 2 {
		t.Errorf("site copy %v", site.Data)
	}
	pod := object[*appsv1.Deployment](t, res, "Deployment", "proxy").Spec.Template.Spec
	m := pod.Containers[0].VolumeMounts
	if len(m) != 2 || m[0].SubPath != "nginx.conf" || m[0].MountPath != "/etc/nginx/nginx.conf" || m[1].SubPath != "" || !m[1].ReadOnly {
		t.Errorf("configmap mounts %+v", m)
	}
	var paths []string
	for _, v := range pod.Volumes {
		if v.Name == m[1].Name {
			for _, it := range v.ConfigMap.Items {
				paths = append(paths, it.Path)
			}
		}
	}
	if strings.Join(paths, ",") != "assets/logo.svg,index.html" {
		t.Errorf("directory items %v", paths)
	}
	requireWarning(t, res, "proxy", "/events", "left out", "not a regular file")
	requireWarning(t, res, "proxy", "/site", "read-only copy")
}
