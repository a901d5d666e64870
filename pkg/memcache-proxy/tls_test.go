package memcacheproxy

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
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
