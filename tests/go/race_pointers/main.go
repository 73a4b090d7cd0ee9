// race_pointers: the values are pointers (m[k] = &v); two goroutines write
// the map with no lock. Storing a pointer is still a map write: the runtime
// dies with "fatal error: concurrent map writes" (exit status 2).
package main

import (
	"fmt"
	"os"
	"sync"
)

const maxRounds = 50_000_000

type item struct{ n int }

//go:noinline
func writerA(m map[int]*item, start *sync.WaitGroup) {
	start.Wait()
	for i := 0; i < maxRounds; i++ {
		v := item{i}
		m[i&1023] = &v // @writeA
	}
}

//go:noinline
func writerB(m map[int]*item, start *sync.WaitGroup) {
	start.Wait()
	for i := 0; i < maxRounds; i++ {
		v := item{-i}
		m[(i+512)&1023] = &v // @writeB
	}
}

func main() {
	m := make(map[int]*item)
	var start, done sync.WaitGroup
	start.Add(1)
	done.Add(2)
	go func() { defer done.Done(); writerA(m, &start) }()
	go func() { defer done.Done(); writerB(m, &start) }()
	start.Done()
	done.Wait()
	fmt.Fprintln(os.Stderr, "race_pointers: no crash after", maxRounds, "rounds")
	os.Exit(3)
}
