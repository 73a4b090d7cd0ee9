// sessions: a tiny session store with the two map bugs gomaptrace exists for.
//
//   - sessions is guarded by a mutex: correct, but every request contends on
//     it, a hot spot to shard.
//   - lastSeen is written from every worker with no lock at all: sooner or
//     later the runtime kills the process with "concurrent map writes", and
//     prints only one of the two writers.
package main

import (
	"fmt"
	"os"
	"strconv"
	"sync"
)

type Session struct {
	User string
	Hits int
}

type Store struct {
	mu       sync.Mutex
	sessions map[string]*Session
	hits     map[string]int
	lastSeen map[int]int64
}

func (s *Store) Touch(id string, user string) {
	s.mu.Lock()
	sess, ok := s.sessions[id]
	if !ok {
		sess = &Session{User: user}
		s.sessions[id] = sess
	}
	sess.Hits++
	s.hits[user]++ // locked write from every worker: a contention hot spot
	s.mu.Unlock()
}

func (s *Store) Seen(worker int, now int64) {
	s.lastSeen[worker%8] = now // unlocked write: the bug
}

func worker(s *Store, w int, n int, wg *sync.WaitGroup) {
	defer wg.Done()
	for i := 0; i < n; i++ {
		s.Touch("sess-"+strconv.Itoa(i%512), "user"+strconv.Itoa(w))
		if os.Getenv("SESSIONS_RACE") != "" {
			s.Seen(w, int64(i))
		}
	}
}

func main() {
	s := &Store{
		sessions: map[string]*Session{},
		hits:     map[string]int{},
		lastSeen: map[int]int64{},
	}
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go worker(s, w, 20000, &wg)
	}
	wg.Wait()
	fmt.Println("sessions:", len(s.sessions))
}
