package s3

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
)

// Credentials sign requests. They print and log as REDACTED: the secret
// never reaches a log line, an error or Name().
type Credentials struct {
	AccessKeyID     string
	SecretAccessKey string
	SessionToken    string // "" unless temporary credentials
}

// String hides the secret (and the key id, which names an account).
func (Credentials) String() string { return "s3.Credentials{REDACTED}" }

// GoString is String, for %#v.
func (c Credentials) GoString() string { return c.String() }

// LogValue is REDACTED, for slog.
func (Credentials) LogValue() slog.Value { return slog.StringValue("REDACTED") }

// maxCredentialsFile bounds what LoadCredentials reads.
const maxCredentialsFile = 1 << 20

// LoadCredentials finds credentials the way the AWS CLI does, in part:
// AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN, else
// the profile AWS_PROFILE (default "default") of the shared credentials
// file AWS_SHARED_CREDENTIALS_FILE (default ~/.aws/credentials). getenv
// is os.Getenv outside tests. Instance roles, SSO and the config file's
// credential_process are not supported. Errors never hold a key.
func LoadCredentials(getenv func(string) string) (Credentials, error) {
	id, secret := getenv("AWS_ACCESS_KEY_ID"), getenv("AWS_SECRET_ACCESS_KEY")
	switch {
	case id != "" && secret != "":
		return Credentials{AccessKeyID: id, SecretAccessKey: secret, SessionToken: getenv("AWS_SESSION_TOKEN")}, nil
	case id != "":
		return Credentials{}, errors.New("s3: credentials: AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not")
	case secret != "":
		return Credentials{}, errors.New("s3: credentials: AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not")
	}
	file := getenv("AWS_SHARED_CREDENTIALS_FILE")
	if file == "" {
		home := getenv("HOME")
		if home == "" {
			return Credentials{}, errors.New("s3: no credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_SHARED_CREDENTIALS_FILE")
		}
		file = filepath.Join(home, ".aws", "credentials")
	}
	profile := getenv("AWS_PROFILE")
	if profile == "" {
		profile = "default"
	}
	f, err := os.Open(file)
	if errors.Is(err, os.ErrNotExist) {
		return Credentials{}, fmt.Errorf("s3: no credentials: AWS_ACCESS_KEY_ID is not set and %s does not exist", file)
	}
	if err != nil {
		return Credentials{}, fmt.Errorf("s3: credentials: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxCredentialsFile+1))
	if err != nil {
		return Credentials{}, fmt.Errorf("s3: credentials: read %s: %w", file, err)
	}
	if len(data) > maxCredentialsFile {
		return Credentials{}, fmt.Errorf("s3: credentials: %s is larger than %d bytes", file, maxCredentialsFile)
	}
	c, err := parseCredentials(data, profile)
	if err != nil {
		return Credentials{}, fmt.Errorf("s3: credentials: %s: %w", file, err)
	}
	return c, nil
}

// parseCredentials reads profile from an INI-style shared credentials
// file: [profile] sections of `key = value` lines, # and ; comments. A
// repeated section or key: the last one wins, as in the AWS CLI.
func parseCredentials(data []byte, profile string) (Credentials, error) {
	var c Credentials
	found := false
	in := false
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, maxCredentialsFile+1)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		if line[0] == '[' {
			end := strings.IndexByte(line, ']')
			if end < 0 {
				return Credentials{}, fmt.Errorf("line %d: unterminated section header", n)
			}
			in = strings.TrimSpace(line[1:end]) == profile
			found = found || in
			continue
		}
		name, value, ok := strings.Cut(line, "=")
		if !ok {
			return Credentials{}, fmt.Errorf("line %d: want key = value", n) // the line may hold a secret: not shown
		}
		if !in {
			continue
		}
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "aws_access_key_id":
			c.AccessKeyID = strings.TrimSpace(value)
		case "aws_secret_access_key":
			c.SecretAccessKey = strings.TrimSpace(value)
		case "aws_session_token":
			c.SessionToken = strings.TrimSpace(value)
		}
	}
	if err := sc.Err(); err != nil {
		return Credentials{}, err
	}
	switch {
	case !found:
		return Credentials{}, fmt.Errorf("no profile [%s]", profile)
	case c.AccessKeyID == "" || c.SecretAccessKey == "":
		return Credentials{}, fmt.Errorf("profile [%s] lacks aws_access_key_id or aws_secret_access_key", profile)
	}
	return c, nil
}
