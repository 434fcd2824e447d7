package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/volumes"
)

func TestRefusedCommands(t *testing.T) {
	for _, name := range []string{"commit", "publish"} {
		r := berthIn(t, map[string]string{"compose.yaml": "services:\n  a:\n    image: busybox\n"}, name, "a", "-m", "x")
		if r.code != 1 || !strings.HasPrefix(r.stderr, "berth "+name+" is not supported: ") || strings.Count(r.stderr, "\n") != 1 {
			t.Errorf("%s: exit %d %q", name, r.code, r.stderr)
		}
	}
}

func TestPrintVolumes(t *testing.T) {
	vols := []volumes.Volume{{Name: "p_data", Mountpoint: "/v/p_data/_data", Labels: map[string]string{"a": "1", "b": "2"}, Created: time.Now()}}
	tests := []struct{ format, want string }{
		{"table", "DRIVER    VOLUME NAME\nlocal     p_data\n"},
		{"json", `{"Availability":"N/A","Driver":"local","Group":"N/A","Labels":"a=1,b=2","Links":"N/A","Mountpoint":"/v/p_data/_data","Name":"p_data","Scope":"local","Size":"N/A","Status":"N/A"}` + "\n"},
		{"{{.Name}} {{.Mountpoint}}", "p_data /v/p_data/_data\n"},
		{`table {{.Name}}\t{{.Labels}}`, "VOLUME NAME   LABELS\np_data        a=1,b=2\n"},
	}
	for _, tt := range tests {
		tmpl, table, err := volumesTemplate(tt.format)
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := printVolumes(&buf, vols, tmpl, table); err != nil {
			t.Fatal(err)
		}
		if buf.String() != tt.want {
			t.Errorf("--format %s:\n%q\nwant\n%q", tt.format, buf.String(), tt.want)
		}
	}
	if _, _, err := volumesTemplate("{{.Nope"); err == nil {
		t.Error("a broken template was accepted")
	}
}
