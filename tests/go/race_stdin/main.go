// race_stdin: race_writes that waits for a line on stdin before racing, so a
// test can attach `gomaptrace record -p PID` first. Two goroutines then
// write one map with no lock until the runtime dies with "fatal error:
// concurrent map writes" (exit status 2).
package main

import (
	"bufio"
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
	fmt.Println("ready")
	if _, err := bufio.NewReader(os.Stdin).ReadString('\n'); err != nil {
		fmt.Fprintln(os.Stderr, "race_stdin:", err)
		os.Exit(4)
	}
	start.Done()
	done.Wait()
	fmt.Fprintln(os.Stderr, "race_stdin: no crash after", maxRounds, "rounds")
	os.Exit(3)
}
