// symtest is the target of the symbolize tests: a map write in a method
// small enough to be inlined into its caller, and a mode that waits so a
// live process can be symbolised by PID.
package main

import (
	"bufio"
	"fmt"
	"os"
)

type Store struct {
	m map[string]int
}

func (s *Store) put(k string, v int) {
	s.m[k] = v // MARK:write
}

//go:noinline
func fill(s *Store, keys []string) {
	for i, k := range keys {
		s.put(k, i) // MARK:call
	}
}

func main() {
	s := &Store{m: make(map[string]int)}
	fill(s, os.Args[1:])
	fmt.Println("keys", len(s.m))
	if len(os.Args) > 1 && os.Args[1] == "wait" {
		// Hold still until the test closes stdin.
		fmt.Println("ready")
		bufio.NewReader(os.Stdin).ReadString('\n')
	}
}
