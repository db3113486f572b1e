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
	for _, item := range items {
		next <- item
	}
	close(next)
	wg.Wait()
}
