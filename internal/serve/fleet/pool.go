package fleet

import (
	"context"
	"sync"
)

// DefaultMaxParallel is how many hosts one fan-out contacts at once when
// Options.Network.MaxParallel is not set.
const DefaultMaxParallel = 64

// fanOut calls fn once for every item, with at most limit calls running at
// once, and returns when all have returned. A slow or dead host holds one
// worker for at most its timeouts; the others go on.
//
// Every item is handed to fn even after ctx ended, so that fn can record
// why the item did not happen (a canceled run still gets its result); fn
// sees the ended ctx and returns quickly.
//
// fanOut clears each element of items once it is handed out, so that what
// an item refers to (a run's output, say) can be freed as soon as its call
// returns, not when the whole fan-out does.
func fanOut[T any](ctx context.Context, limit int, items []T, fn func(ctx context.Context, item T)) {
	if limit <= 0 {
		limit = DefaultMaxParallel
	}
	limit = min(limit, len(items))
	next := make(chan T)
	var wg sync.WaitGroup
	for range limit {
		wg.Go(func() {
			for item := range next {
				fn(ctx, item)
			}
		})
	}
	var zero T
	for i := range items {
		next <- items[i]
		items[i] = zero
	}
	close(next)
	wg.Wait()
}
