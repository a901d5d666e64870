package memcacheproxy

import (
	"context"
	"net"
	"slices"
	"sync"
	"time"
)

// onFailure is every backend's failure hook: n consecutive failures. It
// ejects the server at the pool's limit (auto_eject_hosts) and otherwise
// lets the health loop probe it.
func (p *Proxy) onFailure(b *backend, n int32) {
	st := p.st.Load()
	if st.pool.AutoEjectHosts && n >= int32(st.pool.ServerFailureLimit) {
		p.eject(b)
	}
	p.kick()
}

func (p *Proxy) kick() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

func (p *Proxy) eject(b *backend) {
	p.mu.Lock()
	defer p.mu.Unlock()
	st := p.st.Load()
	i := slices.Index(st.backends, b)
	if i < 0 || b.ejected {
		return
	}
	b.ejected = true
	b.backoff = st.pool.ServerRetryTimeout
	b.nextProbe = time.Now().Add(b.backoff)
	p.swapOut(st, i, true)
	b.sm.ejections.Inc()
	var reason string
	if e := b.lastErr.Load(); e != nil {
		reason = errorText(*e)
	}
	p.log.Warn("server ejected", "pool", st.pool.Name, "server", b.name, "failures", b.failures.Load(),
		"reason", reason, "retry_in", b.backoff.String())
}

// swapOut publishes a copy of st with server i ejected or back; p.mu held.
func (p *Proxy) swapOut(st *state, i int, out bool) {
	ns := *st
	ns.out = slices.Clone(st.out)
	ns.out[i] = out
	if err := p.relive(&ns); err != nil {
		p.log.Error("rebuilding the ring", "pool", st.pool.Name, "err", err)
		return
	}
	p.st.Store(&ns)
	p.gaugeServers(&ns)
}

func (p *Proxy) gaugeServers(st *state) {
	live := 0
	for _, o := range st.out {
		if !o {
			live++
		}
	}
	p.m.m.ringServer.WithLabelValues(st.pool.Name, "configured").Set(float64(len(st.out)))
	p.m.m.ringServer.WithLabelValues(st.pool.Name, "live").Set(float64(live))
}

// healthLoop probes the servers that need it: ejected ones once their
// retry time has come (rejoining on success, backing off on failure), and
// unreachable ones, so that readiness follows the servers even without
// traffic. It sleeps until the next probe is due or a failure wakes it.
func (p *Proxy) healthLoop(ctx context.Context) {
	timer := time.NewTimer(0)
	defer timer.Stop()
	var probing sync.WaitGroup
	defer probing.Wait()
	inProbe := map[*backend]bool{}
	var inMu sync.Mutex
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		case <-p.wake:
		}
		now := time.Now()
		next := time.Duration(-1)
		p.mu.Lock()
		st := p.st.Load()
		for _, b := range st.backends {
			if !b.ejected && b.reachable.Load() {
				continue
			}
			if b.nextProbe.After(now) {
				if d := b.nextProbe.Sub(now); next < 0 || d < next {
					next = d
				}
				continue
			}
			inMu.Lock()
			busy := inProbe[b]
			inProbe[b] = true
			inMu.Unlock()
			if busy {
				continue
			}
			probing.Go(func() {
				p.probe(b)
				inMu.Lock()
				delete(inProbe, b)
				inMu.Unlock()
				p.kick()
			})
		}
		p.mu.Unlock()
		if next >= 0 {
			timer.Reset(next)
		}
	}
}

// probe sends b a version request and acts on the answer.
func (p *Proxy) probe(b *backend) {
	st := p.st.Load()
	timeout := st.pool.Timeout
	if timeout <= 0 {
		timeout = DefaultProbeTimeout
	}
	err := b.dialer.probe(b.srv, timeout)
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	if err != nil {
		b.sm.probeFail.Inc()
		b.lastErr.Store(&err)
		b.reachable.Store(false)
		b.sm.up.Set(0)
		if b.ejected {
			b.backoff = min(2*b.backoff, max(maxProbeBackoff, st.pool.ServerRetryTimeout))
		} else {
			b.backoff = min(max(2*b.backoff, unreachableProbe), 30*time.Second)
		}
		b.nextProbe = now.Add(b.backoff)
		p.log.Debug("probe failed", "pool", st.pool.Name, "server", b.name, "err", err, "next_in", b.backoff.String())
		return
	}
	b.sm.probeOK.Inc()
	b.backoff = 0
	b.failures.Store(0)
	b.succeeded()
	if !b.ejected {
		return
	}
	b.ejected = false
	cur := p.st.Load()
	if i := slices.Index(cur.backends, b); i >= 0 {
		p.swapOut(cur, i, false)
	}
	p.log.Info("server back in the pool", "pool", st.pool.Name, "server", b.name)
}

// resolveLoop looks the servers' host names up again every
// ResolveInterval (every second while one has no address yet), and closes
// the connections of a server whose addresses changed: the next request
// dials the new address. The loops dial addresses, not names, so the
// lookups happen here, off the request path.
func (p *Proxy) resolveLoop(ctx context.Context) {
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		wait := p.cfg.ResolveInterval
		if p.unresolved() {
			wait = time.Second
		}
		if wait < 0 {
			<-ctx.Done()
			return
		}
		t.Reset(wait)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		p.resolveOnce(ctx)
	}
}

// unresolved reports a server whose host name has no address yet.
func (p *Proxy) unresolved() bool {
	for _, b := range p.st.Load().backends {
		if b.srv.Path == "" && net.ParseIP(b.srv.Host) == nil && b.resolved.Load() == nil {
			return true
		}
	}
	return false
}

func (p *Proxy) resolveOnce(ctx context.Context) {
	for _, b := range p.st.Load().backends {
		lctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		addrs, named, err := resolve(lctx, b.srv)
		cancel()
		if !named {
			continue
		}
		if err != nil {
			p.log.Warn("server lookup failed", "server", b.name, "err", err)
			continue
		}
		if old := b.resolved.Swap(&addrs); old != nil && !slices.Equal(*old, addrs) {
			p.log.Info("server address changed", "server", b.name, "addrs", addrs)
			b.reset(errResolved)
		}
	}
}
