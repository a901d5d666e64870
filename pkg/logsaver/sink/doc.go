// Package sink holds podkit logsaver's built-in destinations: NDJSON files
// in a directory (file:///DIR), HTTP POSTs (http://, https://) and stdout.
// logsaver is the paper's first sidecar example (Burns & Oppenheimer 2016,
// section 4.1); these sinks replace the file, http and stdout outputs of
// fluent-bit, Vector and promtail.
//
// Every sink implements record.Sink: Send returns nil only once the batch
// is durable at the destination (written and fsynced for files, a 2xx for
// HTTP, written for stdout), so the caller may move that sink's checkpoint.
// Parse builds a sink from a --sink URL; other packages (s3, syslog) plug
// their schemes in through Options.Schemes.
package sink
