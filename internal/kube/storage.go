package kube

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/compose-spec/compose-go/v2/types"
)

// volumePlan is what is decided about a named volume: its claim and who
// mounts it.
type volumePlan struct {
	key   string
	cfg   types.VolumeConfig
	ext   volumeExtension
	claim string   // the PersistentVolumeClaim's name
	users []string // Compose services that mount it, sorted
	// templated: its only user is a StatefulSet, which gives each replica
	// its own claim from a template
	templated bool
}

// planVolumes finds the users of every named volume; a service that mounts
// a claim is replaced, not rolled, on update.
func (c *converter) planVolumes() error {
	for _, name := range c.p.ServiceNames() {
		mounts, _, err := mountsOf(c.p, c.p.Services[name])
		if err != nil {
			return err
		}
		for _, m := range mounts {
			if m.Kind != mountVolume {
				continue
			}
			vp, err := c.volumePlan(m.Volume)
			if err != nil {
				return err
			}
			if !slices.Contains(vp.users, name) {
				vp.users = append(vp.users, name)
			}
		}
	}
	for _, key := range slices.Sorted(maps.Keys(c.volumes)) {
		vp := c.volumes[key]
		vp.templated = !bool(vp.cfg.External) && len(vp.users) == 1 && c.plans[vp.users[0]].kind == kindStatefulSet
		if !vp.templated {
			for _, u := range vp.users {
				c.plans[u].usesClaim = true
			}
		}
		c.sharedClaimWarning(vp)
	}
	return nil
}

func (c *converter) volumePlan(key string) (*volumePlan, error) {
	if vp, ok := c.volumes[key]; ok {
		return vp, nil
	}
	cfg := c.p.Volumes[key]
	ext, err := volumeExtensionOf(key, cfg)
	if err != nil {
		return nil, err
	}
	vp := &volumePlan{key: key, cfg: cfg, ext: ext, claim: dnsLabel(cmpOr(cfg.Name, key))}
	c.volumes[key] = vp
	return vp, nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// sharedClaimWarning: Compose replicas and services share one volume; a
// ReadWriteOnce claim can be mounted by pods of one node only.
func (c *converter) sharedClaimWarning(vp *volumePlan) {
	if vp.templated || vp.accessMode() != corev1.ReadWriteOnce {
		return
	}
	pods := 0
	for _, u := range vp.users {
		pods += int(c.plans[u].replicas)
	}
	if pods > 1 {
		c.warn("", "volumes."+vp.key, "mounted by %d pods (%s) through one ReadWriteOnce claim: they must all run on one node; set %s.accessMode: ReadWriteMany, or kind: StatefulSet on the service for one claim per replica",
			pods, strings.Join(vp.users, ", "), extensionKey)
	}
}

func (vp *volumePlan) accessMode() corev1.PersistentVolumeAccessMode {
	if vp.ext.AccessMode != "" {
		return corev1.PersistentVolumeAccessMode(vp.ext.AccessMode)
	}
	return corev1.ReadWriteOnce
}

// claimSpec is the claim of a volume: size and class from x-kubernetes,
// else from the options.
func (c *converter) claimSpec(vp *volumePlan) corev1.PersistentVolumeClaimSpec {
	size := resource.MustParse(cmpOr(vp.ext.Size, c.opts.VolumeSize))
	spec := corev1.PersistentVolumeClaimSpec{
		AccessModes: []corev1.PersistentVolumeAccessMode{vp.accessMode()},
		Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: size}},
	}
	if class := cmpOr(vp.ext.StorageClass, c.opts.StorageClass); class != "" {
		spec.StorageClassName = ptr.To(class)
	}
	return spec
}

func (c *converter) claimMeta(vp *volumePlan) metav1.ObjectMeta {
	meta := c.meta(vp.claim, c.objectLabels(vp.key))
	if len(vp.cfg.Labels) > 0 {
		meta.Annotations = map[string]string{}
		c.copyAnnotations("", "volumes."+vp.key+".labels", vp.cfg.Labels, meta.Annotations)
	}
	return meta
}

// claims makes the PersistentVolumeClaims of the volumes no StatefulSet
// templates; an external volume is a claim that already exists.
func (c *converter) claims() {
	for _, key := range slices.Sorted(maps.Keys(c.volumes)) {
		vp := c.volumes[key]
		if vp.templated || bool(vp.cfg.External) {
			continue
		}
		c.add(&corev1.PersistentVolumeClaim{
			TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "PersistentVolumeClaim"},
			ObjectMeta: c.claimMeta(vp),
			Spec:       c.claimSpec(vp),
		})
	}
}

// claimTemplates are the claims a StatefulSet makes for each replica.
func (c *converter) claimTemplates(sp *servicePlan) []corev1.PersistentVolumeClaim {
	var out []corev1.PersistentVolumeClaim
	for _, key := range slices.Sorted(maps.Keys(c.volumes)) {
		vp := c.volumes[key]
		if vp.templated && vp.users[0] == sp.s.Name {
			out = append(out, corev1.PersistentVolumeClaim{ObjectMeta: c.claimMeta(vp), Spec: c.claimSpec(vp)})
		}
	}
	return out
}

// storage mounts the service's volumes, tmpfs and binds, and shm_size.
func (c *converter) storage(sp *servicePlan, spec *corev1.PodSpec) error {
	s := sp.s
	mounts, ignored, err := mountsOf(c.p, s)
	if err != nil {
		return err
	}
	for _, key := range ignored {
		c.warn(s.Name, key, "has no Kubernetes equivalent: left out")
	}
	ctr := &spec.Containers[0]
	for i, m := range mounts {
		vm := corev1.VolumeMount{MountPath: m.Target, ReadOnly: m.ReadOnly, SubPath: m.SubPath}
		switch m.Kind {
		case mountVolume:
			vp := c.volumes[m.Volume]
			vm.Name = vp.claim
			if !vp.templated {
				addVolume(spec, corev1.Volume{Name: vp.claim, VolumeSource: corev1.VolumeSource{
					PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: vp.claim}}})
			}
		case mountAnonymous:
			vm.Name = "anon-" + strconv.Itoa(i)
			addVolume(spec, corev1.Volume{Name: vm.Name, VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}})
		case mountTmpfs:
			vm.Name = "tmpfs-" + strconv.Itoa(i)
			addVolume(spec, memoryVolume(vm.Name, m.TmpfsSize))
			if m.TmpfsMode != 0 {
				c.warn(s.Name, "volumes", "tmpfs %s: mode %o has no Kubernetes equivalent: left out", m.Target, m.TmpfsMode)
			}
		case mountBind:
			ok, err := c.bindMount(sp, spec, m, i, &vm)
			if err != nil {
				return err
			}
			if !ok {
				continue
			}
		}
		ctr.VolumeMounts = append(ctr.VolumeMounts, vm)
	}
	if s.ShmSize > 0 {
		addVolume(spec, memoryVolume("shm", int64(s.ShmSize)))
		ctr.VolumeMounts = append(ctr.VolumeMounts, corev1.VolumeMount{Name: "shm", MountPath: "/dev/shm"})
	}
	return nil
}

// memoryVolume is tmpfs: an emptyDir in memory, its size counted against
// the container's memory.
func memoryVolume(name string, size int64) corev1.Volume {
	ed := &corev1.EmptyDirVolumeSource{Medium: corev1.StorageMediumMemory}
	if size > 0 {
		ed.SizeLimit = resource.NewQuantity(size, resource.BinarySI)
	}
	return corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{EmptyDir: ed}}
}

// addVolume adds a pod volume once: two mounts of one Compose volume share
// it.
func addVolume(spec *corev1.PodSpec, v corev1.Volume) {
	if !slices.ContainsFunc(spec.Volumes, func(o corev1.Volume) bool { return o.Name == v.Name }) {
		spec.Volumes = append(spec.Volumes, v)
	}
}

// bindMount handles a host path by --bind-mounts: refused (a cluster's
// nodes do not have the project's files), left out, or copied into a
// ConfigMap.
func (c *converter) bindMount(sp *servicePlan, spec *corev1.PodSpec, m mount, i int, vm *corev1.VolumeMount) (bool, error) {
	s := sp.s
	switch c.opts.BindMounts {
	case BindSkip:
		c.warn(s.Name, "volumes", "bind mount of %s at %s left out (--bind-mounts=skip)", m.Source, m.Target)
		return false, nil
	case BindConfigMap:
		return c.bindConfigMap(sp, spec, m, i, vm), nil
	}
	return false, fmt.Errorf("service %q: volumes: %s is a bind mount of a host path, which a cluster's nodes do not have; "+
		"convert with --bind-mounts=skip to leave it out, or --bind-mounts=configmap to copy files under 1 MiB into ConfigMaps", s.Name, m.Source)
}
