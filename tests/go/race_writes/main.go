// race_writes: two goroutines write one map with no lock, each from its own
// statement, until the runtime notices and dies with
// "fatal error: concurrent map writes" (exit status 2). The statements are
// tagged so a test can compute their lines.
package main

import (
	"fmt"
	"os"
	"sync"
)

const maxRounds = 50_000_000 // a bound, so a miss fails instead of hanging

//go:noinline
func writerA(m map[int]int, start *sync.WaitGroup) {
	start.Wait()
	for i := 0; i < maxRounds; i++ {
		m[i&1023] = i // @writeA
	}
}

//go:noinline
func writerB(m map[int]int, start *sync.WaitGroup) {
	start.Wait()
	for i := 0; i < maxRounds; i++ {
		m[(i+512)&1023] = -i // @writeB
	}
}

func main() {
	m := make(map[int]int)
	var start, done sync.WaitGroup
	start.Add(1)
	done.Add(2)
	go func() { defer done.Done(); writerA(m, &start) }()
	go func() { defer done.Done(); writerB(m, &start) }()
	start.Done()
	done.Wait()
	fmt.Fprintln(os.Stderr, "race_writes: no crash after", maxRounds, "rounds")
	os.Exit(3)
}
