// Package project owns everything berth knows about a Compose project before
// it touches a runtime: loading with compose-go (the same library Docker
// Compose uses, so normalisation matches it exactly), naming, labels, config
// hashes, validation and the dependency graph.
package project

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/schema"
	"github.com/compose-spec/compose-go/v2/template"
	"github.com/compose-spec/compose-go/v2/types"
)

// LoadOptions are the global options of the CLI that decide which project is
// loaded and how.
type LoadOptions struct {
	// ConfigPaths are the -f files; "-" reads standard input.
	ConfigPaths []string
	ProjectName string
	ProjectDir  string
	EnvFiles    []string
	Profiles    []string
	// NoInterpolate keeps ${VAR} references as written (config --no-interpolate).
	NoInterpolate bool
	// NoConsistency skips the cross-reference checks (config
	// --no-consistency); false for every normal command.
	NoConsistency bool
	// NoNormalize, NoPathResolution and NoEnvResolution are config's
	// --no-normalize, --no-path-resolution and --no-env-resolution: the
	// model as written, relative paths kept, env_file not merged.
	NoNormalize      bool
	NoPathResolution bool
	NoEnvResolution  bool
	// KeepEnvFiles keeps env_file entries in the model instead of merging
	// them into environment; Docker Compose discards them for config.
	KeepEnvFiles bool
	// Services restricts the project to these services (and what they need).
	Services []string
	// NoDeps leaves the dependencies of Services out.
	NoDeps bool
	// All keeps resources no selected service uses (networks, volumes).
	All bool
	// Environ replaces the process environment when not nil (tests).
	Environ []string
}

// Load reads, interpolates, merges, validates and normalises the Compose
// files the options designate, exactly as Docker Compose does, and returns
// the project model every other package works from.
func Load(ctx context.Context, opts LoadOptions) (*types.Project, error) {
	po, err := projectOptions(opts)
	if err != nil {
		return nil, explain(po, err)
	}
	v := verdictFor(po, opts)
	passed := v.passed()
	if passed {
		_ = cli.WithLoadOptions(loader.WithSkipValidation)(po)
	} else {
		warmSchema()
	}
	p, err := po.LoadProject(ctx)
	if err != nil {
		return nil, explain(po, err)
	}
	if !passed {
		v.remember()
	}
	if p.Name == "" {
		return nil, errors.New("project name can't be empty: use --project-name to set a valid name")
	}
	p, err = p.WithServicesEnabled(opts.Services...)
	if err != nil {
		return nil, err
	}
	var depOpts []types.DependencyOption
	if opts.NoDeps {
		depOpts = append(depOpts, types.IgnoreDependencies)
	}
	p, err = p.WithSelectedServices(opts.Services, depOpts...)
	if err != nil {
		return nil, err
	}
	// env_file is read for the selected services only, as Docker Compose
	// does: `up -d a` works while b's env_file is missing
	if !opts.NoEnvResolution {
		if p, err = p.WithServicesEnvironmentResolved(!opts.KeepEnvFiles); err != nil {
			return nil, err
		}
	}
	if !opts.All {
		p = p.WithoutUnnecessaryResources()
	}
	if !opts.NoConsistency {
		if err := checkPorts(po.ConfigPaths, p); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// LoadModel loads the files without binding them to compose-go's types: it
// is what `config --no-interpolate` prints, since uninterpolated values may
// not fit the typed model.
func LoadModel(ctx context.Context, opts LoadOptions) (map[string]any, error) {
	warmSchema()
	po, err := projectOptions(opts)
	if err != nil {
		return nil, explain(po, err)
	}
	m, err := po.LoadModel(ctx)
	if err != nil {
		return nil, explain(po, err)
	}
	return m, nil
}

// Variable is a variable the Compose files use: ${NAME:-default} has a
// DefaultValue, ${NAME:+alternate} a PresenceValue, ${NAME:?msg} is Required.
type Variable = template.Variable

// Variables lists the variables the Compose files use (config --variables):
// the files are read uninterpolated and unvalidated, as a value may be
// valid only once interpolated.
func Variables(ctx context.Context, opts LoadOptions) (map[string]Variable, error) {
	opts.NoInterpolate, opts.NoEnvResolution = true, true
	po, err := projectOptions(opts, cli.WithLoadOptions(loader.WithSkipValidation))
	if err != nil {
		return nil, explain(po, err)
	}
	m, err := po.LoadModel(ctx)
	if err != nil {
		return nil, explain(po, err)
	}
	return template.ExtractVariables(m, template.DefaultPattern), nil
}

var warming sync.Once

// warmSchema compiles compose-go's schema on another core while the files are
// read and parsed: compiling it is a third of a load, and compose-go does it once
// per process behind a sync.Once, so its Validate finds it done or waits for it.
func warmSchema() {
	warming.Do(func() { go func() { _ = schema.Validate(map[string]any{}) }() })
}

// projectOptions mirrors Docker Compose's ProjectOptions.toProjectOptions so
// that file discovery, .env handling and name precedence behave the same.
func projectOptions(opts LoadOptions, extra ...cli.ProjectOptionsFn) (*cli.ProjectOptions, error) {
	pwd, err := os.Getwd()
	if err != nil {
		return nil, err
	}
	fns := []cli.ProjectOptionsFn{
		cli.WithWorkingDirectory(opts.ProjectDir),
		withEnviron(opts.Environ),
		cli.WithEnv([]string{"PWD=" + pwd}),
		cli.WithEnvFiles(opts.EnvFiles...),
		cli.WithDotEnv,
		cli.WithConfigFileEnv,
		cli.WithDefaultConfigPath,
		// the project directory may differ from the working directory: its
		// .env is read once the files are known, as Docker Compose does
		cli.WithEnvFiles(opts.EnvFiles...),
		cli.WithDotEnv,
		cli.WithDefaultProfiles(opts.Profiles...),
		cli.WithInterpolation(!opts.NoInterpolate),
		cli.WithResolvedPaths(!opts.NoPathResolution),
		cli.WithNormalization(!opts.NoNormalize),
		cli.WithConsistency(!opts.NoConsistency),
		cli.WithName(opts.ProjectName),
	}
	// Load resolves env_file itself, once services are selected
	fns = append(fns, cli.WithoutEnvironmentResolution)
	if !opts.KeepEnvFiles {
		fns = append(fns, cli.WithDiscardEnvFile)
	}
	fns = append(fns, extra...)
	po, err := cli.NewProjectOptions(opts.ConfigPaths, fns...)
	if err != nil {
		return po, err
	}
	if len(po.ConfigPaths) == 0 {
		return po, ErrNoConfigFile
	}
	return po, nil
}

// ErrNoConfigFile is returned when neither -f, COMPOSE_FILE nor discovery
// found a Compose file.
var ErrNoConfigFile = errors.New("no configuration file provided: not found")

// NormalizeName and ValidateName expose compose-go's project-name rules so
// berth refuses exactly what Docker Compose refuses.
func NormalizeName(name string) string { return loader.NormalizeProjectName(name) }

// ValidateName checks a project name before anything is created for it.
func ValidateName(name string) error {
	if name == "" || name != loader.NormalizeProjectName(name) {
		return fmt.Errorf("invalid project name %q: must consist only of lowercase alphanumeric characters, hyphens, and underscores as well as start with a letter or number", name)
	}
	return nil
}

func withEnviron(environ []string) cli.ProjectOptionsFn {
	if environ == nil {
		return cli.WithOsEnv
	}
	return cli.WithEnv(environ)
}
