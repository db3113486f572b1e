package fleet

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/otto-automation/otto/internal/serve/domain"
)

// historyPage is how many run summaries one read of the history takes.
const historyPage = 1000

// recoverRuns marks the runs that a previous server process left pending
// or running as failed: that process stopped or crashed during them, and
// nobody will ever record their result.
func (s *Service) recoverRuns(ctx context.Context) error {
	var stale []string
	err := s.store.View(ctx, func(tx domain.Tx) error {
		return eachRun(tx, func(r domain.Run) bool {
			if r.State == domain.RunPending || r.State == domain.RunRunning {
				stale = append(stale, r.ID)
			}
			return true
		})
	})
	if err != nil {
		return fmt.Errorf("fleet: looking for interrupted runs: %w", err)
	}
	if len(stale) == 0 {
		return nil
	}
	now := s.now()
	err = s.store.Update(ctx, func(tx domain.Tx) error {
		for _, id := range stale {
			r, err := tx.Run(id) // whole, with output: PutRun replaces it
			if err != nil {
				return err
			}
			r.State, r.Success, r.Error, r.Finished = domain.RunFailed, false, errServerStopped.Error(), now
			if r.Duration == 0 && !r.Started.IsZero() {
				r.Duration = now.Sub(r.Started)
			}
			if err := tx.PutRun(&r); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("fleet: marking interrupted runs as failed: %w", err)
	}
	s.log.Warn("runs interrupted by a server stop marked as failed", "runs", len(stale))
	return nil
}

// Prune applies the run history's retention: it deletes the runs beyond
// the newest Options.Runs.HistoryMax and those started more than
// HistoryDays ago (a zero option does not limit). Runs still in progress
// are kept. It returns how many runs it deleted.
func (s *Service) Prune(ctx context.Context) (int, error) {
	o, err := s.options(ctx)
	if err != nil {
		return 0, err
	}
	keepMax, days := o.Runs.HistoryMax, o.Runs.HistoryDays
	if keepMax <= 0 && days <= 0 {
		return 0, nil
	}
	cutoff := s.now().Add(-time.Duration(days) * 24 * time.Hour)
	var drop []string
	err = s.store.View(ctx, func(tx domain.Tx) error {
		n := 0
		return eachRun(tx, func(r domain.Run) bool {
			n++
			if s.broker.get(r.ID) != nil {
				return true
			}
			if (keepMax > 0 && n > keepMax) || (days > 0 && r.Started.Before(cutoff)) {
				drop = append(drop, r.ID)
			}
			return true
		})
	})
	if err != nil {
		return 0, fmt.Errorf("fleet: reading the run history: %w", err)
	}
	deleted := len(drop)
	for len(drop) > 0 {
		chunk := drop[:min(len(drop), historyPage)]
		drop = drop[len(chunk):]
		err := s.store.Update(ctx, func(tx domain.Tx) error {
			for _, id := range chunk {
				if err := tx.DeleteRun(id); err != nil && !errors.Is(err, domain.ErrNotFound) {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return 0, fmt.Errorf("fleet: pruning the run history: %w", err)
		}
	}
	return deleted, nil
}

// eachRun calls fn with every run summary, newest first, a page at a time,
// until fn returns false.
func eachRun(tx domain.Tx, fn func(domain.Run) bool) error {
	var before string
	for {
		page, err := tx.Runs(domain.RunFilter{Before: before, Limit: historyPage})
		if err != nil {
			return err
		}
		for _, r := range page {
			if !fn(r) {
				return nil
			}
		}
		if len(page) < historyPage {
			return nil
		}
		before = page[len(page)-1].ID
	}
}
