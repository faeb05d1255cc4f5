package directory

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// keyStore is a Store of keys alone, which counts its reads.
type keyStore struct {
	Store // nil: only the methods below are called

	mu           sync.Mutex
	version      int64
	keys         map[string]*Key // by hash
	keyReads     int
	versionReads int
}

func (s *keyStore) KeysVersion(context.Context) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.versionReads++
	return s.version, nil
}

func (s *keyStore) KeyByHash(_ context.Context, hash []byte) (*Key, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keyReads++
	k, ok := s.keys[string(hash)]
	if !ok {
		return nil, ErrNotFound
	}
	c := *k
	return &c, nil
}

// change replaces the key of hash, raising the version as a store does.
func (s *keyStore) change(hash []byte, k *Key) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys[string(hash)] = k
	s.version++
}

func (s *keyStore) reads() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.keyReads
}

// TestKeyCacheKeepsKeysUntilAnyChanges: a kept key serves without a read of
// it while the version stays; a change of any key makes the next request
// read it again, and sees the change. Unknown tokens are never kept.
func TestKeyCacheKeepsKeysUntilAnyChanges(t *testing.T) {
	hash, other := HashToken("rst_kept"), HashToken("rst_other")
	store := &keyStore{version: 1, keys: map[string]*Key{
		string(hash):  {ID: "key_1", Hash: hash},
		string(other): {ID: "key_2", Hash: other},
	}}
	c := newKeyCache(store)
	get := func() *Key {
		t.Helper()
		k, err := c.key(t.Context(), store, hash)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	get()
	get()
	if n := store.reads(); n != 1 {
		t.Fatalf("two requests read the key %d times, want once", n)
	}

	revoked := time.Now()
	store.change(other, &Key{ID: "key_2", Hash: other, RevokedAt: &revoked}) // another key
	get()
	if n := store.reads(); n != 2 {
		t.Fatalf("after another key changed, the key was read %d times in all, want 2", n)
	}
	store.change(hash, &Key{ID: "key_1", Hash: hash, RevokedAt: &revoked})
	if k := get(); k.RevokedAt == nil {
		t.Fatal("the request after the revocation got the key as kept before it")
	}

	for range 2 {
		if _, err := c.key(t.Context(), store, HashToken("rst_unknown")); !errors.Is(err, ErrNotFound) {
			t.Fatalf("an unknown token: %v, want ErrNotFound", err)
		}
	}
	if n := store.reads(); n != 5 {
		t.Errorf("the key reads were %d in all, want 5: each unknown token read", n)
	}
}

// TestFreshReadNeverAnswersWithAnOlderRead: a caller that comes while a
// read runs is answered by a read that begins after it came, never by the
// running one, which may have read before a change the caller must see.
func TestFreshReadNeverAnswersWithAnOlderRead(t *testing.T) {
	var started atomic.Int64
	first, release := make(chan struct{}), make(chan struct{})
	f := freshRead{read: func(context.Context) (int64, error) {
		n := started.Add(1)
		if n == 1 {
			close(first)
			<-release
		}
		return n, nil
	}}
	got := make(chan int64, 2)
	go func() {
		v, _ := f.get(t.Context())
		got <- v
	}()
	<-first // the first read runs
	go func() {
		v, _ := f.get(t.Context())
		got <- v
	}()
	for waiting := false; !waiting; { // until the second caller waits
		f.mu.Lock()
		waiting = f.next != nil
		f.mu.Unlock()
		time.Sleep(time.Millisecond)
	}
	close(release)
	a, b := <-got, <-got
	if min(a, b) != 1 || max(a, b) != 2 {
		t.Errorf("the callers got reads %d and %d, want 1 and 2: the second caller must get the read that began after it came", a, b)
	}
}

// TestFreshReadIsShared: concurrent callers share reads, and an error
// answers only its round.
func TestFreshReadIsShared(t *testing.T) {
	var reads atomic.Int64
	fail := errors.New("the store is down")
	f := freshRead{read: func(context.Context) (int64, error) {
		n := reads.Add(1)
		time.Sleep(time.Millisecond)
		if n == 1 {
			return 0, fail
		}
		return n, nil
	}}
	if _, err := f.get(t.Context()); !errors.Is(err, fail) {
		t.Fatalf("the first read: %v, want its error", err)
	}
	const callers, each = 32, 20
	var wg sync.WaitGroup
	for range callers {
		wg.Go(func() {
			for range each {
				if _, err := f.get(t.Context()); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if n := reads.Load() - 1; n > callers*each/4 {
		t.Errorf("%d calls made %d reads, want them shared", callers*each, n)
	}
}

// TestFreshReadWaiterLeavesWithItsContext: a caller whose request ends
// stops waiting for a read it shares.
func TestFreshReadWaiterLeavesWithItsContext(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	var started atomic.Bool
	f := freshRead{read: func(context.Context) (int64, error) {
		started.Store(true)
		<-release
		return 1, nil
	}}
	go f.get(context.Background())
	for !started.Load() {
		time.Sleep(time.Millisecond)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := f.get(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("a waiter whose context ended: %v, want context.Canceled", err)
	}
}

// TestFreshReadWaitersShareAnError: the callers waiting while a read fails
// get its error at once, not after a read of their own: a stalled store
// answers them within one read's timeout.
func TestFreshReadWaitersShareAnError(t *testing.T) {
	fail := errors.New("the store stalled")
	first, release, never := make(chan struct{}), make(chan struct{}), make(chan struct{})
	defer close(never)
	var reads atomic.Int64
	f := freshRead{read: func(context.Context) (int64, error) {
		if reads.Add(1) == 1 {
			close(first)
			<-release
			return 0, fail
		}
		<-never // the next read stalls too
		return 0, nil
	}}
	go f.get(context.Background())
	<-first
	got := make(chan error, 1)
	go func() {
		_, err := f.get(t.Context())
		got <- err
	}()
	for waiting := false; !waiting; {
		f.mu.Lock()
		waiting = f.next != nil
		f.mu.Unlock()
		time.Sleep(time.Millisecond)
	}
	close(release)
	select {
	case err := <-got:
		if !errors.Is(err, fail) {
			t.Errorf("the waiter got %v, want the failed read's error", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the waiter waited for a read of its own after the running one failed")
	}
}
