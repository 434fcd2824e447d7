package kubevalidate

import (
	"strings"
	"testing"
)

// TestCreateRejects shows that the check fails where the API server does,
// on the mistakes other converters make: without it, a check that accepts
// everything would pass the corpus too.
func TestCreateRejects(t *testing.T) {
	deployment := func(podSpec string) string {
		return `apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
` + podSpec
	}
	for _, tc := range []struct{ name, doc, want string }{
		{"restartPolicy Never on a Deployment", deployment(`      restartPolicy: Never
      containers: [{name: web, image: nginx}]
`), "spec.template.spec.restartPolicy"},
		{"sysctls on a container", deployment(`      containers: [{name: web, image: nginx, securityContext: {sysctls: [{name: net.core.somaxconn, value: "1024"}]}}]
`), "unknown field"},
		{"selector that does not match the template", `apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  selector: {matchLabels: {app: api}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: nginx}]}
`, "selector"},
		{"a name with an underscore", `apiVersion: v1
kind: ConfigMap
metadata: {name: api_conf}
data: {a: b}
`, "metadata.name"},
		{"a Service without ports that is not headless", `apiVersion: v1
kind: Service
metadata: {name: web}
spec: {selector: {app: web}}
`, "spec.ports"},
		{"a port name over 15 characters", deployment(`      containers: [{name: web, image: nginx, ports: [{name: a-very-long-port-name, containerPort: 80}]}]
`), "ports[0].name"},
		{"a duplicate field", `apiVersion: v1
kind: ConfigMap
metadata: {name: a, name: b}
`, "already set"},
		{"a probe with successThreshold 2 on liveness", deployment(`      containers: [{name: web, image: nginx, livenessProbe: {exec: {command: ["true"]}, successThreshold: 2}}]
`), "successThreshold"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := Create([]byte(tc.doc), namespace)
			got := strings.Join(r.Errors, "\n")
			if !strings.Contains(got, tc.want) {
				t.Errorf("errors %q, want one mentioning %q", got, tc.want)
			}
		})
	}
}
