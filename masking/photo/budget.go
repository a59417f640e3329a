package photo

import (
	"context"
	"sync"
)

// budget is a weighted semaphore of decoded pixels.
type budget struct {
	mu         sync.Mutex
	free, size int64
	freed      chan struct{} // closed (and replaced) at every release
}

func newBudget(size int64) *budget {
	return &budget{free: size, size: size, freed: make(chan struct{})}
}

// acquire waits until n pixels (at most the whole budget) are free, takes
// them and returns their release; it fails only when ctx is done.
func (b *budget) acquire(ctx context.Context, n int64) (func(), error) {
	n = min(max(n, 1), b.size)
	for {
		b.mu.Lock()
		if b.free >= n {
			b.free -= n
			b.mu.Unlock()
			return func() {
				b.mu.Lock()
				b.free += n
				close(b.freed)
				b.freed = make(chan struct{})
				b.mu.Unlock()
			}, nil
		}
		wait := b.freed
		b.mu.Unlock()
		select {
		case <-wait:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}
