package format

// Reason says why a line was not in the configured format. Such a line is
// never dropped: it is emitted as a raw record (no fields) and counted, so
// a metric podkit_logsaver_rejected_total{reason} has a bounded label set.
type Reason uint8

// The reasons, in Stats.Malformed order.
const (
	ReasonJSONInvalid   Reason = iota // json: not valid JSON
	ReasonJSONNotObject               // json: valid JSON, but not an object
	ReasonCRISyntax                   // cri: fewer than the four fields
	ReasonCRITime                     // cri: timestamp with characters outside RFC 3339
	ReasonCRIStream                   // cri: stream not stdout or stderr
	ReasonCRITag                      // cri: tag not P or F
	ReasonDockerJSON                  // docker: not a valid JSON object
	ReasonDockerLog                   // docker: no "log" string member
	ReasonDockerStream                // docker: "stream" present but not stdout or stderr
	NumReasons                        // the number of reasons
)

var reasonNames = [NumReasons]string{
	"json_invalid", "json_not_object",
	"cri_syntax", "cri_time", "cri_stream", "cri_tag",
	"docker_json", "docker_log", "docker_stream",
}

// String returns the metric label value, e.g. "cri_tag".
func (r Reason) String() string {
	if r < NumReasons {
		return reasonNames[r]
	}
	return "unknown"
}

// Stats are a Decoder's cumulative counters. The Decoder is not safe for
// concurrent use, so its owner reads Stats and adds the deltas to metrics.
type Stats struct {
	Lines          uint64             // source lines fed
	Records        uint64             // records emitted
	Joined         uint64             // records made of two or more source lines
	Truncated      uint64             // records whose message was cut at MaxBytes
	TruncatedBytes uint64             // message bytes dropped by those cuts
	Splits         uint64             // multiline entries ended early by MaxLines or MaxBytes (nothing dropped)
	TimedOut       uint64             // pending entries emitted by Flush after Timeout
	Interleaved    uint64             // partial lines ended early by a line of another stream
	Malformed      [NumReasons]uint64 // lines kept raw, by reason
}
