package publish

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"
)

// record is one manifest line: enough to decide, without reading content,
// whether the next snapshot's entry can be hard-linked from this tree.
type record struct {
	Mode  Mode   `json:"m"`
	Hash  string `json:"h,omitempty"`
	Size  int64  `json:"s,omitempty"`
	Mtime int64  `json:"t,omitempty"` // UnixNano, as written
}

type manifest struct {
	Version int               `json:"v"`
	Entries map[string]record `json:"e"`
}

// state survives restarts so that a restart neither forgets the previous
// tree nor resets how long old trees have been retired.
type state struct {
	Current  string               `json:"current"`
	Previous string               `json:"previous,omitempty"`
	Retired  map[string]time.Time `json:"retired,omitempty"`
	dirty    bool
}

// writeAtomic writes rel (in .worktrees) via a temporary file and rename.
func (p *Publisher) writeAtomic(rel string, data []byte) error {
	tmp := rel + ".tmp-" + rand.Text()[:8]
	f, err := p.wt.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil && !p.NoSync {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = p.wt.Rename(tmp, rel)
	}
	if err != nil {
		p.wt.Remove(tmp)
	}
	return err
}

func (p *Publisher) writeManifest(name string, m map[string]record) error {
	data, err := json.Marshal(manifest{Version: 1, Entries: m})
	if err != nil {
		return err
	}
	return p.writeAtomic(manifestsDir+"/"+name, data)
}

func (p *Publisher) readManifest(name string) (map[string]record, error) {
	data, err := p.wt.ReadFile(manifestsDir + "/" + name)
	if err != nil {
		return nil, err
	}
	var m manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, err
	}
	if m.Version != 1 {
		return nil, fmt.Errorf("manifest %s: version %d", name, m.Version)
	}
	return m.Entries, nil
}

// readState loads the saved state and reconciles it with the link, which is
// the truth: a crash between the swap and the state write leaves the saved
// Current one behind.
func (p *Publisher) readState(cur string) state {
	var st state
	if data, err := p.wt.ReadFile(stateFile); err == nil {
		json.Unmarshal(data, &st) // a corrupt state file only costs retirement times
	}
	if st.Retired == nil {
		st.Retired = map[string]time.Time{}
	}
	if st.Current != cur {
		if st.Current != "" {
			st.Previous = st.Current
		}
		st.Current = cur
		st.dirty = true
	}
	if st.Previous == cur {
		st.Previous = ""
	}
	delete(st.Retired, cur)
	return st
}

// Cleanup removes the trees that are neither current nor (unless
// RemovePrevious) previous and were retired at least StaleTimeout before
// now, and manifests whose tree is gone. Publish does the same after each
// swap but leaves deleting the trees' files to a background goroutine;
// Cleanup waits for that, so when it returns the space is free and its
// error says what could not be removed. Call it periodically as well so a
// tree goes once it is stale even when nothing new is published.
func (p *Publisher) Cleanup(now time.Time) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.load(); err != nil {
		return err
	}
	return errors.Join(p.cleanup(now), p.rm.wait())
}

// cleanup renames the stale trees to .trash-* (at once: their names are
// gone when it returns) and queues them for deletion in the background. It
// returns, besides its own errors, those of deletions since the last call.
func (p *Publisher) cleanup(now time.Time) error {
	errs := []error{p.rm.takeErr()}
	ents, err := os.ReadDir(p.wtAbs)
	if err != nil {
		return errors.Join(append(errs, err)...)
	}
	present := map[string]bool{}
	var trash []string
	for _, e := range ents {
		n := e.Name()
		if strings.HasPrefix(n, trashPrefix) {
			if !p.rm.isPending(n) { // a deletion that failed, or a crash's leftover
				trash = append(trash, n)
			}
			continue
		}
		if n[0] == '.' {
			continue
		}
		present[n] = true
		if n == p.st.Current || (n == p.st.Previous && !p.RemovePrevious) {
			continue
		}
		t, ok := p.st.Retired[n]
		if !ok { // appeared since load: give it the full timeout
			p.st.Retired[n], p.st.dirty = now, true
			continue
		}
		if now.Sub(t) < p.StaleTimeout {
			continue
		}
		tn := trashPrefix + n + "-" + rand.Text()[:8]
		if err := p.wt.Rename(n, tn); err != nil {
			errs = append(errs, err)
			continue
		}
		trash = append(trash, tn)
		delete(present, n)
		delete(p.st.Retired, n)
		p.st.dirty = true
		if n == p.st.Previous {
			p.st.Previous = ""
		}
		p.stats.TreesRemoved++
	}
	p.rm.add(p.wt, trash...)
	for n := range p.st.Retired {
		if !present[n] {
			delete(p.st.Retired, n)
			p.st.dirty = true
		}
	}
	if mans, err := os.ReadDir(p.wtAbs + "/" + manifestsDir); err == nil {
		for _, m := range mans {
			if n := m.Name(); !present[n] {
				// A tree removed above, or a leftover (including
				// .tmp-* files of a crashed manifest write).
				if err := p.wt.Remove(manifestsDir + "/" + n); err != nil && !errors.Is(err, os.ErrNotExist) {
					errs = append(errs, err)
				}
			}
		}
	}
	if p.st.dirty {
		data, err := json.Marshal(p.st)
		if err == nil {
			err = p.writeAtomic(stateFile, data)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("save state: %w", err))
		} else {
			p.st.dirty = false
		}
	}
	return errors.Join(errs...)
}

// trees lists the worktree names on disk, sorted (for tests and debugging).
func (p *Publisher) trees() ([]string, error) {
	ents, err := os.ReadDir(p.wtAbs)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range ents {
		if e.Name()[0] != '.' {
			out = append(out, e.Name())
		}
	}
	slices.Sort(out)
	return out, nil
}
