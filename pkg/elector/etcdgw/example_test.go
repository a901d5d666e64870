package etcdgw_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/podkit/podkit/pkg/elector/etcdgw"
)

// A campaign: a lease, the leader key created only if absent, renewals
// while leading, and a resign that deletes only this term's key.
func ExampleNew() {
	c, err := etcdgw.New(etcdgw.Config{
		Endpoints: []string{"http://127.0.0.1:2379", "http://127.0.0.1:22379"},
		Username:  "root",
		Password:  "from --etcd-password-file",
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	lease, ttl, err := c.Grant(ctx, 5*time.Second)
	if err != nil {
		fmt.Println(err)
		return
	}
	won, leader, _, err := c.CreateIfAbsent(ctx, "/podkit/elector/db", "pod-a", lease)
	if err != nil {
		fmt.Println(err)
		return
	}
	if !won {
		fmt.Println("leader:", leader.Value)
		return
	}
	fmt.Println("leading with fencing token", leader.CreateRevision)
	for range 3 {
		time.Sleep(ttl / 3)
		if _, err := c.KeepAliveOnce(ctx, lease); errors.Is(err, etcdgw.ErrLeaseLost) {
			fmt.Println("lost the lease: no longer leader")
			return
		}
	}
	_, _, _ = c.DeleteIf(ctx, "/podkit/elector/db", leader.CreateRevision)
	_ = c.Revoke(ctx, lease)
}
