package inspector

import (
	"context"
	"sync"
	"time"
)

// counts keeps the censuses pages made recently, by workflow ("" for the
// whole store), for the count cache's time to live.
type counts struct {
	mu   sync.Mutex
	made map[string]madeCensus
}

type madeCensus struct {
	c  *census
	at time.Time
}

// census returns the census of workflow, from the cache if it is recent.
func (h *handler) census(ctx context.Context, workflow string) (*census, error) {
	now := h.cfg.now()
	if h.cfg.countTTL > 0 {
		h.counts.mu.Lock()
		m, ok := h.counts.made[workflow]
		h.counts.mu.Unlock()
		if ok && now.Sub(m.at) < h.cfg.countTTL && !now.Before(m.at) {
			return m.c, nil
		}
	}
	c, err := count(ctx, h.e, workflow, h.cfg.census)
	if err != nil {
		return nil, err
	}
	c.At = now
	if h.cfg.countTTL > 0 {
		h.counts.mu.Lock()
		if h.counts.made == nil {
			h.counts.made = map[string]madeCensus{}
		}
		h.counts.made[workflow] = madeCensus{c, now}
		h.counts.mu.Unlock()
	}
	return c, nil
}

// clear forgets every census.
func (c *counts) clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.made = nil
}
