package service

import (
	"errors"
	"io/fs"
	"maps"
	"os"
	"testing"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/berth-dev/berth/internal/logs"
)

// A service without logging options gets no logging.json, and later starts log
// with the same arguments as the first; one with options keeps them in the file,
// and a file a killed berth left does not outlive a creation without options.
func TestWriteLogging(t *testing.T) {
	e := &Engine{DataRoot: t.TempDir(), Logger: "/usr/lib/berth/berth-logger"}
	const name = "p-web-1"
	if err := os.MkdirAll(e.containerDir(name), 0o700); err != nil {
		t.Fatal(err)
	}
	created := func(s types.ServiceConfig) map[string]string {
		t.Helper()
		rot, err := e.writeLogging(s, name)
		if err != nil {
			t.Fatal(err)
		}
		first, err := e.logDriverWith(name, rot)
		if err != nil {
			t.Fatal(err)
		}
		later, err := e.logDriver(name)
		if err != nil {
			t.Fatal(err)
		}
		if !maps.Equal(first.Args, later.Args) {
			t.Errorf("a later start logs with %v, the first with %v", later.Args, first.Args)
		}
		return later.Args
	}
	rotated := types.ServiceConfig{Name: "web"}
	rotated.Logging = &types.LoggingConfig{Options: map[string]string{"max-size": "1k", "max-file": "2"}}
	if args := created(rotated); args[logs.ArgMaxSize] != "1000" || args[logs.ArgMaxFile] != "2" {
		t.Errorf("options 1k/2: args %v", args)
	}
	if _, err := os.Stat(e.store().RotationFile(name)); err != nil {
		t.Errorf("options: %v", err)
	}
	created(types.ServiceConfig{Name: "web"})
	if _, err := os.Stat(e.store().RotationFile(name)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("no options: logging.json stays (%v)", err)
	}
}
