package s3_test

import (
	"context"
	"log"
	"time"

	"github.com/podkit/podkit/pkg/logsaver/record"
	"github.com/podkit/podkit/pkg/logsaver/s3"
)

func ExampleNew() {
	sink, err := s3.New(s3.Config{
		URL: "s3://logs/web/?endpoint=http://127.0.0.1:7070&region=us-east-1",
		// nil Credentials: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or ~/.aws/credentials.
		Credentials: &s3.Credentials{AccessKeyID: "id", SecretAccessKey: "secret"},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer sink.Close()
	r := record.Record{Line: []byte("hello"), File: "/var/log/app.log", Time: time.Now()}
	b := &record.Batch{Records: []record.Record{r}, NDJSON: record.AppendNDJSON(nil, &r, nil)}
	if err := sink.Send(context.Background(), b); err != nil {
		log.Printf("%s: %v", sink.Name(), err) // retryable unless errors.Is(err, s3.ErrPermanent)
	}
}
