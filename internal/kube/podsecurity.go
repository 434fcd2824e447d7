package kube

import (
	"fmt"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/pod-security-admission/api"
	"k8s.io/pod-security-admission/policy"
)

// evaluator is the Pod Security Admission library's checks, as the API
// server runs them; made on first use, so that other commands do not pay
// for it at start.
var evaluator = sync.OnceValue(func() policy.Evaluator {
	e, err := policy.NewEvaluator(policy.DefaultChecks(), nil)
	if err != nil {
		panic(fmt.Sprintf("pod security checks: %v", err))
	}
	return e
})

// podSecurity finds the strictest Pod Security Standard the service's
// pods meet, so that a namespace's enforced level can be chosen knowingly;
// a service that does not meet baseline is named in a warning.
func (c *converter) podSecurity(sp *servicePlan, tmpl corev1.PodTemplateSpec) {
	ps := PodSecurity{Service: sp.s.Name, Level: string(api.LevelRestricted)}
	for _, level := range []api.Level{api.LevelBaseline, api.LevelRestricted} {
		result := policy.AggregateCheckResults(evaluator().EvaluatePod(api.LevelVersion{Level: level, Version: api.LatestVersion()}, &tmpl.ObjectMeta, &tmpl.Spec))
		if result.Allowed {
			continue
		}
		for i, reason := range result.ForbiddenReasons {
			if detail := result.ForbiddenDetails[i]; detail != "" {
				reason += " (" + detail + ")"
			}
			ps.Reasons = append(ps.Reasons, reason)
		}
		if level == api.LevelBaseline {
			ps.Level = string(api.LevelPrivileged)
			c.warn(sp.s.Name, "", "its pods need the privileged Pod Security level (they fail baseline: %s)", strings.Join(ps.Reasons, "; "))
		} else {
			ps.Level = string(api.LevelBaseline)
		}
		break
	}
	c.res.PodSecurity = append(c.res.PodSecurity, ps)
}
