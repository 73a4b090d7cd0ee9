// mutex_server: three goroutines write one map under one sync.Mutex,
// forever, a little at a time, like a server's session table. It prints
// "ready" once the writers run; it stops when killed.
package main

import (
	"fmt"
	"sync"
	"time"
)

type sessions struct {
	mu sync.Mutex
	m  map[string]int
}

//go:noinline
func (s *sessions) touch(key string, v int) {
	s.mu.Lock()
	s.m[key] = v // @touch
	s.mu.Unlock()
}

func worker(s *sessions, id int) {
	keys := make([]string, 64)
	for i := range keys {
		keys[i] = fmt.Sprintf("w%d-k%d", id, i)
	}
	for i := 0; ; i++ {
		s.touch(keys[i%len(keys)], i)
		if i%10 == 9 {
			time.Sleep(time.Millisecond)
		}
	}
}

func main() {
	s := &sessions{m: make(map[string]int)}
	for id := 0; id < 3; id++ {
		go worker(s, id)
	}
	fmt.Println("ready")
	select {}
}
