package gittest

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// SSH is what a client needs to fetch from ServeSSH.
type SSH struct {
	URL        string // ssh://git@127.0.0.1:PORT/NAME
	KeyFile    string // the client's private key, OpenSSH PEM, accepted by the server
	KnownHosts string // a known_hosts file naming the server's host key
	OtherKey   string // a private key the server refuses
}

// ServeSSH serves the test's repositories over SSH on a loopback port until
// the test ends: a Go SSH server (no sshd is installed here) that accepts
// one client key and runs the real `git upload-pack` for the exec request
// a git client sends ("git-upload-pack '/NAME'"), as sshd running git's
// shell would. Pushes are refused.
func ServeSSH(t testing.TB, r *Repo) SSH {
	t.Helper()
	dir := t.TempDir()
	hostPub, hostKey := newKey(t, "")
	clientPub, _ := newKey(t, filepath.Join(dir, "id_ed25519"))
	_, _ = newKey(t, filepath.Join(dir, "other_ed25519"))
	cfg := &ssh.ServerConfig{PublicKeyCallback: func(_ ssh.ConnMetadata, k ssh.PublicKey) (*ssh.Permissions, error) {
		if string(k.Marshal()) == string(clientPub.Marshal()) {
			return nil, nil
		}
		return nil, errors.New("unknown key")
	}}
	cfg.AddHostKey(hostKey)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() { r.serveSSH(c, cfg) })
		}
	})
	known := filepath.Join(dir, "known_hosts")
	line := knownhosts.Line([]string{knownhosts.Normalize(ln.Addr().String())}, hostPub)
	if err := os.WriteFile(known, []byte(line+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return SSH{URL: "ssh://git@" + ln.Addr().String() + "/" + r.Name, KeyFile: filepath.Join(dir, "id_ed25519"),
		KnownHosts: known, OtherKey: filepath.Join(dir, "other_ed25519")}
}

// newKey makes an ed25519 key; with a file name it writes the private
// key there in OpenSSH format.
func newKey(t testing.TB, file string) (ssh.PublicKey, ssh.Signer) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	if file != "" {
		block, err := ssh.MarshalPrivateKey(priv, "")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(file, pem.EncodeToMemory(block), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	sp, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return sp, signer
}

func (r *Repo) serveSSH(c net.Conn, cfg *ssh.ServerConfig) {
	defer c.Close()
	_, chans, reqs, err := ssh.NewServerConn(c, cfg)
	if err != nil {
		return
	}
	go ssh.DiscardRequests(reqs)
	for nc := range chans {
		if nc.ChannelType() != "session" {
			nc.Reject(ssh.UnknownChannelType, "session only")
			continue
		}
		ch, creqs, err := nc.Accept()
		if err != nil {
			return
		}
		go r.session(ch, creqs)
	}
}

// session runs the first exec request of a channel.
func (r *Repo) session(ch ssh.Channel, reqs <-chan *ssh.Request) {
	defer ch.Close()
	for req := range reqs {
		if req.Type != "exec" {
			req.Reply(req.Type == "env", nil)
			continue
		}
		var p struct{ Command string }
		if err := ssh.Unmarshal(req.Payload, &p); err != nil {
			req.Reply(false, nil)
			return
		}
		req.Reply(true, nil)
		code := r.uploadPack(ch, p.Command)
		ch.SendRequest("exit-status", false, ssh.Marshal(struct{ Status uint32 }{code}))
		return
	}
}

// uploadPack runs `git upload-pack` on the repository the command names,
// within the test's server directory.
func (r *Repo) uploadPack(ch ssh.Channel, command string) uint32 {
	verb, arg, _ := strings.Cut(command, " ")
	name := path.Clean("/" + strings.Trim(arg, "'\""))
	if verb != "git-upload-pack" || strings.Contains(name, "..") {
		fmt.Fprintf(ch.Stderr(), "only git-upload-pack is served, got %q\n", command)
		return 128
	}
	cmd := exec.Command("git", "upload-pack", filepath.Join(r.root.srv, filepath.FromSlash(name)))
	cmd.Env = r.env
	cmd.Stdin, cmd.Stdout, cmd.Stderr = ch, ch, ch.Stderr()
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		return uint32(ee.ExitCode())
	case err != nil:
		io.WriteString(ch.Stderr(), err.Error()+"\n")
		return 128
	}
	return 0
}
