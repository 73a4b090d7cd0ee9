// infotest uses every kind of map operation the Go 1.19 runtime has an
// entry point for, so that `gomaptrace info` has each probe site to find:
// assign (fast64, faststr, generic with struct keys), delete, clear and
// iteration. With an argument it stays alive (for `info -p PID`).
package main

import (
	"fmt"
	"os"
	"time"
)

type point struct {
	x, y int
}

//go:noinline
func fill(n int) (map[int64]int, map[string]int, map[point]int) {
	a := make(map[int64]int)
	s := make(map[string]int)
	p := make(map[point]int)
	for i := 0; i < n; i++ {
		a[int64(i)] = i      // mapassign_fast64
		s[fmt.Sprint(i)] = i // mapassign_faststr
		p[point{i, -i}] = i  // mapassign (generic)
	}
	return a, s, p
}

//go:noinline
func drain(a map[int64]int, s map[string]int, p map[point]int) int {
	sum := 0
	for _, v := range a { // mapiterinit / mapiternext
		sum += v
	}
	delete(a, 1)            // mapdelete_fast64
	delete(s, "1")          // mapdelete_faststr
	delete(p, point{1, -1}) // mapdelete
	for k := range s {      // compiled to mapclear
		delete(s, k)
	}
	return sum + len(s) + len(p)
}

func main() {
	a, s, p := fill(10)
	fmt.Println(drain(a, s, p))
	if len(os.Args) > 1 {
		// Stay alive for `info -p PID`; the test kills us.
		for {
			time.Sleep(time.Hour)
		}
	}
}
