package activities

import (
	"sync"
	"testing"
)

// Every walk of a connection on a worker shares its token's buckets; a rotated token, or
// another connection, gets its own.
func TestLimitersSharedPerConnectionToken(t *testing.T) {
	a := &Activities{}
	l1 := a.limitersFor("c1", "token-a")
	if a.limitersFor("c1", "token-a") != l1 {
		t.Fatal("two walks of c1 with the same token got different buckets")
	}
	if a.limitersFor("c2", "token-a") == l1 {
		t.Fatal("another connection shares c1's buckets")
	}
	l2 := a.limitersFor("c1", "token-b")
	if l2 == l1 {
		t.Fatal("a rotated token kept the old token's buckets")
	}
	if a.limitersFor("c1", "token-b") != l2 {
		t.Fatal("the rotated token's buckets were not kept")
	}
	// Concurrent first uses agree on one set.
	var wg sync.WaitGroup
	got := make([]any, 8)
	for i := range got {
		wg.Add(1)
		go func() { defer wg.Done(); got[i] = a.limitersFor("c3", "token-c") }()
	}
	wg.Wait()
	for i := range got {
		if got[i] != got[0] {
			t.Fatal("concurrent walks of c3 got different buckets")
		}
	}
}
