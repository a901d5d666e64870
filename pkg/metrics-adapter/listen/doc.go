// Package listen receives statsd packets over UDP, TCP and unixgram: the
// network input of podkit metrics-adapter, the adapter pattern (Burns &
// Oppenheimer 2016, section 4.3), which gives heterogeneous applications one
// uniform monitoring interface. It replaces the listeners of
// prometheus/statsd_exporter v0.31.0 (pkg/listener) and is built to take
// at least twice its highest lossless UDP rate by using every core.
//
// UDP is read by several sockets bound to the same address with
// SO_REUSEPORT, so that the kernel spreads datagrams across them by source
// address and port, and by several goroutines per socket, so that a single
// sender (one source port, hence one socket) is still parsed in parallel.
// Each socket asks for a 4 MiB receive buffer (statsd_exporter keeps the OS
// default, which is where its loss happens); the kernel's own drop counter
// for these sockets is read from /proc/net/udp and udp6 (KernelStats).
//
// The Handler is called on the reading goroutine, with a buffer that is
// reused once it returns: the caller parses in place, in parallel, without
// a copy or a channel. Config.NewHandler is called once per reading
// goroutine and TCP connection, so that each Handler can own a
// statsd.Parser, which is for one goroutine.
package listen
