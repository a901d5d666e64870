package publish_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/podkit/podkit/pkg/gitsync/publish"
)

func Example() {
	root, _ := os.MkdirTemp("", "publish-example")
	defer os.RemoveAll(root)
	p := &publish.Publisher{Root: root, Link: "current", StaleTimeout: time.Minute}
	defer p.Close()
	file := func(path, content string) publish.Entry {
		return publish.Entry{Path: path, Mode: publish.Regular, Size: int64(len(content)), Hash: content,
			Open: func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(content)), nil }}
	}
	if _, err := p.Publish(context.Background(), "c1", publish.Snapshot{file("index.html", "v1")}); err != nil {
		log.Fatal(err)
	}
	b, _ := os.ReadFile(filepath.Join(root, "current", "index.html"))
	fmt.Println(string(b))
	// Output: v1
}
