package testenv

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/berth-dev/berth/internal/imagekit"
)

// recordingTB stands in for a test so the skip-or-fail decision can be observed without
// ending the real test.
type recordingTB struct {
	testing.TB
	skipped, failed string
}

// Only what skipOrFail calls is overridden; anything else would panic on the nil TB.
func (r *recordingTB) Helper()                      {}
func (r *recordingTB) Skip(args ...any)             { r.skipped = fmt.Sprint(args...) }
func (r *recordingTB) Fatalf(f string, args ...any) { r.failed = fmt.Sprintf(f, args...) }

func TestRequireContainerdSkipsOutsideCIAndFailsInCI(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "no.sock")
	for _, ci := range []string{"", "true"} {
		t.Run("CI="+ci, func(t *testing.T) {
			t.Setenv("CI", ci)
			rec := &recordingTB{}
			RequireContainerd(rec, missing)
			if testing.Short() {
				if !strings.Contains(rec.skipped, "-short") || rec.failed != "" {
					t.Fatalf("under -short: failed=%q skipped=%q, want a skip", rec.failed, rec.skipped)
				}
				return
			}
			if ci == "true" && (rec.failed == "" || rec.skipped != "") {
				t.Fatalf("in CI: failed=%q skipped=%q, want a failure", rec.failed, rec.skipped)
			}
			if ci == "" && (rec.skipped == "" || rec.failed != "") {
				t.Fatalf("outside CI: failed=%q skipped=%q, want a skip", rec.failed, rec.skipped)
			}
			msg := rec.failed + rec.skipped
			if !strings.Contains(msg, missing) || !strings.Contains(msg, "install-runtime.sh") {
				t.Errorf("message %q should name the socket and the fix", msg)
			}
		})
	}
}

func TestRequireContainerdPassesWhenSocketListens(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "c.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	rec := &recordingTB{}
	RequireContainerd(rec, sock)
	if testing.Short() {
		t.Skip("RequireContainerd skips everything under -short")
	}
	if rec.failed != "" || rec.skipped != "" {
		t.Fatalf("listening socket: failed=%q skipped=%q", rec.failed, rec.skipped)
	}
}

func TestInCI(t *testing.T) {
	for value, want := range map[string]bool{"true": true, "1": true, "": false, "false": false, "yes": false} {
		t.Setenv("CI", value)
		if got := InCI(); got != want {
			t.Errorf("CI=%q: InCI() = %v, want %v", value, got, want)
		}
	}
}

func TestOptionsOnZeroSpec(t *testing.T) {
	hc := v1.HealthConfig{Test: []string{"CMD-SHELL", "true"}, Interval: time.Second, Retries: 3}
	var spec ImageSpec
	opts := []ImageOption{
		WithCmd("a", "b"),
		WithEntrypoint("/e"),
		WithEnv("PATH=/bin", "A=1", "A=2"),
		WithWorkingDir("/w"),
		WithExposedPorts("80", "53/udp"),
		WithLabels(map[string]string{"k": "v"}),
		WithUser("nobody"),
		WithHealthcheck(hc),
		WithStopSignal("SIGINT"),
		WithFiles(map[string]File{"/x/y": {Content: []byte("z")}}),
	}
	for _, opt := range opts {
		if err := opt(&spec); err != nil {
			t.Fatal(err)
		}
	}
	c := spec.Config
	if !slices.Equal(c.Cmd, []string{"a", "b"}) || !slices.Equal(c.Entrypoint, []string{"/e"}) {
		t.Errorf("cmd %q entrypoint %q", c.Cmd, c.Entrypoint)
	}
	if !slices.Equal(c.Env, []string{"PATH=/bin", "A=2"}) {
		t.Errorf("env = %q, want one value per key", c.Env)
	}
	if _, ok := c.ExposedPorts["80/tcp"]; !ok || len(c.ExposedPorts) != 2 {
		t.Errorf("exposed ports = %v", c.ExposedPorts)
	}
	if c.WorkingDir != "/w" || c.User != "nobody" || c.StopSignal != "SIGINT" || c.Labels["k"] != "v" {
		t.Errorf("config = %+v", c)
	}
	if c.Healthcheck == nil || c.Healthcheck.Retries != 3 || len(spec.Layers) != 1 {
		t.Errorf("healthcheck %+v, %d layers", c.Healthcheck, len(spec.Layers))
	}
}

func TestOptionsRejectBadInput(t *testing.T) {
	bad := map[string]ImageOption{
		"env without =":       WithEnv("PATH"),
		"relative workdir":    WithWorkingDir("w"),
		"port 0":              WithExposedPorts("0"),
		"port proto":          WithExposedPorts("80/icmp"),
		"empty healthcheck":   WithHealthcheck(v1.HealthConfig{}),
		"healthcheck no kind": WithHealthcheck(v1.HealthConfig{Test: []string{"true"}}),
		"empty stop signal":   WithStopSignal(""),
		"no files":            WithFiles(nil),
		"root as file":        WithFiles(map[string]File{"/": {}}),
	}
	for desc, opt := range bad {
		if err := opt(&ImageSpec{}); err == nil {
			t.Errorf("%s: no error", desc)
		}
	}
}

func TestNormalizedName(t *testing.T) {
	cases := map[string]string{
		"web":                      "docker.io/library/web:latest",
		"berth-e2e/web:1":          "docker.io/berth-e2e/web:1",
		"docker.io/library/x:2":    "docker.io/library/x:2",
		"127.0.0.1:5000/a/b:c":     "127.0.0.1:5000/a/b:c",
		"registry.example/app:1.0": "registry.example/app:1.0",
	}
	for ref, want := range cases {
		_, got := parseTag(t, ref)
		if got != want {
			t.Errorf("%s: got %s, want %s", ref, got, want)
		}
	}
}

// layerFiles reads a layer's tar into name → header, and the content of regular files.
func layerFiles(t *testing.T, l v1.Layer) (map[string]*tar.Header, map[string][]byte) {
	t.Helper()
	rc, err := l.Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	headers, contents := map[string]*tar.Header{}, map[string][]byte{}
	tr := tar.NewReader(rc)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return headers, contents
		}
		if err != nil {
			t.Fatal(err)
		}
		name := strings.TrimSuffix(hdr.Name, "/")
		headers[name] = hdr
		if hdr.Typeflag == tar.TypeReg {
			contents[name], _ = io.ReadAll(tr)
		}
	}
}

func imageLayers(t *testing.T, img v1.Image) []v1.Layer {
	t.Helper()
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	return layers
}

func TestBusyboxImage(t *testing.T) {
	img := BusyboxImage(t,
		WithEnv("GREETING=hi"),
		WithHealthcheck(v1.HealthConfig{Test: []string{"CMD", "true"}}),
		WithFiles(map[string]File{
			"/srv/www/index.html": {Content: []byte("hello\n")},
			"/srv/run.sh":         {Content: []byte("#!/bin/sh\n"), Mode: 0o755, UID: 65534, GID: 65534},
		}),
		WithFiles(map[string]File{"/tmp/marker": {Content: []byte("2")}}),
	)
	assertMediaTypes(t, img)
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(cfg.Config.Cmd, []string{"sh"}) || !slices.Contains(cfg.Config.Env, "GREETING=hi") ||
		!strings.HasPrefix(cfg.Config.Env[0], "PATH=") || cfg.Config.Healthcheck == nil || cfg.OS != "linux" {
		t.Errorf("config = %+v", cfg)
	}
	layers := imageLayers(t, img)
	if len(layers) != 3 || len(cfg.RootFS.DiffIDs) != 3 || len(cfg.History) != 3 {
		t.Fatalf("%d layers, %d diff IDs, %d history entries; want 3 each", len(layers), len(cfg.RootFS.DiffIDs), len(cfg.History))
	}
	assertBusyboxBase(t, layers[0])
	extra, contents := layerFiles(t, layers[1])
	if string(contents["srv/www/index.html"]) != "hello\n" || extra["srv/run.sh"].Mode != 0o755 || extra["srv/run.sh"].Uid != 65534 {
		t.Errorf("extra layer: %v", extra)
	}
	if extra["srv/www"] == nil || extra["srv/www"].Typeflag != tar.TypeDir {
		t.Errorf("extra layer lacks parent directory srv/www")
	}
	if top, _ := layerFiles(t, layers[2]); top["tmp"] != nil || top["tmp/marker"] == nil {
		t.Errorf("top layer must add tmp/marker without re-creating /tmp: %v", top)
	}
}

func assertMediaTypes(t *testing.T, img v1.Image) {
	t.Helper()
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	if m.MediaType != types.OCIManifestSchema1 || m.Config.MediaType != types.OCIConfigJSON {
		t.Errorf("manifest %s, config %s: want OCI media types", m.MediaType, m.Config.MediaType)
	}
	for _, l := range m.Layers {
		if l.MediaType != types.OCILayer {
			t.Errorf("layer media type %s", l.MediaType)
		}
	}
}

func assertBusyboxBase(t *testing.T, base v1.Layer) {
	t.Helper()
	headers, contents := layerFiles(t, base)
	for _, applet := range []string{"sh", "httpd", "nc", "wget", "nslookup", "ip", "sleep", "timeout", "kill", "ps"} {
		h := headers["bin/"+applet]
		if h == nil || h.Typeflag != tar.TypeSymlink || h.Linkname != "busybox" {
			t.Errorf("bin/%s: %+v, want a link to busybox", applet, h)
		}
	}
	if h := headers["bin/busybox"]; h == nil || h.Mode != 0o755 || len(contents["bin/busybox"]) == 0 {
		t.Errorf("bin/busybox: %+v", h)
	}
	if h := headers["tmp"]; h == nil || h.Mode != 0o1777 {
		t.Errorf("tmp: %+v, want mode 1777", h)
	}
	if !bytes.Contains(contents["etc/passwd"], []byte("nobody:x:65534")) || !bytes.Contains(contents["etc/group"], []byte("root:x:0")) {
		t.Errorf("passwd %q group %q", contents["etc/passwd"], contents["etc/group"])
	}
}

func TestBusyboxImageIsReproducible(t *testing.T) {
	a, b := BusyboxImage(t, WithCmd("true")), BusyboxImage(t, WithCmd("true"))
	da, err := a.Digest()
	if err != nil {
		t.Fatal(err)
	}
	if db, _ := b.Digest(); da != db {
		t.Errorf("same input, digests %s and %s", da, db)
	}
}

// programBinary extracts /app from a GoProgramImage so the program can run on the host.
func programBinary(t *testing.T, img v1.Image) string {
	t.Helper()
	layers := imageLayers(t, img)
	headers, contents := layerFiles(t, layers[1])
	if h := headers["app"]; h == nil || h.Mode != 0o755 {
		t.Fatalf("app layer: %v", headers)
	}
	bin := filepath.Join(t.TempDir(), "app")
	if err := os.WriteFile(bin, contents["app"], 0o755); err != nil {
		t.Fatal(err)
	}
	if err := imagekit.CheckStatic(bin); err != nil {
		t.Fatal(err)
	}
	return bin
}

// runProgram starts bin on a free loopback port and returns its base URL; the returned
// func sends SIGTERM and reports the exit.
func runProgram(t *testing.T, bin string, env ...string) (string, func() error) {
	t.Helper()
	addr, err := freeLoopbackAddr()
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(addr)
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), append(env, "PORT="+port)...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() { stopProcess(cmd, exited) })
	base := "http://127.0.0.1:" + port
	waitHTTP(t, base+"/healthz")
	return base, func() error {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-exited:
			exited <- err
			return err
		case <-time.After(5 * time.Second):
			return errors.New("no exit 5 s after SIGTERM")
		}
	}
}

func waitHTTP(t *testing.T, url string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s did not answer 200", url)
}

func httpDo(t *testing.T, method, url, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(data)
}

func TestGoProgramImageHTTPEcho(t *testing.T) {
	img := GoProgramImage(t, "programs/httpecho", WithExposedPorts("8080"))
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(cfg.Config.Entrypoint, []string{"/app"}) || len(cfg.Config.Cmd) != 0 {
		t.Errorf("entrypoint %q cmd %q", cfg.Config.Entrypoint, cfg.Config.Cmd)
	}
	assertBusyboxBase(t, imageLayers(t, img)[0])

	base, stop := runProgram(t, programBinary(t, img), "ECHO_ME=42")
	host, _ := os.Hostname()
	if code, body := httpDo(t, "GET", base+"/", ""); code != 200 || strings.TrimSpace(body) != host {
		t.Errorf("GET / = %d %q, want the hostname %q", code, body, host)
	}
	if code, body := httpDo(t, "GET", base+"/env/ECHO_ME", ""); code != 200 || strings.TrimSpace(body) != "42" {
		t.Errorf("GET /env/ECHO_ME = %d %q", code, body)
	}
	if code, _ := httpDo(t, "GET", base+"/env/NOT_SET_ANYWHERE", ""); code != 404 {
		t.Errorf("GET unset env = %d, want 404", code)
	}
	if err := stop(); err != nil {
		t.Errorf("SIGTERM: %v, want exit 0", err)
	}
}

func TestGoProgramImageKVPersists(t *testing.T) {
	bin := programBinary(t, GoProgramImage(t, "programs/kv"))
	data := t.TempDir()
	base, stop := runProgram(t, bin, "DATA_DIR="+data)
	if code, _ := httpDo(t, "PUT", base+"/k/color", "blue"); code != http.StatusNoContent {
		t.Fatalf("PUT = %d", code)
	}
	if code, _ := httpDo(t, "GET", base+"/k/missing", ""); code != 404 {
		t.Errorf("GET missing = %d, want 404", code)
	}
	if err := stop(); err != nil {
		t.Fatalf("SIGTERM: %v, want exit 0", err)
	}
	base, _ = runProgram(t, bin, "DATA_DIR="+data)
	if code, body := httpDo(t, "GET", base+"/k/color", ""); code != 200 || body != "blue" {
		t.Errorf("after restart GET = %d %q, want the stored value", code, body)
	}
}

func TestGoProgramIsBuiltOnce(t *testing.T) {
	a := imageLayers(t, GoProgramImage(t, "programs/httpecho"))[1]
	b := imageLayers(t, GoProgramImage(t, "./programs/httpecho/"))[1]
	if a != b {
		t.Error("second GoProgramImage of the same package built a new layer")
	}
}

func TestWriteOCIArchive(t *testing.T) {
	img := BusyboxImage(t, WithCmd("echo", "hi"))
	archive := WriteOCIArchive(t, img, "berth-e2e/echo:1")

	dir := t.TempDir()
	untar(t, archive, dir)
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	m, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Manifests) != 1 {
		t.Fatalf("%d manifests in index, want 1", len(m.Manifests))
	}
	desc := m.Manifests[0]
	if desc.Annotations[ocispec.AnnotationRefName] != "1" || desc.Annotations["io.containerd.image.name"] != "docker.io/berth-e2e/echo:1" {
		t.Errorf("annotations = %v", desc.Annotations)
	}
	got, err := idx.Image(desc.Digest)
	if err != nil {
		t.Fatal(err)
	}
	assertSameImage(t, img, got)
}

func TestWriteDockerArchive(t *testing.T) {
	img := GoProgramImage(t, "programs/httpecho", WithFiles(map[string]File{"/etc/app.conf": {Content: []byte("x")}}))
	archive := WriteDockerArchive(t, img, "berth-e2e/httpecho:2")
	tag, err := name.NewTag("berth-e2e/httpecho:2")
	if err != nil {
		t.Fatal(err)
	}
	got, err := tarball.ImageFromPath(archive, &tag)
	if err != nil {
		t.Fatal(err)
	}
	assertSameImage(t, img, got)
}

// assertSameImage compares config and layer digests: a docker archive rewrites the
// manifest, so the manifest digest may differ while the image is the same.
func assertSameImage(t *testing.T, want, got v1.Image) {
	t.Helper()
	wantCfg, err := want.ConfigName()
	if err != nil {
		t.Fatal(err)
	}
	if gotCfg, err := got.ConfigName(); err != nil || gotCfg != wantCfg {
		t.Errorf("config %s (%v), want %s", gotCfg, err, wantCfg)
	}
	wantLayers, gotLayers := imageLayers(t, want), imageLayers(t, got)
	if len(gotLayers) != len(wantLayers) {
		t.Fatalf("%d layers, want %d", len(gotLayers), len(wantLayers))
	}
	for i := range wantLayers {
		w, _ := wantLayers[i].DiffID()
		g, err := gotLayers[i].DiffID()
		if err != nil || g != w {
			t.Errorf("layer %d diff ID %s (%v), want %s", i, g, err, w)
		}
	}
}

func untar(t *testing.T, archive, dir string) {
	t.Helper()
	f, err := os.Open(archive)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		target := filepath.Join(dir, filepath.FromSlash(hdr.Name))
		if hdr.Typeflag == tar.TypeDir {
			if err := os.MkdirAll(target, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		data, _ := io.ReadAll(tr)
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(target, data, fs.FileMode(hdr.Mode)&0o777); err != nil {
			t.Fatal(err)
		}
	}
}

func TestRegistryPushAndPull(t *testing.T) {
	reg := StartRegistry(t)
	if !strings.HasPrefix(reg.Host(), "127.0.0.1:") {
		t.Fatalf("host %s is not on loopback", reg.Host())
	}
	img := BusyboxImage(t, WithCmd("true"))
	ref := reg.Push(t, img, "berth-e2e/tiny:3")
	if ref != reg.Host()+"/berth-e2e/tiny:3" {
		t.Errorf("reference %s", ref)
	}
	if latest := reg.Push(t, img, "berth-e2e/tiny"); latest != reg.Host()+"/berth-e2e/tiny:latest" {
		t.Errorf("reference without tag: %s", latest)
	}

	req, err := http.NewRequestWithContext(t.Context(), "GET", "http://"+reg.Host()+"/v2/berth-e2e/tiny/manifests/3", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", string(types.OCIManifestSchema1))
	resp, err := (&http.Client{Transport: loopbackTransport}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	want, _ := img.Digest()
	if resp.StatusCode != 200 || resp.Header.Get("Docker-Content-Digest") != want.String() {
		t.Fatalf("GET manifest: %d digest %q, want 200 %s\n%s", resp.StatusCode, resp.Header.Get("Docker-Content-Digest"), want, body)
	}
	raw, _ := img.RawManifest()
	if !bytes.Equal(body, raw) {
		t.Error("pulled manifest differs from the pushed one")
	}
}
