package ctrd_test

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/containerd/errdefs"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"

	"github.com/berth-dev/berth/internal/ctrd"
	"github.com/berth-dev/berth/internal/progress"
	"github.com/berth-dev/berth/internal/testenv"
)

func TestPullFromLocalRegistry(t *testing.T) {
	c := newClient(t)
	registry := testenv.StartRegistry(t)
	img := testenv.BusyboxImage(t, uniqueFiles(t, "/a.txt"), uniqueFiles(t, "/b/c.txt"))
	registry.Push(t, img, "berth/multi:v1")
	proxy := countBlobs(t, registry.Host(), 0)
	ref := proxy.host + "/berth/multi:v1"
	id := "Image " + ref

	var plain bytes.Buffer
	rec := &recorder{}
	info, err := c.Pull(t.Context(), ref, sinks{rec, progress.NewPlain(&plain)})
	if err != nil {
		t.Fatalf("first pull: %v", err)
	}
	t.Logf("first pull:\n%s", plain.String())
	// the busybox base layer may already be in containerd's content store,
	// which namespaces share; the config and the two unique layers may not
	if n := proxy.blobs.Load(); n < 3 || n > 4 {
		t.Errorf("first pull fetched %d blobs, want the config and the two unique layers (and maybe the base)", n)
	}
	first := rec.of(id)
	if first[0].Status != "Pulling" {
		t.Errorf("first event %+v, want Pulling", first[0])
	}
	last := first[len(first)-1]
	want := contentSize(t, img)
	if last.Status != "Pulled" || !last.Done || last.Current != want || last.Total != want {
		t.Errorf("last event %+v, want Pulled with %d of %d bytes", last, want, want)
	}

	checkPulledInfo(t, info, img, ref, proxy.host+"/berth/multi", "v1")

	// Pulling again only resolves: no blob crosses the wire, no bytes are reported.
	proxy.blobs.Store(0)
	rec2 := &recorder{}
	again, err := c.Pull(t.Context(), ref, rec2)
	if err != nil {
		t.Fatalf("second pull: %v", err)
	}
	if n := proxy.blobs.Load(); n != 0 {
		t.Errorf("second pull fetched %d blobs, want none", n)
	}
	for _, e := range rec2.of(id) {
		if e.Status == "Downloading" || e.Current != 0 || e.Total != 0 {
			t.Errorf("second pull reported bytes: %+v", e)
		}
	}
	if last := rec2.last(t, id); last.Status != "Pulled" || last.Text != "up to date" {
		t.Errorf("second pull ended with %+v", last)
	}
	if !reflect.DeepEqual(again, info) {
		t.Errorf("second pull describes %+v, first %+v", again, info)
	}
}

// checkPulledInfo compares what Pull describes with the image that was pushed.
func checkPulledInfo(t *testing.T, info ctrd.ImageInfo, img v1.Image, ref, repo, tag string) {
	t.Helper()
	if info.Name != ref || info.Repository != repo || info.Tag != tag {
		t.Errorf("name %q, repository %q, tag %q", info.Name, info.Repository, info.Tag)
	}
	if info.ID != configDigest(t, img) || info.Digest != manifestDigest(t, img) {
		t.Errorf("ID %s, digest %s; want %s, %s", info.ID, info.Digest, configDigest(t, img), manifestDigest(t, img))
	}
	if info.Platform != "linux/"+runtime.GOARCH || !slices.Equal(info.Config.Cmd, []string{"sh"}) {
		t.Errorf("platform %q, cmd %q", info.Platform, info.Config.Cmd)
	}
	if !info.Created.Equal(time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("created %v", info.Created)
	}
	// Unpacked, the image holds at least the uncompressed busybox binary.
	if fi, err := os.Stat("/bin/busybox"); err == nil && info.Size < fi.Size() {
		t.Errorf("size %d is less than busybox alone (%d): not the unpacked size", info.Size, fi.Size())
	}
}

// While blobs arrive, the pull reports the bytes so far against the total.
// containerd's client writes to the content store in 1 MiB steps, so the
// image carries a few MiB of incompressible data and the proxy slows down.
func TestPullReportsDownloadProgress(t *testing.T) {
	c := newClient(t)
	registry := testenv.StartRegistry(t)
	noise := make([]byte, 6<<20)
	if _, err := rand.Read(noise); err != nil {
		t.Fatal(err)
	}
	img := testenv.BusyboxImage(t, testenv.WithFiles(map[string]testenv.File{"/noise": {Content: noise}}))
	registry.Push(t, img, "berth/slow:v1")
	proxy := countBlobs(t, registry.Host(), 2*time.Millisecond)
	ref := proxy.host + "/berth/slow:v1"
	rec := &recorder{}
	var plain bytes.Buffer
	if _, err := c.Pull(t.Context(), ref, sinks{rec, progress.NewPlain(&plain)}); err != nil {
		t.Fatal(err)
	}
	t.Logf("pull:\n%s", plain.String())
	var statuses []string
	var downloading []progress.Event
	for _, e := range rec.of("Image " + ref) {
		if len(statuses) == 0 || statuses[len(statuses)-1] != e.Status {
			statuses = append(statuses, e.Status)
		}
		if e.Status == "Downloading" {
			downloading = append(downloading, e)
		}
	}
	// Unpacking may pass between two polls: the last layer unpacks quickly.
	if got := slices.DeleteFunc(statuses, func(s string) bool { return s == "Unpacking" }); !slices.Equal(got, []string{"Pulling", "Downloading", "Pulled"}) {
		t.Errorf("statuses %q", statuses)
	}
	total := contentSize(t, img)
	for i, e := range downloading {
		if e.Total <= 0 || e.Total > total || e.Current > e.Total ||
			(i > 0 && e.Current < downloading[i-1].Current) {
			t.Errorf("downloading event %d: %+v (content is %d bytes)", i, e, total)
		}
	}
	if len(downloading) < 2 {
		t.Errorf("%d downloading events, want several: %+v", len(downloading), downloading)
	}
}

// Credentials come from the docker config's "auths", as `docker login` writes them.
func TestPullWithDockerConfigCredentials(t *testing.T) {
	registry := testenv.StartRegistry(t)
	registry.Push(t, testenv.BusyboxImage(t, uniqueFiles(t, "/private")), "berth/private:v1")
	proxy := startProxy(t, registry.Host(), proxyOptions{user: "alice", password: "s3cret:x"})
	ref := proxy.host + "/berth/private:v1"

	anonymous := newClient(t)
	if _, err := anonymous.Pull(t.Context(), ref, nil); err == nil || errors.Is(err, ctrd.ErrImageNotFound) {
		t.Errorf("pull without credentials: %v, want an authorization error", err)
	} else {
		t.Logf("pull without credentials: %v", err)
	}

	dir := t.TempDir()
	auth := base64.StdEncoding.EncodeToString([]byte("alice:s3cret:x"))
	config := `{"auths": {"http://` + proxy.host + `/v2/": {"auth": "` + auth + `"}}}`
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	c := newClient(t, func(o *ctrd.Options) { o.DockerConfig = dir })
	if _, err := c.Pull(t.Context(), ref, nil); err != nil {
		t.Errorf("pull with credentials: %v", err)
	}
}

// sinks fans events out to several sinks.
type sinks []progress.Sink

func (s sinks) Event(e progress.Event) {
	for _, sink := range s {
		sink.Event(e)
	}
}

func TestPullMissingImage(t *testing.T) {
	c := newClient(t)
	registry := testenv.StartRegistry(t)
	rec := &recorder{}
	ref := registry.Host() + "/nope"
	_, err := c.Pull(t.Context(), ref, rec)
	want := "pull " + registry.Host() + "/nope:latest: not found in registry " + registry.Host()
	if err == nil || err.Error() != want {
		t.Fatalf("error %v, want %q", err, want)
	}
	if !errors.Is(err, ctrd.ErrImageNotFound) || !errdefs.IsNotFound(err) {
		t.Errorf("error %v does not match ErrImageNotFound", err)
	}
	last := rec.last(t, "Image "+registry.Host()+"/nope:latest")
	if !last.Err || !last.Done || last.Text != "not found in registry "+registry.Host() {
		t.Errorf("last event %+v, want an error event", last)
	}
	if imgs, err := c.ListImages(t.Context()); err != nil || len(imgs) != 0 {
		t.Errorf("images after a failed pull: %v, %v", imgs, err)
	}
}

func TestPullAll(t *testing.T) {
	c := newClient(t)
	registry := testenv.StartRegistry(t)
	a := registry.Push(t, testenv.BusyboxImage(t, uniqueFiles(t, "/a")), "berth/a:1")
	b := registry.Push(t, testenv.BusyboxImage(t, uniqueFiles(t, "/b")), "berth/b")
	missing := registry.Host() + "/berth/missing:1"
	rec := &recorder{}
	err := c.PullAll(t.Context(), []string{a, b, a, missing, strings.TrimSuffix(b, ":latest")}, rec)
	if !errors.Is(err, ctrd.ErrImageNotFound) || !strings.Contains(err.Error(), missing) {
		t.Fatalf("error %v, want the missing image's", err)
	}
	// The other pulls ran to their end, each image once.
	imgs, err := c.ListImages(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, img := range imgs {
		names = append(names, img.Name)
	}
	if !slices.Equal(names, []string{a, b}) {
		t.Errorf("images %q, want %q", names, []string{a, b})
	}
	if n := len(slices.DeleteFunc(rec.of("Image "+a), func(e progress.Event) bool { return e.Status != "Pulling" })); n != 1 {
		t.Errorf("%s pulled %d times, want once", a, n)
	}
}

func loadFile(t *testing.T, c *ctrd.Client, path string, sink progress.Sink) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	names, err := c.Load(t.Context(), f, sink)
	if err != nil {
		t.Fatalf("load %s: %v", path, err)
	}
	return names
}

func TestLoadDockerArchive(t *testing.T) {
	c := newClient(t)
	img := testenv.BusyboxImage(t, uniqueFiles(t, "/docker.txt"))
	rec := &recorder{}
	names := loadFile(t, c, testenv.WriteDockerArchive(t, img, "berth/docker-archive:v1"), rec)
	const name = "docker.io/berth/docker-archive:v1"
	if !slices.Equal(names, []string{name}) {
		t.Fatalf("loaded %q, want %q", names, name)
	}
	info, err := c.ImageInfo(t.Context(), "berth/docker-archive:v1")
	if err != nil {
		t.Fatal(err)
	}
	// The importer writes a docker manifest of its own: only the config is the same.
	if info.ID != configDigest(t, img) || info.Repository != "berth/docker-archive" || info.Tag != "v1" {
		t.Errorf("info %+v", info)
	}
	if last := rec.last(t, "Image "+name); last.Status != "Loaded" || !last.Done {
		t.Errorf("last event %+v", last)
	}
}

func TestLoadOCIArchive(t *testing.T) {
	c := newClient(t)
	img := testenv.BusyboxImage(t, uniqueFiles(t, "/oci.txt"))
	names := loadFile(t, c, testenv.WriteOCIArchive(t, img, "127.0.0.1:5000/berth/oci:v2"), nil)
	if !slices.Equal(names, []string{"127.0.0.1:5000/berth/oci:v2"}) {
		t.Fatalf("loaded %q", names)
	}
	info, err := c.ImageInfo(t.Context(), names[0])
	if err != nil {
		t.Fatal(err)
	}
	if info.ID != configDigest(t, img) || info.Digest != manifestDigest(t, img) {
		t.Errorf("ID %s, digest %s; want %s, %s", info.ID, info.Digest, configDigest(t, img), manifestDigest(t, img))
	}
}

// An image without a name in the archive is stored by digest, as ctr does,
// so that it can still be listed and removed.
func TestLoadUnnamedOCIImage(t *testing.T) {
	c := newClient(t)
	img := testenv.BusyboxImage(t, uniqueFiles(t, "/unnamed.txt"))
	dir := t.TempDir()
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.AppendImage(img); err != nil {
		t.Fatal(err)
	}
	var archive bytes.Buffer
	if err := tarDir(&archive, dir); err != nil {
		t.Fatal(err)
	}
	names, err := c.Load(t.Context(), &archive, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := "docker.io/library/import@" + manifestDigest(t, img)
	if !slices.Equal(names, []string{want}) {
		t.Fatalf("loaded %q, want %q", names, want)
	}
	imgs, err := c.ListImages(t.Context())
	if err != nil || len(imgs) != 1 || imgs[0].Repository != "import" || imgs[0].Tag != "<none>" {
		t.Errorf("images %+v, %v", imgs, err)
	}
}

// A load that breaks off leaves neither blobs nor leases behind.
func TestLoadFailureLeavesNoGarbage(t *testing.T) {
	c := newClient(t)
	img := testenv.BusyboxImage(t, uniqueFiles(t, "/broken.txt"))
	data, err := os.ReadFile(testenv.WriteDockerArchive(t, img, "berth/broken:v1"))
	if err != nil {
		t.Fatal(err)
	}
	// Cut inside the last member: earlier blobs are already written by then.
	_, err = c.Load(t.Context(), io.LimitReader(bytes.NewReader(data), int64(len(data)-2048)), nil)
	if err == nil || !strings.HasPrefix(err.Error(), "load images: ") {
		t.Fatalf("error %v, want a load error", err)
	}
	if blobs := ctrList(t, c.Namespace(), "content", "ls", "-q"); len(blobs) != 0 {
		t.Errorf("blobs left after a failed load: %q", blobs)
	}
	if leases := ctrList(t, c.Namespace(), "leases", "ls", "-q"); len(leases) != 0 {
		t.Errorf("leases left after a failed load: %q", leases)
	}
}

func TestListAndRemoveImages(t *testing.T) {
	c := newClient(t)
	for _, ref := range []string{"berth/list-b:1", "berth/list-a:1"} {
		img := testenv.BusyboxImage(t, uniqueFiles(t, "/"+ref))
		loadFile(t, c, testenv.WriteOCIArchive(t, img, ref), nil)
	}
	imgs, err := c.ListImages(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, img := range imgs {
		names = append(names, img.Repository+":"+img.Tag)
		if img.Size <= 0 || img.ID == "" || img.Digest == "" || img.Platform == "" {
			t.Errorf("incomplete %+v", img)
		}
	}
	if !slices.Equal(names, []string{"berth/list-a:1", "berth/list-b:1"}) {
		t.Errorf("listed %q", names)
	}
	imgs, err = c.ListImages(t.Context(), "berth/list-b:1", "berth/absent")
	if err != nil || len(imgs) != 1 || imgs[0].Name != "docker.io/berth/list-b:1" {
		t.Errorf("filtered list %+v, %v", imgs, err)
	}

	if err := c.RemoveImage(t.Context(), "berth/list-a:1"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ImageInfo(t.Context(), "berth/list-a:1"); !errors.Is(err, ctrd.ErrImageNotFound) {
		t.Errorf("image info after remove: %v, want ErrImageNotFound", err)
	}
	if err := c.RemoveImage(t.Context(), "berth/list-a:1"); err != nil {
		t.Errorf("second remove: %v, want nil", err)
	}
}
