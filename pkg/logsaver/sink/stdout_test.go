package sink

import (
	"bytes"
	"errors"
	"testing"
)

func TestStdout(t *testing.T) {
	var buf bytes.Buffer
	s, err := Parse("stdout", Options{Stdout: &buf})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.Name() != "stdout" {
		t.Errorf("Name = %q", s.Name())
	}
	b := makeBatch(0, 3, 100)
	if err := s.Send(t.Context(), b); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), b.NDJSON) {
		t.Errorf("wrote %q, want %q", buf.Bytes(), b.NDJSON)
	}
	st := s.(StatsSource).Stats()
	if st.Acked != 1 || st.Records != 3 || st.Bytes != uint64(len(b.NDJSON)) {
		t.Errorf("Stats = %+v", st)
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("broken pipe") }

func TestStdoutWriteError(t *testing.T) {
	s := NewWriter(failWriter{}, "")
	if err := s.Send(t.Context(), makeBatch(0, 1, 100)); err == nil {
		t.Fatal("Send: want error")
	}
	if st := s.Stats(); st.Failed != 1 || st.Acked != 0 {
		t.Errorf("Stats = %+v", st)
	}
}
