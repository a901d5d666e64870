//go:build !linux

package publish

import (
	"context"
	"fmt"
	"io"
	"os"
	"path"
)

// premadeDirs is false here: the next build's directories are not made in
// advance (see spare.go).
const premadeDirs = false

// fill creates snap below .worktrees/tmp through os.Root, one entry at a
// time, and if o.sync fsyncs written files and every directory. The Linux
// version (fill_linux.go) does the same with directory descriptors and a
// few goroutines. o.premade is always empty here.
func (p *Publisher) fill(ctx context.Context, tmp string, snap Snapshot, o fillOpts) ([]record, Stats, error) {
	recs := make([]record, len(snap))
	dirs := []string{tmp}
	made := map[string]bool{".": true}
	// Parent first, one Mkdir each, each directory once.
	var mkdirs func(d string) error
	mkdirs = func(d string) error {
		if made[d] {
			return nil
		}
		if err := mkdirs(path.Dir(d)); err != nil {
			return err
		}
		if err := p.wt.Mkdir(tmp+"/"+d, 0o755); err != nil {
			return err
		}
		made[d] = true
		dirs = append(dirs, tmp+"/"+d)
		return nil
	}
	var st Stats
	for i := range snap {
		e := &snap[i]
		if i%256 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, Stats{}, err
			}
		}
		dst := tmp + "/" + e.Path
		if e.Mode == Dir {
			if err := mkdirs(e.Path); err != nil {
				return nil, Stats{}, err
			}
			recs[i] = record{Mode: Dir}
			continue
		}
		if err := mkdirs(path.Dir(e.Path)); err != nil {
			return nil, Stats{}, err
		}
		switch e.Mode {
		case Symlink:
			if err := p.wt.Symlink(e.Target, dst); err != nil {
				return nil, Stats{}, err
			}
			recs[i] = record{Mode: Symlink, Hash: e.Hash}
		case Regular, Executable:
			if r, ok := o.fromMan[e.Path]; ok && r.Mode == e.Mode && r.Hash == e.Hash && r.Size == e.Size &&
				p.unchanged(o.from+"/"+e.Path, r) &&
				p.wt.Link(o.from+"/"+e.Path, dst) == nil {
				recs[i] = r
				st.FilesLinked++
				continue
			}
			r, err := p.writeFile(dst, e, o.sync)
			if err != nil {
				return nil, Stats{}, fmt.Errorf("%s: %w", e.Path, err)
			}
			recs[i] = r
			st.FilesWritten++
			st.BytesWritten += r.Size
		}
	}
	if o.sync {
		for _, d := range dirs {
			if err := p.syncPath(d); err != nil {
				return nil, Stats{}, err
			}
		}
	}
	return recs, st, nil
}

// unchanged reports whether the file at rel (in .worktrees) still looks as
// recorded: same kind, exec bit, size and mtime (git's index uses the same
// cheap test).
func (p *Publisher) unchanged(rel string, r record) bool {
	fi, err := p.wt.Lstat(rel)
	if err != nil || !fi.Mode().IsRegular() {
		return false
	}
	exec := fi.Mode().Perm()&0o100 != 0
	return exec == (r.Mode == Executable) && fi.Size() == r.Size && fi.ModTime().UnixNano() == r.Mtime
}

func (p *Publisher) writeFile(dst string, e *Entry, sync bool) (record, error) {
	perm := os.FileMode(0o644)
	if e.Mode == Executable {
		perm = 0o755
	}
	// O_EXCL: always a new inode, never one shared with a published tree.
	f, err := p.wt.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return record{}, err
	}
	defer f.Close()
	rc, err := e.Open()
	if err != nil {
		return record{}, err
	}
	n, err := io.Copy(f, rc)
	if cerr := rc.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return record{}, err
	}
	if n != e.Size {
		return record{}, fmt.Errorf("content is %d bytes, entry says %d", n, e.Size)
	}
	if sync {
		if err := f.Sync(); err != nil {
			return record{}, err
		}
	}
	fi, err := f.Stat()
	if err != nil {
		return record{}, err
	}
	if err := f.Close(); err != nil {
		return record{}, err
	}
	return record{Mode: e.Mode, Hash: e.Hash, Size: n, Mtime: fi.ModTime().UnixNano()}, nil
}
