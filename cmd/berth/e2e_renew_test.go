package main

import (
	"strings"
	"testing"

	"github.com/berth-dev/berth/internal/testenv"
)

// up -V gives a recreated container new anonymous volumes; without it the data of the
// previous container's anonymous volume is carried over, as Docker Compose does.
func TestE2EUpRenewAnonVolumes(t *testing.T) {
	e, before := startE2E(t)
	e.writeFile("compose.yaml", "name: renew\nservices:\n  app:\n    image: berth-test/busybox:1\n    command: "+idle+"\n    volumes: [/data]\n")
	e.mustBerth("up", "-d")
	e.mustBerth("exec", "-T", "app", "sh", "-c", "echo kept > /data/f")
	e.mustBerth("up", "-d", "--force-recreate")
	if out := e.mustBerth("exec", "-T", "app", "cat", "/data/f").stdout; strings.TrimSpace(out) != "kept" {
		t.Errorf("a recreate lost the anonymous volume's data: %q", out)
	}
	e.mustBerth("up", "-d", "--force-recreate", "-V")
	if r := e.berth("exec", "-T", "app", "cat", "/data/f"); r.code == 0 {
		t.Errorf("up -V kept the old anonymous volume: %q", r.stdout)
	}
	e.mustBerth("down", "-v")
	testenv.AssertNoLeak(t, e.leakScope(), before)
}

// build --push pushes what it built, as berth push would.
func TestE2EBuildPush(t *testing.T) {
	e, _ := startE2E(t)
	reg := testenv.StartRegistry(t)
	ref := reg.Host() + "/bp/app:1"
	e.writeFile("compose.yaml", "name: bp\nservices:\n  app:\n    image: "+ref+"\n    build:\n      context: .\n      dockerfile_inline: |\n        FROM berth-test/busybox:1\n        RUN echo built > /built\n")
	e.mustBerth("build", "--push")
	local, err := e.client().ImageInfo(t.Context(), ref)
	if err != nil {
		t.Fatal(err)
	}
	if pulled := pullFresh(t, e.namespace+"-pull", ref); pulled != local.Digest {
		t.Errorf("build --push: the registry serves %s, berth built %s", pulled, local.Digest)
	}
}
