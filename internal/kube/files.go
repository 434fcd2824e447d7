package kube

import (
	"fmt"
	"maps"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/compose-spec/compose-go/v2/dotenv"
	"github.com/compose-spec/compose-go/v2/types"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// maxConfigMapSize is the API server's limit on a ConfigMap's data.
const maxConfigMapSize = 1 << 20

// secretsDir is where Docker mounts secrets: a directory of their own,
// which one projected volume can fill without hiding anything of the image.
const secretsDir = "/run/secrets"

// files makes the project's configs (ConfigMaps) and secrets (Secrets, or
// kustomize secretGenerators that read the host files).
func (c *converter) files() error {
	for _, key := range slices.Sorted(maps.Keys(c.p.Configs)) {
		if err := c.config(key, types.FileObjectConfig(c.p.Configs[key])); err != nil {
			return err
		}
	}
	for _, key := range slices.Sorted(maps.Keys(c.p.Secrets)) {
		if err := c.secret(key, types.FileObjectConfig(c.p.Secrets[key])); err != nil {
			return err
		}
	}
	return nil
}

// fileObjectName is the Kubernetes name of a config or secret.
func fileObjectName(def types.FileObjectConfig, key string) string {
	return dnsLabel(cmpOr(def.Name, key))
}

// dataKey is the key of a config's or secret's value: its Compose key,
// with the characters a data key cannot hold replaced.
func dataKey(key string) string {
	var b strings.Builder
	for _, r := range key {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	k := b.String()
	if k == "." || k == ".." {
		k = "_" + k
	}
	return k
}

func (c *converter) config(key string, def types.FileObjectConfig) error {
	name := fileObjectName(def, key)
	if def.External {
		c.warn("", "configs."+key, "external: the ConfigMap %q must exist in the namespace", name)
		return nil
	}
	value := []byte(def.Content)
	if def.File != "" {
		b, err := os.ReadFile(def.File)
		if err != nil {
			return fmt.Errorf("config %q: %w", key, err)
		}
		value = b
	} else if def.Environment != "" && def.Content == "" {
		c.warn("", "configs."+key, "the environment variable %s is not set: the config is empty", def.Environment)
	}
	cm := newConfigMap(name, c.objectLabels(key))
	putData(cm, dataKey(key), value)
	if size := dataSize(cm); size > maxConfigMapSize {
		return fmt.Errorf("config %q: %d bytes, over the 1 MiB a ConfigMap holds", key, size)
	}
	c.add(cm)
	return nil
}

func (c *converter) secret(key string, def types.FileObjectConfig) error {
	name := fileObjectName(def, key)
	switch {
	case bool(def.External):
		c.warn("", "secrets."+key, "external: the Secret %q must exist in the namespace", name)
	case c.opts.IncludeSecrets:
		value := []byte(def.Content)
		if def.File != "" {
			b, err := os.ReadFile(def.File)
			if err != nil {
				// the error names the file, never its content
				return fmt.Errorf("secret %q: %w", key, err)
			}
			value = b
		}
		c.add(&corev1.Secret{
			TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
			ObjectMeta: c.meta(name, c.objectLabels(key)),
			Type:       corev1.SecretTypeOpaque,
			Data:       map[string][]byte{dataKey(key): value},
		})
	case def.File != "":
		c.res.Generators = append(c.res.Generators, SecretGenerator{Name: name, Labels: c.objectLabels(key),
			Files: []SecretFile{{Key: dataKey(key), Path: def.File}}})
	default:
		c.warn("", "secrets."+key, "its value comes from the environment variable %s, which the output does not carry: create the Secret %q in the namespace (key %q), or convert with --include-secrets",
			def.Environment, name, dataKey(key))
	}
	return nil
}

func newConfigMap(name string, labels map[string]string) *corev1.ConfigMap {
	return &corev1.ConfigMap{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
	}
}

// putData stores text as data and anything else as binaryData, as kubectl
// create configmap --from-file does.
func putData(cm *corev1.ConfigMap, key string, value []byte) {
	if utf8.Valid(value) {
		if cm.Data == nil {
			cm.Data = map[string]string{}
		}
		cm.Data[key] = string(value)
		return
	}
	if cm.BinaryData == nil {
		cm.BinaryData = map[string][]byte{}
	}
	cm.BinaryData[key] = value
}

// dataSize counts as the API server does: keys and values.
func dataSize(cm *corev1.ConfigMap) int {
	n := 0
	for k, v := range cm.Data {
		n += len(k) + len(v)
	}
	for k, v := range cm.BinaryData {
		n += len(k) + len(v)
	}
	return n
}

// fileMounts mounts the service's secrets and configs at their targets
// with their modes: those under /run/secrets through one projected volume
// there, the others one file each (subPath), so that a config in /etc does
// not hide the rest of /etc.
func (c *converter) fileMounts(sp *servicePlan, spec *corev1.PodSpec) error {
	refs, err := fileRefsOf(c.p, sp.s)
	if err != nil {
		return err
	}
	ctr := &spec.Containers[0]
	var projected []corev1.VolumeProjection
	for i, r := range refs {
		c.fileRefWarnings(sp, r)
		item := corev1.KeyToPath{Key: dataKey(r.Key), Mode: ptr.To(int32(r.Mode & 0o777))}
		if rel, ok := strings.CutPrefix(r.Target, secretsDir+"/"); ok {
			item.Path = rel
			projected = append(projected, c.projection(r, item))
			continue
		}
		name := "file-" + strconv.Itoa(i)
		item.Path = path.Base(r.Target)
		spec.Volumes = append(spec.Volumes, corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{
			Projected: &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{c.projection(r, item)}}}})
		ctr.VolumeMounts = append(ctr.VolumeMounts, corev1.VolumeMount{Name: name, MountPath: r.Target, SubPath: item.Path, ReadOnly: true})
	}
	if len(projected) > 0 {
		spec.Volumes = append(spec.Volumes, corev1.Volume{Name: "run-secrets", VolumeSource: corev1.VolumeSource{
			Projected: &corev1.ProjectedVolumeSource{Sources: projected}}})
		ctr.VolumeMounts = append(ctr.VolumeMounts, corev1.VolumeMount{Name: "run-secrets", MountPath: secretsDir, ReadOnly: true})
	}
	return nil
}

func (c *converter) projection(r fileRef, item corev1.KeyToPath) corev1.VolumeProjection {
	var def types.FileObjectConfig
	if r.Kind == "secret" {
		def = types.FileObjectConfig(c.p.Secrets[r.Key])
		return corev1.VolumeProjection{Secret: &corev1.SecretProjection{
			LocalObjectReference: corev1.LocalObjectReference{Name: fileObjectName(def, r.Key)},
			Items:                []corev1.KeyToPath{item}}}
	}
	def = types.FileObjectConfig(c.p.Configs[r.Key])
	return corev1.VolumeProjection{ConfigMap: &corev1.ConfigMapProjection{
		LocalObjectReference: corev1.LocalObjectReference{Name: fileObjectName(def, r.Key)},
		Items:                []corev1.KeyToPath{item}}}
}

func (c *converter) fileRefWarnings(sp *servicePlan, r fileRef) {
	key := r.Kind + "s"
	if r.UID != "" || r.GID != "" {
		c.warn(sp.s.Name, key, "%s: uid and gid have no Kubernetes equivalent (the file belongs to root, or to the pod's fsGroup)", r.Key)
	}
	if r.Mode > 0o777 {
		c.warn(sp.s.Name, key, "%s: mode %o: only permission bits apply", r.Key, r.Mode)
	}
}

// environment sets the container's variables: those whose value comes
// from an env_file go into a ConfigMap (<service>-env) the container reads
// whole, the others inline, which win over it as environment wins over
// env_file.
func (c *converter) environment(sp *servicePlan, ctr *corev1.Container) error {
	env := environmentOf(sp.s)
	fromFiles, err := c.envFileValues(sp.s)
	if err != nil {
		return err
	}
	cm := newConfigMap(joinName(sp.name, "env"), c.objectLabels(sp.name))
	inline := map[string]string{}
	for k, v := range env {
		if fv, ok := fromFiles[k]; ok && fv == v && dataKey(k) == k {
			putData(cm, k, []byte(v))
		} else {
			inline[k] = v
		}
	}
	if len(cm.Data) > 0 {
		if dataSize(cm) > maxConfigMapSize {
			return fmt.Errorf("service %q: env_file: over the 1 MiB a ConfigMap holds", sp.s.Name)
		}
		c.add(cm)
		ctr.EnvFrom = []corev1.EnvFromSource{{ConfigMapRef: &corev1.ConfigMapEnvSource{
			LocalObjectReference: corev1.LocalObjectReference{Name: cm.Name}}}}
	}
	ctr.Env = envVars(inline)
	return nil
}

// envFileValues reads the service's env files as Compose does, for the
// keys that kept their file's value.
func (c *converter) envFileValues(s types.ServiceConfig) (map[string]string, error) {
	vars := map[string]string{}
	for _, f := range s.EnvFiles {
		file, err := os.Open(f.Path)
		if os.IsNotExist(err) && !bool(f.Required) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("service %q: env_file: %w", s.Name, err)
		}
		err = dotenv.ParseWithFormat(file, f.Path, vars, c.p.Environment.Resolve, f.Format)
		file.Close()
		if err != nil {
			return nil, fmt.Errorf("service %q: env_file %s: %w", s.Name, f.Path, err)
		}
	}
	return vars, nil
}

func envVars(env map[string]string) []corev1.EnvVar {
	var out []corev1.EnvVar
	for _, k := range slices.Sorted(maps.Keys(env)) {
		out = append(out, corev1.EnvVar{Name: k, Value: literalString(env[k])})
	}
	return out
}
