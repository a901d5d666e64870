package protocol

// Command is a request's verb.
type Command uint8

// The commands podkit memcache-proxy understands. Anything else (including
// memcached's admin commands: shutdown, slabs, lru, lru_crawler, watch,
// cache_memlimit) is answered ERROR, as twemproxy does not forward them either.
const (
	CmdUnknown Command = iota

	// Retrieval: any number of keys, answered by VALUE items and one END.
	CmdGet
	CmdGets
	CmdGat
	CmdGats

	// Storage: one key and a data block.
	CmdSet
	CmdAdd
	CmdReplace
	CmdAppend
	CmdPrepend
	CmdCas

	// One key, one reply line.
	CmdDelete
	CmdIncr
	CmdDecr
	CmdTouch

	// Meta protocol: one key each but mn; ms carries a data block.
	CmdMetaGet        // mg
	CmdMetaSet        // ms
	CmdMetaDelete     // md
	CmdMetaArithmetic // ma
	CmdMetaDebug      // me
	CmdMetaNoop       // mn: no key; the proxy answers MN once earlier responses are out

	// No key: the proxy answers these itself.
	CmdVersion
	CmdQuit
	CmdStats
	CmdVerbosity
	CmdFlushAll

	numCommands
)

// NumCommands is one past the largest Command, for arrays indexed by it.
const NumCommands = numCommands

var commandNames = [numCommands]string{
	CmdUnknown: "unknown",
	CmdGet:     "get", CmdGets: "gets", CmdGat: "gat", CmdGats: "gats",
	CmdSet: "set", CmdAdd: "add", CmdReplace: "replace", CmdAppend: "append", CmdPrepend: "prepend", CmdCas: "cas",
	CmdDelete: "delete", CmdIncr: "incr", CmdDecr: "decr", CmdTouch: "touch",
	CmdMetaGet: "mg", CmdMetaSet: "ms", CmdMetaDelete: "md", CmdMetaArithmetic: "ma", CmdMetaDebug: "me", CmdMetaNoop: "mn",
	CmdVersion: "version", CmdQuit: "quit", CmdStats: "stats", CmdVerbosity: "verbosity", CmdFlushAll: "flush_all",
}

// String returns the command's verb as the client sends it ("unknown" for
// CmdUnknown); it is a bounded metric label.
func (c Command) String() string {
	if c >= numCommands {
		return "unknown"
	}
	return commandNames[c]
}

// lookupCommand maps a verb to its Command; it does not allocate.
func lookupCommand(verb []byte) Command {
	switch string(verb) {
	case "get":
		return CmdGet
	case "gets":
		return CmdGets
	case "gat":
		return CmdGat
	case "gats":
		return CmdGats
	case "set":
		return CmdSet
	case "add":
		return CmdAdd
	case "replace":
		return CmdReplace
	case "append":
		return CmdAppend
	case "prepend":
		return CmdPrepend
	case "cas":
		return CmdCas
	case "delete":
		return CmdDelete
	case "incr":
		return CmdIncr
	case "decr":
		return CmdDecr
	case "touch":
		return CmdTouch
	case "mg":
		return CmdMetaGet
	case "ms":
		return CmdMetaSet
	case "md":
		return CmdMetaDelete
	case "ma":
		return CmdMetaArithmetic
	case "me":
		return CmdMetaDebug
	case "mn":
		return CmdMetaNoop
	case "version":
		return CmdVersion
	case "quit":
		return CmdQuit
	case "stats":
		return CmdStats
	case "verbosity":
		return CmdVerbosity
	case "flush_all":
		return CmdFlushAll
	}
	return CmdUnknown
}

// IsRetrieval reports get, gets, gat and gats: the commands whose keys the
// proxy splits per server and whose answers it merges under one END.
func (c Command) IsRetrieval() bool { return c >= CmdGet && c <= CmdGats }

// HasData reports the commands followed by a data block: the storage
// commands and ms.
func (c Command) HasData() bool { return (c >= CmdSet && c <= CmdCas) || c == CmdMetaSet }

// IsMeta reports the meta protocol commands (mg, ms, md, ma, me, mn).
func (c Command) IsMeta() bool { return c >= CmdMetaGet && c <= CmdMetaNoop }

// Keyed reports the commands with exactly one key, routed to that key's
// server: storage, delete, incr, decr, touch, mg, ms, md, ma and me.
func (c Command) Keyed() bool { return c >= CmdSet && c <= CmdMetaDebug }

// Local reports the commands the proxy answers itself, never forwarded:
// version, quit, stats, verbosity, flush_all and mn.
func (c Command) Local() bool { return c >= CmdMetaNoop && c < numCommands }
