package kube

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"

	corev1 "k8s.io/api/core/v1"
)

// bindFile is one file of a bind mount's source.
type bindFile struct {
	rel  string // path under the source; "" when the source is the file
	data []byte
}

// errTooLarge stops the walk of a source that cannot fit a ConfigMap.
var errTooLarge = errors.New("over the 1 MiB a ConfigMap holds")

// readBindSource reads a bind mount's source, a file or a directory tree,
// as long as it fits in a ConfigMap.
func readBindSource(src string) ([]bindFile, error) {
	st, err := os.Stat(src)
	if err != nil {
		return nil, err
	}
	if st.Mode().IsRegular() {
		if st.Size() > maxConfigMapSize {
			return nil, errTooLarge
		}
		b, err := os.ReadFile(src)
		return []bindFile{{data: b}}, err
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("not a regular file or a directory")
	}
	var files []bindFile
	total := 0
	err = filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := os.Stat(p) // follows links, as the bind mount would
		if err != nil || !info.Mode().IsRegular() {
			return err
		}
		if total += int(info.Size()); total > maxConfigMapSize {
			return errTooLarge
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(src, p)
		files = append(files, bindFile{rel: filepath.ToSlash(rel), data: b})
		return err
	})
	return files, err
}

// bindConfigMap copies a bind mount's source into a ConfigMap mounted at
// its target: a file through subPath, a directory whole. What cannot be
// copied is left out with a warning.
func (c *converter) bindConfigMap(sp *servicePlan, spec *corev1.PodSpec, m mount, i int, vm *corev1.VolumeMount) bool {
	s := sp.s
	files, err := readBindSource(m.Source)
	if err != nil {
		c.warn(s.Name, "volumes", "bind mount of %s at %s left out: %v", m.Source, m.Target, unwrapPathError(err))
		return false
	}
	cm := newConfigMap(joinName(sp.name, "bind-"+strconv.Itoa(i)), c.objectLabels(sp.name))
	var items []corev1.KeyToPath
	for n, f := range files {
		key := dataKey(filepath.Base(m.Source))
		if f.rel != "" {
			key = dataKey(strconv.Itoa(n) + "-" + filepath.Base(f.rel))
			items = append(items, corev1.KeyToPath{Key: key, Path: f.rel})
		}
		putData(cm, key, f.data)
	}
	if dataSize(cm) > maxConfigMapSize {
		c.warn(s.Name, "volumes", "bind mount of %s at %s left out: %v", m.Source, m.Target, errTooLarge)
		return false
	}
	c.add(cm)
	vm.Name, vm.ReadOnly = "bind-"+strconv.Itoa(i), true
	if len(files) == 1 && files[0].rel == "" {
		vm.SubPath = dataKey(filepath.Base(m.Source))
	}
	spec.Volumes = append(spec.Volumes, corev1.Volume{Name: vm.Name, VolumeSource: corev1.VolumeSource{
		ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: cm.Name}, Items: items}}})
	if !m.ReadOnly {
		c.warn(s.Name, "volumes", "bind mount of %s at %s is a read-only copy in a ConfigMap: writes fail, and the host file's later changes are not seen", m.Source, m.Target)
	} else {
		c.warn(s.Name, "volumes", "bind mount of %s at %s is a copy in a ConfigMap: the host file's later changes are not seen", m.Source, m.Target)
	}
	return true
}

func unwrapPathError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
