// Package protocol is the memcached wire codec of podkit memcache-proxy, the
// ambassador pattern (Burns & Oppenheimer 2016, section 4.2). It replaces the
// request and response parsers of twemproxy (src/proto/nc_memcache.c) and
// follows memcached 1.6's text and meta protocols as memcached 1.6.18 (the
// Debian 12 package) implements them, which the tests check side by side.
//
// The proxy core reads client requests with a [RequestReader], routes each by
// its keys, forwards it with [AppendRequest] or, for the part of a multi-key
// get that belongs to one server, [AppendGet]; it reads what each server
// answers with a [ResponseReader] and [Response.Ends], and writes responses
// back with [AppendResponse] and the Reply* lines.
//
// Three rules keep one client's bytes from ever reaching another client:
//
//   - Every request the parser accepts is framed by memcached exactly as by
//     the parser: everything memcached would reject without consuming the
//     data block (a bad length, a key over 250 bytes, too many meta flags) is
//     rejected here, and lines are bounded so memcached never closes the
//     backend connection for a line without a newline.
//   - A rejected request is an [*Error] carrying memcached's reply line and
//     whether the client connection can go on ([Error.Close]). It can go on
//     only when the parser knows where the next request starts: after a bad
//     data chunk, or a storage line whose length cannot be read, it cannot.
//   - [AppendRequest] with withReply drops noreply and the meta q flag, so
//     every forwarded request gets exactly one response unit; the core then
//     discards what the client asked not to see ([Response.HiddenByQuiet]).
//
// The parsers allocate nothing in steady state: a [Request] or [Response]
// owns its buffers and is reused; keys and data alias them until the next Read
// into the same value. README.md lists the replies, the limits and every
// difference from memcached.
package protocol
