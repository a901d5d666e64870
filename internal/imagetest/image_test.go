package imagetest

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"debug/elf"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/podkit/podkit/internal/clitest"
)

// podmanBound caps each podman call: a wedged podman (lock held by a killed
// run, storage on a stalled disk) must fail the test, not eat `go test`'s
// whole timeout. Generous because a cold store on a slow CI disk is slow.
const podmanBound = 5 * time.Minute

// runLabel marks everything one test run creates (every intermediate image
// carries it too), so cleanup removes exactly that and nothing a concurrent
// `make image` or another test run shares the store with.
const runLabel = "podkit.imagetest.run"

func TestMain(m *testing.M) { clitest.Main(m) }

// The image is FROM scratch: a dynamically linked binary would not even
// start in it, and the failure ("no such file or directory" for an existing
// /podkit) is baffling, so catch it here where the cause is obvious.
func TestBinaryIsStatic(t *testing.T) {
	f, err := elf.Open(clitest.Binary(t))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Errorf("binary has a PT_INTERP program header: it needs a dynamic loader the scratch image lacks")
		}
	}
	if f.Section(".dynamic") != nil {
		t.Errorf("binary has a .dynamic section: it is dynamically linked (built with cgo?)")
	}
}

func TestImage(t *testing.T) {
	began := time.Now()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	pm := newPodman(t, root)

	run := fmt.Sprintf("%d-%d", os.Getpid(), time.Now().UnixNano())
	tag := "localhost/podkit-imagetest:" + run
	label := runLabel + "=" + run
	pm.sweepStale(t)
	t.Cleanup(func() { pm.cleanup(t, label) })

	ctxDir := buildContext(t, root)
	built := time.Now()
	pm.must(t, "build", "--pull=never", "--layers=true",
		"--build-arg", "BIN_FROM=prebuilt",
		"--build-arg", "VERSION=clitest", "--build-arg", "COMMIT=imagetest",
		"--label", label, "--tag", tag,
		"--file", filepath.Join(ctxDir, "Dockerfile"), ctxDir)
	t.Logf("image built in %s", time.Since(built).Round(time.Millisecond))

	t.Run("config", func(t *testing.T) {
		var imgs []struct {
			Config struct {
				User       string
				Entrypoint []string
				Cmd        []string
				Labels     map[string]string
			}
		}
		if err := json.Unmarshal([]byte(pm.must(t, "image", "inspect", tag)), &imgs); err != nil || len(imgs) != 1 {
			t.Fatalf("podman image inspect: %d images, %v", len(imgs), err)
		}
		c := imgs[0].Config
		if c.User != "65532:65532" {
			t.Errorf("User = %q, want 65532:65532 (numeric, for runAsNonRoot)", c.User)
		}
		if !slices.Equal(c.Entrypoint, []string{"/podkit"}) {
			t.Errorf("Entrypoint = %q, want [/podkit]", c.Entrypoint)
		}
		if !slices.Equal(c.Cmd, []string{"--help"}) {
			t.Errorf("Cmd = %q, want [--help]", c.Cmd)
		}
		want := map[string]string{
			"org.opencontainers.image.title":       "podkit",
			"org.opencontainers.image.version":     "clitest",
			"org.opencontainers.image.revision":    "imagetest",
			"org.opencontainers.image.description": "",
			"org.opencontainers.image.source":      "",
			"org.opencontainers.image.licenses":    "",
		}
		for k, v := range want {
			got, ok := c.Labels[k]
			switch {
			case !ok || got == "":
				t.Errorf("label %s missing", k)
			case v != "" && got != v:
				t.Errorf("label %s = %q, want %q", k, got, v)
			}
		}
	})

	// The whole filesystem, so a stray file (a context leak, a forgotten
	// COPY) shows up, and /podkit byte for byte, so the test knows it ran the
	// binary it built.
	t.Run("rootfs", func(t *testing.T) {
		id := strings.TrimSpace(pm.must(t, "create", "--label", label, tag))
		defer pm.must(t, "rm", id)
		archive := filepath.Join(t.TempDir(), "rootfs.tar")
		pm.must(t, "export", "--output", archive, id)
		files := regularFiles(t, archive)
		var names []string
		for name := range files {
			names = append(names, name)
		}
		slices.Sort(names)
		if want := []string{"etc/ssl/certs/ca-certificates.crt", "podkit"}; !slices.Equal(names, want) {
			t.Errorf("image files = %q, want %q", names, want)
		}
		bin, err := os.ReadFile(clitest.Binary(t))
		if err != nil {
			t.Fatal(err)
		}
		if files["podkit"] != sha256.Sum256(bin) {
			t.Errorf("/podkit in the image differs from the binary the test built")
		}
	})

	// How Pods run it: read-only root, the image's numeric user, no network.
	locked := []string{"run", "--rm", "--label", label, "--read-only", "--user", "65532:65532"}

	t.Run("version", func(t *testing.T) {
		r := pm.run(t, append(locked, "--network", "none", tag, "version")...)
		if r.code != 0 || !strings.HasPrefix(r.stdout, "podkit clitest ") {
			t.Errorf("podkit version: exit %d, stdout %q, want 0 and \"podkit clitest …\"\n%s", r.code, r.stdout, r.stderr)
		}
	})

	t.Run("default command is help", func(t *testing.T) {
		r := pm.run(t, append(locked, "--network", "none", tag)...)
		if r.code != 0 || !strings.Contains(r.stdout, "Usage:") {
			t.Errorf("no arguments: exit %d, stdout %q, want 0 and usage\n%s", r.code, r.stdout, r.stderr)
		}
	})

	// Exit 1 is podkit's "unhealthy"; podman's own failures are 125-127, so
	// this also tells a broken container setup from a working probe.
	t.Run("probe closed port", func(t *testing.T) {
		r := pm.run(t, append(locked, "--network", "none", tag, "probe", "--timeout", "2s", "tcp://127.0.0.1:1")...)
		if r.code != 1 {
			t.Errorf("probe tcp://127.0.0.1:1: exit %d, want 1\n%s%s", r.code, r.stdout, r.stderr)
		}
	})

	// The image has no shell to start a daemon and probe it in one
	// container, so probe a daemon on the host through the host network.
	t.Run("probe healthy host daemon", func(t *testing.T) {
		p := clitest.Start(t, clitest.Options{}, "health")
		p.WaitReady()
		target := p.AdminURL() + "/readyz"
		r := pm.run(t, append(locked, "--network", "host", tag, "probe", "--timeout", "5s", target)...)
		if r.code != 0 {
			t.Errorf("probe %s: exit %d, want 0\n%s%s", target, r.code, r.stdout, r.stderr)
		}
		p.Stop()
	})

	t.Logf("TestImage took %s", time.Since(began).Round(time.Millisecond))
}

// buildContext stages what the Dockerfile's prebuilt path COPYs, the way
// scripts/build-image.sh does in the repository, in a temporary directory
// so the test never touches the developer's bin/.
func buildContext(t *testing.T, root string) string {
	t.Helper()
	dir := t.TempDir()
	copyFile(t, filepath.Join(root, "Dockerfile"), filepath.Join(dir, "Dockerfile"), 0o644)
	copyFile(t, filepath.Join(root, ".dockerignore"), filepath.Join(dir, ".dockerignore"), 0o644)
	if err := os.Mkdir(filepath.Join(dir, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	copyFile(t, clitest.Binary(t), filepath.Join(dir, "bin", "podkit"), 0o755)
	const ca = "/etc/ssl/certs/ca-certificates.crt"
	if _, err := os.Stat(ca); err != nil {
		t.Fatalf("no CA bundle to put in the image (%v): install ca-certificates", err)
	}
	copyFile(t, ca, filepath.Join(dir, "bin", "ca-certificates.crt"), 0o644)
	return dir
}

func copyFile(t *testing.T, src, dst string, mode os.FileMode) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, mode); err != nil {
		t.Fatal(err)
	}
}

// regularFiles lists the regular files in a tar archive with their digests.
func regularFiles(t *testing.T, path string) map[string][sha256.Size]byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	files := map[string][sha256.Size]byte{}
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return files
		}
		if err != nil {
			t.Fatalf("read %s: %v", path, err)
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		sum := sha256.New()
		if _, err := io.Copy(sum, tr); err != nil {
			t.Fatalf("read %s: %v", path, err)
		}
		files[strings.TrimPrefix(h.Name, "./")] = [sha256.Size]byte(sum.Sum(nil))
	}
}

// podman runs the podman CLI with the environment scripts/podman-env.sh
// sets up, so the test and `make image` share one configuration and store.
type podman struct {
	path string
	env  []string
}

func newPodman(t *testing.T, root string) *podman {
	t.Helper()
	path, err := exec.LookPath("podman")
	if err != nil {
		t.Fatalf("podman is required for the image test and was not found (%v): run `make deps`", err)
	}
	// Source the script rather than re-implementing it: it owns driver
	// detection and the rlimit workaround. env -0 hands back its result.
	ctx, cancel := context.WithTimeout(context.Background(), podmanBound)
	defer cancel()
	cmd := exec.CommandContext(ctx, "sh", "-c", `. "$1" >&2 && exec env -0`, "sh",
		filepath.Join(root, "scripts", "podman-env.sh"))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("source scripts/podman-env.sh: %v\n%s", err, stderr.String())
	}
	env := strings.Split(strings.TrimSuffix(string(out), "\x00"), "\x00")
	return &podman{path: path, env: env}
}

type result struct {
	code           int
	stdout, stderr string
}

// run runs podman to completion; only a podman that cannot be started or
// exceeds podmanBound is fatal, exit codes are the caller's to judge.
func (p *podman) run(t testing.TB, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), podmanBound)
	defer cancel()
	cmd := exec.CommandContext(ctx, p.path, args...)
	cmd.Env = p.env
	// conmon may inherit our pipes; don't wait on it forever once podman exits.
	cmd.WaitDelay = 10 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("podman %s: no result after %s\n%s", strings.Join(args, " "), podmanBound, stderr.String())
	}
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("podman %s: %v", strings.Join(args, " "), err)
	}
	return result{code: cmd.ProcessState.ExitCode(), stdout: stdout.String(), stderr: stderr.String()}
}

// must runs podman and fails the test unless it exits 0.
func (p *podman) must(t testing.TB, args ...string) string {
	t.Helper()
	r := p.run(t, args...)
	if r.code != 0 {
		t.Fatalf("podman %s: exit %d\n%s%s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r.stdout
}

// cleanup removes every container and image labelled with label, including
// the intermediate images podman build keeps as cache (the tag alone would
// leave the prebuilt stage's behind), and checks nothing is left.
//
// It retries because podman 4.3 cannot list images while another process
// deletes some from the same store (another run's cleanup, a `podman rmi`):
// `podman images` then fails with "checking if image … is dangling: … image
// not known", and a cleanup that trusted one listing left images behind.
func (p *podman) cleanup(t testing.TB, label string) {
	t.Helper()
	filter := "label=" + label
	var err error
	for attempt := 1; attempt <= 5; attempt++ {
		var containers, images []string
		containers, err = p.ids(t, "ps", "--all", "--quiet", "--filter", filter)
		if err == nil {
			images, err = p.ids(t, "images", "--all", "--quiet", "--filter", filter)
		}
		if err == nil && len(containers)+len(images) == 0 {
			return
		}
		if len(containers) > 0 {
			p.run(t, append([]string{"rm", "--force", "--ignore"}, containers...)...)
		}
		if len(images) > 0 {
			p.run(t, append([]string{"rmi", "--force", "--ignore"}, images...)...)
		}
		time.Sleep(time.Duration(attempt) * 200 * time.Millisecond)
	}
	t.Errorf("containers or images labelled %s left behind (last listing error: %v): see podman images -a", label, err)
}

// sweepStale removes images from earlier runs that were killed before their
// cleanup ran (a `go test` timeout, ^C). The age limit keeps it off images
// of a run going on right now elsewhere on the same store. Best effort: the
// next run sweeps again.
func (p *podman) sweepStale(t testing.TB) {
	t.Helper()
	ids, err := p.ids(t, "images", "--all", "--quiet", "--filter", "label="+runLabel, "--filter", "until=1h")
	if err == nil && len(ids) > 0 {
		t.Logf("removing %d images left by earlier killed runs", len(ids))
		p.run(t, append([]string{"rmi", "--force", "--ignore"}, ids...)...)
	}
}

// ids runs a podman listing with --quiet and returns the distinct IDs.
func (p *podman) ids(t testing.TB, args ...string) ([]string, error) {
	t.Helper()
	r := p.run(t, args...)
	if r.code != 0 {
		return nil, fmt.Errorf("podman %s: exit %d: %s", strings.Join(args, " "), r.code, strings.TrimSpace(r.stderr))
	}
	var ids []string
	for _, id := range strings.Fields(r.stdout) {
		if !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	return ids, nil
}
