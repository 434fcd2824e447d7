// Package translate is the one translation of a Compose service into what berth runs:
// the container spec merged with its image's config, the record written on it, network
// specs and attachments, published ports, mounts, secrets and configs, the health check,
// the restart policy and the dependencies. It does no I/O: the local engine (service)
// and the Kubernetes target (internal/kube) both read it, and neither re-derives a field.
package translate
