// Package logsaver is podkit logsaver: the paper's first sidecar example
// (Burns & Oppenheimer 2016, section 4.1). The app writes log files to a
// shared volume; the sidecar ships every line to storage (files, HTTP, S3,
// syslog, stdout) and loses none: at rotation, across a kill -9, or while a
// destination is down. It replaces fluent-bit, Vector, promtail and
// filebeat used as a log sidecar.
//
// Each sink has its own pipeline: a tail.Cursor reading the files from that
// sink's checkpoint, a format.Decoder per file, batches encoded as NDJSON,
// and a sender that retries until the sink acknowledges. Only then does
// the sink's cursor move, and the checkpoint (fsynced, renamed into place)
// follows. A slow or failing sink holds back nobody else; its reading
// pauses once MaxBufferBytes of its batches wait, and the files are the
// buffer.
//
// The parts are libraries of their own: tail (finding and following
// files), checkpoint, format (raw, json, cri, docker, multiline), record
// (the record, NDJSON and the Sink contract), sink (file, http, stdout),
// s3 and syslog.
package logsaver
