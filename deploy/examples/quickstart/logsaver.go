package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// The sidecar: the app writes its request log to a file in the pod volume,
// as countless apps do; podkit logsaver follows it and ships every line as
// an NDJSON record. Here the sink is a directory in the same volume, which
// needs no server; in a cluster it would be a collector, S3 or syslog (see
// ../logsaver).

type logsaverConfig struct {
	admin string // podkit logsaver --admin-addr
}

// Paths in the pod volume, relative to it (every container's working
// directory).
const (
	appLog     = "logs/app.log" // the app's -log-file
	logsGlob   = "logs/*.log"   // logsaver --path
	shippedDir = "shipped"      // the file sink's directory
	stateDir   = "state"        // logsaver --state-dir
)

func (cfg *config) resolveLogsaver() error {
	addrs, err := freePorts(1)
	if err != nil {
		return err
	}
	cfg.logsaver = logsaverConfig{admin: addrs[0]}
	return nil
}

// logsaverContainer is podkit logsaver, started before the app as a native
// sidecar would be, so it watches for the app's first line, and stopped
// with it.
func logsaverContainer(cfg config) container {
	l := cfg.logsaver
	// The file sink takes an absolute path, as a file:// URL does.
	shipped := filepath.Join(cfg.volume, shippedDir)
	return container{
		name: "logsaver",
		argv: []string{cfg.podkit, "logsaver", "--admin-addr", l.admin, "--log-format", "text",
			"--path", logsGlob, "--state-dir", stateDir, "--sink", "file://" + shipped,
			"--label", "container=app"},
		// What the kubelet sets from the Downward API in ../logsaver/pod.yaml;
		// logsaver labels every record with them.
		env:       []string{"POD_NAME=quickstart", "POD_NAMESPACE=local"},
		dirs:      []string{filepath.Dir(appLog)}, // the mount point both share
		addr:      l.admin,
		readyPath: "/readyz",
		try: []string{
			"tail -qn 2 " + shipped + "/*   # the shipped records, NDJSON",
			"echo 'a line by hand' >> " + filepath.Join(cfg.volume, "logs", "by-hand.log") + "   # any logs/*.log is picked up",
			"mv " + filepath.Join(cfg.volume, appLog) + " " + filepath.Join(cfg.volume, appLog) + ".1 && curl -X POST 'http://" + cfg.runAdmin + "/lifecycle/signal?name=HUP'   # rotate: the app reopens, logsaver reads both to the end",
			"curl -s http://" + l.admin + "/metrics | grep podkit_logsaver",
		},
	}
}

// shipped is the part of a logsaver record the demo looks at.
type shipped struct {
	Line   string `json:"line"`
	File   string `json:"file"`
	Offset int64  `json:"offset"`
	raw    string
	in     string // the NDJSON file it is in, relative to the volume
}

// showLogsaver shows the sidecar at work: two requests to the app come out
// of the file sink as records of the app's log file, with their labels.
func showLogsaver(ctx context.Context, cfg config, con *console) bool {
	logPath := filepath.Join(cfg.volume, appLog)
	// Lines from here on are this step's; the app wrote earlier requests'
	// lines before answering them.
	var from int64
	if fi, err := os.Stat(logPath); err == nil {
		from = fi.Size()
	}
	client := &http.Client{Timeout: 2 * time.Second}
	for range 2 {
		if err := get200(ctx, client, "http://"+cfg.appAddr+"/work"); err != nil {
			con.printf("==> logsaver: GET /work: %v\n", err)
			return ctx.Err() != nil
		}
	}
	dir := filepath.Join(cfg.volume, shippedDir)
	deadline := time.Now().Add(probeTimeout)
	for {
		recs, err := readShipped(cfg.volume, dir)
		var got []shipped
		for _, r := range recs {
			// The record names the file as logsaver found it: by the
			// relative glob.
			if (r.File == appLog || r.File == logPath) && r.Offset >= from && strings.Contains(r.Line, "path=/work") {
				got = append(got, r)
			}
		}
		if len(got) >= 2 {
			con.printf("==> logsaver: %d request lines from %s shipped to %s (NDJSON):\n", len(got), appLog, got[0].in)
			for _, r := range got {
				con.printf("      %s\n", r.raw)
			}
			return true
		}
		if ctx.Err() != nil {
			return true
		}
		if time.Now().After(deadline) {
			con.printf("==> logsaver: %d of 2 request lines from %s in %s after %s (err: %v)\n", len(got), appLog, dir, probeTimeout, err)
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// readShipped reads every record in the file sink's directory, in name
// (that is, time) order. The file being written is PREFIX-TIME.ndjson.tmp
// until it rotates, so *.tmp is read too; a torn last line, caught
// mid-write, is skipped and read whole on the next try.
func readShipped(volume, dir string) ([]shipped, error) {
	names, err := filepath.Glob(filepath.Join(dir, "*.ndjson*"))
	if err != nil {
		return nil, err
	}
	slices.Sort(names)
	var out []shipped
	type key struct {
		file   string
		offset int64
	}
	seen := map[key]bool{}
	for _, name := range names {
		if strings.HasSuffix(name, ".gz") || strings.HasSuffix(name, ".gz.tmp") {
			continue // the demo's sink does not compress
		}
		f, err := os.Open(name)
		if errors.Is(err, fs.ErrNotExist) {
			continue // renamed from .tmp since the Glob: read under its new name
		}
		if err != nil {
			return out, err
		}
		rel, _ := filepath.Rel(volume, name)
		sc := bufio.NewScanner(f)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			r := shipped{raw: sc.Text(), in: rel}
			if json.Unmarshal(sc.Bytes(), &r) != nil {
				continue
			}
			// A file is renamed by link, then unlink of the .tmp: the
			// Glob may have seen both names.
			k := key{r.File, r.Offset}
			if !seen[k] {
				seen[k] = true
				out = append(out, r)
			}
		}
		err = sc.Err()
		f.Close()
		if err != nil {
			return out, err
		}
	}
	return out, nil
}
