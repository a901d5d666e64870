package s3

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// The example of AWS's "Signature Calculations for the Authorization
// Header: Transferring Payload in a Single Chunk" page (GET Object): its
// canonical request, string to sign and signature, published for signer
// authors to check against.
func TestSignAWSExampleGetObject(t *testing.T) {
	creds := Credentials{AccessKeyID: "AKIAIOSFODNN7EXAMPLE", SecretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}
	at := time.Date(2013, 5, 24, 0, 0, 0, 0, time.UTC)
	req, err := http.NewRequest(http.MethodGet, "https://examplebucket.s3.amazonaws.com/test.txt", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Range", "bytes=0-9")
	sign(req, creds, "us-east-1", "s3", emptySHA256, at)

	creq, signed := canonicalRequest(req, emptySHA256)
	wantCreq := strings.Join([]string{
		"GET",
		"/test.txt",
		"",
		"host:examplebucket.s3.amazonaws.com",
		"range:bytes=0-9",
		"x-amz-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
		"x-amz-date:20130524T000000Z",
		"",
		"host;range;x-amz-content-sha256;x-amz-date",
		"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
	}, "\n")
	if creq != wantCreq {
		t.Errorf("canonical request:\n%s\nwant:\n%s", creq, wantCreq)
	}
	wantSTS := "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n" +
		"7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972"
	if sts := stringToSign(at, "20130524/us-east-1/s3/aws4_request", creq); sts != wantSTS {
		t.Errorf("string to sign:\n%s\nwant:\n%s", sts, wantSTS)
	}
	want := "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, " +
		"SignedHeaders=" + signed + ", Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
	if got := req.Header.Get("Authorization"); got != want {
		t.Errorf("Authorization:\n%s\nwant:\n%s", got, want)
	}
}

// The same page's PUT Object example: a '$' in the key (encoded once, as
// %24), a Date and an x-amz-storage-class header signed too.
func TestSignAWSExamplePutObject(t *testing.T) {
	creds := Credentials{AccessKeyID: "AKIAIOSFODNN7EXAMPLE", SecretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}
	at := time.Date(2013, 5, 24, 0, 0, 0, 0, time.UTC)
	req, err := http.NewRequest(http.MethodPut, "https://examplebucket.s3.amazonaws.com/test$file.text", strings.NewReader("Welcome to Amazon S3."))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Date", "Fri, 24 May 2013 00:00:00 GMT")
	req.Header.Set("X-Amz-Storage-Class", "REDUCED_REDUNDANCY")
	sign(req, creds, "us-east-1", "s3", "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072", at)
	auth := req.Header.Get("Authorization")
	for _, want := range []string{
		"SignedHeaders=date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class,",
		"Signature=98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd",
	} {
		if !strings.Contains(auth, want) {
			t.Errorf("Authorization %q lacks %q", auth, want)
		}
	}
}

func TestEscape(t *testing.T) {
	for _, tc := range []struct{ in, path, query string }{
		{"a/b c", "a/b%20c", "a%2Fb%20c"},
		{"A-Z_a.z~0", "A-Z_a.z~0", "A-Z_a.z~0"},
		{"ü+=&", "%C3%BC%2B%3D%26", "%C3%BC%2B%3D%26"},
	} {
		if got := escape(tc.in, false); got != tc.path {
			t.Errorf("escape(%q, path) = %q, want %q", tc.in, got, tc.path)
		}
		if got := escape(tc.in, true); got != tc.query {
			t.Errorf("escape(%q, query) = %q, want %q", tc.in, got, tc.query)
		}
	}
	if got := canonicalQuery("prefix=a/b&list-type=2&a=2&a=1"); got != "a=1&a=2&list-type=2&prefix=a%2Fb" {
		t.Errorf("canonicalQuery = %q", got)
	}
}
