package kube

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// extensionKey is the Compose extension that carries what only Kubernetes
// needs: on a service its workload kind, on a volume its claim's size,
// class and access mode.
const extensionKey = "x-kubernetes"

// Workload kinds.
const (
	kindDeployment  = "Deployment"
	kindJob         = "Job"
	kindStatefulSet = "StatefulSet"
)

type serviceExtension struct {
	Kind string `json:"kind"`
}

type volumeExtension struct {
	Size         string `json:"size"`
	StorageClass string `json:"storageClass"`
	AccessMode   string `json:"accessMode"`
}

// decodeExtension reads x-kubernetes into v, refusing unknown keys so that
// a typo is an error, not a silently different output.
func decodeExtension(ext types.Extensions, where string, v any) error {
	raw, ok := ext[extensionKey]
	if !ok || raw == nil {
		return nil
	}
	b, err := json.Marshal(raw)
	if err != nil {
		return fmt.Errorf("%s: %s: %w", where, extensionKey, err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		msg := strings.TrimPrefix(err.Error(), "json: ")
		return fmt.Errorf("%s: %s: %s", where, extensionKey, msg)
	}
	return nil
}

func serviceExtensionOf(s types.ServiceConfig) (serviceExtension, error) {
	var e serviceExtension
	where := fmt.Sprintf("service %q", s.Name)
	if err := decodeExtension(s.Extensions, where, &e); err != nil {
		return e, err
	}
	switch e.Kind {
	case "", kindDeployment, kindJob, kindStatefulSet:
		return e, nil
	}
	return e, fmt.Errorf("%s: %s.kind %q: use Deployment, Job or StatefulSet", where, extensionKey, e.Kind)
}

func volumeExtensionOf(key string, v types.VolumeConfig) (volumeExtension, error) {
	var e volumeExtension
	where := fmt.Sprintf("volume %q", key)
	if err := decodeExtension(v.Extensions, where, &e); err != nil {
		return e, err
	}
	if e.Size != "" {
		if _, err := resource.ParseQuantity(e.Size); err != nil {
			return e, fmt.Errorf("%s: %s.size %q: not a quantity (e.g. 10Gi)", where, extensionKey, e.Size)
		}
	}
	switch corev1.PersistentVolumeAccessMode(e.AccessMode) {
	case "", corev1.ReadWriteOnce, corev1.ReadWriteMany, corev1.ReadWriteOncePod, corev1.ReadOnlyMany:
		return e, nil
	}
	return e, fmt.Errorf("%s: %s.accessMode %q: use ReadWriteOnce, ReadWriteMany, ReadWriteOncePod or ReadOnlyMany", where, extensionKey, e.AccessMode)
}
