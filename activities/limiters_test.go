package activities

import (
	"sync"
	"testing"
)

// Every walk and check that uses a token on a worker shares its buckets, whichever
// connection it belongs to (S1 counts per token); another token, or the same token on
// another console, gets its own.
func TestLimitersSharedPerToken(t *testing.T) {
	a := &Activities{}
	l1 := a.sharedLimiters("https://a.example", "token-a")
	if a.sharedLimiters("https://a.example", "token-a") != l1 {
		t.Fatal("two uses of the same token got different buckets")
	}
	if a.sharedLimiters("https://a.example", "token-b") == l1 {
		t.Fatal("a rotated (different) token shares the old token's buckets")
	}
	if a.sharedLimiters("https://b.example", "token-a") == l1 {
		t.Fatal("the same token string on another console shares the buckets")
	}
	// Concurrent first uses agree on one set.
	var wg sync.WaitGroup
	got := make([]any, 8)
	for i := range got {
		wg.Add(1)
		go func() { defer wg.Done(); got[i] = a.sharedLimiters("https://c.example", "token-c") }()
	}
	wg.Wait()
	for i := range got {
		if got[i] != got[0] {
			t.Fatal("concurrent walks of one token got different buckets")
		}
	}
}
