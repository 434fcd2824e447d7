package network

import "sync"

// batcher runs the work of concurrent callers together. The containers that an up
// creates at once, or a down removes at once, each ask for a little host work that
// costs mostly a fixed price per run: an iptables-restore process, the kernel's wait
// for an RCU grace period per deletion of network devices. The first caller runs its
// item alone; whoever arrives meanwhile waits, and the next run takes all of them.
// So n concurrent callers cost two or three runs, and a lone caller waits for nothing.
type batcher[T any] struct {
	mu      sync.Mutex
	waiting []*batchJob[T]
	busy    bool
	// run does the items' work and returns one error per item.
	run func(items []T) []error
}

type batchJob[T any] struct {
	item T
	err  error
	done chan bool // true: the job's goroutine runs the next batch
}

// do runs item, alone or with others, and returns its own outcome.
func (b *batcher[T]) do(item T) error {
	j := &batchJob[T]{item: item, done: make(chan bool, 1)}
	b.mu.Lock()
	b.waiting = append(b.waiting, j)
	if b.busy {
		b.mu.Unlock()
		if lead := <-j.done; !lead {
			return j.err
		}
		b.mu.Lock()
	}
	b.busy = true
	jobs := b.waiting
	b.waiting = nil
	b.mu.Unlock()

	items := make([]T, len(jobs))
	for i, o := range jobs {
		items[i] = o.item
	}
	errs := b.run(items)
	for i, o := range jobs {
		o.err = errs[i]
	}

	b.mu.Lock()
	if len(b.waiting) > 0 {
		b.waiting[0].done <- true // hand the next batch to a waiting caller
	} else {
		b.busy = false
	}
	b.mu.Unlock()
	for _, o := range jobs {
		if o != j {
			o.done <- false
		}
	}
	return j.err
}
