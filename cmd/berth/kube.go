//go:build !kubeplugin

package main

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/berth-dev/berth/internal/kube"
	"github.com/berth-dev/berth/project"
)

// kubeCommands are the conversion to Kubernetes, under berth's name and
// Docker Compose's.
func kubeCommands() []*cli.Command {
	return []*cli.Command{kubeCommand(), bridgeCommand()}
}

// kubeCommand is `berth kube`: the Compose file as Kubernetes manifests.
func kubeCommand() *cli.Command {
	return &cli.Command{
		Name:        "kube",
		Usage:       "Convert the project into Kubernetes manifests, or run it on a cluster",
		Subcommands: append([]*cli.Command{kubeConvertCommand("kube")}, kubeClusterCommands()...),
	}
}

// bridgeCommand is Docker Compose's spelling of the same conversion.
func bridgeCommand() *cli.Command {
	return &cli.Command{
		Name:        "bridge",
		Usage:       "Convert the project into Kubernetes manifests (same as 'berth kube convert')",
		Subcommands: []*cli.Command{kubeConvertCommand("bridge")},
	}
}

func kubeConvertCommand(parent string) *cli.Command {
	return &cli.Command{
		Name:      "convert",
		Usage:     "Write the project as Kubernetes manifests (a Kustomize base)",
		UsageText: "berth " + parent + " convert [OPTIONS] [SERVICE...]",
		Description: "Every service becomes a Deployment (a Job when another service waits for it to complete),\n" +
			"a Service named after it, probes from its health check and init containers that wait for its\n" +
			"dependencies; networks become NetworkPolicies. What Kubernetes cannot express is one warning.\n" +
			"See docs/kubernetes.md.",
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Value: "out", Usage: "`DIR` to write DIR/base into, or - for one YAML stream on stdout"},
			&cli.StringFlag{Name: "namespace", Usage: "Kubernetes `NAMESPACE` of every object"},
			&cli.BoolFlag{Name: "include-secrets", Usage: "write secret values into Secret objects instead of a kustomize secretGenerator that reads their files"},
			&cli.StringSliceFlag{Name: "transformation", Aliases: []string{"t"}, Hidden: true},
			&cli.StringFlag{Name: "templates", Hidden: true},
		}, conversionFlags()...),
		Action: runKubeConvert,
	}
}

// conversionFlags choose the conversion's options; kube up and kube diff
// take them too, so that they apply what kube convert writes.
func conversionFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "service-type", Value: kube.ServiceHeadless, Usage: "`TYPE` of the Service named after each service: headless or clusterip"},
		&cli.StringFlag{Name: "publish-as", Value: kube.PublishLoadBalancer, Usage: "`TYPE` of the <service>-published Services: loadbalancer, nodeport or none"},
		&cli.StringFlag{Name: "bind-mounts", Usage: "what to do with bind mounts instead of refusing them: `skip` or configmap (files under 1 MiB)"},
		&cli.StringFlag{Name: "job-wait", Value: "annotate", Usage: "`HOW` a service waits for a Job it depends on: annotate (nothing in the cluster waits) or rbac (an init container watches the Job)"},
		&cli.StringFlag{Name: "wait-image", Value: kube.DefaultWaitImage, Usage: "`IMAGE` of the init containers that wait for dependencies"},
		&cli.StringFlag{Name: "job-wait-image", Value: kube.DefaultJobWaitImage, Usage: "`IMAGE` with kubectl for --job-wait=rbac"},
		&cli.StringFlag{Name: "volume-size", Value: kube.DefaultVolumeSize, Usage: "`SIZE` of the volumes' claims (x-kubernetes.size overrides)"},
		&cli.StringFlag{Name: "storage-class", Usage: "storage `CLASS` of the volumes' claims (default: the cluster's)"},
		&cli.StringFlag{Name: "registry", Usage: "`HOST/PATH` the images of services with build: are pushed to"},
		&cli.StringFlag{Name: "cluster-domain", Value: kube.DefaultClusterDomain, Usage: "the cluster's DNS `DOMAIN`"},
	}
}

func runKubeConvert(c *cli.Context) error {
	if c.IsSet("transformation") || c.IsSet("templates") {
		return usageErr{errors.New("berth has one built-in transformation (docs/kubernetes.md): -t/--transformation and --templates are not supported")}
	}
	opts, err := kubeOptions(c)
	if err != nil {
		return usageErr{err}
	}
	out := c.String("output")
	if out == "-" && opts.IncludeSecrets {
		return usageErr{errors.New("--include-secrets with -o - would print secret values: write to a directory")}
	}
	lo := loadOptions(c)
	lo.Services = c.Args().Slice()
	// env_file stays in the model: its variables go into a ConfigMap
	lo.KeepEnvFiles = true
	p, err := project.Load(c.Context, lo)
	if err != nil {
		return err
	}
	start := time.Now()
	res, err := kube.Convert(p, opts)
	if err != nil {
		return err
	}
	elapsed := time.Since(start)
	stderr := c.App.ErrWriter
	for _, w := range res.Warnings {
		fmt.Fprintf(stderr, "warning: %s\n", w)
	}
	if out == "-" {
		for _, g := range res.Generators {
			fmt.Fprintf(stderr, "warning: the Secret %q is not in the stream: create it with kubectl create secret generic %s %s\n", g.Name, g.Name, fromFileArgs(g))
		}
		return kube.WriteStream(c.App.Writer, res)
	}
	if err := kube.WriteKustomize(out, res, opts.Namespace); err != nil {
		return err
	}
	printPodSecurity(stderr, res.PodSecurity)
	base := filepath.Join(out, "base")
	fmt.Fprintf(stderr, "Wrote %d objects to %s in %s: kubectl apply -k %s\n", len(res.Objects), base, elapsed.Round(time.Millisecond), base)
	if len(res.Generators) > 0 {
		fmt.Fprintf(stderr, "Its secretGenerator reads the secrets' files beside the Compose file: kubectl kustomize --load-restrictor LoadRestrictionsNone %s | kubectl apply -f -\n", base)
	}
	return nil
}

func kubeOptions(c *cli.Context) (kube.Options, error) {
	jobWait := c.String("job-wait")
	switch jobWait {
	case "annotate":
		jobWait = kube.JobWaitAnnotate
	case kube.JobWaitRBAC:
	default:
		return kube.Options{}, fmt.Errorf("--job-wait %q: use annotate or rbac", jobWait)
	}
	opts := kube.Options{
		Namespace:      c.String("namespace"),
		ServiceType:    c.String("service-type"),
		PublishAs:      c.String("publish-as"),
		BindMounts:     c.String("bind-mounts"),
		IncludeSecrets: c.Bool("include-secrets"),
		JobWait:        jobWait,
		WaitImage:      c.String("wait-image"),
		JobWaitImage:   c.String("job-wait-image"),
		VolumeSize:     c.String("volume-size"),
		StorageClass:   c.String("storage-class"),
		ClusterDomain:  c.String("cluster-domain"),
		Registry:       c.String("registry"),
	}
	return opts, opts.Validate()
}

func fromFileArgs(g kube.SecretGenerator) string {
	var args []string
	for _, f := range g.Files {
		args = append(args, "--from-file="+f.Key+"="+f.Path)
	}
	return strings.Join(args, " ")
}

// printPodSecurity names the Pod Security level each service needs, the
// strictest first.
func printPodSecurity(w io.Writer, levels []kube.PodSecurity) {
	byLevel := map[string][]string{}
	for _, l := range levels {
		byLevel[l.Level] = append(byLevel[l.Level], l.Service)
	}
	var parts []string
	for _, level := range []string{"restricted", "baseline", "privileged"} {
		if names := byLevel[level]; len(names) > 0 {
			parts = append(parts, level+": "+strings.Join(names, ", "))
		}
	}
	if len(parts) > 0 {
		fmt.Fprintf(w, "Pod Security levels the services need: %s\n", strings.Join(parts, "; "))
	}
}
