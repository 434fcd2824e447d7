package network

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
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
