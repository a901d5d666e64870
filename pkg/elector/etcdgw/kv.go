package etcdgw

import (
	"context"
	"errors"
)

// KV is a key with its value and revisions.
type KV struct {
	Key            string
	Value          string
	CreateRevision int64 // revision of the put that created the key
	ModRevision    int64 // revision of its last change
	Version        int64 // number of puts since it was created
	Lease          LeaseID
}

// Get reads key: found is false (and kv zero) when it does not exist; rev
// is the store's revision at the read.
func (c *Client) Get(ctx context.Context, key string) (kv KV, rev int64, found bool, err error) {
	var r rangeResponse
	err = c.unary(ctx, "/v3/kv/range", rangeRequest{Key: []byte(key)}, func(raw []byte) error {
		return decodeStrict(raw, &r)
	})
	if err != nil {
		return KV{}, 0, false, err
	}
	if len(r.KVs) == 0 {
		return KV{}, int64(r.Header.Revision), false, nil
	}
	return r.KVs[0].kv(), int64(r.Header.Revision), true, nil
}

// Put sets key to value, attached to lease (0: none), and returns the
// revision of the write.
func (c *Client) Put(ctx context.Context, key, value string, lease LeaseID) (rev int64, err error) {
	var r putResponse
	err = c.unary(ctx, "/v3/kv/put", putRequest{Key: []byte(key), Value: []byte(value), Lease: int64(lease)}, func(raw []byte) error {
		return decodeStrict(raw, &r)
	})
	return int64(r.Header.Revision), err
}

// Delete removes key; deleted is false when it did not exist.
func (c *Client) Delete(ctx context.Context, key string) (deleted bool, rev int64, err error) {
	var r deleteResponse
	err = c.unary(ctx, "/v3/kv/deleterange", deleteRequest{Key: []byte(key)}, func(raw []byte) error {
		return decodeStrict(raw, &r)
	})
	return r.Deleted > 0, int64(r.Header.Revision), err
}

// CreateIfAbsent creates key = value attached to lease unless key exists,
// in one transaction (compare create_revision == 0): an election's
// campaign. won says whether this call holds the key; leader is the
// key's holder either way, and leader.CreateRevision is the term's
// fencing token, which increases with every new holder. rev is the
// store's revision at the transaction.
//
// A lost answer followed by a failover retry finds the key created by the
// first try: a holder with this same lease (non-zero) counts as won.
func (c *Client) CreateIfAbsent(ctx context.Context, key, value string, lease LeaseID) (won bool, leader KV, rev int64, err error) {
	k := []byte(key)
	req := txnRequest{
		Compare: []compare{{Key: k, Target: "CREATE", Result: "EQUAL", CreateRevision: 0}},
		Success: []requestOp{{RequestPut: &putRequest{Key: k, Value: []byte(value), Lease: int64(lease)}}},
		Failure: []requestOp{{RequestRange: &rangeRequest{Key: k}}},
	}
	var holder *KV
	var ok bool
	err = c.unary(ctx, "/v3/kv/txn", req, func(raw []byte) error {
		var err error
		ok, holder, rev, err = decodeTxn(raw)
		if err == nil && !ok && holder == nil {
			// The range runs in the transaction whose compare found the
			// key: it cannot be missing.
			err = errors.New("bad response: transaction failed without the key")
		}
		return err
	})
	switch {
	case err != nil:
		return false, KV{}, 0, err
	case ok:
		return true, KV{Key: key, Value: value, CreateRevision: rev, ModRevision: rev, Version: 1, Lease: lease}, rev, nil
	default:
		return lease != 0 && holder.Lease == lease, *holder, rev, nil
	}
}

// DeleteIf deletes key only if its create revision is createRev (it is
// still the same term's key): an election's resign. deleted is false when
// the key is gone or belongs to another term.
func (c *Client) DeleteIf(ctx context.Context, key string, createRev int64) (deleted bool, rev int64, err error) {
	k := []byte(key)
	req := txnRequest{
		Compare: []compare{{Key: k, Target: "CREATE", Result: "EQUAL", CreateRevision: createRev}},
		Success: []requestOp{{RequestDeleteRange: &deleteRequest{Key: k}}},
		Failure: []requestOp{},
	}
	err = c.unary(ctx, "/v3/kv/txn", req, func(raw []byte) error {
		var err error
		deleted, _, rev, err = decodeTxn(raw)
		return err
	})
	return deleted, rev, err
}

// Compact discards the history before rev and waits until it is gone
// (physical): watches from older revisions then fail with ErrCompacted.
func (c *Client) Compact(ctx context.Context, rev int64) error {
	return c.unary(ctx, "/v3/kv/compaction", compactRequest{Revision: rev, Physical: true}, func(raw []byte) error {
		var r putResponse
		return decodeStrict(raw, &r)
	})
}
