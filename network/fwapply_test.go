package network

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

func oneLine(line string) *script {
	s := newScript()
	s.add("nat", line)
	return s
}

// Callers that arrive while a restore runs are written together by the next one, and
// a merged restore that fails is retried script by script, so that only the bad
// script's caller sees the error.
func TestRestoreQueueBatches(t *testing.T) {
	var mu sync.Mutex
	var runs []string
	release := make(chan struct{})
	first := true
	q := &restoreQueue{restore: func(v6 bool, text string) error {
		mu.Lock()
		runs = append(runs, text)
		wait := first
		first = false
		mu.Unlock()
		if wait {
			<-release // hold the first restore until everyone else queued
		}
		if strings.Contains(text, "-A bad") {
			return errors.New("line 2 failed")
		}
		return nil
	}}
	errs := make([]error, 6)
	var wg sync.WaitGroup
	wg.Go(func() { errs[0] = q.apply(oneLine("-A c0")) })
	for !q.isBusy() {
	}
	for i := 1; i < 6; i++ {
		line := fmt.Sprintf("-A c%d", i)
		if i == 3 {
			line = "-A bad"
		}
		wg.Go(func() { errs[i] = q.apply(oneLine(line)) })
	}
	for q.queued() < 5 {
	}
	close(release)
	wg.Wait()
	for i, err := range errs {
		if (err != nil) != (i == 3) {
			t.Errorf("caller %d: err %v", i, err)
		}
	}
	// the first alone, then the five at once (which fails), then each of the five
	if len(runs) != 7 {
		t.Fatalf("%d restores, want 7:\n%s", len(runs), strings.Join(runs, "---\n"))
	}
	if strings.Count(runs[1], "-A ") != 5 || strings.Count(runs[1], "*nat") != 1 {
		t.Errorf("merged restore:\n%s", runs[1])
	}
	if q.isBusy() {
		t.Error("queue still busy")
	}
}

func (q *restoreQueue) isBusy() bool {
	q.batch.mu.Lock()
	defer q.batch.mu.Unlock()
	return q.batch.busy
}

func (q *restoreQueue) queued() int {
	q.batch.mu.Lock()
	defer q.batch.mu.Unlock()
	return len(q.batch.waiting)
}

// fakeRuleWrites stands in for the iptables writes of networkRulesReady: each
// write waits for the test's go-ahead and returns the error it is given.
type fakeRuleWrites struct {
	mu     sync.Mutex
	writes [][]string // bridges of each write
	gate   chan error
}

func (f *fakeRuleWrites) install(t *testing.T) {
	saved := networkRules.run
	networkRules.run = func(batches [][]Network) []error {
		var bridges []string
		for _, b := range batches {
			for _, n := range b {
				bridges = append(bridges, n.Bridge)
			}
		}
		f.mu.Lock()
		f.writes = append(f.writes, bridges)
		f.mu.Unlock()
		err := <-f.gate
		errs := make([]error, len(batches))
		for i := range errs {
			errs[i] = err
		}
		return errs
	}
	t.Cleanup(func() { networkRules.run = saved })
}

func (f *fakeRuleWrites) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.writes)
}

func nativeNet(bridge string) []recordedNet {
	return []recordedNet{{Net: Network{Bridge: bridge, Backend: BackendNative}}}
}

func outcome(t *testing.T, ch <-chan error) error {
	t.Helper()
	select {
	case err := <-ch:
		return err
	case <-time.After(5 * time.Second):
		t.Fatal("no outcome")
		return nil
	}
}

// Attaches that come while a network's rules are being written wait for that
// write instead of reading the tables again; a failed write is shared by its
// waiters and tried again by the next attach; a written network costs nothing.
func TestNetworkRulesReadyWritesOnce(t *testing.T) {
	f := &fakeRuleWrites{gate: make(chan error)}
	f.install(t)
	m := &Manager{rules: map[string]*rulesWrite{}}

	first := m.networkRulesReady(nativeNet("br-a"))
	for f.count() < 1 {
		time.Sleep(time.Millisecond)
	}
	second := m.networkRulesReady(nativeNet("br-a"))
	failed := errors.New("iptables-restore: failed")
	f.gate <- failed
	if err := outcome(t, first); !errors.Is(err, failed) {
		t.Errorf("first attach: %v, want the write's failure", err)
	}
	if err := outcome(t, second); !errors.Is(err, failed) {
		t.Errorf("attach during the write: %v, want the write's failure", err)
	}
	if n := f.count(); n != 1 {
		t.Fatalf("%d writes for two concurrent attaches, want 1", n)
	}

	retry := m.networkRulesReady(nativeNet("br-a"))
	f.gate <- nil
	if err := outcome(t, retry); err != nil || f.count() != 2 {
		t.Errorf("attach after a failure: %v after %d writes; want a second write that succeeds", err, f.count())
	}
	if err := outcome(t, m.networkRulesReady(nativeNet("br-a"))); err != nil || f.count() != 2 {
		t.Errorf("attach to a written network: %v after %d writes; want no write", err, f.count())
	}
	cni := []recordedNet{{Net: Network{Bridge: "br-cni", Backend: BackendCNI}}}
	if err := outcome(t, m.networkRulesReady(cni)); err != nil || f.count() != 2 {
		t.Errorf("CNI network: %v after %d writes; want no write", err, f.count())
	}

	m.forgetRules(Network{Bridge: "br-a"})
	again := m.networkRulesReady(nativeNet("br-a"))
	f.gate <- nil
	if err := outcome(t, again); err != nil || f.count() != 3 {
		t.Errorf("attach after the network was removed: %v after %d writes; want a new write", err, f.count())
	}
}
