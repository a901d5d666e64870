package memcacheproxy

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/podkit/podkit/internal/memcachedtest"
)

// selfSigned writes a certificate for 127.0.0.1 and its key; the
// certificate is its own CA.
func selfSigned(t *testing.T, dir, name string) (cert, key string) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	cert, key = filepath.Join(dir, name+".crt"), filepath.Join(dir, name+".key")
	if err := os.WriteFile(cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(key, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	return cert, key
}

// Debian's memcached speaks TLS (-Z): the proxy talks to it verified by
// the given CA, and refuses a server whose certificate it cannot verify.
func TestServerTLS(t *testing.T) {
	dir := t.TempDir()
	cert, key := selfSigned(t, dir, "memcached")
	other, _ := selfSigned(t, dir, "other")
	m := memcachedtest.StartWith(t, "", "-Z", "-o", "ssl_chain_cert="+cert+",ssl_key="+key)

	good, err := LoadTLS(TLSFiles{CAFile: cert})
	if err != nil {
		t.Fatal(err)
	}
	paddr, _ := startWith(t, testPool(t, 2*time.Second, m.Addr), func(c *Config) { c.TLS = good })
	c := dial(t, paddr)
	c.roundTrip("set k 0 0 2\r\nok\r\n", "STORED\r\n")
	c.roundTrip("get k\r\n", "VALUE k 0 2\r\nok\r\nEND\r\n")

	wrong, err := LoadTLS(TLSFiles{CAFile: other})
	if err != nil {
		t.Fatal(err)
	}
	paddr, _ = startWith(t, testPool(t, 2*time.Second, m.Addr), func(c *Config) { c.TLS = wrong })
	c = dial(t, paddr)
	c.send("get k\r\n")
	line, err := c.r.ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "SERVER_ERROR ") {
		t.Fatalf("unverifiable server: %q, %v", line, err)
	}
}

func TestLoadTLSErrors(t *testing.T) {
	dir := t.TempDir()
	junk := filepath.Join(dir, "junk.pem")
	os.WriteFile(junk, []byte("not pem"), 0o600)
	for _, f := range []TLSFiles{
		{CAFile: filepath.Join(dir, "missing.pem")},
		{CAFile: junk},
		{CertFile: junk},
		{CertFile: junk, KeyFile: junk},
	} {
		if _, err := LoadTLS(f); err == nil {
			t.Errorf("LoadTLS(%+v): no error", f)
		}
	}
}

func tlsProxy(t *testing.T) (string, *Proxy) {
	dir := t.TempDir()
	cert, key := selfSigned(t, dir, "memcached")
	m := memcachedtest.StartWith(t, "", "-Z", "-o", "ssl_chain_cert="+cert+",ssl_key="+key)
	good, err := LoadTLS(TLSFiles{CAFile: cert})
	if err != nil {
		t.Fatal(err)
	}
	return startWith(t, testPool(t, 2*time.Second, m.Addr), func(c *Config) { c.TLS = good; c.Loops = 1 })
}

// pipeline sends batches of gets from several clients at once and checks
// every answer line with ok; errors go to t.Error (other goroutines).
func pipeline(t *testing.T, addr string, clients, rounds int, setup string, ok func(line string) bool) {
	var wg sync.WaitGroup
	for range clients {
		wg.Go(func() {
			c, err := net.DialTimeout("tcp", addr, 5*time.Second)
			if err != nil {
				t.Error(err)
				return
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(30 * time.Second))
			r := bufio.NewReader(c)
			if _, err := io.WriteString(c, setup); err != nil {
				t.Error(err)
				return
			}
			for range strings.Count(setup, "\r\n") / 2 {
				if line, err := r.ReadString('\n'); err != nil || line != "STORED\r\n" {
					t.Errorf("setup: %q %v", line, err)
					return
				}
			}
			batch := strings.Repeat("get k\r\n", 50)
			for range rounds {
				if _, err := io.WriteString(c, batch); err != nil {
					t.Error(err)
					return
				}
				for got := 0; got < 50; {
					line, err := r.ReadString('\n')
					if err != nil || !ok(line) {
						t.Errorf("got %q, %v", line, err)
						return
					}
					if strings.HasPrefix(line, "END") || strings.HasPrefix(line, "SERVER_ERROR") {
						got++
					}
				}
			}
		})
	}
	wg.Wait()
}

// TLS servers' answers are finished by their connections' goroutines
// while the loop answers the same clients.
func TestTLSPipelined(t *testing.T) {
	paddr, _ := tlsProxy(t)
	pipeline(t, paddr, 4, 50, "set k 0 0 2\r\nok\r\n", func(line string) bool {
		return line == "VALUE k 0 2\r\n" || line == "ok\r\n" || line == "END\r\n"
	})
}

// A TLS server's connections reset (an address change) while answers
// arrive: every request gets its answer or SERVER_ERROR, nothing crashes.
func TestTLSResetWhileAnswering(t *testing.T) {
	paddr, p := tlsProxy(t)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(200 * time.Microsecond):
			}
			for _, b := range p.st.Load().backends {
				b.reset(errResolved)
			}
		}
	})
	pipeline(t, paddr, 4, 50, "", func(line string) bool {
		return line == "END\r\n" || strings.HasPrefix(line, "SERVER_ERROR")
	})
	close(stop)
	wg.Wait()
}
