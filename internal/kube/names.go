package kube

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
)

// maxLabel is the length limit of DNS labels, label values and the names
// of Services.
const maxLabel = 63

// dnsLabel turns a Compose name into a DNS-1035 label, the strictest form
// Kubernetes asks of a name (Services): lower case letters, digits and '-',
// starting with a letter, at most 63 characters. Every other character
// becomes '-'; a name too long keeps a hash of the original so that two
// long names stay distinct.
func dnsLabel(name string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(name) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		} else {
			b.WriteByte('-')
		}
	}
	s := strings.Trim(b.String(), "-")
	if s == "" || s[0] >= '0' && s[0] <= '9' {
		s = "x" + s
	}
	if len(s) > maxLabel {
		s = strings.TrimRight(s[:maxLabel-9], "-") + "-" + shortHash(name, 8)
	}
	return s
}

// joinName makes the name of an object derived from base (a name already
// valid) and a suffix, within 63 characters.
func joinName(base, suffix string) string {
	name := base + "-" + suffix
	if len(name) <= maxLabel {
		return name
	}
	keep := maxLabel - len(suffix) - 10
	return strings.TrimRight(base[:keep], "-") + "-" + shortHash(base, 8) + "-" + suffix
}

func shortHash(s string, n int) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])[:n]
}

// labelValue fits a value into a label value (at most 63 characters of
// alphanumerics, '-', '_' and '.', starting and ending alphanumeric).
func labelValue(v string) string {
	var b strings.Builder
	for _, r := range v {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.' {
			b.WriteRune(r)
		} else {
			b.WriteByte('-')
		}
	}
	s := b.String()
	if len(s) > maxLabel {
		s = s[:maxLabel-9] + "-" + shortHash(v, 8)
	}
	return strings.Trim(s, "-_.")
}

// namer gives every Compose name that becomes a DNS name in the cluster
// (services and their aliases share the namespace of Services) one
// Kubernetes name, the same wherever it is referenced, and says once when
// it had to change it.
type namer struct {
	byCompose map[string]string
	taken     map[string]string // Kubernetes name → Compose name
	warnings  []Warning
}

func newNamer() *namer {
	return &namer{byCompose: map[string]string{}, taken: map[string]string{}}
}

// claim reserves the Kubernetes name of a Compose name. It returns false
// when the Compose name's Kubernetes name is already another's (the caller
// decides: a service gets a distinct name, an alias is dropped).
func (n *namer) claim(compose, service, what string) (string, bool) {
	if k, ok := n.byCompose[compose]; ok {
		return k, true
	}
	k := dnsLabel(compose)
	if owner, ok := n.taken[k]; ok && owner != compose {
		return k, false
	}
	n.byCompose[compose], n.taken[k] = k, compose
	if k != compose {
		n.warnings = append(n.warnings, Warning{Service: service, Key: what,
			Message: fmt.Sprintf("%q is not a valid Kubernetes name: it is %q everywhere in the output; update what refers to it by name (URLs, environment)", compose, k)})
	}
	return k, true
}

// service names a service, distinct from every other even when two
// Compose names differ only by characters Kubernetes does not allow.
func (n *namer) service(name string) string {
	if k, ok := n.claim(name, name, "name"); ok {
		return k
	}
	k := joinName(dnsLabel(name), shortHash(name, 4))
	n.byCompose[name], n.taken[k] = k, name
	n.warnings = append(n.warnings, Warning{Service: name, Key: "name",
		Message: fmt.Sprintf("%q becomes %q in Kubernetes, which another name already has: it is %q everywhere in the output", name, dnsLabel(name), k)})
	return k
}

// lookup is the Kubernetes name given to a Compose name.
func (n *namer) lookup(compose string) string {
	return n.byCompose[compose]
}
