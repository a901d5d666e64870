package etcdgw

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// LeaseID names a lease; 0 is no lease.
type LeaseID int64

// Grant creates a lease of ttl (rounded up to whole seconds; etcd may
// raise it to its minimum) and returns its ID and the TTL etcd granted.
func (c *Client) Grant(ctx context.Context, ttl time.Duration) (LeaseID, time.Duration, error) {
	if ttl <= 0 {
		return 0, 0, fmt.Errorf("etcdgw: grant: ttl must be > 0 (got %s)", ttl)
	}
	secs := int64((ttl + time.Second - 1) / time.Second)
	var r grantResponse
	err := c.unary(ctx, "/v3/lease/grant", leaseRequest{TTL: secs}, func(raw []byte) error {
		if err := decodeStrict(raw, &r); err != nil {
			return err
		}
		switch {
		case r.Error != "":
			return errors.New(r.Error)
		case r.ID == 0 || r.TTL <= 0:
			return errors.New("bad response: no lease ID or TTL")
		}
		return nil
	})
	if err != nil {
		return 0, 0, err
	}
	return LeaseID(r.ID), time.Duration(r.TTL) * time.Second, nil
}

// KeepAliveOnce renews lease id once and returns its TTL from now; an
// expired, revoked or unknown lease is ErrLeaseLost. One request per
// renewal: the gateway's streaming keep-alive holds its answers until the
// request body ends, so it cannot stream over HTTP/1.1.
func (c *Client) KeepAliveOnce(ctx context.Context, id LeaseID) (time.Duration, error) {
	var r keepAliveResult
	err := c.unary(ctx, "/v3/lease/keepalive", leaseRequest{ID: int64(id)}, func(raw []byte) error {
		return decodeStreamMessage(raw, &r)
	})
	if e := (*Error)(nil); errors.As(err, &e) && e.Code == CodeNotFound {
		return 0, fmt.Errorf("%w: %d: %w", ErrLeaseLost, id, err)
	}
	if err != nil {
		return 0, err
	}
	if r.TTL <= 0 {
		// etcd answers 200 with no TTL for a lease it does not know.
		return 0, fmt.Errorf("%w: %d: expired or revoked", ErrLeaseLost, id)
	}
	return time.Duration(r.TTL) * time.Second, nil
}

// Revoke ends lease id now and deletes the keys attached to it. A lease
// already gone is ErrLeaseLost.
func (c *Client) Revoke(ctx context.Context, id LeaseID) error {
	err := c.unary(ctx, "/v3/lease/revoke", leaseRequest{ID: int64(id)}, func(raw []byte) error {
		var r putResponse
		return decodeStrict(raw, &r)
	})
	if e := (*Error)(nil); errors.As(err, &e) && e.Code == CodeNotFound {
		return fmt.Errorf("%w: %d: %w", ErrLeaseLost, id, err)
	}
	return err
}
