package metricsadapter

import (
	"context"
	"hash/maphash"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/podkit/podkit/pkg/metrics-adapter/series"
)

// Sets are statsd's "|s" (etsy statsd, DogStatsD): count the distinct
// members sent in each flush window. statsd_exporter rejects them; here,
// with Config.StatsdSets, each set is a gauge holding the number of
// distinct members of the last complete window, as statsd publishes it at
// each flush. Members are kept as 64-bit hashes, at most maxSetMembers per
// set per window and maxSetMembersTotal in all sets together (a set past
// either saturates, counted as set_overflow): some 20 MB at most.
const (
	maxSetMembers      = 100_000
	maxSetMembersTotal = 1 << 20
)

// DefaultSetWindow is statsd's flush interval.
const DefaultSetWindow = 10 * time.Second

type sets struct {
	a    *Adapter
	seed maphash.Seed

	mu     sync.Mutex
	m      map[string]*set // by series key
	key    []byte
	budget int // bound of held, members of all sets in this window
	held   int
}

type set struct {
	name    string
	labels  []series.Label
	opts    series.Options
	members map[uint64]struct{}
	idle    int // windows in a row without a member
}

func newSets(a *Adapter) *sets {
	return &sets{a: a, seed: maphash.MakeSeed(), m: make(map[string]*set), budget: maxSetMembersTotal}
}

// add records member for the set name{labels}; labels may alias a packet.
// It reports false when the set is new and the adapter holds MaxSeries
// sets already.
func (ss *sets) add(name string, labels []series.Label, member []byte, o *series.Options) (ok, overflow bool) {
	h := maphash.Bytes(ss.seed, member)
	ss.mu.Lock()
	defer ss.mu.Unlock()
	ss.key = setKey(ss.key[:0], name, labels)
	st := ss.m[string(ss.key)]
	if st == nil {
		if max := ss.a.cfg.MaxSeries; max > 0 && len(ss.m) >= max {
			return false, false
		}
		ls := make([]series.Label, len(labels))
		for i, l := range labels {
			ls[i] = series.Label{Name: strings.Clone(l.Name), Value: strings.Clone(l.Value)}
		}
		st = &set{name: name, labels: ls, opts: *o}
		ss.m[string(ss.key)] = st
	}
	st.idle = 0
	if st.members == nil {
		st.members = make(map[uint64]struct{})
	}
	if _, seen := st.members[h]; seen {
		return true, false
	}
	if len(st.members) >= maxSetMembers || ss.held >= ss.budget {
		return true, true
	}
	st.members[h] = struct{}{}
	ss.held++
	return true, false
}

// setKey identifies a set by name and label set, whatever the tags' order.
func setKey(b []byte, name string, labels []series.Label) []byte {
	b = append(b, name...)
	var buf [16]int
	idx := buf[:0]
	for i := range labels {
		idx = append(idx, i)
	}
	slices.SortFunc(idx, func(x, y int) int { return strings.Compare(labels[x].Name, labels[y].Name) })
	for _, i := range idx {
		b = append(b, 0)
		b = append(b, labels[i].Name...)
		b = append(b, 0)
		b = append(b, labels[i].Value...)
	}
	return b
}

// flush publishes each set's count for the window that ended and starts a
// new one; a set idle for two windows is forgotten (its gauge stays, at 0,
// until its TTL). The members' maps are dropped, not cleared: a cleared map
// keeps its largest size, and the bound is on what the window holds.
func (ss *sets) flush() {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	for k, st := range ss.m {
		if err := ss.a.store.Set(st.name, st.labels, float64(len(st.members)), &st.opts); err != nil {
			ss.a.stats.dropped[storeReason(err)].Add(1)
		}
		if len(st.members) == 0 {
			if st.idle++; st.idle >= 2 {
				delete(ss.m, k)
			}
		}
		st.members = nil
	}
	ss.held = 0
}

func (ss *sets) run(ctx context.Context, window time.Duration) {
	t := time.NewTicker(window)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			ss.flush()
		}
	}
}
