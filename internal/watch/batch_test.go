package watch

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

func TestActions(t *testing.T) {
	sync := Rule{Path: "/src/static", Action: ActionSync, Target: "/srv"}
	syncRestart := Rule{Path: "/src/conf", Action: ActionSyncRestart, Target: "/etc/app"}
	hup := Exec{Command: []string{"kill", "-HUP", "1"}}
	syncExec := Rule{Path: "/src/tmpl", Action: ActionSyncExec, Target: "/tmpl", Exec: hup}
	tests := []struct {
		name  string
		rules []RuleChanges
		want  Actions
	}{
		{
			name:  "sync",
			rules: []RuleChanges{{Rule: sync, Files: []FileChange{{HostPath: "/src/static/b", Target: "/srv/b"}, {HostPath: "/src/static/a", Target: "/srv/a", Deleted: true}}}},
			want:  Actions{Sync: []FileChange{{HostPath: "/src/static/a", Target: "/srv/a", Deleted: true}, {HostPath: "/src/static/b", Target: "/srv/b"}}},
		},
		{
			name:  "rebuild",
			rules: []RuleChanges{{Rule: Rule{Action: ActionRebuild}, Files: []FileChange{{HostPath: "/src/main.go"}}}},
			want:  Actions{Rebuild: true},
		},
		{
			name:  "restart",
			rules: []RuleChanges{{Rule: Rule{Action: ActionRestart}, Files: []FileChange{{HostPath: "/src/x"}}}},
			want:  Actions{Restart: true},
		},
		{
			name:  "sync+restart syncs, then restarts",
			rules: []RuleChanges{{Rule: syncRestart, Files: []FileChange{{HostPath: "/src/conf/a", Target: "/etc/app/a"}}}},
			want:  Actions{Sync: []FileChange{{HostPath: "/src/conf/a", Target: "/etc/app/a"}}, Restart: true},
		},
		{
			name:  "sync+exec runs its command once for many files",
			rules: []RuleChanges{{Rule: syncExec, Files: []FileChange{{HostPath: "/src/tmpl/a", Target: "/tmpl/a"}, {HostPath: "/src/tmpl/b", Target: "/tmpl/b"}}}},
			want:  Actions{Sync: []FileChange{{HostPath: "/src/tmpl/a", Target: "/tmpl/a"}, {HostPath: "/src/tmpl/b", Target: "/tmpl/b"}}, Exec: []Exec{hup}},
		},
		{
			name: "two rules naming one target: the later rule wins",
			rules: []RuleChanges{
				{Rule: sync, Files: []FileChange{{HostPath: "/src/static/x", Target: "/srv/x"}}},
				{Rule: Rule{Action: ActionSync, Target: "/srv"}, Files: []FileChange{{HostPath: "/other/x", Target: "/srv/x"}}},
			},
			want: Actions{Sync: []FileChange{{HostPath: "/other/x", Target: "/srv/x"}}},
		},
		{
			name: "everything at once",
			rules: []RuleChanges{
				{Rule: Rule{Action: ActionRebuild}, Files: []FileChange{{HostPath: "/src/main.go"}}},
				{Rule: syncRestart, Files: []FileChange{{HostPath: "/src/conf/a", Target: "/etc/app/a"}}},
			},
			want: Actions{Rebuild: true, Sync: []FileChange{{HostPath: "/src/conf/a", Target: "/etc/app/a"}}, Restart: true},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Batch{Service: "web", Rules: tt.rules}.Actions()
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Actions() =\n%+v\nwant\n%+v", got, tt.want)
			}
		})
	}
}

func TestPendingBatch(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "static", "kept.css"), "x")
	if err := os.Symlink("/nowhere", filepath.Join(dir, "static", "link")); err != nil {
		t.Fatal(err)
	}
	sw := &serviceWatch{name: "web", rules: []activeRule{
		{index: 0, rule: Rule{Path: filepath.Join(dir, "static"), Action: ActionSync, Target: "/srv"}},
		{index: 2, rule: Rule{Path: dir, Action: ActionRestart}},
	}}
	var p pending
	now := time.Now()
	p.add(filepath.Join(dir, "static", "kept.css"), []int{0, 1}, now)
	p.add(filepath.Join(dir, "static", "gone.css"), []int{0, 1}, now)
	p.add(filepath.Join(dir, "static", "link"), []int{0}, now)
	p.add(filepath.Join(dir, "static", "kept.css"), []int{0}, now) // again
	b := p.batch(sw)
	want := Batch{Service: "web", Rules: []RuleChanges{
		{Index: 0, Rule: sw.rules[0].rule, Files: []FileChange{
			{HostPath: filepath.Join(dir, "static", "gone.css"), Target: "/srv/gone.css", Deleted: true},
			{HostPath: filepath.Join(dir, "static", "kept.css"), Target: "/srv/kept.css"},
			// a dangling symlink is a link to copy, not a deletion
			{HostPath: filepath.Join(dir, "static", "link"), Target: "/srv/link"},
		}},
		{Index: 2, Rule: sw.rules[1].rule, Files: []FileChange{
			{HostPath: filepath.Join(dir, "static", "gone.css"), Deleted: true},
			{HostPath: filepath.Join(dir, "static", "kept.css")},
		}},
	}}
	if !reflect.DeepEqual(b, want) {
		t.Errorf("batch =\n%+v\nwant\n%+v", b, want)
	}
	if b.Files() != 3 {
		t.Errorf("Files() = %d, want 3", b.Files())
	}
	if p.paths != nil {
		t.Error("batch left paths pending")
	}
}
