package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/podkit/podkit/internal/bench/benchkit"
)

// gitConfig is the .gitconfig of the bench's HOME, the only git config any
// git it runs reads (GIT_CONFIG_NOSYSTEM=1): an identity and no automatic
// gc on the upstream, whose pushes would otherwise pack it mid-run. The
// baseline's own repository sets nothing else: it runs git as a user would.
const gitConfig = `[user]
	name = gitbench
	email = gitbench@example.invalid
[init]
	defaultBranch = main
[advice]
	detachedHead = false
[receive]
	autogc = false
`

// upstream is the served repository: a bare repo made by git fast-import
// and a git daemon serving it on loopback. Pushes are fast-imports into it
// too: the daemon sees what a receive-pack would leave, a new pack and a
// moved ref, without a 50 MB work clone.
type upstream struct {
	dir    string // the bench's work directory
	home   string // HOME of every git run
	bare   string // srv/repo.git
	url    string // git://127.0.0.1:PORT/repo.git
	ref    string // refs/heads/main
	files  int
	size   int
	rng    *rand.Rand
	daemon *benchkit.Proc
	// last is the path and content of the file the newest commit changed:
	// the check that a published tree is the right one.
	lastPath string
	lastData []byte
	head     string
}

// gitEnv is the environment of every git the bench and the baseline run.
func gitEnv(home string) []string {
	return []string{"HOME=" + home, "XDG_CONFIG_HOME=" + filepath.Join(home, ".config"),
		"GIT_CONFIG_NOSYSTEM=1", "LC_ALL=C", "PATH=" + os.Getenv("PATH")}
}

func (u *upstream) git(stdin io.Reader, args ...string) (string, error) {
	cmd := exec.Command("git", args...)
	cmd.Env = gitEnv(u.home)
	cmd.Stdin = stdin
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("git %s: %w: %s", strings.Join(args, " "), err, bytes.TrimSpace(errb.Bytes()))
	}
	return strings.TrimSpace(out.String()), nil
}

// filePath names file i: 100 files per directory, as a site's tree has.
func filePath(i int) string { return fmt.Sprintf("d%03d/f%05d.bin", i/100, i) }

// content is size pseudo-random bytes: incompressible, so zlib in git's
// objects and packs gains nothing, as with images or minified assets.
func (u *upstream) content() []byte {
	b := make([]byte, u.size)
	for i := 0; i+8 <= len(b); i += 8 {
		v := u.rng.Uint64()
		for j := range 8 {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	for i := len(b) &^ 7; i < len(b); i++ {
		b[i] = byte(u.rng.Uint32())
	}
	return b
}

// newUpstream makes the bare repository: one commit adding files files of
// size bytes, then commits-1 commits changing one file each, in a single
// git fast-import stream (seconds, where 500 git commits of a 50 MB tree
// would take minutes).
func newUpstream(dir string, files, size, commits int, seed uint64) (*upstream, error) {
	u := &upstream{dir: dir, home: filepath.Join(dir, "home"), bare: filepath.Join(dir, "srv", "repo.git"),
		ref: "refs/heads/main", files: files, size: size, rng: rand.New(rand.NewPCG(seed, 0x67697462656e6368))}
	if err := os.MkdirAll(u.home, 0o755); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(u.home, ".gitconfig"), []byte(gitConfig), 0o644); err != nil {
		return nil, err
	}
	if _, err := u.git(nil, "init", "-q", "--bare", "-b", "main", u.bare); err != nil {
		return nil, err
	}
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		_, err := u.git(pr, "-C", u.bare, "fast-import", "--quiet", "--force")
		pr.CloseWithError(err)
		done <- err
	}()
	w := bufio.NewWriterSize(pw, 1<<20)
	when := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	for c := range commits {
		fmt.Fprintf(w, "commit %s\ncommitter gitbench <gitbench@example.invalid> %d +0000\n", u.ref, when+int64(c)*60)
		msg := fmt.Sprintf("commit %d", c)
		fmt.Fprintf(w, "data %d\n%s\n", len(msg), msg)
		if c == 0 {
			for i := range files {
				u.lastPath, u.lastData = filePath(i), u.content()
				writeInline(w, u.lastPath, u.lastData)
			}
		} else {
			u.lastPath, u.lastData = filePath(u.rng.IntN(files)), u.content()
			writeInline(w, u.lastPath, u.lastData)
		}
		w.WriteString("\n")
	}
	err := w.Flush()
	pw.CloseWithError(err)
	if ferr := <-done; ferr != nil {
		return nil, ferr
	}
	if err != nil {
		return nil, err
	}
	var rerr error
	u.head, rerr = u.git(nil, "-C", u.bare, "rev-parse", u.ref)
	return u, rerr
}

func writeInline(w *bufio.Writer, path string, data []byte) {
	fmt.Fprintf(w, "M 100644 inline %s\ndata %d\n", path, len(data))
	w.Write(data)
	w.WriteString("\n")
}

// push commits a change of one file on top of the ref. It returns the new
// commit and the moment fast-import exited, with the ref moved: the moment
// a git push would return. The hash comes from fast-import's marks file,
// so nothing runs between that moment and the bench's first look.
func (u *upstream) push(n int) (string, time.Time, error) {
	path, data := filePath(u.rng.IntN(u.files)), u.content()
	var b bytes.Buffer
	w := bufio.NewWriter(&b)
	msg := fmt.Sprintf("push %d", n)
	fmt.Fprintf(w, "commit %s\nmark :1\ncommitter gitbench <gitbench@example.invalid> %d +0000\ndata %d\n%s\nfrom %s^0\n",
		u.ref, time.Now().Unix(), len(msg), msg, u.ref)
	writeInline(w, path, data)
	w.Flush()
	marks := filepath.Join(u.dir, "marks")
	if _, err := u.git(&b, "-C", u.bare, "fast-import", "--quiet", "--export-marks="+marks); err != nil {
		return "", time.Time{}, err
	}
	pushed := time.Now()
	m, err := os.ReadFile(marks)
	if err != nil {
		return "", time.Time{}, err
	}
	hash, ok := strings.CutPrefix(strings.TrimSpace(string(m)), ":1 ")
	if !ok || len(hash) != 40 {
		return "", time.Time{}, fmt.Errorf("fast-import marks: %q", m)
	}
	u.lastPath, u.lastData, u.head = path, data, hash
	return hash, pushed, nil
}

// serve starts git-daemon on a free loopback port, as internal/gittest
// does: env -i execs git-daemon itself in place (`git daemon` would fork it
// and the pid the bench stops would not be the server's).
func (u *upstream) serve() error {
	execPath, err := u.git(nil, "--exec-path")
	if err != nil {
		return err
	}
	var last error
	for range 3 { // another process may take the free port first
		addr, err := benchkit.FreeAddr("tcp")
		if err != nil {
			return err
		}
		_, port, _ := net.SplitHostPort(addr)
		args := append([]string{"-i"}, gitEnv(u.home)...)
		args = append(args, filepath.Join(execPath, "git-daemon"), "--export-all", "--reuseaddr",
			"--base-path="+filepath.Dir(u.bare), "--listen=127.0.0.1", "--port="+port, "--informative-errors")
		p, err := benchkit.Start("git-daemon", filepath.Join(u.dir, "git-daemon.log"), "env", args...)
		if err != nil {
			return err
		}
		if last = p.WaitTCP(addr); last != nil {
			p.Stop()
			continue
		}
		u.daemon, u.url = p, "git://"+addr+"/"+filepath.Base(u.bare)
		_, err = u.git(nil, "ls-remote", u.url, u.ref)
		return err
	}
	return last
}

func (u *upstream) stop() {
	if u.daemon != nil {
		u.daemon.Stop()
	}
}
