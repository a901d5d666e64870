package cli

// Default admin addresses: one port per pattern, so several podkit containers
// can share one pod network namespace without flags. The README has this table.
const (
	AdminHealth         = "127.0.0.1:9701"
	AdminRun            = "127.0.0.1:9702"
	AdminLogsaver       = "127.0.0.1:9703"
	AdminGitsync        = "127.0.0.1:9704"
	AdminMemcacheProxy  = "127.0.0.1:9705"
	AdminMetricsAdapter = "127.0.0.1:9706"
	AdminElector        = "127.0.0.1:9707"
	AdminWorkqueue      = "127.0.0.1:9708"
	AdminScatterGather  = "127.0.0.1:9709"
)
