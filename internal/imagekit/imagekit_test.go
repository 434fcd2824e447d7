package imagekit

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

func TestNormalizeRef(t *testing.T) {
	tests := []struct {
		ref, full, tag, err string
	}{
		{ref: "berth-examples/web", full: "docker.io/berth-examples/web:latest", tag: "latest"},
		{ref: "web:1", full: "docker.io/library/web:1", tag: "1"},
		{ref: "docker.io/library/web", full: "docker.io/library/web:latest", tag: "latest"},
		{ref: "localhost:5000/team/api:v2", full: "localhost:5000/team/api:v2", tag: "v2"},
		{ref: "Web:1", err: "repository can only contain"},
		{ref: "web@sha256:" + strings.Repeat("a", 64), err: "image reference"},
		{ref: "", err: "image reference"},
	}
	for _, tt := range tests {
		t.Run(tt.ref, func(t *testing.T) {
			full, tag, err := NormalizeRef(tt.ref)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want it to contain %q", err, tt.err)
				}
				return
			}
			if err != nil || full != tt.full || tag != tt.tag {
				t.Fatalf("got %q %q %v, want %q %q", full, tag, err, tt.full, tt.tag)
			}
		})
	}
}

func TestSpecConfig(t *testing.T) {
	hc := &v1.HealthConfig{Test: []string{"CMD", "wget", "-q", "-O-", "http://127.0.0.1/"}, Interval: time.Second}
	cfg, err := Spec{
		Ref:          "berth-examples/api",
		Program:      "apps/api",
		Env:          []string{"ADDR=:8080", "PATH=/bin"},
		ExposedPorts: []string{"8080", "53/udp"},
		Labels:       map[string]string{"org.opencontainers.image.title": "api"},
		Healthcheck:  hc,
	}.config()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(cfg.Env, []string{"PATH=/bin", "ADDR=:8080"}) {
		t.Errorf("env %q: PATH must be replaced in place, ADDR appended", cfg.Env)
	}
	if !slices.Equal(cfg.Entrypoint, []string{"/app"}) || len(cfg.Cmd) != 0 {
		t.Errorf("entrypoint %q cmd %q", cfg.Entrypoint, cfg.Cmd)
	}
	if _, ok := cfg.ExposedPorts["8080/tcp"]; !ok || len(cfg.ExposedPorts) != 2 {
		t.Errorf("exposed ports %v", cfg.ExposedPorts)
	}
	if cfg.Healthcheck == nil || cfg.Healthcheck.Interval != time.Second || cfg.Healthcheck == hc {
		t.Errorf("healthcheck %+v: want a copy of the spec's", cfg.Healthcheck)
	}
	if cfg.Labels["org.opencontainers.image.title"] != "api" {
		t.Errorf("labels %v", cfg.Labels)
	}
}

func TestSpecConfigErrors(t *testing.T) {
	valid := Spec{Ref: "x/y", Program: "apps/y"}
	tests := []struct {
		name   string
		change func(*Spec)
		want   string
	}{
		{"bad ref", func(s *Spec) { s.Ref = "x y" }, `image reference "x y"`},
		{"no program", func(s *Spec) { s.Program = "" }, "no program directory"},
		{"env without value", func(s *Spec) { s.Env = []string{"DEBUG"} }, `env "DEBUG": want KEY=value`},
		{"port zero", func(s *Spec) { s.ExposedPorts = []string{"0"} }, "port must be 1-65535"},
		{"port name", func(s *Spec) { s.ExposedPorts = []string{"http"} }, "port must be 1-65535"},
		{"protocol", func(s *Spec) { s.ExposedPorts = []string{"80/icmp"} }, "protocol must be tcp, udp or sctp"},
		{"empty healthcheck", func(s *Spec) { s.Healthcheck = &v1.HealthConfig{} }, "healthcheck: empty test"},
		{"healthcheck kind", func(s *Spec) { s.Healthcheck = &v1.HealthConfig{Test: []string{"wget"}} }, "must start with NONE, CMD or CMD-SHELL"},
		{"healthcheck command", func(s *Spec) { s.Healthcheck = &v1.HealthConfig{Test: []string{"CMD"}} }, "CMD needs a command"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := valid
			tt.change(&s)
			if _, err := s.config(); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestNewLayerIsReproducible(t *testing.T) {
	files := map[string]File{
		"tmp":       {Mode: fs.ModeDir | fs.ModeSticky | 0o777},
		"bin/sh":    {Content: []byte("busybox"), Mode: fs.ModeSymlink},
		"etc/hosts": {Content: []byte("127.0.0.1 localhost\n")},
		"bin":       {Mode: fs.ModeDir},
		"etc":       {Mode: fs.ModeDir},
	}
	a, b := mustLayer(t, files), mustLayer(t, files)
	da, _ := a.Digest()
	db, _ := b.Digest()
	if da != db {
		t.Fatalf("same files, different digests: %s, %s", da, db)
	}
	got := layerEntries(t, a)
	want := []string{"bin/ dir 755", "bin/sh link 777 busybox", "etc/ dir 755", "etc/hosts file 644", "tmp/ dir 1777"}
	if !slices.Equal(got, want) {
		t.Errorf("entries:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestNewLayerRejectsUncleanPaths(t *testing.T) {
	for _, p := range []string{"/abs", "../up", "a/../b", "a//b", ""} {
		if _, err := NewLayer(map[string]File{p: {}}); err == nil {
			t.Errorf("path %q accepted", p)
		}
	}
}

func TestWriteArchive(t *testing.T) {
	layer := mustLayer(t, map[string]File{"hello.txt": {Content: []byte("hi")}})
	// the same layer twice: the archive holds its blob once
	img, err := Assemble(v1.Config{Entrypoint: []string{"/app"}}, Layer{Layer: layer}, Layer{Layer: layer})
	if err != nil {
		t.Fatal(err)
	}
	var first, second bytes.Buffer
	if err := WriteArchive(&first, img, "berth-examples/web"); err != nil {
		t.Fatal(err)
	}
	if err := WriteArchive(&second, img, "berth-examples/web"); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(first.Bytes(), second.Bytes()) {
		t.Error("two archives of one image differ")
	}
	files := readTar(t, first.Bytes())
	if string(files["oci-layout"]) != ociLayout {
		t.Errorf("oci-layout: %q", files["oci-layout"])
	}
	var index v1.IndexManifest
	if err := json.Unmarshal(files["index.json"], &index); err != nil || len(index.Manifests) != 1 {
		t.Fatalf("index.json %s: %v", files["index.json"], err)
	}
	desc := index.Manifests[0]
	if desc.Annotations[annotationImageName] != "docker.io/berth-examples/web:latest" || desc.Annotations[annotationRefName] != "latest" {
		t.Errorf("annotations %v", desc.Annotations)
	}
	if digest, _ := img.Digest(); desc.Digest != digest {
		t.Errorf("index names %s, image is %s", desc.Digest, digest)
	}
	blobs := checkBlobs(t, files)
	if blobs != 3 {
		t.Errorf("%d blobs, want config, one layer and the manifest", blobs)
	}
}

// checkBlobs verifies every blob against its name and returns how many there are.
func checkBlobs(t *testing.T, files map[string][]byte) int {
	t.Helper()
	n := 0
	for name, data := range files {
		hexDigest, ok := strings.CutPrefix(name, "blobs/sha256/")
		if !ok || hexDigest == "" {
			continue
		}
		n++
		if sum := sha256.Sum256(data); hex.EncodeToString(sum[:]) != hexDigest {
			t.Errorf("blob %s does not match its digest", name)
		}
	}
	return n
}

func TestWriteArchiveFileReplacesAtomically(t *testing.T) {
	img, err := Assemble(v1.Config{}, Layer{Layer: mustLayer(t, map[string]File{"a": {}})})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path := dir + "/web.tar"
	if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WriteArchiveFile(path, img, "x/web"); err != nil {
		t.Fatal(err)
	}
	if err := WriteArchiveFile(dir+"/bad.tar", img, "Bad Ref"); err == nil {
		t.Error("bad reference accepted")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 || entries[0].Name() != "web.tar" {
		t.Errorf("directory holds %v, want only web.tar", entries)
	}
	data, _ := os.ReadFile(path)
	if _, ok := readTar(t, data)["index.json"]; !ok {
		t.Error("web.tar was not replaced by the archive")
	}
}

func TestBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles a Go program")
	}
	if err := CheckStatic(DefaultBusybox); err != nil {
		t.Skipf("needs busybox-static: %v", err)
	}
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("needs the go command")
	}
	b := &Builder{}
	spec := Spec{Ref: "imagekit/hello:1", Program: "testdata/hello", Env: []string{"GREETING=hi"},
		Healthcheck: &v1.HealthConfig{Test: []string{"CMD", "true"}}}
	img, err := b.Build(t.Context(), spec)
	if err != nil {
		t.Fatal(err)
	}
	again, err := b.Build(t.Context(), spec)
	if err != nil {
		t.Fatal(err)
	}
	d1, _ := img.Digest()
	d2, _ := again.Digest()
	if d1 != d2 {
		t.Errorf("two builds of one spec: %s, %s", d1, d2)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(cfg.Config.Env, "GREETING=hi") || cfg.Config.Healthcheck == nil || !cfg.Created.Equal(epoch) {
		t.Errorf("config %+v", cfg.Config)
	}
	layers, _ := img.Layers()
	if len(layers) != 2 {
		t.Fatalf("%d layers, want base and program", len(layers))
	}
	base := strings.Join(layerEntries(t, layers[0]), "\n")
	for _, want := range []string{"bin/busybox file 755", "bin/wget link 777 busybox", "etc/passwd file 644", "tmp/ dir 1777"} {
		if !strings.Contains(base, want) {
			t.Errorf("base layer lacks %q", want)
		}
	}
	if app := layerEntries(t, layers[1]); !slices.Equal(app, []string{"app file 755"}) {
		t.Errorf("program layer: %v", app)
	}
}

func TestBuildRefusesDynamicBusybox(t *testing.T) {
	// the test binary itself is dynamic unless built with CGO_ENABLED=0; /bin/ls always is
	b := &Builder{Busybox: "/bin/ls"}
	_, err := b.Build(t.Context(), Spec{Ref: "x/y", Program: "testdata/hello"})
	if err == nil || !strings.Contains(err.Error(), "dynamically linked") {
		t.Fatalf("error %v, want a refusal of a dynamic busybox", err)
	}
	if !strings.Contains(err.Error(), "busybox-static") {
		t.Errorf("error %v should say what to install", err)
	}
}

func mustLayer(t *testing.T, files map[string]File) v1.Layer {
	t.Helper()
	l, err := NewLayer(files)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// layerEntries lists a layer as "name type mode [target]" lines.
func layerEntries(t *testing.T, l v1.Layer) []string {
	t.Helper()
	rc, err := l.Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	var out []string
	tr := tar.NewReader(rc)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		if !hdr.ModTime.Equal(epoch) {
			t.Errorf("%s: mtime %s", hdr.Name, hdr.ModTime)
		}
		kind := map[byte]string{tar.TypeDir: "dir", tar.TypeSymlink: "link", tar.TypeReg: "file"}[hdr.Typeflag]
		line := strings.TrimSpace(hdr.Name + " " + kind + " " + strconv.FormatInt(hdr.Mode, 8) + " " + hdr.Linkname)
		out = append(out, line)
	}
}

func readTar(t *testing.T, data []byte) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	tr := tar.NewReader(bytes.NewReader(data))
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return files
		}
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		files[hdr.Name] = b
	}
}
