package s3

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var urlTests = []struct {
	url  string
	want string // Location as bucket|prefix|endpoint|region|pathstyle, or "error: substring"
}{
	{"s3://logs", "logs||https://s3.us-east-1.amazonaws.com|us-east-1|false"},
	{"s3://logs/app", "logs|app/|https://s3.us-east-1.amazonaws.com|us-east-1|false"},
	{"s3://logs/app/x/?region=eu-west-1", "logs|app/x/|https://s3.eu-west-1.amazonaws.com|eu-west-1|false"},
	{"s3://logs/p?endpoint=http://127.0.0.1:9000&region=us-east-1", "logs|p/|http://127.0.0.1:9000|us-east-1|true"},
	{"s3://logs/p?endpoint=http://localhost:9000", "logs|p/|http://localhost:9000|us-east-1|true"},
	{"s3://logs/p?endpoint=http://minio:9000&path-style=1", "logs|p/|http://minio:9000|us-east-1|true"},
	{"s3://logs/p?endpoint=http://127.0.0.1:9000&path-style=0", "logs|p/|http://127.0.0.1:9000|us-east-1|false"},
	{"s3://my.logs/p", "my.logs|p/|https://s3.us-east-1.amazonaws.com|us-east-1|true"},
	{"s3://logs/p?endpoint=https://gw.example/base/", "logs|p/|https://gw.example/base|us-east-1|false"},
	{"http://logs/p", "error: scheme"},
	{"s3://k:secret@logs/p", "error: credentials"},
	{"s3://logs/p?endpoint=http://k:secret@host", "error: credentials"},
	{"s3://logs/p?endpoint=ftp://host", "error: endpoint"},
	{"s3://logs/p?endpoint=host:9000", "error: endpoint"},
	{"s3://lo/p", "error: bucket"},
	{"s3:///p", "error: bucket"},
	{"s3://logs/p?color=red", "error: unknown option"},
	{"s3://logs/p?region=a&region=b", "error: given 2 times"},
	{"s3://logs/p?path-style=yes", "error: path-style"},
	{"s3://logs/p?region=", "error: region"},
	{"s3://logs/p#frag", "error: want s3://"},
}

func (loc Location) String() string {
	return fmt.Sprintf("%s|%s|%s|%s|%v", loc.Bucket, loc.Prefix, loc.Endpoint, loc.Region, loc.PathStyle)
}

func TestParseURL(t *testing.T) {
	for _, tc := range urlTests {
		t.Run(tc.url, func(t *testing.T) {
			loc, err := ParseURL(tc.url)
			if want, ok := strings.CutPrefix(tc.want, "error: "); ok {
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Fatalf("err = %v, want one containing %q", err, want)
				}
				if strings.Contains(err.Error(), "secret") {
					t.Errorf("error shows the secret: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := loc.String(); got != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}
}

func TestObjectURL(t *testing.T) {
	for _, tc := range []struct{ url, key, want string }{
		{"s3://logs/p?endpoint=http://127.0.0.1:9000", "p/a b+c.gz", "http://127.0.0.1:9000/logs/p/a%20b%2Bc.gz"},
		{"s3://logs?endpoint=http://127.0.0.1:9000", "", "http://127.0.0.1:9000/logs"},
		{"s3://logs/p", "p/k", "https://logs.s3.us-east-1.amazonaws.com/p/k"},
		{"s3://logs/p?endpoint=https://gw.example/base", "k", "https://logs.gw.example/base/k"},
	} {
		loc, err := ParseURL(tc.url)
		if err != nil {
			t.Fatal(err)
		}
		if got := loc.objectURL(tc.key).String(); got != tc.want {
			t.Errorf("%s key %q: %s, want %s", tc.url, tc.key, got, tc.want)
		}
	}
}

func FuzzParseURL(f *testing.F) {
	for _, tc := range urlTests {
		f.Add(tc.url)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		loc, err := ParseURL(raw)
		if err != nil {
			return
		}
		if !validBucket(loc.Bucket) || loc.Endpoint == nil || loc.Region == "" {
			t.Fatalf("%q parsed to %s", raw, loc)
		}
		if loc.Prefix != "" && !strings.HasSuffix(loc.Prefix, "/") {
			t.Fatalf("prefix %q lacks its /", loc.Prefix)
		}
		_ = loc.objectURL("k").String()
	})
}

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

const credsFile = `# comment
[default]
aws_access_key_id = AKIDDEFAULT
aws_secret_access_key = defaultsecret

; another
[ci]
aws_access_key_id=AKIDCI
aws_secret_access_key=cisecret
aws_session_token = citoken
region = eu-west-1

[broken]
aws_access_key_id = AKIDBROKEN
`

func TestLoadCredentials(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "credentials")
	if err := os.WriteFile(file, []byte(credsFile), 0o600); err != nil {
		t.Fatal(err)
	}
	home := t.TempDir()
	if err := os.MkdirAll(filepath.Join(home, ".aws"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(home, ".aws", "credentials"), []byte(credsFile), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		env  map[string]string
		want string // id|secret|token or "error: substring"
	}{
		{"env", map[string]string{"AWS_ACCESS_KEY_ID": "AKIDENV", "AWS_SECRET_ACCESS_KEY": "envsecret", "AWS_SESSION_TOKEN": "tok", "AWS_SHARED_CREDENTIALS_FILE": file}, "AKIDENV|envsecret|tok"},
		{"env id only", map[string]string{"AWS_ACCESS_KEY_ID": "AKIDENV"}, "error: AWS_SECRET_ACCESS_KEY is not"},
		{"env secret only", map[string]string{"AWS_SECRET_ACCESS_KEY": "envsecret"}, "error: AWS_ACCESS_KEY_ID is not"},
		{"file default", map[string]string{"AWS_SHARED_CREDENTIALS_FILE": file}, "AKIDDEFAULT|defaultsecret|"},
		{"file profile", map[string]string{"AWS_SHARED_CREDENTIALS_FILE": file, "AWS_PROFILE": "ci"}, "AKIDCI|cisecret|citoken"},
		{"home", map[string]string{"HOME": home, "AWS_PROFILE": "ci"}, "AKIDCI|cisecret|citoken"},
		{"no profile", map[string]string{"AWS_SHARED_CREDENTIALS_FILE": file, "AWS_PROFILE": "prod"}, "error: no profile [prod]"},
		{"incomplete profile", map[string]string{"AWS_SHARED_CREDENTIALS_FILE": file, "AWS_PROFILE": "broken"}, "error: lacks"},
		{"no file", map[string]string{"AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "nope")}, "error: does not exist"},
		{"nothing", map[string]string{}, "error: no credentials"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := LoadCredentials(env(tc.env))
			if want, ok := strings.CutPrefix(tc.want, "error: "); ok {
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Fatalf("err = %v, want one containing %q", err, want)
				}
				for _, secret := range []string{"envsecret", "defaultsecret", "cisecret", "citoken"} {
					if strings.Contains(err.Error(), secret) {
						t.Errorf("error shows a secret: %v", err)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := c.AccessKeyID + "|" + c.SecretAccessKey + "|" + c.SessionToken; got != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}
}

func TestCredentialsRedacted(t *testing.T) {
	c := Credentials{AccessKeyID: "AKIDX", SecretAccessKey: "sekrit", SessionToken: "tokn"}
	var logged strings.Builder
	slog.New(slog.NewTextHandler(&logged, nil)).Info("x", "creds", c)
	for _, s := range []string{fmt.Sprint(c), fmt.Sprintf("%v %+v %#v %s", c, c, c, c), logged.String()} {
		for _, secret := range []string{"AKIDX", "sekrit", "tokn"} {
			if strings.Contains(s, secret) {
				t.Errorf("%q shows %q", s, secret)
			}
		}
	}
}

func FuzzParseCredentials(f *testing.F) {
	f.Add([]byte(credsFile), "default")
	f.Add([]byte(credsFile), "ci")
	f.Add([]byte("[x\naws_access_key_id=1"), "x")
	f.Fuzz(func(t *testing.T, data []byte, profile string) {
		c, err := parseCredentials(data, profile)
		if err != nil {
			for _, secret := range []string{c.SecretAccessKey, c.SessionToken} {
				if secret != "" {
					t.Fatalf("error %v with credentials", err)
				}
			}
			return
		}
		if c.AccessKeyID == "" || c.SecretAccessKey == "" {
			t.Fatalf("incomplete credentials without an error")
		}
	})
}
