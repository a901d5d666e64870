package main

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
)

// logFile is how the demo app keeps a request log: a file in the pod
// volume, as countless apps do, for podkit logsaver to ship. It is
// reopened on SIGHUP, which logrotate's postrotate sends after renaming
// the file: the old inode keeps what was written, new lines go to a new
// file under the old name.
type logFile struct {
	mu   sync.Mutex
	path string
	f    *os.File
}

func openLogFile(path string) (*logFile, error) {
	l := &logFile{path: path}
	if err := l.reopen(); err != nil {
		return nil, err
	}
	return l, nil
}

// Write appends p in one write(2): slog hands over a whole line at a
// time, so a reader never sees half of one unless it reads mid-write.
func (l *logFile) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.f.Write(p)
}

// reopen opens path again, creating it (and its directory) if it was
// renamed or deleted.
func (l *logFile) reopen() error {
	if err := os.MkdirAll(filepath.Dir(l.path), 0o755); err != nil {
		return fmt.Errorf("log file: %w", err)
	}
	f, err := os.OpenFile(l.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("log file: %w", err)
	}
	l.mu.Lock()
	old := l.f
	l.f = f
	l.mu.Unlock()
	if old != nil {
		return old.Close()
	}
	return nil
}

func (l *logFile) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.f.Close()
}
