package kube

// What kompose 1.38 loses on the same files (issue 15), each kept here and
// checked over the whole awesome-compose corpus, the examples and the
// held-out stack.

import (
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/types"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// converted is one project of the corpus with its output.
type converted struct {
	name string
	p    *types.Project
	res  *Result
}

// corpus converts every project of the corpus (bind mounts skipped, as the
// issue asks), the examples and the held-out stack.
func corpus(t *testing.T) []converted {
	t.Helper()
	dirs := corpusDirs(t)
	if len(dirs) != 39+len(goldenCases) {
		t.Fatalf("%d projects, want the corpus' 39 and %d more", len(dirs), len(goldenCases))
	}
	var out []converted
	for _, d := range dirs {
		p := loadDirIn(t, d)
		out = append(out, converted{name: filepath.Base(d), p: p, res: mustConvert(t, p, Options{BindMounts: BindSkip})})
	}
	return out
}

// loadDirIn loads the directory's own Compose file, whatever its name.
func loadDirIn(t testing.TB, dir string) *types.Project {
	t.Helper()
	for _, name := range []string{"compose.yaml", "compose.yml"} {
		if matches, _ := filepath.Glob(filepath.Join(dir, name)); len(matches) == 1 {
			return loadFile(t, matches[0])
		}
	}
	t.Fatalf("no Compose file in %s", dir)
	return nil
}

func pods(res *Result) map[string]corev1.PodTemplateSpec {
	out := map[string]corev1.PodTemplateSpec{}
	for _, o := range res.Objects {
		switch w := o.(type) {
		case *appsv1.Deployment:
			out[w.Name] = w.Spec.Template
		case *appsv1.StatefulSet:
			out[w.Name] = w.Spec.Template
		case *batchv1.Job:
			out[w.Name] = w.Spec.Template
		}
	}
	return out
}

// TestEveryServiceResolvesByName: kompose made no Service for 17 of 81
// services (those without ports), so 8 files had a depends_on target that
// could not be reached by name.
func TestEveryServiceResolvesByName(t *testing.T) {
	total := 0
	for _, c := range corpus(t) {
		for _, name := range c.p.ServiceNames() {
			total++
			svc := object[*corev1.Service](t, c.res, "Service", dnsLabel(name))
			tmpl := pods(c.res)[dnsLabel(name)]
			if !labels.SelectorFromSet(svc.Spec.Selector).Matches(labels.Set(tmpl.Labels)) {
				t.Errorf("%s: the Service %s does not select the pods of %s", c.name, svc.Name, name)
			}
		}
	}
	t.Logf("%d services, each with its Service", total)
	if total < 81 {
		t.Errorf("%d services, want the corpus' 81 at least", total)
	}
}

// TestShellHealthChecksProbeThroughShell: kompose turned all 7 CMD-SHELL
// health checks into probes whose command is not run by a shell, and made
// no readiness probe at all.
func TestShellHealthChecksProbeThroughShell(t *testing.T) {
	shell := 0
	for _, c := range corpus(t) {
		for _, name := range c.p.ServiceNames() {
			hc := c.p.Services[name].HealthCheck
			if hc == nil || hc.Disable || len(hc.Test) == 0 || hc.Test[0] == "NONE" {
				continue
			}
			ctr := pods(c.res)[dnsLabel(name)].Spec.Containers[0]
			if ctr.ReadinessProbe == nil || ctr.LivenessProbe == nil {
				t.Errorf("%s: %s has a health check and no readiness or liveness probe", c.name, name)
				continue
			}
			if hc.Test[0] == "CMD-SHELL" {
				shell++
				got := ctr.ReadinessProbe.Exec.Command
				if len(got) != 3 || got[0] != "/bin/sh" || got[1] != "-c" || got[2] != literalString(strings.Join(hc.Test[1:], " ")) {
					t.Errorf("%s: %s readiness probe %q", c.name, name, got)
				}
			}
		}
	}
	t.Logf("%d CMD-SHELL health checks probe through /bin/sh -c", shell)
	if shell < 7 {
		t.Errorf("%d CMD-SHELL health checks, want the corpus' 7 at least", shell)
	}
}

// TestEveryDependencyIsWaitedFor: kompose dropped 26 depends_on links
// without a word. Each is an init container here, or (a Job to complete) an
// annotation and a warning.
func TestEveryDependencyIsWaitedFor(t *testing.T) {
	links := 0
	for _, c := range corpus(t) {
		for _, name := range c.p.ServiceNames() {
			s := c.p.Services[name]
			tmpl := pods(c.res)[dnsLabel(name)]
			var waits []string
			for _, ic := range tmpl.Spec.InitContainers {
				waits = append(waits, ic.Name)
			}
			for dep, d := range s.DependsOn {
				links++
				if d.Condition == types.ServiceConditionCompletedSuccessfully {
					if len(warningsWith(c.res, name, "the Job "+dnsLabel(dep)+" must complete")) != 1 {
						t.Errorf("%s: %s waits for %s to complete: no warning", c.name, name, dep)
					}
					continue
				}
				if !slices.Contains(waits, "wait-"+dnsLabel(dep)) {
					t.Errorf("%s: %s depends on %s: init containers %v", c.name, name, dep, waits)
				}
			}
		}
	}
	t.Logf("%d depends_on links waited for", links)
	if links < 26 {
		t.Errorf("%d depends_on links, want the corpus' 26 at least", links)
	}
}

// TestOneShotBecomesAJob: kompose made the held-out stack's migration a
// bare Pod.
func TestOneShotBecomesAJob(t *testing.T) {
	heldout, _ := filepath.Abs("testdata/heldout")
	res := mustConvert(t, loadDir(t, heldout), Options{})
	j := object[*batchv1.Job](t, res, "Job", "migrate")
	if j.Spec.Template.Spec.RestartPolicy != corev1.RestartPolicyNever || *j.Spec.BackoffLimit != 0 {
		t.Errorf("migrate %+v", j.Spec)
	}
	if hasObject(res, "Deployment", "migrate") {
		t.Error("migrate is also a Deployment")
	}
}

// TestInternalNetworkIsEnforced: kompose never enforced internal: true.
func TestInternalNetworkIsEnforced(t *testing.T) {
	devenv, _ := filepath.Abs("../../examples/devenv")
	res := mustConvert(t, loadDir(t, devenv), Options{})
	backend := object[*networkingv1.NetworkPolicy](t, res, "NetworkPolicy", "devenv-backend")
	for _, rule := range backend.Spec.Egress {
		if len(rule.To) == 0 && len(rule.Ports) == 0 {
			t.Error("the internal network's policy lets its pods reach anything")
		}
	}
	member := networkLabel("devenv_backend")
	for name, tmpl := range pods(res) {
		on := tmpl.Labels[member] == "true"
		if want := name == "api" || name == "store" || name == "worker"; on != want {
			t.Errorf("%s on backend: %v, want %v", name, on, want)
		}
	}
	// store is only on the internal network: no policy selecting it lets
	// it out
	storeLabels := labels.Set(pods(res)["store"].Labels)
	for _, o := range res.Objects {
		np, ok := o.(*networkingv1.NetworkPolicy)
		if !ok || !labels.SelectorFromSet(np.Spec.PodSelector.MatchLabels).Matches(storeLabels) {
			continue
		}
		for _, rule := range np.Spec.Egress {
			if len(rule.To) == 0 && len(rule.Ports) == 0 {
				t.Errorf("policy %s lets store reach anything", np.Name)
			}
		}
	}
}

// TestNamesAreConsistent: kompose named an inline config api_conf (invalid)
// and referred to it as api-conf from its own volume. Here every reference
// in every pod — ConfigMaps, Secrets, claims, waits — names an object of
// the output (or a secretGenerator, or something external said to exist).
func TestNamesAreConsistent(t *testing.T) {
	for _, c := range corpus(t) {
		checkReferences(t, c.name, c.res)
	}
	res := convertYAML(t, `
name: app
services:
  api:
    image: api
    configs: [{source: api_conf, target: /etc/api.conf}]
configs:
  api_conf: {content: "x=1"}
`, Options{})
	checkReferences(t, "inline config", res)
	cm := object[*corev1.ConfigMap](t, res, "ConfigMap", "app-api-conf")
	if !reflect.DeepEqual(cm.Data, map[string]string{"api_conf": "x=1"}) {
		t.Errorf("config %v", cm.Data)
	}
}

func checkReferences(t *testing.T, name string, res *Result) {
	t.Helper()
	exists := func(kind, n string) bool {
		if hasObject(res, kind, n) {
			return true
		}
		for _, g := range res.Generators {
			if kind == "Secret" && g.Name == n {
				return true
			}
		}
		return len(warningsWith(res, "", "external", `"`+n+`" must exist`)) > 0
	}
	for workload, tmpl := range pods(res) {
		var refs [][2]string
		for _, v := range tmpl.Spec.Volumes {
			switch {
			case v.ConfigMap != nil:
				refs = append(refs, [2]string{"ConfigMap", v.ConfigMap.Name})
			case v.PersistentVolumeClaim != nil:
				refs = append(refs, [2]string{"PersistentVolumeClaim", v.PersistentVolumeClaim.ClaimName})
			case v.Projected != nil:
				for _, s := range v.Projected.Sources {
					if s.ConfigMap != nil && s.ConfigMap.Name != "kube-root-ca.crt" {
						refs = append(refs, [2]string{"ConfigMap", s.ConfigMap.Name})
					}
					if s.Secret != nil {
						refs = append(refs, [2]string{"Secret", s.Secret.Name})
					}
				}
			}
		}
		for _, ef := range tmpl.Spec.Containers[0].EnvFrom {
			refs = append(refs, [2]string{"ConfigMap", ef.ConfigMapRef.Name})
		}
		for _, ic := range tmpl.Spec.InitContainers {
			if dep, ok := strings.CutPrefix(ic.Name, "wait-"); ok && dep != "jobs" {
				refs = append(refs, [2]string{"Service", dep})
			}
		}
		for _, r := range refs {
			if !exists(r[0], r[1]) {
				t.Errorf("%s: %s refers to %s %s, which is not in the output", name, workload, r[0], r[1])
			}
		}
	}
}
