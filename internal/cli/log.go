package cli

import (
	"io"
	"log/slog"
	"strings"
)

// NewLogger builds the process logger. Logs go to stderr: stdout belongs to
// command output (and, under `podkit run`, to the child).
func NewLogger(w io.Writer, format, level string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, Usagef("log-level", "want debug, info, warn or error (got %q)", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch strings.ToLower(format) {
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	default:
		return nil, Usagef("log-format", "want json or text (got %q)", format)
	}
}
